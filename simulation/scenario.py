"""The attack and the heal: a logging trail, an attacker's StopLogging, the event AWS would emit, the guardian.

The guardian's handler runs in this process with the environment the template gives the function, and its boto3
clients talk to moto_server over HTTP (``AWS_ENDPOINT_URL``), exactly as the Lambda function's would talk to AWS.
"""

from __future__ import annotations

import json
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from moto.events.models import EventPattern

from guardian.entrypoints import handler, sweep
from simulation import event_history
from simulation.cloudtrail_events import api_call_record
from simulation.deploy import Deployment
from simulation.lambda_runner import lambda_metrics
from simulation.moto_server import ACCOUNT, REGION, LocalAws, environment
from simulation.security_hub import findings_told

TRAIL = "organization-audit"
TRAIL_BUCKET = "audit-logs-123456789012"
ATTACKER = "mallory"


@dataclass(frozen=True)
class Locked:
    """An evidence record and its Object Lock, as S3 reports them."""

    key: str
    mode: str | None
    retain_until: datetime | None


@dataclass(frozen=True)
class Outcome:
    status_before: dict[str, Any]
    status_after_attack: dict[str, Any]
    status_after: dict[str, Any]
    event: dict[str, Any]
    pattern_matches: bool
    handler_result: dict[str, Any]
    notifications: list[dict[str, Any]]  # exactly what an email-json subscriber receives
    evidence: dict[str, Any]
    evidence_bucket: str
    evidence_key: str
    evidence_lock: dict[str, Any]
    first_sweep: dict[str, Any]
    lost_event: LostEvent | None = None
    lifecycle: LifecycleAct | None = None
    switched_off: SwitchOffAct | None = None
    locked: tuple[Locked, ...] = ()
    blind_window: dict[str, Any] | None = None  # what the attacker did while the trail was off, as the guardian kept it
    findings: tuple[dict[str, Any], ...] = ()  # act 1's alert as Security Hub findings (simulation.security_hub)


@dataclass(frozen=True)
class SwitchOffAct:
    """Act 4: the attacker disables the guardian's own tamper rule. EventBridge alerts straight from the event (no
    function runs), and the next sweep enables the rule again."""

    state_after_attack: str
    function_invocations: int
    self_protection_alert: dict[str, Any]
    sweep_summary: dict[str, Any]
    state_after_sweep: str
    sweep_alerts: list[dict[str, Any]]
    locked: tuple[Locked, ...] = ()


@dataclass(frozen=True)
class LifecycleAct:
    """Act 3 (Stratus Red Team cloudtrail-lifecycle-rule): the trail's logs are set to expire after one day."""

    rules_after_attack: list[dict[str, Any]] | None
    pattern_matches: bool
    handler_result: dict[str, Any]
    rules_after: list[dict[str, Any]] | None
    notifications: list[dict[str, Any]]
    locked: tuple[Locked, ...] = ()


@dataclass(frozen=True)
class LostEvent:
    """Act 2: the trail is deleted and no event reaches the guardian; the scheduled sweep puts it back."""

    trail_before: dict[str, Any]
    exists_after_attack: bool
    sweep_summary: dict[str, Any]
    trail_after: dict[str, Any]
    status_after: dict[str, Any]
    notifications: list[dict[str, Any]]
    locked: tuple[Locked, ...] = ()


