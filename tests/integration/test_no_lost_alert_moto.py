"""No tamper event without an alert (issue 9), against moto: odd input, failed reads and a broken evidence store
still alert, once; what fails after the alert never sends the event to the dead-letter queue.

Each test is one reproduction from the issue, and fails on a guardian that lets the exception escape first.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from guardian.adapters.clients import CLIENT_CONFIG
from guardian.entrypoints import handler
from guardian.flows import budget
from guardian.flows.handle_event import HealFailed
from guardian.model import alert as alert_model
from tests.faults import Fault, Faults
from tests.integration.conftest import TRAIL as SWEPT_TRAIL
from tests.integration.conftest import Account
from tests.integration.world import LambdaContext, World, message_of
from tests.support import REPO_ROOT, load_event

SNS_LIMIT = 256 * 1024


def stop_logging(**detail: Any) -> dict[str, Any]:
    event = load_event("stop_logging")
    event["detail"].update(detail)
    return event


def outcomes(notifications: list[dict[str, Any]]) -> list[str]:
    return [n["MessageAttributes"]["outcome"]["Value"] for n in notifications]


# --- odd input -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["userAgent", "eventID", "sourceIPAddress", "errorMessage"])
@pytest.mark.threat("odd-input")
def test_a_lone_surrogate_in_a_copied_field_is_healed_recorded_and_alerted(world: World, field: str) -> None:
    event = stop_logging(**{field: "aws-cli/2 \ud800 end"})
    result = world.invoke(event)
    assert world.is_logging()
    assert result["alert_published"] is True
    [notification] = world.alerts()
    alert = message_of(notification)  # the surrogate arrives escaped in valid JSON, and reads back as it was sent
    copied = {
        "userAgent": alert["actor"]["user_agent"],
        "eventID": alert["event"]["id"],
        "sourceIPAddress": alert["actor"]["source_ip"],
        "errorMessage": alert["event"]["error_message"],
    }[field]
    assert copied == "aws-cli/2 \ud800 end"
    [key] = world.evidence_keys()
    record = world.evidence(key)
    assert record["original_event"]["detail"][field] == "aws-cli/2 \ud800 end"  # the event kept exactly


def test_an_alert_that_would_exceed_snss_limit_is_cut_to_fit_and_the_evidence_keeps_it_all(world: World) -> None:
    """A failed StopLogging naming a 90,000-character trail, the name repeated in the error message and the agent."""
    name = "t" * 90_000
    event = stop_logging(
        requestParameters={"name": name},
        errorCode="InvalidTrailNameException",
        errorMessage=f"Trail name {name} is invalid",
        userAgent=name,
    )
    result = world.invoke(event)
    assert result["alert_published"] is True
    [notification] = world.alerts()
    assert len(notification["Message"].encode()) < SNS_LIMIT
    alert = message_of(notification)
    assert alert["outcome"] == "attempt_failed"  # a failed call: nothing to undo
    assert alert["truncated"]["fields"]  # says what was cut
    assert "event.error_message" in alert["truncated"]["fields"]
    assert alert["actor"]["user_agent"].startswith("tttt")
    assert alert["actor"]["user_agent"].endswith("chars cut]")
    assert alert["trail"] is None  # no trail CloudTrail accepts is named so: none is read or healed
    assert any("is no trail name CloudTrail accepts" in p for p in alert["input_problems"])
    [key] = world.evidence_keys()
    assert world.evidence(key)["original_event"] == event  # the full event is in the record


def test_a_long_event_id_and_actor_arn_are_counted_without_a_dead_letter(world: World) -> None:
    """DynamoDB's key limits (2,048 bytes partition, 1,024 sort) are met by hashing the key, not by failing."""
    arn = "arn:aws:iam::123456789012:user/" + "m" * 3_000
    for n in range(3):
        event = stop_logging(eventID=f"{n}-" + "e" * 1_500, eventTime=f"2026-11-20T10:0{n}:00Z")
        event["detail"]["userIdentity"]["arn"] = arn
        boto3.client("cloudtrail").stop_logging(Name="management-trail")
        result = world.invoke(event)  # no exception: nothing reaches the dead-letter queue
        assert result["outcome"] == "healed"
    assert outcomes(world.alerts()) == ["healed", "healed", "healed", "repeated_tampering"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-02-30T10:00:00Z"])
@pytest.mark.threat("odd-input")
def test_an_impossible_event_time_is_an_input_problem_named_in_the_alert(world: World, moment: str) -> None:
    result = world.invoke(stop_logging(eventTime=moment))
    assert result["outcome"] == "healed"
    assert world.is_logging()
    alert = message_of(world.alerts()[0])
    assert any(moment in problem and "eventTime" in problem for problem in alert["input_problems"])
    assert alert["blind_window_seconds"] is None  # no window is computed from a time that cannot be


def test_three_changes_in_the_same_second_alert_whatever_the_order_of_their_ids(world: World) -> None:
    for order in (("a", "b", "c"), ("c", "b", "a")):
        for event_id in order:
            boto3.client("cloudtrail").stop_logging(Name="management-trail")
            world.invoke(stop_logging(eventID=f"{order[0]}-{event_id}", eventTime="2026-11-20T10:00:00Z"))
        assert outcomes(world.alerts())[-1] == "repeated_tampering", order


# --- failed reads -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["cloudtrail.DescribeTrails", "s3.GetObject"])
def test_a_restore_that_cannot_read_alerts_heal_failed_records_it_and_raises(
    account: Account, faults: Faults, operation: str
) -> None:
    account.alerts()
    account.ct().delete_trail(Name=SWEPT_TRAIL)
    faults.add(operation, "denied")
    event = load_event("delete_trail")
    event["detail"]["requestParameters"] = {"name": SWEPT_TRAIL}
    with pytest.raises(HealFailed, match=SWEPT_TRAIL):
        handler.lambda_handler(event, LambdaContext())
    [notification] = account.alerts()
    assert notification["Subject"].startswith("[CRITICAL] 123456789012 ")
    assert notification["Subject"].endswith("HEAL FAILED")
    alert = message_of(notification)
    assert alert["outcome"] == "heal_failed"
    assert "AccessDenied" in alert["action"]["diagnosis"]
    keys = boto3.client("s3").list_objects_v2(Bucket=account.bucket, Prefix="evidence/")["Contents"]
    assert [k["Key"] for k in keys if k["Key"].endswith(".heal-failed.json")]
    with pytest.raises(HealFailed):
        handler.lambda_handler(event, LambdaContext())  # Lambda's retry: no second alert
    assert account.alerts() == []


@pytest.mark.threat("lake")
def test_a_lake_heal_that_cannot_read_alerts_heal_failed(world: World, faults: Faults) -> None:
    faults.add("cloudtrail.GetEventDataStore", "denied")
    event = load_event("stop_logging")
    event["detail"].update(
        eventName="StopEventDataStoreIngestion",
        requestParameters={
            "eventDataStore": "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/EXAMPLE-f852-4e8f-8bd1"
        },
    )
    with pytest.raises(HealFailed):
        world.invoke(event)
    [notification] = world.alerts()
    assert message_of(notification)["outcome"] == "heal_failed"
    assert "AccessDenied" in message_of(notification)["action"]["diagnosis"]


def test_a_bucket_event_whose_scope_cannot_be_read_alerts_heal_failed(world: World, faults: Faults) -> None:
    """Is the bucket a protected trail's? Its baseline cannot be read: the guardian says it could not check."""
    faults.add("s3.GetObject", "denied")
    event = stop_logging(
        eventSource="s3.amazonaws.com", eventName="PutBucketLifecycle", requestParameters={"bucketName": "logs"}
    )
    with pytest.raises(HealFailed):
        world.invoke(event)
    alert = message_of(world.alerts()[0])
    assert (alert["severity"], alert["outcome"]) == ("CRITICAL", "heal_failed")
    assert alert["action"]["diagnosis"].startswith("checking the bucket failed: AccessDenied")


# --- faults in the guardian's own code --------------------------------------------------------------------------


def test_an_alert_that_cannot_be_built_is_sent_as_the_fallback_alert(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("a field the code expected")

    monkeypatch.setattr(alert_model, "build_alert", broken)
    answer = world.invoke(load_event("stop_logging"))
    assert answer["alert_published"] is True
    assert world.is_logging()
    [notification] = world.alerts()
    assert notification["Subject"] == "[CRITICAL] 123456789012 Guardian failed on StopLogging event — check it now"
    alert = message_of(notification)
    assert alert["fallback"] is True
    assert alert["event"]["id"] == "0a000001-1111-4111-8111-000000000001"
    assert "KeyError" in alert["reason"]


def test_an_event_the_guardian_fails_to_read_is_alerted_as_unreadable(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise ValueError("a bug in the decision")

    monkeypatch.setattr(handler, "decide", broken)
    answer = world.invoke(load_event("stop_logging"))
    assert answer["outcome"] == "unreadable"
    [notification] = world.alerts()
    assert notification["MessageAttributes"]["outcome"]["Value"] == "unreadable"
    assert "ValueError: a bug in the decision" in message_of(notification)["reason"]


# --- a broken evidence store ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["denied", "5xx", "timeout"])
@pytest.mark.threat("evidence-broken")
def test_an_evidence_store_that_cannot_be_written_still_alerts_critical_once(
    world: World, faults: Faults, kind: str
) -> None:
    faults.add("s3.PutObject", kind)
    event = load_event("stop_logging")
    result = world.invoke(event)  # no raise: a published alert never becomes a dead letter
    assert world.is_logging()
    assert result["alert_published"] is True
    [notification] = world.alerts()
    assert notification["Subject"].startswith("[CRITICAL] 123456789012 ")
    alert = message_of(notification)
    assert alert["severity"] == "CRITICAL"
    assert alert["evidence"]["written"] is False
    assert alert["evidence"]["error"]
    assert world.invoke(event)["alert_published"] is False  # a redelivery: the ledger says it went out
    assert world.alerts() == []


@pytest.mark.threat("activity-table")
def test_a_ledger_entry_written_by_anyone_else_silences_nothing(world: World, faults: Faults) -> None:
    """An insider who may write the activity table writes the entry that says "alerted" before the event arrives."""
    key = "evidence/2026/11/20/0a000001-1111-4111-8111-000000000001.json"
    forged = {"evidence_key": key, "sent": {"guardian-alert-message-id": "forged"}}
    boto3.client("dynamodb").put_item(
        TableName="guardian-activity",
        Item={"principal": {"S": "#alerts"}, "at": {"S": key}, "entry": {"S": json.dumps(forged)}},
    )
    faults.add("s3.PutObject", "denied")  # and broke the evidence store, so the ledger is asked
    assert world.invoke(load_event("stop_logging"))["alert_published"] is True
    assert len(world.alerts()) == 1


def test_an_alert_is_not_sent_twice_when_its_record_cannot_be_tagged(world: World, faults: Faults) -> None:
    faults.add("s3.PutObjectTagging", "denied")
    event = load_event("stop_logging")
    assert world.invoke(event)["alert_published"] is True
    assert world.invoke(event)["alert_published"] is False
    assert len(world.alerts()) == 1


def test_when_sns_is_down_the_handler_raises_naming_the_event(world: World, faults: Faults) -> None:
    faults.add("sns.Publish", "5xx")
    with pytest.raises(Exception, match="0a000001-1111-4111-8111-000000000001") as raised:
        world.invoke(load_event("stop_logging"))
    assert "StopLogging" in str(raised.value)
    assert world.is_logging()  # the heal came first


def test_the_activity_table_failing_after_the_alert_raises_nothing(world: World, faults: Faults) -> None:
    faults.add("dynamodb.PutItem", "denied")
    result = world.invoke(load_event("stop_logging"))
    assert result["alert_published"] is True
    assert result["steps_failed"] == ["count repeated tampering"]
    assert len(world.alerts()) == 1


# --- the SDK's retries ----------------------------------------------------------------------------------------------


def test_the_sdk_makes_six_attempts_as_the_docs_say(world: World, faults: Faults) -> None:
    """botocore's ``max_attempts`` in a Config's ``retries`` counts retries: 5 means 6 attempts. A throttled write
    of CloudTrail is the guardian's to retry instead (tests/integration/test_write_quota_moto.py): a 5xx here."""
    faults.add("cloudtrail.StartLogging", "5xx")
    with pytest.raises(HealFailed):
        world.invoke(load_event("stop_logging"))
    assert CLIENT_CONFIG.retries == {"mode": "standard", "total_max_attempts": 6}  # type: ignore[attr-defined]
    assert faults.requests["cloudtrail.StartLogging"] == 6
    assert "6 attempts" in (REPO_ROOT / "README.md").read_text()


# --- time ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShortLambda(LambdaContext):
    """A Lambda context whose timeout is near: ``left`` seconds remain, on a clock that stands still, so the budgets
    the steps get are exact however loaded the machine is."""

    left: float = 60.0

    def get_remaining_time_in_millis(self) -> int:
        return int(self.left * 1000)


def test_a_heal_that_hangs_is_alerted_heal_failed_before_the_functions_timeout(world: World, faults: Faults) -> None:
    """A black-holed CloudTrail endpoint: botocore would wait up to a minute. With 26 s left, the heal gets 1 s (the
    evidence write and the alert keep 25 s), then the CRITICAL alert goes out and the event is retried."""
    hang = faults.add("cloudtrail.StartLogging", "hang", seconds=HANG_BOUND)
    with pytest.raises(HealFailed, match="did not finish within 1"):
        handler.lambda_handler(load_event("stop_logging"), ShortLambda(left=26.0))
    assert not hang.hang_over.is_set()  # the alert went out while the call still hung: order, not elapsed time
    [notification] = world.alerts()
    assert notification["Subject"].endswith("HEAL FAILED")
    assert "OutOfTime: the heal did not finish within 1.0 s" in message_of(notification)["action"]["diagnosis"]
    settle(hang, "guardian: the heal")


def test_an_evidence_write_that_hangs_does_not_hold_the_alert(
    world: World, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The evidence write gets at most EVIDENCE_SECONDS (10 s; 1 s here), then the alert goes out without it."""
    monkeypatch.setattr(budget, "EVIDENCE_SECONDS", 1.0)
    # The first PutObject (the evidence write) hangs; the writes after the alert go through, not waited out.
    hang = faults.add("s3.PutObject", "hang", times=1, seconds=HANG_BOUND)
    answer = handler.lambda_handler(load_event("stop_logging"), ShortLambda(left=25.0))
    assert not hang.hang_over.is_set()  # the alert did not wait for the evidence write
    assert answer["alert_published"] is True
    alert = message_of(world.alerts()[0])
    assert (alert["severity"], alert["evidence"]["written"]) == ("CRITICAL", False)
    assert "the evidence write did not finish within 1.0 s" in alert["evidence"]["error"]
    settle(hang, "guardian: the evidence write")


HANG_BOUND = 120.0  # a hang lasts until the test releases it; this only bounds a test that fails before it does


def settle(hang: Fault, thread_name: str) -> None:
    """End the hang and let the hung call finish in its thread while moto still answers it (it would reach for the
    network after the test)."""
    hang.released.set()
    for thread in threading.enumerate():
        if thread.name == thread_name:
            thread.join(HANG_BOUND)
