"""Alert groups and the publish cap end to end against moto (DynamoDB, SNS, KMS Sign): a loop of tampering heals
every time, keeps every record, and mails the first alert and one digest; a burst of first alerts is spread to at
most 5 a second. The clock is injected: no wall-clock time is asserted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from guardian.entrypoints import runtime
from guardian.flows.grouping import flush_closed
from guardian.flows.rate_cap import CAP
from guardian.model.grouping import GROUPS_PARTITION
from guardian.ports.invocation import Invocation
from tests.integration.world import World, make_trail, message_of
from tests.support import TRAIL, load_event


class Clock:
    """The injected clock: sleeping advances it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 10, 0, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(world: World, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Grouping on (5 minutes, as the stack sets it), the handler's clock and sleep the injected ones."""
    fake = Clock()
    monkeypatch.setenv("GUARDIAN_ALERT_GROUP_MINUTES", "5")
    monkeypatch.setattr(runtime, "now", fake)
    monkeypatch.setattr(
        runtime,
        "invocation",
        lambda context: Invocation(fake, fake.sleep, getattr(context, "function_name", None), "req"),
    )
    return fake


def stop_logging(n: int, at: datetime, trail: str = TRAIL) -> dict[str, Any]:
    event = load_event("stop_logging")
    event["detail"]["eventID"] = f"0a000001-1111-4111-8111-{n:012d}"
    event["detail"]["eventTime"] = (at - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    event["detail"]["requestParameters"]["name"] = trail
    return event


def items(partition: str) -> list[dict[str, Any]]:
    found = boto3.client("dynamodb").query(
        TableName="guardian-activity",
        KeyConditionExpression="principal = :p",
        ExpressionAttributeValues={":p": {"S": partition}},
    )
    return list(found["Items"])


@pytest.mark.threat("alert-flood")
def test_100_stops_in_5_minutes_heal_100_times_keep_100_records_and_mail_2_alerts(world: World, clock: Clock) -> None:
    outcomes = []
    for n in range(1, 101):
        world.cloudtrail().stop_logging(Name=TRAIL)
        outcomes.append(world.invoke(stop_logging(n, clock.now)))
        assert world.is_logging()
        clock.now += timedelta(seconds=2.5)  # 100 stops in 250 s: one window
    assert [o["outcome"] for o in outcomes] == ["healed"] * 100
    assert [o["alert_published"] for o in outcomes] == [True] + [False] * 99
    assert len(world.evidence_keys()) == 100
    [first] = world.alerts()
    assert message_of(first)["outcome"] == "healed"

    clock.now += timedelta(minutes=5)  # the window closes; the sweep finds it
    config = runtime.config()
    run = Invocation(clock, clock.sleep, "sweep", "req")
    assert flush_closed(runtime.full_adapter(config), config, run) == 1
    assert flush_closed(runtime.full_adapter(config), config, run) == 0  # once
    [digest] = world.alerts()
    group = message_of(digest)["group"]
    assert (group["count"], group["failed"], group["outcomes"]) == (99, 0, {"healed": 99})
    assert len(group["event_ids"]) + group["event_ids_more"] == 99
    assert group["first_alerted_event_id"] == "0a000001-1111-4111-8111-000000000001"
    assert digest["MessageAttributes"]["outcome"]["Value"] == "grouped"
    assert ": 99 times in 5 min, " in digest["Subject"]
    assert digest["Subject"].endswith(", 0 failed")
    held = world.evidence("evidence/2026/11/20/0a000001-1111-4111-8111-000000000050.json")
    assert held["alert_group"]["id"] == group["id"]


@pytest.mark.threat("alert-group-forgery")
@pytest.mark.parametrize("signature", [None, "forged"])
def test_an_opening_item_the_guardian_did_not_sign_silences_nothing(
    world: World, clock: Clock, signature: str | None
) -> None:
    world.invoke(stop_logging(1, clock.now))
    world.alerts()
    [item] = items(GROUPS_PARTITION)
    document = json.loads(item["entry"]["S"])
    document["first_event_id"] = "the insider's"  # any change breaks the guardian's signature
    if signature is None:
        del document["signature"]
    item["entry"] = {"S": json.dumps(document)}
    boto3.client("dynamodb").put_item(TableName="guardian-activity", Item=item)
    clock.now += timedelta(seconds=10)
    result = world.invoke(stop_logging(2, clock.now))
    assert result["alert_published"] is True
    assert len(world.alerts()) == 1


@pytest.mark.threat("alert-flood")
def test_10_trails_stopped_at_once_get_10_alerts_never_more_than_5_in_one_second(world: World, clock: Clock) -> None:
    names = [f"trail-{n}" for n in range(10)]
    for name in names:
        make_trail("us-east-1", name, f"logs-{name}")
    for n, name in enumerate(names):
        assert world.invoke(stop_logging(n, clock.now, name))["alert_published"] is True
    alerts = world.alerts()
    # one alert per trail, and (one principal) repeated tampering at 3, 6 and 9 changes: every one under the cap
    assert [message_of(a)["outcome"] for a in alerts].count("healed") == 10
    assert [message_of(a)["outcome"] for a in alerts].count("repeated_tampering") == 3
    counted = [int(i["sent"]["N"]) for i in items("#rate")]
    assert sum(counted) == len(alerts) == 13
    assert max(counted) == CAP  # the sixth waited for the next (simulated) second


def test_the_scheduled_sweep_sends_a_closed_windows_digest(world: World, clock: Clock) -> None:
    from guardian.entrypoints import sweep  # noqa: PLC0415

    for n in range(1, 4):
        world.cloudtrail().stop_logging(Name=TRAIL)
        world.invoke(stop_logging(n, clock.now))
        clock.now += timedelta(seconds=5)
    world.alerts()
    sweep.lambda_handler({}, None)
    assert [message_of(a)["outcome"] for a in world.alerts()].count("grouped") == 0  # the window is still open
    clock.now += timedelta(minutes=5)
    sweep.lambda_handler({}, None)
    [digest] = [message_of(a) for a in world.alerts() if message_of(a)["outcome"] == "grouped"]
    assert digest["group"]["count"] == 2
