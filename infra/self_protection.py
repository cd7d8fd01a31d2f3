"""The guardian guards itself: changes to its own functions, rules, topic and subscriptions, roles, keys, buckets,
alarms, dead-letter queue and stack go straight from EventBridge to the alerts topic, through an input transformer.
No Lambda is on that path, so the alert still arrives when the guardian's functions are broken, deleted or throttled.
The guards match successful calls only: the calls AWS refused (which any principal can loop) go to the remediation
function instead (:func:`denied_patterns`), one MEDIUM alert each, grouped per principal and capped.

Nobody is exempt by name: a role called ``cdk-...`` is alerted like any other. What CloudFormation changes (AWS
records such calls with ``sourceIPAddress`` ``cloudformation.amazonaws.com``, which no caller can set) goes instead
to a function that asks the guardian's own stack (:mod:`infra.stack_callers`): its own deployment is covered by a
MEDIUM "deployment" alert, mailed, on the stack's CreateChangeSet, ExecuteChangeSet or UpdateStack, naming the
change set and who made it (a change set created by anyone who may, then executed by its ARN alone, is seen at its
creation); any other stack's change is CRITICAL. SNS cannot take a Subject from an EventBridge target: the subject
line is the first field of the JSON body instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.first_line import SubjectFirst

SCHEMA = "cloudtrail-guardian/self-protection-alert"
SCHEMA_VERSION = "1.0"
VIA_CLOUDFORMATION = "cloudformation.amazonaws.com"
LAMBDA_CALLS = (
    "UpdateFunctionCode",
    "UpdateFunctionConfiguration",
    "DeleteFunction",  # also DeleteFunctionConcurrency, DeleteFunctionEventInvokeConfig
    "PutFunctionConcurrency",
    "AddPermission",  # anyone it names may then invoke the function directly, with events of their own
    "RemovePermission",
    "PutFunctionEventInvokeConfig",
    "UpdateFunctionEventInvokeConfig",
    "CreateFunctionUrlConfig",  # a URL anyone may call is a way in to the function; also Update/Delete
    "UpdateFunctionUrlConfig",
    "DeleteFunctionUrlConfig",
)
# The calls that change the guardian's resources, by EventBridge source (Lambda names carry API versions: prefixes).
GUARDED_CALLS: dict[str, list[Any]] = {
    "aws.lambda": [{"prefix": name} for name in LAMBDA_CALLS],
    "aws.events": ["DisableRule", "DeleteRule", "RemoveTargets", "PutRule", "PutTargets"],
    "aws.sns": [
        "DeleteTopic",
        "Unsubscribe",
        "Subscribe",
        "SetTopicAttributes",
        "SetSubscriptionAttributes",  # a filter policy drops every alert it does not match
        "PutDataProtectionPolicy",
        "RemovePermission",
        "AddPermission",
    ],
    "aws.iam": [
        "PutRolePolicy",
        "DeleteRolePolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "UpdateAssumeRolePolicy",
        "DeleteRole",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
        "TagRole",  # the SCP is keyed on the guardian's tag
        "UntagRole",
        # its customer managed policies (the sweep's, infra.sweep_schedule): a new default version rewrites them
        *("CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicyVersion", "DeletePolicy"),
    ],
    "aws.kms": [
        "CreateGrant",  # a grant is a way to use the key that its policy does not show
        "DisableKey",
        "ScheduleKeyDeletion",
        "PutKeyPolicy",
        "DeleteAlias",
        "UpdateAlias",
        "TagResource",
        "UntagResource",
    ],
    "aws.s3": [
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "PutObjectLockConfiguration",
        "PutBucketVersioning",
        "PutBucketLifecycle",
        "PutBucketAcl",
        "PutBucketLogging",
        "PutBucketOwnershipControls",
        "PutBucketEncryption",
        "DeleteBucketEncryption",
        "DeleteBucketPublicAccessBlock",
        "PutBucketPublicAccessBlock",
        "DeleteBucket",
    ],
    "aws.cloudwatch": ["DisableAlarmActions", "DeleteAlarms", "PutMetricAlarm", "SetAlarmState"],
    "aws.sqs": ["SetQueueAttributes", "PurgeQueue", "DeleteQueue", "AddPermission", "RemovePermission"],
    "aws.cloudformation": ["DeleteStack", "UpdateTerminationProtection", "SetStackPolicy"],
    "aws.logs": ["DeleteMetricFilter", "PutMetricFilter"],  # the CIS alarms' filters: deleted, their alarms are mute
    "aws.secretsmanager": [  # a chat webhook's URL: whoever swaps it receives the chat alerts
        *("PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage", "DeleteSecret", "RotateSecret"),
        *("PutResourcePolicy", "DeleteResourcePolicy"),
    ],
}
# The default event bus, where every rule of the guardian's is: a customer managed key on it encrypts the rules'
# patterns and targets, and whoever holds the key can silence them all (disable it, deny EventBridge); its resource
# policy (PutPermission) lets other accounts put AWS services' events, theirs, on it. No call names the bus it
# changes when it is the default one: a missing name is the default bus (so a PutPermission on another bus, which
# names it in eventBusName, is alerted too: noise, never a miss).
BUS_CALLS = ["UpdateEventBus", "PutPermission"]
DEFAULT_BUS: dict[str, list[Any]] = {"name": ["default", {"exists": False}], "eventBusName": ["default"]}
# The own-events bus (ownEvents dedicated, infra.own_events): its policy is what keeps forged events off it, so
# opening it (PutPermission, RemovePermission), deleting or re-keying it is a change to the guardian.
OWN_BUS_CALLS = ["PutPermission", "RemovePermission", "DeleteEventBus", "UpdateEventBus"]
# CreateChangeSet always names the stack; ExecuteChangeSet may name only the change set's ARN.
DEPLOYMENT_CALLS = ["CreateChangeSet", "ExecuteChangeSet", "UpdateStack"]
API_CALL = "AWS API Call via CloudTrail"
F = events.EventField.from_path


@dataclass(frozen=True)
class Watch:
    """One kind of the guardian's own resources: where its changes are recorded and how they name it."""

    kind: str  # for people: "function", "EventBridge rule", ...
    suffix: str  # the rule is <stackName>-guard-<suffix>
    source: str  # the EventBridge source, e.g. "aws.lambda"
    event_source: str  # CloudTrail's eventSource, e.g. "lambda.amazonaws.com"
    event_names: Sequence[str | Mapping[str, str]]  # exact names, or {"prefix": ...} (Lambda adds API versions)
    names: Mapping[str, Sequence[Any]]  # requestParameters field → values (or {"prefix": ...}) naming the resource
    severity: str = "CRITICAL"
    via_cloudformation: bool = False  # True: the deployment watch, which is about CloudFormation's own calls


