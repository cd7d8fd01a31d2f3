"""Review 4 finding 1: blind-window evidence that says less than it knows. A throttled Event history read is "at
least" N calls, naming the Region and the error, in the object and the report, and it is not settled: the sweep reads
it again until a read succeeds. A healed stop or delete whose window object never came (its read failed outright) is
alerted HIGH by the sweep, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import guardian.flows.blind_window as bw
from guardian.adapters.trails import TrailAdapter
from guardian.entrypoints import runtime
from guardian_console import while_off
from simulation import event_history
from tests.integration.conftest import TRAIL, Account, subject_and_message
from tests.integration.world import World
from tests.support import ACCOUNT, load_event

WINDOW = "blind-windows/2026/11/20/0a000001-1111-4111-8111-000000000001.json"


@pytest.fixture(autouse=True)
def empty_history() -> Iterator[None]:
    event_history.clear()
    yield
    event_history.clear()


def throttled(*_: Any, **__: Any) -> Any:
    raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "LookupEvents")


def stored(bucket: str, key: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    return document


def windows(bucket: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="blind-windows/")
    return sorted(o["Key"] for o in listing.get("Contents", []))


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    made = runtime.invocation
    monkeypatch.setattr(runtime, "invocation", lambda *a, **k: replace(made(*a, **k), clock=lambda: moment))


@pytest.mark.threat("blind-window-hide")
def test_a_throttled_read_says_at_least_names_the_region_and_is_not_settled(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TrailAdapter, "lookup_page", throttled)
    world.invoke(load_event("stop_logging"))
    document = stored(world.bucket, WINDOW)
    assert document["summary"].startswith("at least 0 calls by 0 principals (us-east-1 not read: ThrottlingException")
    assert document["settled"] is False
    day = datetime(2026, 11, 20, tzinfo=UTC).date()
    [shown] = while_off.read(boto3.client("s3"), world.bucket, ACCOUNT, day, day, public_key=None, key_id=None)
    html = while_off.section([shown])
    assert "at least 0 calls" in html
    assert "us-east-1 not read: ThrottlingException" in html
    assert "not settled" in html
    assert while_off.as_json([shown])[0]["failed"] == ["us-east-1: ThrottlingException: Rate exceeded"]


@pytest.mark.threat("blind-window-hide")
def test_a_throttled_read_again_is_not_kept_as_settled_and_the_next_sweep_reads_it_again(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    account.ct().delete_trail(Name=TRAIL)
    account.sweep()
    [first] = windows(account.bucket)
    end = datetime.fromisoformat(stored(account.bucket, first)["window"]["end"].replace("Z", "+00:00"))
    at(monkeypatch, end + timedelta(minutes=16))
    with monkeypatch.context() as m:
        m.setattr(TrailAdapter, "lookup_page", throttled)
        account.sweep()
    assert windows(account.bucket) == [first]  # the throttled read again is not kept
    account.sweep()  # Event history answers again
    settled = first.removesuffix(".json") + ".settled.json"
    assert windows(account.bucket) == [first, settled]
    assert stored(account.bucket, settled)["settled"] is True


@pytest.mark.threat("blind-window-hide")
def test_a_healed_delete_with_no_window_object_is_alerted_high_once(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*_: Any, **__: Any) -> Any:
        raise RuntimeError("ThrottlingException on kms:Sign")

    monkeypatch.setattr(bw, "keep", refused)
    account.ct().delete_trail(Name=TRAIL)
    account.sweep()
    assert len(account.alerts()) == 1  # the heal's
    assert windows(account.bucket) == []
    now = datetime.now(UTC)
    at(monkeypatch, now + timedelta(minutes=10))
    account.sweep()
    assert not [a for a in account.alerts() if "blind window not recovered" in a["Message"]]  # not yet: 30 minutes
    at(monkeypatch, now + timedelta(minutes=31))
    account.sweep()
    [found] = [a for a in account.alerts() if "blind window not recovered" in a["Message"]]
    subject, message = subject_and_message(found)
    assert subject.startswith("[HIGH]")
    assert message["severity"] == "HIGH"
    at(monkeypatch, now + timedelta(minutes=36))
    account.sweep()
    assert not [a for a in account.alerts() if "blind window not recovered" in a["Message"]]  # once
