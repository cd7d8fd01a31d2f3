"""``guardian selftest``: a safe end-to-end proof in the real account. Stop the guardian's own sentinel trail (only
that one), wait for the heal's alert on the topic, and say PASS or FAIL with the measured times.

The self-test is registered first (:mod:`guardian_console.operator`): the guardian signs a marker saying a
StopLogging of the sentinel by this caller, in the next minutes, is a self-test, so its alert and evidence say so
(INFO when healed; a failed heal stays CRITICAL). The alert is received on a temporary SQS queue subscribed to the
topic with a filter on this self-test's id; queue and subscription are removed afterwards, whatever happens, and a
sentinel still stopped at the end is started again by the console itself (and the FAIL says so): nothing is left
behind but the self-test's own evidence.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian_console import operator
from guardian_console.errors import ConsoleError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from guardian_console.deployed import Deployed

AWS_ERRORS = (ClientError, BotoCoreError)


@dataclass
class Outcome:
    passed: bool
    stage: str  # "healed and alerted", or where the chain stopped
    message: str
    id: str = ""
    timings: dict[str, float | None] = field(default_factory=dict)
    alert_subject: str | None = None
    evidence_key: str | None = None
    restarted_by_console: bool = False
    cleaned_up: list[str] = field(default_factory=list)


def run(session: Any, deployed: Deployed, *, timeout: float, reason: str, now: datetime) -> Outcome:
    cloudtrail = session.client("cloudtrail", region_name=deployed.region)
    sentinel = _sentinel(cloudtrail, deployed)
    body = operator.request("selftest", deployed, trail=sentinel, region=deployed.region, reason=reason, now=now)
    outcome = Outcome(False, "", "", id=body["id"])
    with _inbox(session, deployed, body["id"], outcome.cleaned_up) as inbox:
        answer = operator.ask(session, deployed, body)
        if not answer.get("ok"):
            outcome.stage, outcome.message = "registration", f"the guardian refused the self-test: {answer['refused']}"
            return outcome
        stopped_at, started = datetime.now(UTC), time.monotonic()
        try:
            cloudtrail.stop_logging(Name=sentinel)
        except AWS_ERRORS as exc:
            outcome.stage = "stop"
            outcome.message = (
                f"cannot stop the sentinel trail {sentinel}: {exc}. Where the SCP denies StopLogging, run the "
                "self-test as the break-glass role"
            )
            return outcome
        try:
            alert, logging_again = _wait(cloudtrail, sentinel, inbox, started, timeout)
        finally:
            outcome.restarted_by_console = _ensure_logging(cloudtrail, sentinel)
        outcome.timings = {"alert_received_seconds": None, "logging_seen_again_seconds": logging_again}
        if alert is None:
            _diagnose(session, deployed, outcome, stopped_at, healed=logging_again is not None, timeout=timeout)
            return outcome
        outcome.timings["alert_received_seconds"] = round(time.monotonic() - started, 3)
        _judge(session, deployed, outcome, alert, stopped_at)
    return outcome


def _sentinel(cloudtrail: Any, deployed: Deployed) -> str:
    if not deployed.sentinel_trail:
        raise ConsoleError(
            f"stack {deployed.stack} has no sentinel trail, the only trail a self-test stops",
            "set sentinelTrail to true in cdk.json (the default) and deploy",
        )
    try:
        logging = cloudtrail.get_trail_status(Name=deployed.sentinel_trail)["IsLogging"]
    except AWS_ERRORS as exc:
        raise ConsoleError(
            f"cannot read the sentinel trail {deployed.sentinel_trail}: {exc}", "the caller needs GetTrailStatus"
        ) from exc
    if not logging:
        raise ConsoleError(
            f"the sentinel trail {deployed.sentinel_trail} is not logging", "run `guardian sweep` (it starts it) first"
        )
    return deployed.sentinel_trail


class _Inbox:
    def __init__(self, sqs: Any, url: str) -> None:
        self._sqs, self._url = sqs, url

    def receive(self, wait: int) -> dict[str, Any] | None:
        messages = self._sqs.receive_message(QueueUrl=self._url, WaitTimeSeconds=wait, MaxNumberOfMessages=1)
        for message in messages.get("Messages", []):
            envelope = json.loads(message["Body"])
            return {"subject": envelope.get("Subject"), **json.loads(envelope["Message"])}
        return None


@contextmanager
def _inbox(session: Any, deployed: Deployed, test_id: str, cleaned: list[str]) -> Iterator[_Inbox]:
    """A queue subscribed to the topic, receiving only this self-test's alert; removed afterwards, whatever happens."""
    sqs = session.client("sqs", region_name=deployed.region)
    sns = session.client("sns", region_name=deployed.region)
    name = f"guardian-selftest-{test_id[:8]}"
    url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "900"})["QueueUrl"]
    subscription = None
    try:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": deployed.topic_arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        subscription = sns.subscribe(
            TopicArn=deployed.topic_arn,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"FilterPolicy": json.dumps({"purpose_id": [test_id]})},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        yield _Inbox(sqs, url)
    finally:
        if subscription:
            with suppress(*AWS_ERRORS):
                sns.unsubscribe(SubscriptionArn=subscription)
                cleaned.append(f"subscription {subscription}")
        with suppress(*AWS_ERRORS):
            sqs.delete_queue(QueueUrl=url)
            cleaned.append(f"queue {name}")


