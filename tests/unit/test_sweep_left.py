"""What the sweep leaves to the event path is never left silent (review 3, finding 1): the bounded wait for a stop to
age, the pacer that insists on a restore deferred once, the signed index's mark, and the summary's findings. Clocks
and waits are injected: nothing here waits or reads real time."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from guardian.flows.budget import EVENT_PATH_SECONDS, LeftToEventPath, Pacer
from guardian.flows.sweep import SweepReport
from guardian.flows.sweep_left import DEFERRED, RECHECK_RESERVE, stopped_again, wait_for_stops
from guardian.flows.sweep_trails import LEFT, TrailCheck
from guardian.model.baseline_index import IndexEntry, index_document, index_entries
from guardian_console.sweep_table import lines
from tests.unit.test_restore import BASELINE
from tests.unit.test_write_quota import Run


@pytest.mark.threat("sweep-left")
def test_the_sweep_waits_until_the_newest_stop_is_the_event_paths_no_more() -> None:
    run = Run(limit=280.0)
    stops = [run.now - timedelta(seconds=10), run.now - timedelta(seconds=40)]
    assert wait_for_stops(stops, run.invocation())
    assert run.sleeps == [EVENT_PATH_SECONDS - 10]


@pytest.mark.threat("sweep-left")
def test_a_sweep_without_the_time_does_not_wait_and_says_so() -> None:
    """Less than the wait plus RECHECK_RESERVE left: no wait at all (the caller alerts the trail HIGH)."""
    run = Run(limit=RECHECK_RESERVE + 30.0)
    assert not wait_for_stops([run.now - timedelta(seconds=10)], run.invocation())
    assert run.sleeps == []


def test_a_stop_already_old_enough_costs_no_wait() -> None:
    run = Run()
    assert wait_for_stops([run.now - timedelta(minutes=2)], run.invocation())
    assert run.sleeps == []


def test_only_a_newer_stoplogging_time_is_a_stop_again() -> None:
    seen = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    stopped = replace(BASELINE, logging=False, stopped_at=seen)
    assert not stopped_again(stopped, seen)
    assert stopped_again(replace(stopped, stopped_at=seen + timedelta(seconds=30)), seen)
    assert not stopped_again(replace(stopped, stopped_at=None), seen)


@pytest.mark.threat("sweep-left")
def test_a_pacer_insisting_waits_its_turn_and_never_yields() -> None:
    """A restore the last sweep deferred: in a Region whose first write was throttled, it is paced, not deferred."""
    run = Run()
    pace = Pacer(run.invocation())
    pace.throttled("us-east-1", "StartLogging")  # the first write, throttled: the Region yields
    with pytest.raises(LeftToEventPath):
        pace("us-east-1", "UpdateTrail")
    insisting = pace.insisting()
    insisting("us-east-1", "UpdateTrail")  # its slot: shared with the pacer it came from
    insisting.throttled("us-east-1", "UpdateTrail")  # backs off (quota_write), does not raise
    insisting("us-east-1", "UpdateTrail")
    assert run.sleeps  # paced behind the other writes of the Region
    with pytest.raises(LeftToEventPath):  # the others still yield
        pace("us-east-1", "PutEventSelectors")


@pytest.mark.threat("sweep-left")
def test_the_signed_index_keeps_a_deferral_for_the_next_sweep() -> None:
    entries = {"a": IndexEntry("e1", {"x": 1}, "2026-11-20T10:00:00Z"), "b": IndexEntry("e2", {"x": 2})}
    document = index_document("us-east-1", entries, written_at="2026-11-20T10:00:00Z")
    assert "deferred" not in document["trails"]["b"]  # an index without deferrals is written as before
    assert index_entries(document, "us-east-1") == entries


def test_left_and_deferred_trails_are_findings_not_failures() -> None:
    started = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    checks = (
        TrailCheck("us-east-1", "a", LEFT),
        TrailCheck("us-east-1", "b", DEFERRED),
        TrailCheck("us-east-1", "c", "in_baseline"),
    )
    report = SweepReport(started, checks, {})
    assert report.ok
    assert report.left == ["us-east-1:a: left_to_event_path", "us-east-1:b: restore_deferred"]
    summary = {"regions": ["us-east-1"], "checked": 3, "statuses": {LEFT: 1, DEFERRED: 1, "in_baseline": 1}}
    shown = lines("guardian-sweep", True, summary, 1.0)
    assert "  LEFT (restore_deferred) trails: 1" in shown
    assert "  LEFT (left_to_event_path) trails: 1" in shown
    assert shown[-1] == "  2 finding(s) above"


def test_the_sweeps_timeout_leaves_room_for_the_wait() -> None:
    """The sweep's timeout on its default 5-minute schedule (infra/sweep_schedule.py) holds the longest wait, the
    reserve kept after it, and a minute for the trails' checks before it."""
    from tests.support import REPO_ROOT  # noqa: PLC0415

    source = (REPO_ROOT / "infra" / "sweep_schedule.py").read_text()
    assert "timeout=Duration.seconds(min(max(60, minutes * 60 - 10), 900))" in source
    settings = (REPO_ROOT / "infra" / "settings.py").read_text()
    minutes = int(re.search(r"sweep_minutes: int = (\d+)", settings).group(1))  # type: ignore[union-attr]
    assert min(max(60, minutes * 60 - 10), 900) >= EVENT_PATH_SECONDS + RECHECK_RESERVE + 60