@dataclass(frozen=True)
class Guarded:
    """Every resource of the guardian's, as CloudTrail names them."""

    stack_name: str
    stack_id: str
    functions: Sequence[tuple[str, str, str]]  # (name, ARN, partial ARN "account:function:name")
    rules: Sequence[str]
    topic_arn: str
    roles: Sequence[str]
    keys: Sequence[tuple[str, str]]  # (key id, key ARN)
    key_aliases: str  # the aliases' common prefix, "alias/<stackName>-"
    buckets: Sequence[str]
    alarms: Sequence[str]
    queue_names: Sequence[str]  # the dead-letter queues: the guardian's, each webhook notifier's
    log_groups: Sequence[str] = ()  # the CIS alarms' log group (its metric filters are the guardian's)
    secrets: Sequence[Any] = ()  # the chat webhooks' secrets, every way CloudTrail names them (secretId)
    function_arn_prefix: str = ""  # "arn:<partition>:lambda:<Region>:<account>:function:<stackName>-"
    role_prefixes: Sequence[str] = ()  # roles known by a prefix: the forwarders' (one per Region, infra.forwarder)
    policy_arn_prefix: str = ""  # its customer managed policies: "arn:<partition>:iam::<account>:policy/<stackName>-"
    own_bus: str = ""  # the own-events bus's name, "<stackName>-events", with ownEvents dedicated (OPTIONAL_WATCHES)