def _wait(
    cloudtrail: Any, sentinel: str, inbox: _Inbox, started: float, timeout: float
) -> tuple[dict[str, Any] | None, float | None]:
    """The self-test's alert, and when the sentinel was seen logging again (None: not within the timeout)."""
    logging_again: float | None = None
    while time.monotonic() - started < timeout:
        if logging_again is None:
            with suppress(*AWS_ERRORS):
                if cloudtrail.get_trail_status(Name=sentinel)["IsLogging"]:
                    logging_again = round(time.monotonic() - started, 3)
        alert = inbox.receive(wait=max(0, min(2, int(timeout - (time.monotonic() - started)))))
        if alert is not None:
            return alert, logging_again
    return None, logging_again


def _ensure_logging(cloudtrail: Any, sentinel: str) -> bool:
    """Start the sentinel if it is still stopped; True if the console had to."""
    with suppress(*AWS_ERRORS):
        if not cloudtrail.get_trail_status(Name=sentinel)["IsLogging"]:
            cloudtrail.start_logging(Name=sentinel)
            return True
    return False


def _judge(session: Any, deployed: Deployed, outcome: Outcome, alert: dict[str, Any], stopped_at: datetime) -> None:
    outcome.alert_subject = str(alert.get("subject"))
    outcome.evidence_key = (alert.get("evidence") or {}).get("key")
    outcome.timings["blind_window_seconds"] = alert.get("blind_window_seconds")
    s3 = session.client("s3", region_name=deployed.region)
    record = _record(s3, deployed.evidence_bucket, outcome.evidence_key) if outcome.evidence_key else None
    actions = [a for a in (record or {}).get("actions") or [] if isinstance(a, dict)]
    verification = (record or {}).get("verification") or {}
    acted, verified = _time(actions[0].get("started_at") if actions else None), _time(verification.get("checked_at"))
    outcome.timings["delivery_seconds"] = _between(stopped_at, acted)  # CloudTrail → EventBridge → the function
    outcome.timings["heal_seconds"] = _between(acted, verified)  # StartLogging and its verification
    purpose = alert.get("purpose") or {}
    healed = alert.get("outcome") == "healed" and purpose.get("id") == outcome.id
    outcome.passed = healed and not outcome.restarted_by_console
    outcome.stage = "healed and alerted" if outcome.passed else "heal"
    outcome.message = (
        "the guardian healed the sentinel, verified it, kept the evidence and alerted"
        if outcome.passed
        else f"the alert came, but the heal did not succeed: {alert.get('summary')}"
    )


