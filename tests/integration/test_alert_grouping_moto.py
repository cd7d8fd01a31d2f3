"""Alert groups and the publish cap end to end against moto (DynamoDB, SNS, KMS Sign): a loop of tampering heals
every time, keeps every record, and mails the first alert and one digest; a burst of first alerts is spread to at
most 5 a second. The clock is injected: no wall-clock time is asserted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from guardian.entrypoints import handler, runtime
from guardian.flows.grouping import flush_closed
from guardian.flows.rate_cap import CAP, RESERVED
from guardian.model.grouping import GROUPS_PARTITION
from guardian.ports.invocation import Invocation
from simulation.moto_server import create_activity_table
from tests.integration.conftest import TRAIL as ACCOUNT_TRAIL
from tests.integration.conftest import Account
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
        lambda context, settings=None: Invocation(fake, fake.sleep, getattr(context, "function_name", None), "req"),
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
    clock.now += timedelta(minutes=6)  # that window closed; the insider says a new one opened
    [item] = items(GROUPS_PARTITION)
    document = json.loads(item["entry"]["S"])
    document["window_start"] = f"{clock.now - timedelta(seconds=10):%Y-%m-%dT%H:%M:%S.%f}Z"
    document["first_event_id"] = "the insider's"  # any change breaks the guardian's signature
    if signature is None:
        del document["signature"]
    item["entry"] = {"S": json.dumps(document)}
    boto3.client("dynamodb").put_item(TableName="guardian-activity", Item=item)
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
    assert (
        max(counted) == CAP - RESERVED
    )  # the fifth HIGH waited for the next (simulated) second: one kept for CRITICAL


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


def _activity_items() -> list[dict[str, Any]]:
    return list(boto3.client("dynamodb").scan(TableName="guardian-activity")["Items"])


@pytest.mark.threat("activity-table")
@pytest.mark.parametrize("how", ["delete-every-table-item", "set-flushed"])
def test_an_insider_who_writes_the_table_cannot_silence_a_digest(world: World, clock: Clock, how: str) -> None:
    """The held members and the flush claim are write-once objects in the evidence bucket, which only the guardian
    writes: deleting the table's items or marking the window flushed there hides no held alert."""
    ddb = boto3.client("dynamodb")
    for n in range(1, 4):
        world.cloudtrail().stop_logging(Name=TRAIL)
        world.invoke(stop_logging(n, clock.now))
        clock.now += timedelta(seconds=5)
    assert len(world.alerts()) == 1
    assert len(world.evidence_keys("groups/")) == 4  # the window's claim, its opening and its 2 held members
    for item in _activity_items():
        key = {"principal": item["principal"], "at": item["at"]}
        if how == "delete-every-table-item":
            ddb.delete_item(TableName="guardian-activity", Key=key)
        elif item["principal"]["S"] == GROUPS_PARTITION:
            ddb.update_item(
                TableName="guardian-activity",
                Key=key,
                UpdateExpression="SET flushed = :t",
                ExpressionAttributeValues={":t": {"BOOL": True}},
            )
    clock.now += timedelta(minutes=6)
    config = runtime.config()
    run = Invocation(clock, clock.sleep, "sweep", "req")
    assert flush_closed(runtime.full_adapter(config), config, run) == 1
    [digest] = world.alerts()
    assert message_of(digest)["group"]["count"] == 2
    assert digest["MessageAttributes"]["severity"]["Value"] == "CRITICAL"  # 3 stops: repeated tampering
    assert flush_closed(runtime.full_adapter(config), config, run) == 0  # once


@pytest.mark.threat("alert-group-forgery")
def test_a_harmless_first_change_does_not_hide_the_weakening_after_it(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A no-op UpdateTrail (LOW, not mailed), then within the window the real weakening: it is healed and mailed at
    once (HIGH), not held for a LOW digest; the window is raised to HIGH."""
    from tests.integration.test_sweep_moto import event_on  # noqa: PLC0415

    create_activity_table("guardian-activity")
    monkeypatch.setenv("GUARDIAN_ACTIVITY_TABLE", "guardian-activity")
    monkeypatch.setenv("GUARDIAN_ALERT_GROUP_MINUTES", "5")
    runtime.reset()
    now = runtime.now()

    def update(n: int) -> dict[str, Any]:
        event = event_on("update_trail", ACCOUNT_TRAIL)
        event["detail"]["eventID"] = f"0a00000c-1111-4111-8111-{n:012d}"
        event["detail"]["eventTime"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return event

    first = handler.lambda_handler(update(1), None)
    account.ct().update_trail(Name=ACCOUNT_TRAIL, EnableLogFileValidation=False, IsMultiRegionTrail=False)
    second = handler.lambda_handler(update(2), None)
    assert (first["severity"], second["outcome"], second["severity"]) == ("LOW", "healed", "HIGH")
    assert second["alert_published"] is True
    assert [a["MessageAttributes"]["severity"]["Value"] for a in account.alerts()] == ["LOW", "HIGH"]
    [item] = items(GROUPS_PARTITION)
    assert json.loads(item["entry"]["S"])["severity"] == "HIGH"


@pytest.mark.threat("activity-table")
def test_the_sweep_sends_digests_after_every_trail_check(
    world: World, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guardian.entrypoints import sweep  # noqa: PLC0415
    from guardian.flows import sweep as flow  # noqa: PLC0415

    order: list[str] = []
    check_region = flow.check_region  # type: ignore[attr-defined]

    def region(*args: Any, **kwargs: Any) -> Any:
        order.append("region")
        return check_region(*args, **kwargs)

    def groups(*args: Any, share: float = 1.0, **kwargs: Any) -> int:
        order.append(f"groups {share}")
        raise RuntimeError("junk in the table")

    monkeypatch.setattr(flow, "check_region", region)
    monkeypatch.setattr(flow, "flush_closed", groups)
    world.cloudtrail().stop_logging(Name=TRAIL)
    with pytest.raises(sweep.SweepFailed, match="junk in the table"):  # reported: the run fails, after the checks
        sweep.lambda_handler({}, None)
    assert world.is_logging()  # the trail checks ran and healed, whatever the groups' part did
    assert order[-1] == "groups 0.5"
    assert "region" in order


@pytest.mark.threat("alert-flood")
def test_a_floods_50_first_events_read_no_window_and_still_mail_one_alert_and_one_digest(
    world: World, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Lambda runs a flood's first invocations at once: none finds the window's item (the first alert's is not
    written yet). The claim, a conditional create (IfNoneMatch) in the evidence bucket, lets one alert out."""
    from guardian.adapters.grouping import GroupAdapter  # noqa: PLC0415

    monkeypatch.setattr(GroupAdapter, "group_item", lambda self, table, group_id: None)
    results = []
    for n in range(1, 51):
        world.cloudtrail().stop_logging(Name=TRAIL)
        results.append(world.invoke(stop_logging(n, clock.now)))
        clock.now += timedelta(seconds=0.1)
    assert [r["alert_published"] for r in results] == [True] + [False] * 49
    assert [r["outcome"] for r in results] == ["healed"] * 50
    assert len(world.alerts()) == 1
    clock.now += timedelta(minutes=6)
    config = runtime.config()
    assert flush_closed(runtime.full_adapter(config), config, Invocation(clock, clock.sleep, "sweep", "req")) == 1
    [digest] = world.alerts()
    assert message_of(digest)["group"]["count"] == 49
