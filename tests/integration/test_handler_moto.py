"""Every behaviour of the handler against moto: real boto3 clients, alerts read from an SQS subscription."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.exceptions
import pytest

from guardian.entrypoints import handler
from guardian.flows.deliver import AlertNotPublished
from guardian.flows.handle_event import HealFailed
from guardian.model.config_values import ConfigError
from tests.integration.world import LambdaContext, World, message_of
from tests.support import ACCOUNT, EXEMPT_PATTERN, TRAIL, load_event


@pytest.mark.threat("trail-tamper")
def test_stop_logging_is_healed_verified_recorded_and_alerted_once(world: World) -> None:
    assert not world.is_logging()
    result = world.invoke(load_event("stop_logging"))
    assert world.is_logging()
    assert result["outcome"] == "healed"
    assert result["alert_published"] is True

    [notification] = world.alerts()
    assert notification["Type"] == "Notification"
    assert notification["TopicArn"] == world.topic_arn
    # The account follows the severity; the trail's name is shortened where the subject would pass 99 characters.
    subject = notification["Subject"]
    head, by = "[HIGH] 123456789012 CloudTrail logging stopped on trail ", " by mallory — restored in "
    assert subject.startswith(head)
    assert subject.endswith(" s")
    assert TRAIL.startswith(subject[len(head) : subject.index(by)].rstrip("…"))
    assert notification["MessageAttributes"] == {
        "severity": {"Type": "String", "Value": "HIGH"},
        "event_name": {"Type": "String", "Value": "StopLogging"},
        "outcome": {"Type": "String", "Value": "healed"},
    }
    alert = message_of(notification)
    assert alert["verification"]["is_logging"] is True
    assert alert["trail"]["arn"] == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{TRAIL}"
    assert alert["blind_window_seconds"] == result["blind_window_seconds"] > 0
    assert alert["guardian"]["function"] == "CloudTrailGuardian-RemediationFunction"

    record_key = "evidence/2026/11/20/0a000001-1111-4111-8111-000000000001.json"
    assert world.evidence_keys() == [record_key]
    assert alert["evidence"] == {"bucket": world.bucket, "key": record_key, "written": True, "error": None}
    record = world.evidence(record_key)
    assert record["original_event"] == load_event("stop_logging")
    assert record["outcome"] == "healed"
    assert record["actions"][0]["action"] == "StartLogging"
    assert record["actions"][0]["result"] == "succeeded"
    assert record["verification"]["is_logging"] is True
    assert record["guardian"]["boto3_version"] == boto3.__version__
    assert record["guardian"]["request_id"] == LambdaContext.aws_request_id
    tags = world.clients["s3"].get_object_tagging(Bucket=world.bucket, Key=record_key)["TagSet"]
    assert tags == [{"Key": "guardian-alert-message-id", "Value": notification["MessageId"]}]
    versions = world.clients["s3"].list_object_versions(Bucket=world.bucket, Prefix=record_key)["Versions"]
    assert len([v for v in versions if v["Key"] == record_key]) == 1

    head = world.clients["s3"].head_object(Bucket=world.bucket, Key=record_key)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert head["ObjectLockRetainUntilDate"] > datetime.now(UTC) + timedelta(days=364)


def test_trail_homed_in_another_region_is_healed_in_its_home_region(world: World) -> None:
    assert not world.is_logging("audit-west", "us-west-2")
    world.invoke(load_event("stop_logging_arn_home_elsewhere"))
    assert world.is_logging("audit-west", "us-west-2")
    assert message_of(world.alerts()[0])["trail"]["home_region"] == "us-west-2"


def test_duplicate_delivery_creates_no_second_record_and_no_second_alert(world: World) -> None:
    event = load_event("stop_logging")
    first, second = world.invoke(event), world.invoke(event)
    assert (first["alert_published"], second["alert_published"]) == (True, False)
    assert len(world.alerts()) == 1
    assert len(world.evidence_keys()) == 1


@pytest.mark.parametrize(
    ("name", "severity", "outcome"),
    [
        ("delete_trail", "HIGH", "alerted"),
        ("update_trail", "HIGH", "alerted"),
        ("put_event_selectors", "HIGH", "alerted"),
        ("put_insight_selectors", "MEDIUM", "alerted"),
        ("remove_tags", "MEDIUM", "alerted"),
        ("add_tags", "LOW", "alerted"),
        ("create_trail", "LOW", "alerted"),
        ("start_logging", "LOW", "alerted"),
        ("start_logging_by_guardian", "INFO", "own_action"),
        ("stop_logging_by_guardian", "HIGH", "own_action"),
        ("stop_logging_access_denied", "MEDIUM", "attempt_failed"),
        ("stop_logging_exempt_ci", "HIGH", "exempt"),
        ("stop_logging_org_trail_member", "CRITICAL", "not_healable"),
        ("stop_logging_parameters_omitted", "HIGH", "unidentified_trail"),
    ],
)
def test_every_other_event_gets_exactly_one_alert_and_no_heal(
    world: World, name: str, severity: str, outcome: str
) -> None:
    result = world.invoke(load_event(name))
    assert (result["severity"], result["outcome"]) == (severity, outcome)
    [notification] = world.alerts()
    assert notification["MessageAttributes"]["severity"]["Value"] == severity
    assert notification["MessageAttributes"]["outcome"]["Value"] == outcome
    assert message_of(notification)["action"]["taken"] is None
    assert not world.is_logging()  # the stopped trail was not touched
    assert len(world.evidence_keys()) == 1


def test_an_exempt_change_is_not_undone_and_its_event_alone_rewrites_no_baseline(world: World) -> None:
    """The change stays; the baseline changes only once the sweep has CloudTrail confirm the event (and there is
    none yet here: the sweep records the trail as it finds it, never below the floor)."""
    world.invoke(load_event("stop_logging_exempt_ci"))
    assert not world.is_logging()
    [notification] = world.alerts()
    assert notification["Subject"].endswith("exempt, not undone")
    assert EXEMPT_PATTERN in message_of(notification)["reason"]
    assert world.evidence_keys("baselines/") == []


def test_failed_attempt_alert_says_attempted(world: World) -> None:
    world.invoke(load_event("stop_logging_access_denied"))
    notification = world.alerts()[0]
    assert (
        notification["Subject"]
        == "[MEDIUM] 123456789012 Attempted StopLogging on trail management-… by mallory — failed: AccessDenied"
    )
    assert message_of(notification)["event"]["error_code"] == "AccessDenied"


def test_not_healable_alert_says_where_it_must_be_healed(world: World) -> None:
    world.invoke(load_event("stop_logging_org_trail_member"))
    alert = message_of(world.alerts()[0])
    assert "it must be healed in account 999999999999, Region us-east-1" in alert["summary"]


def test_heal_failure_alerts_critical_keeps_evidence_and_raises_for_retry(world: World) -> None:
    event = load_event("stop_logging")
    event["detail"]["requestParameters"]["name"] = "ghost-trail"
    with pytest.raises(HealFailed, match="ghost-trail"):
        world.invoke(event)
    [notification] = world.alerts()
    assert (
        notification["Subject"]
        == "[CRITICAL] 123456789012 CloudTrail logging stopped on trail ghost-trail by mallory — HEAL FAILED"
    )
    alert = message_of(notification)
    assert alert["outcome"] == "heal_failed"
    assert alert["action"]["result"] == "failed"
    assert "no longer exists in us-east-1" in alert["action"]["diagnosis"]
    [key] = world.evidence_keys()
    assert key.endswith(".heal-failed.json")
    with pytest.raises(HealFailed):
        world.invoke(event)  # the Lambda retry: still failing, still raising, no second alert
    assert world.alerts() == []


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ("not an event", "event must be a JSON object, got str"),
        ({"detail-type": "AWS API Call via CloudTrail"}, "event has no 'detail'"),
        ({"detail": {"eventName": 42, "eventSource": "cloudtrail.amazonaws.com"}}, "detail.eventName must be a string"),
    ],
)
def test_malformed_input_is_logged_once_and_returns(
    world: World, caplog: pytest.LogCaptureFixture, event: Any, problem: str
) -> None:
    with caplog.at_level(logging.INFO, logger="guardian"):
        result = world.invoke(event)
    assert result["outcome"] == "rejected"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert problem in errors[0].problem  # type: ignore[attr-defined]
    assert errors[0].raw_event == event  # type: ignore[attr-defined]
    assert world.alerts() == []
    assert world.evidence_keys() == []


def test_wrong_detail_type_is_logged_as_an_error_without_alert(world: World, caplog: pytest.LogCaptureFixture) -> None:
    event = load_event("start_logging")
    event["detail-type"] = "AWS Service Event via CloudTrail"
    event["detail"]["eventSource"] = "kms.amazonaws.com"
    with caplog.at_level(logging.INFO, logger="guardian"):
        result = world.invoke(event)
    assert result["outcome"] == "rejected"
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "AWS Service Event via CloudTrail" in error.reason  # type: ignore[attr-defined]
    assert world.alerts() == []


def test_tamper_event_with_unreadable_fields_is_still_alerted(world: World, caplog: pytest.LogCaptureFixture) -> None:
    event = load_event("stop_logging")
    event["detail"]["requestParameters"] = "name=management-trail"
    with caplog.at_level(logging.INFO, logger="guardian"):
        result = world.invoke(event)
    assert result["outcome"] == "unidentified_trail"
    alert = message_of(world.alerts()[0])
    assert alert["input_problems"] == ["detail.requestParameters must be an object, got str"]
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.getMessage() == "incomplete or unexpected event"
    assert error.problems == [  # type: ignore[attr-defined]
        "detail.requestParameters must be an object, got str",
        "the event does not name a trail (requestParameters missing, omitted or unreadable)",
    ]


def test_tamper_event_without_a_trail_is_alerted_and_logged_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="guardian"):
        result = world.invoke(load_event("stop_logging_parameters_omitted"))
    assert result["outcome"] == "unidentified_trail"
    assert len(world.alerts()) == 1
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.problems == [  # type: ignore[attr-defined]
        "the event does not name a trail (requestParameters missing, omitted or unreadable)"
    ]


def test_tamper_event_in_an_unexpected_envelope_is_healed_and_the_envelope_reported(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    event = load_event("stop_logging")
    event["detail-type"] = "AWS API Call via CloudTrail (replayed)"
    with caplog.at_level(logging.INFO, logger="guardian"):
        result = world.invoke(event)
    assert result["outcome"] == "healed"
    assert world.is_logging()
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.problems == [  # type: ignore[attr-defined]
        "detail-type is 'AWS API Call via CloudTrail (replayed)', expected 'AWS API Call via CloudTrail'"
    ]


def test_missing_configuration_raises_naming_the_variable(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUARDIAN_EVIDENCE_BUCKET")
    handler.reset()
    with pytest.raises(ConfigError, match="GUARDIAN_EVIDENCE_BUCKET is required but not set"):
        world.invoke(load_event("stop_logging"))
    assert not world.is_logging()
    assert world.alerts() == []


def test_subscribers_can_filter_on_message_attributes(world: World) -> None:
    sqs, sns = world.clients["sqs"], world.clients["sns"]
    pager_url = sqs.create_queue(QueueName="pager")["QueueUrl"]
    pager_arn = sqs.get_queue_attributes(QueueUrl=pager_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=world.topic_arn,
        Protocol="sqs",
        Endpoint=pager_arn,
        Attributes={"FilterPolicy": json.dumps({"severity": ["CRITICAL", "HIGH"]})},
    )
    world.invoke(load_event("add_tags"))
    world.invoke(load_event("delete_trail"))
    assert [n["MessageAttributes"]["event_name"]["Value"] for n in world.alerts(pager_url)] == ["DeleteTrail"]
    assert len(world.alerts()) == 2


def stop_at(minute: int, event_id: str, name: str = "stop_logging") -> dict[str, Any]:
    event = load_event(name)
    event["detail"]["eventTime"] = f"2026-11-20T10:{minute:02d}:00Z"
    event["detail"]["eventID"] = event_id
    return event


def test_repeated_tampering_by_one_principal_adds_one_critical_alert(world: World) -> None:
    for minute, event_id in ((0, "r-1"), (4, "r-2"), (9, "r-3")):
        boto3.client("cloudtrail").stop_logging(Name=TRAIL)
        assert world.invoke(stop_at(minute, event_id))["outcome"] == "healed"  # every change is still healed
    alerts = world.alerts()
    assert [a["MessageAttributes"]["outcome"]["Value"] for a in alerts] == [
        "healed",
        "healed",
        "healed",
        "repeated_tampering",
    ]
    repeated = alerts[-1]
    assert repeated["Subject"] == "[CRITICAL] 123456789012 Repeated tampering by mallory: 3 changes within 10 minutes"
    message = message_of(repeated)
    assert message["severity"] == "CRITICAL"
    assert message["reason"].startswith(f"3 tampering changes by arn:aws:iam::{ACCOUNT}:user/mallory within 10 minutes")
    assert message["evidence"]["key"] == "evidence/2026/11/20/r-3.repeated-tampering.json"
    world.invoke(stop_at(9, "r-3"))  # a duplicate delivery of the third event: counted once, alerted once
    assert [a["MessageAttributes"]["outcome"]["Value"] for a in world.alerts()] == []


def test_changes_spread_wider_than_the_window_do_not_count_together(world: World) -> None:
    for minute, event_id in ((0, "s-1"), (20, "s-2"), (40, "s-3")):
        world.invoke(stop_at(minute, event_id))
    assert "repeated_tampering" not in [a["MessageAttributes"]["outcome"]["Value"] for a in world.alerts()]


def test_exempt_and_own_changes_never_count(world: World) -> None:
    for minute in (0, 1, 2):
        world.invoke(stop_at(minute, f"e-{minute}", "stop_logging_exempt_ci"))
        world.invoke(stop_at(minute, f"o-{minute}", "start_logging_by_guardian"))
    assert "repeated_tampering" not in [a["MessageAttributes"]["outcome"]["Value"] for a in world.alerts()]


def test_leaving_the_organization_is_alerted_critical(world: World) -> None:
    event = load_event("stop_logging")
    event["source"] = "aws.organizations"
    event["detail"].update(
        eventSource="organizations.amazonaws.com",
        eventName="LeaveOrganization",
        requestParameters=None,
        eventID="leave-1",
    )
    result = world.invoke(event)
    assert (result["outcome"], result["severity"]) == ("alerted", "CRITICAL")
    [notification] = world.alerts()
    assert notification["Subject"] == "[CRITICAL] 123456789012 Account left its AWS Organization by mallory"
    assert message_of(notification)["trail"] is None


# -- central alerting: a security account's topic gets every alert too ------------------------------------------


@pytest.fixture
def central(world: World, monkeypatch: pytest.MonkeyPatch) -> str:
    """A topic in another Region (standing in for the security account's) with its own subscriber queue."""
    sns, sqs = boto3.client("sns", region_name="eu-west-1"), world.clients["sqs"]
    topic = sns.create_topic(Name="guardian-central")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="central-soc")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("GUARDIAN_CENTRAL_TOPIC_ARN", topic)
    return str(queue_url)


