"""The workflow over a recording fake of AWS: order of calls, verification, failure diagnosis, exactly-once alerts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from guardian.flows.deliver import AlertNotPublished
from guardian.flows.handle_event import HealFailed, handle
from guardian.model.config import Config
from guardian.model.decide import PolicyContext, decide
from guardian.model.events import parse_event
from guardian.model.refs import TrailRef
from guardian.model.rules import Outcome, Severity
from guardian.ports.invocation import Invocation
from tests.support import ACCOUNT, load_event

CONTEXT = PolicyContext(account_id=ACCOUNT)


def client_error(code: str, message: str = "boom") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Operation")


class FakeAws:
    """Records every call; behaviour is set per test."""

    sdk_versions = ("1.0.0", "1.0.0")

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.objects: dict[str, dict[str, Any]] = {}
        self.tag_sets: dict[str, dict[str, str]] = {}
        self.published: list[dict[str, Any]] = []
        self.start_error: ClientError | None = None
        self.statuses: Iterator[dict[str, Any] | ClientError] = iter([{"IsLogging": True}] * 50)
        self.described: dict[str, Any] | None = {"Name": "management-trail", "HomeRegion": "us-east-1"}
        self.publish_failures = 0

    def start_logging(self, trail: TrailRef) -> None:
        self.calls.append(("StartLogging", (trail.region, trail.identifier)))
        if self.start_error:
            raise self.start_error

    def trail_status(self, trail: TrailRef) -> dict[str, Any]:
        self.calls.append(("GetTrailStatus", (trail.region, trail.identifier)))
        status = next(self.statuses)
        if isinstance(status, ClientError):
            raise status
        return status

    def describe_trail(self, trail: TrailRef) -> dict[str, Any] | None:
        self.calls.append(("DescribeTrails", (trail.region, trail.identifier)))
        return self.described

    def key_state(self, key: Any) -> str:
        raise AssertionError("key restores are tested against moto")

    def enable_key(self, key: Any) -> None:
        raise AssertionError("key restores are tested against moto")

    def cancel_key_deletion(self, key: Any) -> None:
        raise AssertionError("key restores are tested against moto")

    def full(self) -> Any:  # the fake stands in for every call the tests reach
        return self

    def record_activity(self, table: str, principal: str, key: str, expires_at: int, summary: str) -> bool:
        raise AssertionError("repeated tampering is tested against moto")

    def count_activity(self, table: str, principal: str, since: str, until: str) -> int:
        raise AssertionError("repeated tampering is tested against moto")

    def put_if_absent(self, key: str, document: dict[str, Any], *, locked_until: datetime | None = None) -> bool:
        self.calls.append(("PutObject", key))
        if key in self.objects:
            return False
        self.objects[key] = document
        return True

    def create_trail(self, state: Any) -> None:
        raise AssertionError("no restore in these tests")

    def update_trail(self, state: Any, *, clear_prefix: bool) -> None:
        raise AssertionError("no restore in these tests")

    def put_event_selectors(self, state: Any) -> None:
        raise AssertionError("no restore in these tests")

    def put_insight_selectors(self, state: Any) -> None:
        raise AssertionError("no restore in these tests")

    def add_tags(self, state: Any, tags: list[tuple[str, str]]) -> None:
        raise AssertionError("no restore in these tests")

    def start_trail(self, state: Any) -> None:
        raise AssertionError("no restore in these tests")

    def trail_state(self, region: str, name: str) -> Any:
        self.calls.append(("DescribeTrails", (region, name)))
        return None

    signing_key: str | None = None

    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None:
        return None

    def versions(self, key: str) -> list[str]:
        return []

    def sign(self, message: bytes) -> bytes:
        raise AssertionError("signing is tested against moto")

    def public_key(self) -> Any:
        raise AssertionError("signing is tested against moto")

    def write_json(self, key: str, document: dict[str, Any]) -> None:
        self.calls.append(("PutObject", key))
        self.objects[key] = document

    def list_keys(self, prefix: str) -> list[str]:
        return [k for k in self.objects if k.startswith(prefix)]

    def tags(self, key: str) -> dict[str, str]:
        self.calls.append(("GetObjectTagging", key))
        return dict(self.tag_sets.get(key, {}))

    def set_tags(self, key: str, tags: dict[str, str]) -> None:
        self.calls.append(("PutObjectTagging", key))
        self.tag_sets[key] = dict(tags)

    def ledger(self) -> FakeAws:
        return self

    def ledger_entry(self, key: str) -> dict[str, Any] | None:
        self.calls.append(("GetItem", key))
        return None

    def put_ledger_entry(self, key: str, entry: dict[str, Any]) -> None:
        raise AssertionError("the ledger is tested against moto")

    def bucket_state(self, name: str, region: str | None = None) -> Any:
        raise AssertionError("bucket and log group restores are tested against moto")

    def create_bucket(self, state: Any) -> None:
        raise AssertionError("bucket and log group restores are tested against moto")

    def put_bucket_policy(self, state: Any) -> None:
        raise AssertionError("bucket and log group restores are tested against moto")

    def put_bucket_lifecycle(self, state: Any) -> None:
        raise AssertionError("bucket and log group restores are tested against moto")

    def put_bucket_versioning(self, state: Any) -> None:
        raise AssertionError("bucket and log group restores are tested against moto")

    def put_public_access_block(self, state: Any) -> None:
        raise AssertionError("bucket and log group restores are tested against moto")

    def put_bucket_acl(self, state: Any) -> None:
        raise AssertionError("bucket and log group restores are tested against moto")

    def log_group_state(self, region: str, name: str) -> Any:
        raise AssertionError("bucket and log group restores are tested against moto")

    def create_log_group(self, state: Any) -> None:
        raise AssertionError("bucket and log group restores are tested against moto")

    def put_retention(self, state: Any) -> None:
        raise AssertionError("bucket and log group restores are tested against moto")

    def associate_log_key(self, state: Any) -> None:
        raise AssertionError("bucket and log group restores are tested against moto")

    def data_store_status(self, store: Any) -> str:
        raise AssertionError("CloudTrail Lake heals are tested with Stubber")

    def start_ingestion(self, store: Any) -> None:
        raise AssertionError("CloudTrail Lake heals are tested with Stubber")

    def restore_data_store(self, store: Any) -> None:
        raise AssertionError("CloudTrail Lake heals are tested with Stubber")

    def account_alias(self) -> str | None:
        return None

    def existing_finding(self, region: str, finding_id: str) -> dict[str, Any] | None:
        self.calls.append(("GetFindings", finding_id))
        return None

    def import_finding(self, region: str, finding: dict[str, Any]) -> None:
        self.calls.append(("BatchImportFindings", finding["Id"]))

    def set_workflow(self, region: str, finding_id: str, product_arn: str, status: str) -> None:
        self.calls.append(("BatchUpdateFindings", status))

    def publish(self, request: dict[str, Any]) -> str:
        self.calls.append(("Publish", request["Subject"]))
        if self.publish_failures:
            self.publish_failures -= 1
            raise client_error("InternalError")
        self.published.append(request)
        return f"msg-{len(self.published)}"


class Clock:
    """A fake clock whose sleep advances time, two seconds after the fixtures' StopLogging."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 10, 0, 2, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def run(
    aws: FakeAws, name: str = "stop_logging", attempts: int = 4, late_by: timedelta = timedelta(0)
) -> tuple[Any, bool]:
    clock = Clock()
    clock.now += late_by
    event = parse_event(load_event(name))
    config = Config(
        topic_arn="arn:aws:sns:us-east-1:123456789012:t",
        evidence_bucket="ev",
        self_role_arn=None,
        exempt_principals=(),
        verify_attempts=attempts,
        verify_delay_seconds=0.5,
    )
    handled = handle(event, decide(event, CONTEXT), aws, config, Invocation(clock, clock.sleep))
    return handled.result, handled.published


