"""Heals that share CloudTrail's write quota (issue 21), through the handler and the sweep against moto: a throttled
heal of a trail stopped again later is superseded (one alert, HIGH, no retry); the sweep leaves a trail stopped
moments ago to the event path, and restarts one stopped long ago."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.cloudtrail.models import cloudtrail_backends

from guardian.adapters.heal import HealAdapter
from guardian.flows.budget import EVENT_PATH_SECONDS
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


@pytest.mark.threat("quota-starve")
def test_the_sweep_leaves_a_trail_stopped_10_s_ago_to_the_event_path(account: Account) -> None:
    account.ct().stop_logging(Name=TRAIL)
    stamp_stop(TRAIL, datetime.now(UTC) - timedelta(seconds=10))
    summary = account.sweep()
    assert summary["statuses"] == {"left_to_event_path": 1, "in_baseline": 1}
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is False  # no StartLogging from the sweep
    assert account.alerts() == []  # the event's own invocation alerts it


@pytest.mark.threat("quota-starve")
def test_the_sweep_restarts_a_trail_stopped_10_minutes_ago(account: Account) -> None:
    """The event path had its heal budget twice over (EVENT_PATH_SECONDS): a trail still stopped is the sweep's."""
    assert timedelta(minutes=10).total_seconds() > EVENT_PATH_SECONDS
    account.ct().stop_logging(Name=TRAIL)
    stamp_stop(TRAIL, datetime.now(UTC) - timedelta(minutes=10))
    summary = account.sweep()
    assert summary["statuses"] == {"healed": 1, "in_baseline": 1}
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is True
