"""Heals that share CloudTrail's write quota (issue 21), through the handler and the sweep against moto: a throttled
heal of a trail stopped again later is superseded (one alert, HIGH, no retry); the sweep leaves a trail stopped
moments ago to the event path, and restarts one stopped long ago."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.cloudtrail.models import cloudtrail_backends

from guardian.adapters.heal import HealAdapter
from guardian.adapters.trails import TrailAdapter
from guardian.entrypoints import runtime
from guardian.flows import budget
from guardian.flows.budget import EVENT_PATH_SECONDS
from guardian.ports.invocation import Invocation
from tests.integration.conftest import TRAIL, Account
from tests.integration.world import World, message_of
from tests.support import TRAIL as WORLD_TRAIL
from tests.support import load_event

ACCOUNT_ID = "123456789012"


def stamp_stop(name: str, at: datetime, region: str = "us-east-1") -> None:
    """CloudTrail's StopLoggingTime of a stopped trail, as if its last StopLogging was at ``at``."""
    status = cloudtrail_backends[ACCOUNT_ID][region].get_trail(name).status
    status.is_logging, status.stopped = False, at.astimezone(UTC).replace(tzinfo=None)


@pytest.mark.threat("quota-starve")
def test_a_throttled_heal_of_a_trail_stopped_again_later_alerts_superseded_once_and_is_not_retried(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write quota is taken (another invocation's StartLogging) and the trail was stopped again 30 s after this
    event: this invocation makes one StartLogging and no wait, alerts its stop at HIGH as "superseded", writes its
    evidence, and returns (Lambda does not retry it): the later stop's invocation owns the heal."""
    event = load_event("stop_logging")
    stamp_stop(WORLD_TRAIL, datetime(2026, 11, 20, 10, 0, 30, tzinfo=UTC))
    starts: list[str] = []

    def throttled(self: HealAdapter, trail: Any) -> None:
        starts.append(trail.identifier)
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StartLogging")

    monkeypatch.setattr(HealAdapter, "start_logging", throttled)
    answer = world.invoke(event)
    assert (answer["outcome"], answer["severity"]) == ("superseded", "HIGH")
    assert len(starts) == 1
    (alert,) = world.alerts()
    message = message_of(alert)
    assert message["action"]["result"] == "superseded"
    assert "superseded by the stop at 2026-11-20T10:00:30Z" in message["summary"]
    record = world.evidence(message["evidence"]["key"])
    assert [a["result"] for a in record["actions"]] == ["superseded"]
    assert record["verification"]["stop_logging_time"] == "2026-11-20T10:00:30Z"


class Waits:
    """The sweep's waits, made at once: ``meanwhile`` is what happens in the world during a long one (the event
    path's heal, the insider's next stop); ``remaining``: the run's time left (None: no timeout); ``offset``: where
    the sweep's clock stands from now (one sweep interval apart)."""

    def __init__(self, meanwhile: Any = None, remaining: float | None = None) -> None:
        self.meanwhile, self.remaining = meanwhile, remaining
        self.seconds: list[float] = []
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def install(self, monkeypatch: pytest.MonkeyPatch) -> Waits:
        made = runtime.invocation

        def invocation(context: Any, settings: Any = None) -> Invocation:
            left = None if self.remaining is None else (lambda: float(self.remaining or 0))
            return replace(made(context, settings), clock=self.now, sleep=self.sleep, remaining=left)

        monkeypatch.setattr(runtime, "invocation", invocation)
        return self

    def sleep(self, seconds: float) -> None:
        self.seconds.append(seconds)
        if seconds > 30 and self.meanwhile is not None:
            self.meanwhile()


def stopped_10_s_ago(account: Account, now: datetime | None = None) -> datetime:
    account.ct().stop_logging(Name=TRAIL)
    at = (now or datetime.now(UTC)) - timedelta(seconds=10)
    stamp_stop(TRAIL, at)
    return at


@pytest.mark.threat("quota-starve")
def test_the_sweep_leaves_a_trail_stopped_10_s_ago_to_the_event_path_which_heals_it_meanwhile(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No write while the stop is the event path's; the sweep looks again once it is EVENT_PATH_SECONDS old, finds
    it logging (the event path healed it, and alerted), and alerts nothing more."""
    waits = Waits(meanwhile=lambda: account.ct().start_logging(Name=TRAIL)).install(monkeypatch)
    stopped_10_s_ago(account)
    summary = account.sweep()
    assert summary["statuses"] == {"in_baseline": 2}
    assert max(waits.seconds) == pytest.approx(EVENT_PATH_SECONDS - 10, abs=5)
    assert account.alerts() == []  # the event's own invocation alerts it


@pytest.mark.threat("sweep-left")
def test_a_stop_the_event_path_never_healed_is_healed_by_the_same_sweep_every_time(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 3, move A: StartLogging then StopLogging just before each sweep, their events lost. The sweep waits
    until the stop is EVENT_PATH_SECONDS old, finds the same stop, and heals the trail itself, alerting each time."""
    waits = Waits().install(monkeypatch)
    for sweep in range(3):
        waits.offset = timedelta(minutes=5 * sweep)
        account.ct().start_logging(Name=TRAIL)
        stopped_10_s_ago(account, waits.now())
        summary = account.sweep()
        assert summary["statuses"] == {"healed": 1, "in_baseline": 1}
        assert summary["ok"] is True
        assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is True
        [alert] = account.alerts()
        message = message_of(alert)
        assert message["outcome"] == "healed"
        assert "The sweep found trail org-audit (us-east-1) weakened (logging)" in message["summary"]


@pytest.mark.threat("sweep-left")
def test_a_trail_stopped_again_while_the_sweep_waits_is_alerted_high_and_left_to_the_newest_stop(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The insider stops the trail again before the sweep looks again: the newest stop is the event path's (no
    write contends with it), and the sweep alerts HIGH, never silent. A finding in the summary, not a failed run."""
    again = datetime.now(UTC) - timedelta(seconds=1)
    Waits(meanwhile=lambda: stamp_stop(TRAIL, again)).install(monkeypatch)
    stopped_10_s_ago(account)
    summary = account.sweep()
    assert summary["statuses"] == {"left_to_event_path": 1, "in_baseline": 1}
    assert (summary["ok"], summary["left"]) == (True, [f"us-east-1:{TRAIL}: left_to_event_path"])
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is False
    [alert] = account.alerts()
    message = message_of(alert)
    assert (message["severity"], message["outcome"]) == ("HIGH", "alerted")
    assert "stopped again and again; left to the event path" in message["summary"].lower()


@pytest.mark.threat("sweep-left")
def test_a_sweep_without_the_time_to_look_again_alerts_the_stopped_trail_high(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = Waits(remaining=100.0).install(monkeypatch)
    stopped_10_s_ago(account)
    summary = account.sweep()
    assert summary["statuses"] == {"left_to_event_path": 1, "in_baseline": 1}
    assert not [s for s in waits.seconds if s > 30]  # it did not wait past its timeout
    [alert] = account.alerts()
    message = message_of(alert)
    assert message["severity"] == "HIGH"
    assert "left to the event path: the sweep had no time left to look again" in message["summary"].lower()


@pytest.mark.threat("sweep-left")
def test_a_restore_deferred_by_a_taken_quota_is_alerted_and_the_next_sweep_restores_it(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 3, move B: validation turned off (the event lost) and the write quota kept busy. The sweep defers its
    UpdateTrail but alerts HIGH with the difference; its signed index marks the trail, so the next sweep, throttled
    first again, waits its turn and restores it rather than yield a second time."""
    monkeypatch.setattr(budget, "jitter", lambda: 0.0)
    Waits().install(monkeypatch)
    account.ct().update_trail(Name=TRAIL, EnableLogFileValidation=False)
    made = TrailAdapter.update_trail
    tries: list[int] = []

    def throttled_once_a_sweep(self: TrailAdapter, *args: Any, **kwargs: Any) -> None:
        tries.append(1)
        if len(tries) in {1, 2}:  # the first sweep's only try, the second sweep's first
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "UpdateTrail")
        made(self, *args, **kwargs)

    monkeypatch.setattr(TrailAdapter, "update_trail", throttled_once_a_sweep)
    first = account.sweep()
    assert (first["statuses"], first["ok"]) == ({"restore_deferred": 1, "in_baseline": 1}, True)
    assert first["left"] == [f"us-east-1:{TRAIL}: restore_deferred"]
    assert account.trail()["LogFileValidationEnabled"] is False
    [alert] = account.alerts()
    message = message_of(alert)
    assert message["severity"] == "HIGH"
    assert "weakened; restore deferred: cloudtrail's write quota is taken" in message["summary"].lower()
    assert "log_file_validation" in json.dumps(message)
    second = account.sweep()
    assert second["statuses"] == {"healed": 1, "in_baseline": 1}
    assert len(tries) == 3
    assert account.trail()["LogFileValidationEnabled"] is True
    [healed] = account.alerts()
    assert message_of(healed)["outcome"] == "healed"


@pytest.mark.threat("quota-starve")
def test_the_sweep_restarts_a_trail_stopped_10_minutes_ago(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """The event path had its heal budget twice over (EVENT_PATH_SECONDS): a trail still stopped is the sweep's."""
    assert timedelta(minutes=10).total_seconds() > EVENT_PATH_SECONDS
    waits = Waits().install(monkeypatch)
    account.ct().stop_logging(Name=TRAIL)
    stamp_stop(TRAIL, datetime.now(UTC) - timedelta(minutes=10))
    summary = account.sweep()
    assert not [s for s in waits.seconds if s > 30]  # no stop to wait for
    assert summary["statuses"] == {"healed": 1, "in_baseline": 1}
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is True