def watches(guarded: Guarded) -> list[Watch]:
    # Names by the stack's prefix wherever the guardian's own names share it: one by one, with every form CloudTrail
    # records, they outgrow EventBridge's 2,048 characters a pattern (the CIS alarms alone did), the more so with a
    # long stack name. A name of someone else's that starts with the prefix is alerted too: noise, never a miss.
    own = f"{guarded.stack_name}-"
    functions: list[Any] = []
    partial_prefix = ""
    for name, arn, partial in guarded.functions:  # every form CloudTrail records: name, ARN, partial, qualified
        if name.startswith(own) and guarded.function_arn_prefix:
            partial_prefix = partial.removesuffix(name) + own  # "<account>:function:<stackName>-"
            continue
        functions += [name, arn, {"prefix": f"{arn}:"}, partial, {"prefix": f"{partial}:"}]
    if partial_prefix:
        functions += [{"prefix": own}, {"prefix": guarded.function_arn_prefix}, {"prefix": partial_prefix}]
    stack = [guarded.stack_name, {"prefix": guarded.stack_id}]
    alarms = _by_prefix(guarded.alarms, own)
    [watcher] = [rule for rule in guarded.rules if rule.endswith("-guard-events")]
    others: list[Any] = _by_prefix([rule for rule in guarded.rules if rule != watcher], own)
    kinds: list[tuple[str, str, str, Mapping[str, Sequence[Any]]]] = [
        ("function", "lambda", "aws.lambda", {"functionName": functions}),
        # Two rules watch the rules: guard-events every one (by the prefix, itself included), guard-events-watch
        # guard-events. A rule does not see its own DisableRule, so guard-events-watch is what sees that one; a
        # change to guard-events that leaves it working is alerted by both.
        ("EventBridge rule", "events", "aws.events", {"name": others, "rule": others}),
        ("EventBridge rule", "events-watch", "aws.events", {"name": [watcher], "rule": [watcher]}),
        (
            "alerts topic",
            "sns",
            "aws.sns",
            {
                "topicArn": [guarded.topic_arn],
                "subscriptionArn": [{"prefix": f"{guarded.topic_arn}:"}],
                "resourceArn": [guarded.topic_arn],
            },
        ),
        (
            "IAM role or policy",
            "iam",
            "aws.iam",
            {
                "roleName": [*guarded.roles, *({"prefix": p} for p in guarded.role_prefixes)],
                **({"policyArn": [{"prefix": guarded.policy_arn_prefix}]} if guarded.policy_arn_prefix else {}),
            },
        ),
        (
            "KMS key",
            "kms",
            "aws.kms",
            {
                "keyId": [value for pair in guarded.keys for value in pair],
                "aliasName": [{"prefix": guarded.key_aliases}],
                "targetKeyId": [value for pair in guarded.keys for value in pair],
            },
        ),
        ("bucket", "s3", "aws.s3", {"bucketName": list(guarded.buckets)}),
        (
            "alarm",
            "cloudwatch",
            "aws.cloudwatch",
            {"alarmName": alarms, "alarmNames": alarms},
        ),
        ("dead-letter queue", "sqs", "aws.sqs", {"queueUrl": _queue_urls(guarded.queue_names, own)}),
        ("stack", "cloudformation", "aws.cloudformation", {"stackName": stack}),
    ]
    if guarded.log_groups:  # optional (OPTIONAL_WATCHES): only with cisAlarms, and with webhooks
        kinds.append(("CIS metric filter", "logs", "aws.logs", {"logGroupName": list(guarded.log_groups)}))
    if guarded.secrets:
        kinds.append(("webhook secret", "secretsmanager", "aws.secretsmanager", {"secretId": list(guarded.secrets)}))
    found = [
        Watch(kind, suffix, source, _event_source(source), GUARDED_CALLS[source], names)
        for kind, suffix, source, names in kinds
    ]
    bus = Watch("default event bus", "bus", "aws.events", _event_source("aws.events"), BUS_CALLS, DEFAULT_BUS)
    found.append(bus)
    if guarded.own_bus:  # by name or ARN (CloudTrail records what the caller gave)
        named = [guarded.own_bus, {"suffix": f":event-bus/{guarded.own_bus}"}]
        names = {"name": named, "eventBusName": named}
        own_bus = Watch("own-events bus", "own-bus", "aws.events", _event_source("aws.events"), OWN_BUS_CALLS, names)
        found.append(own_bus)
    deployment = Watch(
        "stack",
        "deployment",
        "aws.cloudformation",
        "cloudformation.amazonaws.com",
        DEPLOYMENT_CALLS,
        {"stackName": stack},
        severity="MEDIUM",  # mailed: a deployment of the guardian is rare, and whoever made it is named
        via_cloudformation=True,
    )
    return [*found, deployment]


def _by_prefix(names: Sequence[str], prefix: str) -> list[Any]:
    """The names as one prefix where they share it, and any that do not by name."""
    if not any(name.startswith(prefix) for name in names):
        return list(names)
    return [{"prefix": prefix}, *(name for name in names if not name.startswith(prefix))]


