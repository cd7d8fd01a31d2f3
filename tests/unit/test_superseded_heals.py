"""Heals under the write quota that do not fight (issue 21): a StopLogging whose StartLogging is throttled while
CloudTrail's StopLoggingTime shows a later stop of the trail is superseded (that stop's own invocation owns the heal);
the last stop never is. The sweep leaves a trail stopped moments ago, and its restores in a Region where its first
write was throttled, to the event path. Clocks, waits and jitter are injected: nothing here waits or reads real time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guardian.flows import budget
from guardian.flows.budget import EVENT_PATH_SECONDS, HEAL_SECONDS, LeftToEventPath, Pacer, event_path_owns
from guardian.flows.restore_trail import restore
from guardian.flows.start_logging import SUPERSEDE_MARGIN, restart_logging
from guardian.model.activity import counts
from guardian.model.alert import alert_document
from guardian.model.evidence import evidence_record
from guardian.model.group_digest import digest_alert
from guardian.model.grouping import Member, Opening, group_key, may_group
from guardian.model.rules import Outcome, Severity
from guardian.model.subjects import subject
from tests.unit.test_alert_grouping import Groups, digests, send
from tests.unit.test_restore import BASELINE, FakeTrails
from tests.unit.test_workflow import Clock
from tests.unit.test_write_quota import THROTTLED, Run, config, heal

EVENT_TIME = datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)  # the fixtures' StopLogging
LATER = EVENT_TIME + timedelta(seconds=30)


@pytest.fixture(autouse=True)
def half_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "jitter", lambda: 0.5)


def stopped(at: datetime, times: int = 20) -> Any:
    return iter([{"IsLogging": False, "StopLoggingTime": at}] * times)


def record(result: Any, run: Run) -> dict[str, Any]:
    return evidence_record(
        result,
        written_at=run.now,
        topic_arn="t",
        alert_subject="s",
        function_name=None,
        request_id=None,
        boto3_version="1",
        botocore_version="1",
    )


@pytest.mark.threat("quota-starve")
def test_a_throttled_heal_of_a_trail_stopped_again_later_is_superseded_and_stops_contending() -> None:
    """The quota is taken and CloudTrail says the trail was stopped 30 s after this event: a later StopLogging exists,
    and its own invocation heals the trail. This one makes one StartLogging, no wait, and records "superseded" at the
    row's severity (HIGH), not a CRITICAL failed heal."""
    aws, run = Groups(), Run()
    aws.start_error = THROTTLED
    aws.statuses = stopped(LATER)
    result = heal(aws, run)
    assert (result.outcome, result.severity) == (Outcome.SUPERSEDED, Severity.HIGH)
    assert [call for call, _ in aws.calls] == ["StartLogging", "GetTrailStatus"]
    assert run.sleeps == []
    (action,) = result.actions
    assert action.superseded_by == LATER
    assert action.error_message is not None
    assert "superseded by the stop at 2026-11-20T10:00:30Z" in action.error_message
    assert record(result, run)["actions"][0]["result"] == "superseded"
    alert = alert_document(result, evidence_bucket="ev", evidence_key="k", function_name=None)
    assert (alert["outcome"], alert["severity"], alert["action"]["result"]) == ("superseded", "HIGH", "superseded")
    assert "superseded by the stop at 2026-11-20T10:00:30Z" in alert["summary"]
    assert subject(result, "123456789012").endswith("— superseded by a later stop")


@pytest.mark.threat("quota-starve")
@pytest.mark.parametrize(
    "stop_at",
    [
        EVENT_TIME,  # its own stop
        EVENT_TIME + timedelta(seconds=SUPERSEDE_MARGIN - 0.5),  # its own, stamped after the eventTime's whole second
        EVENT_TIME - timedelta(minutes=5),  # an earlier stop
        EVENT_TIME.replace(tzinfo=None) + timedelta(minutes=5),  # a time without its zone: not known to be later
        None,  # no StopLoggingTime
    ],
)
def test_the_last_stop_is_never_superseded_and_fails_critical_if_it_cannot_heal(
    monkeypatch: pytest.MonkeyPatch, stop_at: datetime | None
) -> None:
    """No later stop (CloudTrail's own StopLoggingTime is this event's, within the margin, or earlier): today's
    behaviour, the heal contends through its budget and ends in a CRITICAL failed heal, so a trail left stopped is
    never left with a superseded alert alone."""
    monkeypatch.setattr(budget, "jitter", lambda: 1.0)
    aws, run = Groups(), Run(limit=60.0)
    aws.start_error = THROTTLED
    aws.statuses = iter([{"IsLogging": False, **({"StopLoggingTime": stop_at} if stop_at else {})}] * 20)
    result = heal(aws, run)
    assert (result.outcome, result.severity) == (Outcome.HEAL_FAILED, Severity.CRITICAL)
    assert sum(1 for call, _ in aws.calls if call == "StartLogging") > 1