def test_start_logging_is_the_very_first_call_then_verify_evidence_alert_receipt() -> None:
    aws = FakeAws()
    result, published = run(aws)
    assert [name for name, _ in aws.calls] == [
        "StartLogging",
        "GetTrailStatus",
        "PutObject",
        "Publish",
        "PutObjectTagging",
        "PutObject",  # the record's signature, after the alert (guardian.flows.record_signing)
        "DescribeTrails",  # the blind window's Regions, after the alert (guardian.flows.blind_window)
        "GetFindings",  # the alert's Security Hub finding, last (guardian.flows.security_hub)
        "BatchImportFindings",
        "BatchUpdateFindings",  # RESOLVED: healed and verified
    ]
    assert aws.calls[0] == ("StartLogging", ("us-east-1", "management-trail"))
    assert str(aws.calls[-5][1]).endswith(".json.sig")
    assert published
    assert result.outcome is Outcome.HEALED
    assert result.blind_window_seconds == 2.0


def test_verification_retries_with_backoff_until_logging() -> None:
    aws = FakeAws()
    aws.statuses = iter([{"IsLogging": False}, {"IsLogging": False}, {"IsLogging": True}])
    result, _ = run(aws)
    assert result.outcome is Outcome.HEALED
    assert result.verification is not None
    assert result.verification.checks == 3
    assert result.blind_window_seconds == 3.5  # 0.5 s then 1.0 s of backoff after the first check at +2 s


def test_never_logging_after_all_checks_is_a_failed_heal_that_alerts_and_raises() -> None:
    aws = FakeAws()
    aws.statuses = iter([{"IsLogging": False}] * 4)
    with pytest.raises(HealFailed, match="still reports IsLogging false after 4 checks"):
        run(aws, attempts=4)
    assert [name for name, _ in aws.calls].count("GetTrailStatus") == 4
    assert aws.published[0]["Subject"].startswith("[CRITICAL]")
    assert aws.published[0]["MessageAttributes"]["outcome"]["StringValue"] == "heal_failed"
    assert any(key.endswith(".heal-failed.json") for key in aws.objects)


