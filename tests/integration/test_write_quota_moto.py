"""The heal under CloudTrail's write quota, through the handler and botocore as in Lambda (issue 21): a throttled
StartLogging is tried again by the guardian alone (botocore retries none: retries would multiply), with jittered
waits that are recorded, never slept; an invocation that finds the trail healed by another records "already healed"
and alerts once per event."""

from __future__ import annotations

import pytest

from guardian.adapters.heal import HealAdapter
from guardian.flows import budget
from guardian.flows.handle_event import HealFailed
from tests.faults import Faults
from tests.integration.world import World, message_of
from tests.support import load_event

START = "cloudtrail.StartLogging"


@pytest.fixture(autouse=True)
def half_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "jitter", lambda: 0.5)


@pytest.fixture
def jitter_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No turns on the quota (as where the store fails: tests/integration/test_write_turns_moto.py): jitter alone."""
    monkeypatch.setattr(HealAdapter, "turns", lambda self, create: None)


@pytest.mark.usefixtures("jitter_only")
def test_a_throttled_start_logging_is_tried_again_by_the_guardian_alone(world: World, faults: Faults) -> None:
    faults.add(START, "throttle", times=2)
    answer = world.invoke(load_event("stop_logging"))
    assert answer["outcome"] == "healed"
    assert world.is_logging()
    assert faults.requests[START] == 3
    assert faults.waits == []  # botocore waited for no retry of its own
    assert faults.pauses == [0.5, 1.0]  # the guardian's: full jitter (0.5 here) of 1 s, then 2 s


@pytest.mark.threat("write-quota")
@pytest.mark.usefixtures("jitter_only")
def test_a_start_throttled_for_good_makes_twenty_attempts_not_twenty_times_six(world: World, faults: Faults) -> None:
    faults.add(START, "throttle")
    with pytest.raises(HealFailed):
        world.invoke(load_event("stop_logging"))
    assert faults.requests[START] == budget.QUOTA_ATTEMPTS == 20  # not botocore's 6 in each
    assert faults.waits == []
    assert faults.pauses == [0.5, 1.0] + [2.0] * 17  # capped at 4 s
    (alert,) = world.alerts()
    assert message_of(alert)["outcome"] == "heal_failed"


def test_a_redelivered_stop_finding_the_trail_healed_sends_no_second_alert(world: World, faults: Faults) -> None:
    event = load_event("stop_logging")
    assert world.invoke(event)["outcome"] == "healed"
    faults.clear()
    faults.add(START, "throttle")  # the quota is taken (by another invocation's StartLogging)
    answer = world.invoke(event)
    assert answer["outcome"] == "healed"
    assert faults.requests[START] == 1
    assert faults.pauses == []
    assert len(world.alerts()) == 1


@pytest.mark.threat("write-quota")
def test_a_second_stop_whose_start_is_throttled_records_already_healed(world: World, faults: Faults) -> None:
    """Two StopLogging events on one trail, one invocation each: the second's StartLogging is throttled and the
    trail logs already. It is healed, not a failed heal: its alert (one, the event's own) and its evidence say
    "already_healed", and it makes no second write."""
    first = load_event("stop_logging")
    assert world.invoke(first)["outcome"] == "healed"
    world.alerts()
    second = load_event("stop_logging")
    second["detail"]["eventID"] = "0a000001-1111-4111-8111-0000000000f2"
    second["id"] = "7c9e2f1a-0000-4000-8000-0000000000f2"
    faults.clear()
    faults.add(START, "throttle")
    answer = world.invoke(second)
    assert (answer["outcome"], answer["severity"]) == ("healed", "HIGH")
    assert faults.requests[START] == 1
    (alert,) = world.alerts()
    message = message_of(alert)
    assert message["action"]["result"] == "already_healed"
    assert message["verification"]["is_logging"] is True
    record = world.evidence(message["evidence"]["key"])
    assert [a["result"] for a in record["actions"]] == ["already_healed"]