def test_every_alert_also_reaches_the_central_topic_exactly_once(world: World, central: str) -> None:
    event = load_event("stop_logging")
    assert world.invoke(event)["alert_published"] is True
    [local], [copy] = world.alerts(), world.alerts(central)
    assert copy["Subject"] == local["Subject"]
    assert message_of(copy) == message_of(local)
    assert world.invoke(event)["alert_published"] is False  # a duplicate delivery: neither is sent again
    assert (world.alerts(), world.alerts(central)) == ([], [])
    [key] = world.evidence_keys()
    tags = {t["Key"] for t in world.clients["s3"].get_object_tagging(Bucket=world.bucket, Key=key)["TagSet"]}
    assert tags == {"guardian-alert-message-id", "guardian-central-message-id"}


def test_a_central_publish_that_fails_is_retried_without_repeating_the_local_alert(
    world: World, central: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guardian.adapters.heal import HealAdapter  # noqa: PLC0415

    original = HealAdapter.publish
    calls: list[str] = []

    def flaky(self: HealAdapter, request: dict[str, Any]) -> str:
        calls.append(request["TopicArn"])
        if "central" in request["TopicArn"] and calls.count(request["TopicArn"]) == 1:  # its first attempt only
            raise botocore.exceptions.ClientError({"Error": {"Code": "KMSAccessDenied", "Message": "no"}}, "Publish")
        return original(self, request)

    monkeypatch.setattr(HealAdapter, "publish", flaky)
    event = load_event("stop_logging")
    with pytest.raises(AlertNotPublished, match="guardian-central: KMSAccessDenied"):
        world.invoke(event)  # Lambda retries the event
    world.invoke(event)
    assert (len(world.alerts()), len(world.alerts(central))) == (1, 1)