def _queue_urls(names: Sequence[str], prefix: str) -> list[Any]:
    """The queues as CloudTrail names them (queueUrl, whatever its host): one wildcard for the names under the
    stack's prefix (stack names hold no ``*`` or ``\\``), and any others by name."""
    shared = [{"wildcard": f"*/{prefix}*"}] if any(name.startswith(prefix) for name in names) else []
    return [*shared, *({"suffix": f"/{name}"} for name in names if not name.startswith(prefix))]


def _event_source(source: str) -> str:
    return {"aws.cloudwatch": "monitoring.amazonaws.com"}.get(source, source.removeprefix("aws.") + ".amazonaws.com")


def pattern(watch: Watch, *, via_stack: bool = False) -> events.EventPattern:
    """The call, naming one of the guardian's resources; for every watch but the deployment, by anyone but
    CloudFormation, or (``via_stack``) by CloudFormation only: those go to a function that asks the guardian's stack
    whether it was deploying that resource then (:mod:`infra.stack_callers`)."""
    naming = [{"requestParameters": {field: list(values)}} for field, values in watch.names.items()]
    detail: dict[str, Any] = {"eventSource": [watch.event_source], "eventName": list(watch.event_names)}
    detail["errorCode"] = [{"exists": False}]  # a refused call changed nothing: guard-denied, grouped and capped
    if via_stack:
        detail["sourceIPAddress"] = [VIA_CLOUDFORMATION]
    elif not watch.via_cloudformation:
        detail["sourceIPAddress"] = [{"anything-but": VIA_CLOUDFORMATION}]
    if len(naming) == 1:
        detail.update(naming[0])
    else:
        detail["$or"] = naming
    return events.EventPattern(source=[watch.source], detail_type=[API_CALL], detail=detail)


# Two rules, as one pattern holding every guard's names is 3,000 to 5,000 characters: the guardian's IAM roles, keys,
# buckets and secrets (named one by one) and alarms in one, everything else in the other.
ACCESS_SOURCES = ("aws.iam", "aws.kms", "aws.s3", "aws.secretsmanager", "aws.cloudwatch")
DENIED_SPLIT = {"denied": False, "denied-access": True}  # suffix → whether it takes ACCESS_SOURCES (or the rest)
# targetKeyId: an alias pointed at a key is matched by the alias's name (aliasName). policyArn: a refused change to
# the sweep's managed policies is not in the denied-access rule (its ARN prefix took it over 2,048 characters); the
# SCP refused it, so it changed nothing, and the change that succeeds is alerted CRITICAL by the IAM guard.
DENIED_LEFT_OUT = ("targetKeyId", "policyArn")


def denied_patterns(watched: Sequence[Watch], stack_name: str) -> dict[str, events.EventPattern]:
    """The guards' calls that AWS refused (``errorCode`` present), by anyone, by rule suffix: to the remediation
    function (``guardian.flows.guard_denied``), which alerts each MEDIUM, grouped per principal and capped, where the
    guards would mail every one CRITICAL. To fit 2,048 characters a pattern: the calls are matched by their verb
    (``Put``, ``Delete``, ...: any refused write naming the guardian's resource, the guarded calls included), the
    names merged by field (a field of one service matched on another's call: noise, never a miss), every name under
    ``<stackName>-`` as that one prefix; the default bus's calls are a branch of their own."""
    own = f"{stack_name}-"
    found: dict[str, events.EventPattern] = {}
    for suffix, access in DENIED_SPLIT.items():
        mine = [w for w in watched if (w.source in ACCESS_SOURCES) == access]
        verbs: list[str] = []
        fields: dict[str, list[Any]] = {}
        for watch in mine:
            if watch.suffix == "bus":
                continue
            for name in watch.event_names:
                verb = _verb(name if isinstance(name, str) else name["prefix"])
                if verb not in verbs:
                    verbs.append(verb)
            for field, values in watch.names.items():
                merged = fields.setdefault(field, []) if field not in DENIED_LEFT_OUT else []
                for value in values:
                    named = {"prefix": own} if isinstance(value, str) and value.startswith(own) else value
                    if named not in merged:
                        merged.append(named)
        branches: list[dict[str, Any]] = [{"requestParameters": {f: v}} for f, v in fields.items()]
        if any(w.suffix == "bus" for w in mine):
            for field, values in DEFAULT_BUS.items():
                branches.append({"eventName": list(BUS_CALLS), "requestParameters": {field: values}})
        detail: dict[str, Any] = {
            "eventName": [{"prefix": verb} for verb in verbs]
            + [n for n in BUS_CALLS if not access and _verb(n) not in verbs],
            "errorCode": [{"exists": True}],
            "$or": branches,
        }
        sources = sorted({w.source for w in mine})
        found[suffix] = events.EventPattern(source=sources, detail_type=[API_CALL], detail=detail)
    return found


