"""Local simulation of a guardian deployment: moto_server on 127.0.0.1, the real synthesized template, an attacker.

Not shipped to Lambda. Used by ``make demo``, the end-to-end test and the benchmark.

Where moto 5.2.5 differs from AWS, and the bridge (``moto_server``; the test suite applies the same bridges):
- CloudFormation does not model topic, bucket and queue policies, ``EventInvokeConfig``, alarms, trails, secrets or
  SNS subscriptions, and drops a bucket's versioning and Object Lock: the demo lists these types (the template tests
  assert them) and creates or applies them through each service's API (the sentinel from the template's
  properties, the webhook's secret, the notifier's subscription, the alarms, the bucket settings).
- EventBridge cannot invoke Lambda without Docker, has no SNS targets, inserts input transformer strings unquoted,
  compares ``true == 1`` and does not look into arrays of objects: the simulation adds the SNS target, applies
  AWS's transformer rules, does not trigger disabled or scheduled rules from events, and checks a rule's pattern
  with moto's matcher before calling the handler itself (``lambda_runner``: the deployed asset in a fresh process
  with the function's environment; an asynchronous invocation is tried once, where Lambda retries twice). The
  guardian's own matcher follows EventBridge's documentation; both cases are tested.
- No CloudTrail event is recorded for an API call: ``cloudtrail_events`` delivers StopLogging's and DeleteTrail's
  as CloudTrail would. No LookupEvents: ``event_history`` answers it (by Region, window, one attribute, newest
  first, pages of 50). DescribeTrails ignores ``trailNameList`` and always says ``HasCustomEventSelectors`` and
  ``HasInsightSelectors`` false: answered as AWS does. UpdateTrail mishandles a topic ARN as ``SnsTopicName``: the
  guardian passes the name, which AWS accepts too.
- ListObjectVersions deep-copies every version of every key: only the prefix's are copied. Put/Update
  FunctionEventInvokeConfig add a configuration instead of replacing it: replaced or updated as AWS does.
- KMS creates every key symmetric, keeps policies DescribeKey cannot read and fails on a tagged key: template keys
  are created as AWS does. SNS matches ``{"exists": false}`` on a message with no attributes (SNS does not): the
  email filters' scope is asserted in the template. STS does not check signatures: what the guardian checks itself
  is tested; a bad signature's refusal is STS's. UpdateEventBus is not implemented: tests set the key in the backend.
- Werkzeug closes every connection after its response; ``python -m simulation.serve`` keeps them alive, as AWS does.
"""