def locks(aws: LocalAws, notifications: list[dict[str, Any]]) -> tuple[Locked, ...]:
    """The evidence record each alert names, with its Object Lock as S3 reports it (HeadObject)."""
    found = []
    s3 = aws.client("s3")
    for notification in notifications:
        evidence = json.loads(notification["Message"]).get("evidence") or {}
        if evidence.get("key"):
            head = s3.head_object(Bucket=evidence["bucket"], Key=evidence["key"])
            found.append(Locked(evidence["key"], head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate")))
    return tuple(found)


def create_logging_trail(aws: LocalAws) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=TRAIL_BUCKET)
    cloudtrail = aws.client("cloudtrail")
    cloudtrail.create_trail(
        Name=TRAIL, S3BucketName=TRAIL_BUCKET, IsMultiRegionTrail=True, EnableLogFileValidation=True
    )
    cloudtrail.start_logging(Name=TRAIL)


def subscribe_security_team(aws: LocalAws, topic_arn: str, name: str = "security-team-inbox") -> str:
    """An SQS stand-in for the email-json subscriber: it receives the same notification document."""
    sqs = aws.client("sqs")
    queue_url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return queue_url


def attacker_stops_logging(aws: LocalAws) -> dict[str, Any]:
    """The attacker, with their own access key, stops the trail; returns the CloudTrail record AWS would write."""
    iam = aws.client("iam")
    user = iam.create_user(UserName=ATTACKER)["User"]
    key = iam.create_access_key(UserName=ATTACKER)["AccessKey"]
    attacker = aws.client(
        "cloudtrail", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    attacker.stop_logging(Name=TRAIL)
    return cloudtrail_record(user, key["AccessKeyId"], "cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL})


def attacker_acts_while_off(aws: LocalAws) -> list[dict[str, Any]]:
    """While the trail is off the attacker makes a user of their own, with an access key; CloudTrail's Event history
    keeps these calls whether or not a trail logs (moto keeps none: simulation.event_history holds them)."""
    iam = aws.client("iam")
    user = iam.get_user(UserName=ATTACKER)["User"]
    key = iam.create_access_key(UserName=ATTACKER)["AccessKey"]
    as_attacker = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    aws.client("iam", **as_attacker).create_user(UserName="backup-admin")
    aws.client("iam", **as_attacker).create_access_key(UserName="backup-admin")
    aws.client("s3", **as_attacker).list_buckets()
    iam.delete_access_key(UserName=ATTACKER, AccessKeyId=key["AccessKeyId"])  # IAM allows a user two keys
    made = {"userName": "backup-admin"}
    return [
        cloudtrail_record(user, key["AccessKeyId"], "iam.amazonaws.com", "CreateUser", made),
        cloudtrail_record(user, key["AccessKeyId"], "iam.amazonaws.com", "CreateAccessKey", made),
        cloudtrail_record(user, key["AccessKeyId"], "s3.amazonaws.com", "ListBuckets", {}),
    ]


def attacker_expires_the_logs(aws: LocalAws) -> dict[str, Any]:
    """Stratus cloudtrail-lifecycle-rule: a lifecycle rule on the trail's bucket that deletes logs after a day."""
    iam = aws.client("iam")
    user = iam.get_user(UserName=ATTACKER)["User"]
    key = iam.create_access_key(UserName=ATTACKER)["AccessKey"]
    attacker = aws.client("s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    rule: Any = {"ID": "nuke-cloudtrail-logs-after-1-day", "Status": "Enabled", "Filter": {"Prefix": ""}}
    expiring: Any = {**rule, "Expiration": {"Days": 1}}
    attacker.put_bucket_lifecycle_configuration(Bucket=TRAIL_BUCKET, LifecycleConfiguration={"Rules": [expiring]})
    request = {"bucketName": TRAIL_BUCKET, "lifecycle": "", "LifecycleConfiguration": {"Rule": expiring}}
    return cloudtrail_record(user, key["AccessKeyId"], "s3.amazonaws.com", "PutBucketLifecycle", request)


def cloudtrail_record(user: Any, access_key: str, source: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
    """The CloudTrail record AWS writes for one API call by the attacker's IAM user, with the aws-cli's TLS details."""
    host = (
        f"{TRAIL_BUCKET}.s3.{REGION}.amazonaws.com" if source.startswith("s3") else f"cloudtrail.{REGION}.amazonaws.com"
    )
    identity = {
        "type": "IAMUser",
        "principalId": user["UserId"],
        "arn": user["Arn"],
        "accountId": ACCOUNT,
        "accessKeyId": access_key,
        "userName": ATTACKER,
    }
    record = api_call_record(
        identity,
        source=source,
        name=name,
        region=REGION,
        request=request,
        user_agent="aws-cli/2.22.0 md/awscrt#0.23.4 ua/2.1 os/linux#6.8 md/arch#x86_64 lang/python#3.12.6",
        source_ip="203.0.113.66",
    )
    tls = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host}
    return {**record, "tlsDetails": tls}


def eventbridge_envelope(record: dict[str, Any]) -> dict[str, Any]:
    """The event the default bus delivers for a CloudTrail-recorded API call."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws." + record["eventSource"].split(".", 1)[0],
        "account": ACCOUNT,
        "time": record["eventTime"],
        "region": REGION,
        "resources": [],
        "detail": record,
    }


def function_environment(aws: LocalAws, variables: dict[str, str]) -> AbstractContextManager[None]:
    """The Lambda environment: the template's variables, plus what the runtime sets, pointed at moto_server."""
    return environment(
        **variables,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=aws.endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )


@dataclass(frozen=True)
class LambdaContext:
    function_name: str
    aws_request_id: str


def status(aws: LocalAws) -> dict[str, Any]:
    response = aws.client("cloudtrail").get_trail_status(Name=TRAIL)
    return {k: response.get(k) for k in ("IsLogging", "StartLoggingTime", "StopLoggingTime", "LatestDeliveryTime")}


def drain(aws: LocalAws, queue_url: str) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def invoke_sweep(aws: LocalAws, deployment: Deployment) -> dict[str, Any]:
    """What the schedule (or the deployment's stack event) does: run the sweep function with its environment."""
    name = deployment.outputs["SweepFunctionName"]
    failed = True
    try:
        with function_environment(aws, deployment.sweep_environment):
            handler.reset()
            summary = sweep.lambda_handler({}, LambdaContext(name, str(uuid.uuid4())))
            handler.reset()
        failed = False
    finally:
        lambda_metrics(aws.client("cloudwatch"), name, failed=failed)
    return summary


def describe(aws: LocalAws) -> dict[str, Any]:
    trails = aws.client("cloudtrail").describe_trails(trailNameList=[TRAIL])["trailList"]
    return dict(trails[0]) if trails else {}


def lost_event(aws: LocalAws, deployment: Deployment, queue_url: str) -> LostEvent:
    before = describe(aws)
    aws.client("cloudtrail").delete_trail(Name=TRAIL)  # and EventBridge never delivers the DeleteTrail event
    exists = bool(describe(aws))
    summary = invoke_sweep(aws, deployment)
    alerts = drain(aws, queue_url)
    return LostEvent(before, exists, summary, describe(aws), status(aws), alerts, locks(aws, alerts))


def deliver_event(aws: LocalAws, deployment: Deployment, event: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """What EventBridge does in AWS: match the deployed rule's pattern, then invoke the remediation function (run
    here, with the environment the template gives it: moto cannot invoke Lambda without Docker)."""
    matches = EventPattern.load(deployment.rule_pattern).matches_event(event)  # type: ignore[arg-type]
    with function_environment(aws, deployment.function_environment):
        handler.reset()
        context = LambdaContext(deployment.outputs["RemediationFunctionName"], str(uuid.uuid4()))
        result = handler.lambda_handler(event, context)
        handler.reset()
    return bool(matches), result


def lifecycle_rule(aws: LocalAws, deployment: Deployment, queue_url: str) -> LifecycleAct:
    record = attacker_expires_the_logs(aws)
    attacked = lifecycle(aws)
    event = eventbridge_envelope(record)
    matches, result = deliver_event(aws, deployment, event)
    alerts = drain(aws, queue_url)
    return LifecycleAct(attacked, matches, result, lifecycle(aws), alerts, locks(aws, alerts))


def lifecycle(aws: LocalAws) -> list[dict[str, Any]] | None:
    try:
        response = aws.client("s3").get_bucket_lifecycle_configuration(Bucket=TRAIL_BUCKET)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchLifecycleConfiguration":
            return None
        raise
    return [dict(rule) for rule in response["Rules"]]


def switch_off(aws: LocalAws, deployment: Deployment, queue_url: str) -> SwitchOffAct:
    rule = deployment.outputs["TamperRuleName"]
    events = aws.client("events")
    events.disable_rule(Name=rule)  # the attacker's call; AWS records it and delivers this event:
    record = cloudtrail_record(
        aws.client("iam").get_user(UserName=ATTACKER)["User"],
        "AKIA-ATTACKER",
        "events.amazonaws.com",
        "DisableRule",
        {"name": rule},
    )
    event_history.record(record)  # CloudTrail keeps it: the sweep names its caller (LookupEvents)
    before = len(aws.invocations)
    envelope = eventbridge_envelope(record)
    events.put_events(
        Entries=[{"Source": envelope["source"], "DetailType": envelope["detail-type"], "Detail": json.dumps(record)}]
    )
    [alert] = drain(aws, queue_url)
    state = events.describe_rule(Name=rule)["State"]
    summary = invoke_sweep(aws, deployment)
    alerts = drain(aws, queue_url)
    return SwitchOffAct(
        state,
        len(aws.invocations) - before,
        json.loads(alert["Message"]),
        summary,
        events.describe_rule(Name=rule)["State"],
        alerts,
        locks(aws, alerts),
    )


def run(aws: LocalAws, deployment: Deployment, *, act_two: bool = True) -> Outcome:
    create_logging_trail(aws)
    queue_url = subscribe_security_team(aws, deployment.outputs["AlertsTopicArn"])
    first_sweep = invoke_sweep(aws, deployment)  # as after deployment: records the trail's baseline
    before = status(aws)
    aws.client("securityhub").enable_security_hub()  # the account's Security Hub: each alert a finding there too
    record = attacker_stops_logging(aws)
    after_attack = status(aws)
    event_history.record(record, *attacker_acts_while_off(aws))  # what Event history holds of the blind window
    event = eventbridge_envelope(record)
    matches, result = deliver_event(aws, deployment, event)
    notifications = drain(aws, queue_url)
    alert = json.loads(notifications[0]["Message"]) if notifications else {}
    bucket, key = alert.get("evidence", {}).get("bucket"), alert.get("evidence", {}).get("key")
    s3 = aws.client("s3")
    evidence = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) if key else {}
    head = s3.head_object(Bucket=bucket, Key=key) if key else {}
    lock = {k: head.get(k) for k in ("ObjectLockMode", "ObjectLockRetainUntilDate")}
    blind = "blind-windows/" + key.removeprefix("evidence/") if key else None
    try:
        window = json.loads(s3.get_object(Bucket=bucket, Key=blind)["Body"].read()) if blind else None
    except ClientError:
        window = None  # not kept: the story says so
    outcome = Outcome(
        before,
        after_attack,
        status(aws),
        event,
        matches,
        result,
        notifications,
        evidence,
        bucket or "",
        key or "",
        lock,
        first_sweep,
        locked=locks(aws, notifications),
        blind_window=window,
        findings=tuple(findings_told(aws.client("securityhub"))),
    )
    drain(aws, queue_url)  # the INFO alert of the guardian's own StartLogging event is not part of act 2
    if not act_two:
        return outcome
    outcome = replace(outcome, lost_event=lost_event(aws, deployment, queue_url))
    outcome = replace(outcome, lifecycle=lifecycle_rule(aws, deployment, queue_url))
    return replace(outcome, switched_off=switch_off(aws, deployment, queue_url))