def _diagnose(
    session: Any, deployed: Deployed, outcome: Outcome, stopped_at: datetime, *, healed: bool, timeout: float
) -> None:
    """Where the chain stopped, when no alert came."""
    key = _evidence_of(session, deployed, outcome.id, stopped_at)
    if key is not None:
        outcome.stage, outcome.evidence_key = "alert", key
        outcome.message = f"the alert was never published: the evidence record {key} exists, no alert reached the topic"
    elif healed:
        outcome.stage = "function"
        outcome.message = "the function restarted the sentinel but recorded nothing and sent no alert: it errored"
    elif _function_errors(session, deployed, stopped_at):
        outcome.stage = "function"
        outcome.message = (
            f"the function {deployed.remediation_function} errored: see its logs and the dead-letter queue"
        )
    else:
        outcome.stage = "event"
        outcome.message = (
            f"the event never arrived: no heal, no record and no function error within {timeout:.0f} s. Check the "
            "tamper rule is enabled with its target; if the sentinel is the only trail logging in this Region, "
            "EventBridge may not deliver its own StopLogging (AWS does not say), and the sweep heals it instead"
        )


def _evidence_of(session: Any, deployed: Deployed, test_id: str, since: datetime) -> str | None:
    s3 = session.client("s3", region_name=deployed.region)
    prefix = f"evidence/{since:%Y/%m/%d}/"
    with suppress(*AWS_ERRORS):
        listed = s3.list_objects_v2(Bucket=deployed.evidence_bucket, Prefix=prefix).get("Contents", [])
        for item in listed:
            if item["LastModified"] >= since - timedelta(seconds=5):
                record = _record(s3, deployed.evidence_bucket, item["Key"]) or {}
                if (record.get("purpose") or {}).get("id") == test_id:
                    return str(item["Key"])
    return None


def _function_errors(session: Any, deployed: Deployed, since: datetime) -> bool:
    with suppress(*AWS_ERRORS):
        answer = session.client("cloudwatch", region_name=deployed.region).get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": deployed.remediation_function}],
            StartTime=since - timedelta(minutes=1),
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )
        return any(point.get("Sum", 0) > 0 for point in answer.get("Datapoints", []))
    return False


def _record(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    with suppress(*AWS_ERRORS, ValueError):
        body = s3.get_object(Bucket=bucket, Key=key)
        found = json.loads(body["Body"].read())
        return found if isinstance(found, dict) else None
    return None


def _time(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _between(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else round((end - start).total_seconds(), 3)


def lines(outcome: Outcome) -> list[str]:
    t = outcome.timings

    def seconds(name: str) -> str:
        value = t.get(name)
        return "-" if value is None else f"{value:.2f} s"

    found = [
        f"{'PASS' if outcome.passed else 'FAIL'}: {outcome.message}",
        f"  self-test       {outcome.id}",
        f"  stage           {outcome.stage}",
        f"  delivery        {seconds('delivery_seconds')}  (StopLogging to the function acting, via EventBridge)",
        f"  heal            {seconds('heal_seconds')}  (StartLogging and its verification)",
        f"  blind window    {seconds('blind_window_seconds')}  (CloudTrail's own stop and start times)",
        f"  alert received  {seconds('alert_received_seconds')}  (after the stop)",
    ]
    if outcome.alert_subject:
        found.append(f"  alert           {outcome.alert_subject}")
    if outcome.evidence_key:
        found.append(f"  evidence        {outcome.evidence_key}")
    if outcome.restarted_by_console:
        found.append("  the sentinel was still stopped: the console started it again itself")
    found.append(f"  removed         {', '.join(outcome.cleaned_up) or 'nothing to remove'}")
    return found