def test_status_read_failure_is_a_failed_heal_with_the_error() -> None:
    aws = FakeAws()
    aws.statuses = iter([client_error("AccessDeniedException", "no")])
    with pytest.raises(HealFailed, match="GetTrailStatus failed: AccessDeniedException"):
        run(aws)


@pytest.mark.parametrize(
    ("code", "described", "diagnosis"),
    [
        ("TrailNotFoundException", None, "no longer exists in us-east-1 (deleted?)"),
        ("AccessDenied", {}, "the guardian's role may not call StartLogging"),
        ("InvalidHomeRegionException", {"HomeRegion": "eu-west-1"}, "its home Region is eu-west-1"),
        ("InternalFailure", {"HomeRegion": "us-east-1"}, "InternalFailure: boom"),
    ],
)
def test_start_logging_failure_is_diagnosed_alerted_recorded_then_raised(
    code: str, described: dict[str, Any] | None, diagnosis: str
) -> None:
    aws = FakeAws()
    aws.start_error = client_error(code)
    aws.described = described
    with pytest.raises(HealFailed, match=r"could not undo StopLogging [0-9a-f-]+ on management-trail"):
        run(aws)
    assert "GetTrailStatus" not in [name for name, _ in aws.calls]
    record = aws.objects["evidence/2026/11/20/0a000001-1111-4111-8111-000000000001.heal-failed.json"]
    assert record["outcome"] == "heal_failed"
    assert record["severity"] == "CRITICAL"
    assert record["actions"][0]["result"] == "failed"
    assert record["actions"][0]["error_code"] == code
    assert diagnosis in record["diagnosis"]
    assert len(aws.published) == 1


def test_duplicate_delivery_heals_again_but_sends_no_second_alert() -> None:
    aws = FakeAws()
    run(aws)
    aws.calls.clear()
    _, published = run(aws)
    assert not published
    assert [name for name, _ in aws.calls] == [
        "StartLogging",
        "GetTrailStatus",
        "PutObject",
        "GetObjectTagging",
        "DescribeTrails",  # the blind window is read again; its object is written once (guardian.flows.blind_window)
    ]
    assert len(aws.published) == 1


def test_crash_between_evidence_and_alert_still_alerts_on_retry() -> None:
    aws = FakeAws()
    aws.publish_failures = 1
    with pytest.raises(AlertNotPublished, match="StopLogging 0a000001-1111-4111-8111-000000000001 on management-trail"):
        run(aws)
    assert len(aws.objects) == 2  # the record and its signature (written after the refused alert)
    assert not aws.tag_sets  # the evidence record exists, but is not marked alerted
    _, published = run(aws)
    assert published
    assert len(aws.published) == 1
    assert len(aws.objects) == 2
    assert [v for tags in aws.tag_sets.values() for v in tags.values()] == ["msg-1"]


def test_a_record_written_for_an_event_old_enough_to_be_a_retry_is_checked_in_the_ledger() -> None:
    """A first delivery (seconds after the event) sends at once; a record created a minute or more after the event
    may follow an alert sent without evidence, so the ledger is read first (issue 21)."""
    fresh, late = FakeAws(), FakeAws()
    run(fresh)
    assert "GetItem" not in [name for name, _ in fresh.calls]
    run(late, late_by=timedelta(seconds=61))
    assert [name for name, _ in late.calls][2:5] == ["PutObject", "GetItem", "Publish"]
    assert len(late.published) == 1


def test_failed_heal_redelivered_alerts_once_and_keeps_raising() -> None:
    aws = FakeAws()
    aws.start_error = client_error("TrailNotFoundException")
    aws.described = None
    for _ in range(2):
        with pytest.raises(HealFailed):
            run(aws)
    assert len(aws.published) == 1


def test_retry_that_succeeds_after_a_failed_heal_keeps_both_records_and_alerts_recovery() -> None:
    aws = FakeAws()
    aws.start_error = client_error("InternalFailure")  # not a throttle: that one is tried again (test_write_quota)
    with pytest.raises(HealFailed):
        run(aws)
    aws.start_error = None
    result, published = run(aws)
    assert result.outcome is Outcome.HEALED
    assert published
    assert sorted(k.rsplit("/", 1)[1] for k in aws.objects if not k.endswith(".sig")) == [
        "0a000001-1111-4111-8111-000000000001.heal-failed.json",
        "0a000001-1111-4111-8111-000000000001.json",
    ]
    assert [p["MessageAttributes"]["severity"]["StringValue"] for p in aws.published] == ["CRITICAL", "HIGH"]


@pytest.mark.parametrize("name", ["delete_trail", "stop_logging_access_denied", "stop_logging_org_trail_member"])
def test_alert_only_decisions_make_no_cloudtrail_call(name: str) -> None:
    aws = FakeAws()
    result, published = run(aws, name)
    # the record, the alert, its tag, its signature; then the alert's Security Hub finding (alerted: NEW, no update)
    assert [call for call, _ in aws.calls] == [
        "PutObject",
        "Publish",
        "PutObjectTagging",
        "PutObject",
        "GetFindings",
        "BatchImportFindings",
    ]
    assert published
    assert result.severity in (Severity.HIGH, Severity.MEDIUM, Severity.CRITICAL)