def _verb(name: str) -> str:
    """A call's verb: ``PutBucketPolicy`` → ``Put``."""
    end = next((i for i, ch in enumerate(name) if i and ch.isupper()), len(name))
    return name[:end]


def message(watch: Watch, stack_name: str) -> events.RuleTargetInput:
    """The alert body: a versioned JSON document like the guardian's own alerts, its subject line first."""
    who = F("$.detail.userIdentity.arn")
    account = F("$.detail.recipientAccountId")  # named in the subject, as in the guardian's own alerts
    if watch.via_cloudformation:
        subject = (
            f"[{watch.severity}] {account} CloudTrail Guardian deployed: {F('$.detail.eventName')} "
            f"{F('$.detail.requestParameters.changeSetName')} by {who}"
        )
        note = (
            "A deployment of the guardian's own stack: review the change set it names and who made it; if nobody "
            "expected it, treat it as tampering (with the SCP only the deployers may). The changes CloudFormation "
            "makes to the guardian's resources while it deploys are not alerted one by one; anyone else's are, "
            "CRITICAL."
        )
    else:
        subject = (
            f"[{watch.severity}] {account} CloudTrail Guardian's own {watch.kind} changed: "
            f"{F('$.detail.eventName')} by {who}"
        )
        note = (
            "Sent by EventBridge straight to this topic, with no function on the path, so it arrives even if the "
            "guardian is broken. A change to the guardian made outside its stack's deployment: review it now, and "
            "redeploy the stack to put the guardian back."
        )
    return SubjectFirst(
        events.RuleTargetInput.from_object(
            {
                "subject": subject,
                "schema": SCHEMA,
                "schema_version": SCHEMA_VERSION,
                "severity": watch.severity,
                "guardian": stack_name,
                "resource_kind": watch.kind,
                "what": f"{F('$.detail.eventName')}",
                "event_source": f"{F('$.detail.eventSource')}",
                "event_id": f"{F('$.detail.eventID')}",
                "event_time": f"{F('$.detail.eventTime')}",
                "region": f"{F('$.detail.awsRegion')}",
                "account": f"{F('$.detail.recipientAccountId')}",
                "source_ip": f"{F('$.detail.sourceIPAddress')}",
                "cloudtrail_record": F("$.detail"),  # who, from where, what parameters, errorCode if the call failed
                "note": note,
            }
        )
    )


class SelfProtection(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, topic: sns.ITopic, watched: Sequence[Watch], stack_name: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.watched = watched
        self.rules: list[events.Rule] = []
        for watch in watched:
            rule = events.Rule(
                self,
                "".join(part.title() for part in watch.suffix.split("-")),
                rule_name=f"{stack_name}-guard-{watch.suffix}",
                description=f"CloudTrail Guardian self-protection: changes to its own {watch.kind}",
                event_pattern=pattern(watch),
            )
            rule.add_target(targets.SnsTopic(topic, message=message(watch, stack_name)))
            self.rules.append(rule)


WATCH_SUFFIXES = (
    "lambda",
    "events",
    "events-watch",
    "sns",
    "iam",
    "kms",
    "s3",
    "cloudwatch",
    "sqs",
    "cloudformation",
    "bus",
    "deployment",
)
# CloudFormation's own calls of each watch, to be confirmed; other stacks given the CDK execution role, or lending it
# (no roleARN); the guardian's tag given to a principal by CloudFormation (infra.stack_callers).
CFN_SUFFIXES = (
    *(f"cfn-{s}" for s in WATCH_SUFFIXES if s != "deployment"),
    *("cfn-exec-role", "cfn-exec-borrowed", "cfn-iam-tag"),
)
TAG_SUFFIX = "iam-tag"  # the guardian's tag given to a principal by anyone but CloudFormation (infra.stack_callers)
DENIED_SUFFIXES = ("denied", "denied-access")  # = DENIED_SPLIT: the guards' refused calls, to the function
GUARD_SUFFIXES = (*WATCH_SUFFIXES, TAG_SUFFIX, *CFN_SUFFIXES, *DENIED_SUFFIXES)
# guard-logs with cisAlarms, guard-secretsmanager with webhooks, guard-own-bus with ownEvents dedicated
OPTIONAL_WATCHES = ("logs", "secretsmanager", "own-bus")
