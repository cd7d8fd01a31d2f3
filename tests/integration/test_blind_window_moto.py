"""The blind window read back from CloudTrail's Event history after a heal (event path and sweep), and the actor of a
sweep-found change, against moto (LookupEvents bridged by simulation.event_history, as the demo bridges it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from guardian.adapters.heal import HealAdapter
from guardian.adapters.trails import TrailAdapter
from guardian.entrypoints import runtime
from guardian.model import signing
from guardian.model.record_summary import summarize
from guardian_console import while_off
from simulation import event_history
from simulation.cloudtrail_events import api_call_record
from tests.integration.conftest import TRAIL as SWEPT
from tests.integration.conftest import Account, subject_and_message
from tests.integration.world import World, message_of
from tests.support import ACCOUNT, load_event

MALLORY = f"arn:aws:iam::{ACCOUNT}:user/mallory"
EVE = f"arn:aws:iam::{ACCOUNT}:user/eve"
RECORD = "evidence/2026/11/20/0a000001-1111-4111-8111-000000000001.json"


@pytest.fixture(autouse=True)
def empty_history() -> Iterator[None]:
    event_history.clear()
    yield
    event_history.clear()


def call(arn: str, event: str, at: datetime, *, region: str = "us-east-1", **request: Any) -> dict[str, Any]:
    """The record CloudTrail keeps of one call by ``arn`` at ``at``."""
    identity = {"type": "IAMUser", "arn": arn, "accountId": ACCOUNT, "userName": arn.rsplit("/", 1)[-1]}
    source = {"CreateUser": "iam", "ListBuckets": "s3", "StopLogging": "cloudtrail", "DeleteTrail": "cloudtrail"}
    record = api_call_record(
        identity,
        source=f"{source.get(event, 'ec2')}.amazonaws.com",
        name=event,
        region=region,
        request=request,
        user_agent="aws-cli/2",
        source_ip="203.0.113.66",
    )
    return {**record, "eventTime": at.isoformat().replace("+00:00", "Z")}


def stored(bucket: str, key: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    return document


def verified(document: dict[str, Any], key: str) -> None:
    """The object is signed by the guardian's key, over its content and its key."""
    key_id = document["signature"]["key_id"]
    der = boto3.client("kms").get_public_key(KeyId=key_id)["PublicKey"]
    signing.verify(key, document, signing.parse_public_key(bytes(der)), key_id=key_id)


def test_after_a_healed_stop_the_blind_window_is_read_back_after_the_alert_and_kept_signed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    event_history.record(
        call(MALLORY, "StopLogging", stopped, name="management-trail"),
        *(call(MALLORY, "CreateUser", stopped + timedelta(seconds=s), userName=f"b{s}") for s in (5, 6, 7)),
        call(EVE, "ListBuckets", stopped + timedelta(seconds=9)),
        call(EVE, "ListBuckets", stopped - timedelta(minutes=5)),  # before the window
        call(MALLORY, "CreateUser", stopped + timedelta(seconds=8), region="us-west-2"),  # a single-Region trail
    )
    order: list[str] = []
    publish, lookup = HealAdapter.publish, TrailAdapter.lookup_page

    def published(self: HealAdapter, request: dict[str, Any]) -> str:
        order.append("alert")
        return publish(self, request)

    def looked_up(*args: Any, **kwargs: Any) -> Any:
        order.append("lookup")
        return lookup(*args, **kwargs)

    monkeypatch.setattr(HealAdapter, "publish", published)
    monkeypatch.setattr(TrailAdapter, "lookup_page", looked_up)

    result = world.invoke(load_event("stop_logging"))

    assert result["outcome"] == "healed"
    assert "recover the blind window" not in result["steps_failed"]
    assert world.is_logging()
    assert order == ["alert", "lookup"]  # the alert first; one page held the whole window
    assert len(world.alerts()) == 1
    key = "blind-windows/2026/11/20/0a000001-1111-4111-8111-000000000001.json"
    document = stored(world.bucket, key)
    verified(document, key)
    assert document["evidence_key"] == RECORD
    assert document["regions"] == ["us-east-1"]
    assert document["window"]["start"] == "2026-11-20T10:00:00Z"
    assert (document["total"], document["principals"], document["truncated"]) == (5, 2, None)
    assert document["summary"] == "5 calls by 2 principals"
    assert document["counts"] == [
        {"principal": MALLORY, "event_name": "CreateUser", "count": 3},
        {"principal": EVE, "event_name": "ListBuckets", "count": 1},
        {"principal": MALLORY, "event_name": "StopLogging", "count": 1},
    ]
    assert {e["eventName"] for e in document["events"]} == {"StopLogging", "CreateUser", "ListBuckets"}
    assert document["bounds"] == {"max_events": 2000, "max_seconds": 20.0}
    assert document["settled"] is False  # read right after the heal: Event history may lack the last calls yet