@pytest.mark.threat("quota-starve")
def test_of_two_stops_the_first_is_superseded_and_the_last_owns_the_heal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The insider stops the trail twice, 30 s apart, and holds the quota: the first stop's invocation is superseded
    (HIGH), the second's cannot be (CloudTrail's StopLoggingTime is its own stop) and alerts CRITICAL. To look
    superseded, a stop needs a later real stop: an event of its own, with its own heal."""
    monkeypatch.setattr(budget, "jitter", lambda: 1.0)
    outcomes = []
    for at in (EVENT_TIME, LATER):
        aws, run = Groups(), Run(limit=60.0)
        aws.start_error = THROTTLED
        aws.statuses = stopped(LATER)
        raw_time = at.isoformat().replace("+00:00", "Z")
        outcomes.append(heal_at(aws, run, raw_time).outcome)
    assert outcomes == [Outcome.SUPERSEDED, Outcome.HEAL_FAILED]


def heal_at(aws: Groups, run: Run, event_time: str) -> Any:
    from guardian.model.decide import decide  # noqa: PLC0415
    from guardian.model.events import parse_event  # noqa: PLC0415
    from tests.support import load_event  # noqa: PLC0415
    from tests.unit.test_workflow import CONTEXT  # noqa: PLC0415

    raw = load_event("stop_logging")
    raw["detail"]["eventTime"] = event_time
    event = parse_event(raw)
    return restart_logging(event, decide(event, CONTEXT), aws, config(), run.invocation())


def test_a_trail_healed_meanwhile_is_already_healed_even_if_stopped_later_since() -> None:
    """IsLogging true wins: the trail logs, whoever restarted it."""
    aws, run = Groups(), Run()
    aws.start_error = THROTTLED
    aws.statuses = iter([{"IsLogging": True, "StopLoggingTime": LATER, "StartLoggingTime": LATER}])
    result = heal(aws, run)
    assert result.outcome is Outcome.HEALED
    assert result.actions[0].already_healed


def test_a_superseded_heal_is_grouped_like_a_heal_and_counted_in_the_digest() -> None:
    """Repeats of a StopLogging by one principal on one trail: the superseded ones are held in the window like
    heals, and the digest counts them apart ("superseded"), not as failed heals."""
    aws, clock = Groups(), Clock()
    send(aws, clock, 1)  # healed, alerted at once: opens the window
    aws.start_error = THROTTLED
    for n in (2, 3):
        aws.statuses = stopped(LATER)
        assert send(aws, clock, n) is False  # held: no alert of its own, no raise (no Lambda retry)
    aws.start_error, aws.statuses = None, iter([{"IsLogging": True}] * 10)
    clock.now += timedelta(minutes=6)
    send(aws, clock, 4)
    [digest] = digests(aws)
    group = digest["group"]
    assert (group["count"], group["failed"], group["superseded"]) == (2, 0, 2)
    assert group["outcomes"] == {"superseded": 2}
    assert "2 superseded" in digest["summary"]


def test_a_superseded_heal_may_be_grouped_and_counts_as_tampering() -> None:
    from tests.unit.test_alert_grouping import _event_result  # noqa: PLC0415

    result = replace(_event_result(), outcome=Outcome.SUPERSEDED, severity=Severity.HIGH)
    assert may_group(result, evidence_written=True)
    assert counts(Outcome.SUPERSEDED, Severity.HIGH, from_event=True)
    key = group_key(result)
    assert key is not None
    members = [Member("e2", None, "superseded", None, "HIGH"), Member("e3", None, "healed", 1.0, "HIGH")]
    opening = Opening(key, Clock().now, 5, "first", "HIGH")
    alert = digest_alert(opening, members, account="123456789012", function_name=None, repeat_threshold=10)
    assert '"superseded":1' in alert.message.replace(" ", "")


# The sweep: a trail stopped moments ago is the event path's; a write throttled first in a Region yields.


def test_the_event_path_owns_a_stop_for_twice_its_heal_budget() -> None:
    now = datetime(2026, 11, 20, 10, 10, tzinfo=UTC)
    assert EVENT_PATH_SECONDS == 2 * HEAL_SECONDS == 70.0
    assert event_path_owns(now - timedelta(seconds=10), now)
    assert not event_path_owns(now - timedelta(minutes=10), now)
    assert not event_path_owns(None, now)


def test_the_remediation_functions_timeout_is_the_one_the_heal_budget_assumes() -> None:
    from tests.support import REPO_ROOT  # noqa: PLC0415

    source = (REPO_ROOT / "infra" / "remediation.py").read_text()
    assert f"timeout=Duration.seconds({int(budget.FUNCTION_TIMEOUT)})" in source


@pytest.mark.threat("quota-starve")
def test_a_sweep_whose_first_write_is_throttled_leaves_settings_restores_to_the_event_path() -> None:
    """The sweep's first write in the Region is throttled: the event path is mid-burst there. Its UpdateTrail is not
    tried again (no wait): the restore raises LeftToEventPath, for the sweep to note and the next sweep to redo."""
    run = Run()
    found = replace(BASELINE, log_file_validation=False, tags=())
    target = replace(BASELINE, tags=())
    trails = FakeTrails(found)
    calls: list[str] = []

    def throttled_update(*args: Any, **kwargs: Any) -> None:
        calls.append("UpdateTrail")
        raise THROTTLED

    trails.update_trail = throttled_update  # type: ignore[method-assign]
    pace = Pacer(run.invocation())
    with pytest.raises(LeftToEventPath):
        restore(trails, target, found, config(), run.invocation(), pace=pace)
    assert calls == ["UpdateTrail"]
    assert run.sleeps == []
    assert pace.yielded("us-east-1")


def test_a_yielding_sweep_still_restarts_a_trail_stopped_long_ago_paced() -> None:
    """A StartLogging is never yielded: the sweep makes it only for a trail stopped EVENT_PATH_SECONDS ago or more,
    which the event path has given up on; it backs off and is paced as before."""
    run = Run()
    pace = Pacer(run.invocation())
    pace.throttled("us-east-1", "StartLogging")  # the first write, throttled: the Region yields
    assert pace.yielded("us-east-1")
    pace("us-east-1", "StartLogging")  # made, in its slot
    with pytest.raises(LeftToEventPath):
        pace("us-east-1", "PutEventSelectors")


def test_a_sweep_write_throttled_after_one_went_through_is_paced_not_yielded() -> None:
    run = Run()
    pace = Pacer(run.invocation())
    pace("us-east-1", "UpdateTrail")
    pace.wrote("us-east-1")
    pace.throttled("us-east-1", "PutEventSelectors")
    assert not pace.yielded("us-east-1")
    pace("us-east-1", "PutEventSelectors")
    assert run.sleeps == [budget.SWEEP_WRITE_SECONDS]


@pytest.mark.threat("quota-starve")
def test_a_trail_stopped_again_after_its_restart_is_superseded_not_a_failed_heal_retried() -> None:
    """StartLogging went through, and every GetTrailStatus after it shows the trail stopped 30 s after this event: a
    later StopLogging, with its own invocation. Recorded "superseded" at the row's severity (HIGH), the restart
    itself succeeded; not a CRITICAL failed heal that Lambda retries into the same race (burst (c)'s 7 retries)."""
    aws, run = Groups(), Run()
    aws.statuses = stopped(LATER)
    result = heal(aws, run)
    assert (result.outcome, result.severity) == (Outcome.SUPERSEDED, Severity.HIGH)
    (action,) = result.actions
    assert (action.succeeded, action.superseded_by) == (True, LATER)
    assert action.error_message == "restarted, then superseded by the stop at 2026-11-20T10:00:30Z"
    assert record(result, run)["actions"][0]["result"] == "superseded"


def test_a_restart_that_does_not_hold_without_a_later_stop_is_still_a_failed_heal() -> None:
    """CloudTrail shows no stop after this event's own: the restart did not hold for another reason (CRITICAL)."""
    aws, run = Groups(), Run()
    aws.statuses = stopped(EVENT_TIME)
    result = heal(aws, run)
    assert (result.outcome, result.severity) == (Outcome.HEAL_FAILED, Severity.CRITICAL)