def test_event_history_failing_delays_neither_the_heal_nor_the_alert(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("Event history is down")

    monkeypatch.setattr(TrailAdapter, "lookup_page", broken)
    result = world.invoke(load_event("stop_logging"))
    assert result["outcome"] == "healed"
    assert "recover the blind window" in result["steps_failed"]  # reported, never raised
    assert world.is_logging()
    [notification] = world.alerts()
    assert message_of(notification)["outcome"] == "healed"
    assert world.evidence_keys("blind-windows/") == []


def test_a_retried_delivery_keeps_one_blind_window(world: World) -> None:
    event = load_event("stop_logging")
    world.invoke(event)
    world.invoke(event)
    assert world.evidence_keys("blind-windows/") == [
        "blind-windows/2026/11/20/0a000001-1111-4111-8111-000000000001.json"
    ]


def test_a_deleted_trail_the_sweep_recreates_gets_its_actor_and_its_blind_window(account: Account) -> None:
    """The multi-Region trail org-audit is deleted and no event comes: the sweep finds the DeleteTrail in Event
    history, names its caller in the record and the alert, and reads the window from it in both covered Regions."""
    deleted = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    event_history.record(
        call(MALLORY, "DeleteTrail", deleted, name=SWEPT),
        call(MALLORY, "CreateUser", deleted + timedelta(seconds=30), userName="backdoor"),
        call(MALLORY, "ListBuckets", deleted + timedelta(seconds=40), region="us-west-2"),
    )
    account.ct().delete_trail(Name=SWEPT)
    account.sweep()
    [notification] = account.alerts()
    _, message = subject_and_message(notification)
    assert message["actor"]["arn"] == MALLORY
    [key] = [
        o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=account.bucket, Prefix="blind-windows/")["Contents"]
    ]
    document = stored(account.bucket, key)
    verified(document, key)
    assert document["regions"] == ["us-east-1", "us-west-2"]
    assert document["window"]["start"] == deleted.isoformat().replace("+00:00", "Z")
    assert document["summary"] == "3 calls by 1 principal"
    assert document["settled"] is False  # read at once: Event history may not hold the window's last calls yet
    record_key = document["evidence_key"]
    record = stored(account.bucket, record_key)
    assert record["who"]["arn"] == MALLORY
    key_id = document["signature"]["key_id"]
    public = signing.parse_public_key(bytes(boto3.client("kms").get_public_key(KeyId=key_id)["PublicKey"]))
    day = datetime.now(UTC).date()
    [shown] = while_off.read(boto3.client("s3"), account.bucket, ACCOUNT, day, day, public_key=public, key_id=key_id)
    assert (shown.signature, shown.summary, shown.evidence_key) == ("verified", "3 calls by 1 principal", record_key)
    assert record["original_event"]["actor"]["event_name"] == "DeleteTrail"


def test_a_sweep_found_change_with_no_call_in_event_history_says_not_recorded(account: Account) -> None:
    account.ct("us-west-2").delete_trail(Name="audit-west")  # and Event history has no DeleteTrail of it
    account.sweep()
    [notification] = account.alerts()
    _, message = subject_and_message(notification)
    record = stored(account.bucket, message["evidence"]["key"])
    assert record["original_event"]["actor"]["arn"] == "not recorded"
    assert summarize(record)["actor"] == "not recorded"  # as the report and the digest chain list it
    assert "no DeleteTrail" in record["original_event"]["actor"]["why"]


def test_the_next_sweep_after_the_lag_reads_the_window_again_and_the_report_shows_that_read(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Event history shows a call up to about 15 minutes after it: a call it had not shown at the heal is in the
    window read again by the first sweep after the lag, kept beside the first read, which the report then shows."""
    account.ct().delete_trail(Name=SWEPT)
    account.sweep()
    [first] = _keys(account)
    document = stored(account.bucket, first)
    end = datetime.fromisoformat(document["window"]["end"].replace("Z", "+00:00"))
    event_history.record(call(MALLORY, "CreateUser", end - timedelta(seconds=1), userName="late"))  # shown late
    later = end + timedelta(minutes=16)
    made = runtime.invocation
    monkeypatch.setattr(runtime, "invocation", lambda *a, **k: replace(made(*a, **k), clock=lambda: later))
    account.sweep()
    assert _keys(account) == [first, first.removesuffix(".json") + ".settled.json"]
    settled = stored(account.bucket, _keys(account)[1])
    verified(settled, _keys(account)[1])
    assert (settled["settled"], settled["total"], settled["first_read"]["total"]) == (True, document["total"] + 1, 0)
    account.sweep()  # settled once: no third read
    assert len(_keys(account)) == 2
    day = end.date()
    [shown] = while_off.read(boto3.client("s3"), account.bucket, ACCOUNT, day, day, public_key=None, key_id=None)
    assert (shown.key, shown.settled) == (_keys(account)[1], True)


def _keys(account: Account) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=account.bucket, Prefix="blind-windows/")
    return sorted(o["Key"] for o in listing.get("Contents", []))
