"""What the sweep leaves to the event path is never left silent: the event it leaves it to may be the one that was
lost (review 3, finding 1).

- A trail stopped less than :data:`~guardian.flows.budget.EVENT_PATH_SECONDS` ago gets no write at first; the same
  sweep looks at it again once that stop is that old (a bounded wait: the sweep's timeout is 290 s on its 5-minute
  schedule, infra/sweep_schedule.py). Still stopped by the same stop: the event path did not heal it, so the sweep
  does, and alerts "healed by sweep". Stopped again since (a newer StopLoggingTime, which only CloudTrail writes):
  the newest stop is the event path's, and the sweep alerts HIGH that the trail is stopped again and again.
- A restore of settings the sweep defers because CloudTrail's write quota is taken is alerted at once, with what is
  weakened; the Region's signed index marks it, so the next sweep restores it paced, never yielding again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

from guardian.flows.budget import EVENT_PATH_SECONDS
from guardian.flows.deliver import deliver
from guardian.flows.workers import PER_REGION
from guardian.model.changes import weakened
from guardian.model.decide import Decision
from guardian.model.findings import sweep_event
from guardian.model.results import Result, iso
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity
from guardian.model.trail import compare

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from guardian.flows.workers import Workers
    from guardian.model.config import Config
    from guardian.model.trail import TrailState
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation


class Left(Protocol):
    """A trail check (guardian.flows.sweep_trails.TrailCheck) as this module reads it."""

    @property
    def region(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def protected(self) -> TrailState | None: ...
    @property
    def stopped_at(self) -> datetime | None: ...  # set on a trail left at first


Check = TypeVar("Check", bound=Left)
DEFERRED = "restore_deferred"  # a weakened trail alerted, its restore deferred to the next sweep (which insists)
# Seconds of the sweep's run kept after the wait for the stops to age: the heals it leads to, the trails' buckets,
# log groups and keys, the digests. A run with less time left does not wait: it alerts the trail left (HIGH).
RECHECK_RESERVE = 90.0
QUOTA_TAKEN = "CloudTrail's write quota is taken"


def wait_for_stops(stops: Sequence[datetime], run: Invocation) -> bool:
    """Wait until the newest of ``stops`` is :data:`EVENT_PATH_SECONDS` old, if the run has the time; whether it
    waited (False: the caller alerts, it cannot look again in time)."""
    age = (run.clock() - max(stops)).total_seconds()
    wait = max(0.0, EVENT_PATH_SECONDS - age)
    if run.remaining is not None and wait > run.remaining() - RECHECK_RESERVE:
        return False
    if wait > 0:
        run.sleep(wait)
    return True


def settle_left(
    aws: Everything,
    config: Config,
    checks: list[Check],
    work: Workers,
    *,
    started: datetime,
    run: Invocation,
    again: Callable[[Check, TrailState | None], Check],
) -> list[Check]:
    """The Region's checks, each trail left at first (stopped moments ago) looked at again once its stop is
    EVENT_PATH_SECONDS old: checked again as found then (``again``), or alerted and left."""
    left = [c for c in checks if c.stopped_at is not None and c.protected is not None]
    if not left:
        return checks
    waited = wait_for_stops([c.stopped_at for c in left if c.stopped_at is not None], run)

    def look(check: Check) -> Check:
        return look_again(
            aws, config, check, waited=waited, started=started, run=run, recheck=lambda fresh: again(check, fresh)
        )

    looked = {c.name: c for c in work.map(look, left, limit=PER_REGION)}
    return [looked.get(c.name, c) for c in checks]


def look_again(
    aws: Everything,
    config: Config,
    check: Check,
    *,
    waited: bool,
    started: datetime,
    run: Invocation,
    recheck: Callable[[TrailState | None], Check],
) -> Check:
    """A trail left at first, once its stop is EVENT_PATH_SECONDS old (``waited``): checked again (``recheck``, as
    found now: healed by the sweep if the same stop holds), or alerted HIGH if it was stopped again since, or if the
    sweep could not wait."""
    fresh, baseline = aws.trail_state(check.region, check.name), check.protected
    assert baseline is not None
    if fresh is not None and not fresh.logging and (not waited or stopped_again(fresh, check.stopped_at)):
        report_left(aws, config, baseline, fresh, seen=check.stopped_at, waited=waited, started=started, run=run)
        return check
    return recheck(fresh)


def stopped_again(fresh: TrailState, seen: datetime | None) -> bool:
    """Stopped since the sweep first looked: CloudTrail's StopLoggingTime is newer than the one seen then."""
    return fresh.stopped_at is not None and seen is not None and fresh.stopped_at > seen


def report_left(
    aws: Everything,
    config: Config,
    baseline: TrailState,
    found: TrailState,
    *,
    seen: datetime | None,
    waited: bool,
    started: datetime,
    run: Invocation,
) -> None:
    """A trail still stopped that the sweep leaves to the event path: alerted HIGH all the same."""
    if waited:
        why = (
            f"stopped again and again; left to the event path: stopped at {iso(seen)}, and again at "
            f"{iso(found.stopped_at)}, before the sweep looked again; the newest stop's own invocation heals it"
        )
    else:
        why = (
            f"stopped at {iso(seen)}; left to the event path: the sweep had no time left to look again once "
            f"{EVENT_PATH_SECONDS:.0f} s had passed"
        )
    _alert(aws, config, baseline, found, why, severity=Severity.HIGH, what="left", started=started, run=run)


def report_deferred(
    aws: Everything,
    config: Config,
    baseline: TrailState,
    found: TrailState | None,
    *,
    insisted: bool,
    started: datetime,
    run: Invocation,
) -> None:
    """A weakened (or deleted) trail whose restore the sweep defers: alerted at the rule's severity, with the
    difference, before any write is made."""
    severity = Severity.CRITICAL if found is None else SWEEP_RULE.severity
    what = "deleted" if found is None else "weakened"
    why = f"{what}; restore deferred: {QUOTA_TAKEN} (a burst of changes is on in {baseline.home_region})"
    why += "" if insisted else "; the next sweep restores it, waiting its turn"
    _alert(aws, config, baseline, found, why, severity=severity, what="deferred", started=started, run=run)


def _alert(
    aws: Everything,
    config: Config,
    baseline: TrailState,
    found: TrailState | None,
    why: str,
    *,
    severity: Severity,
    what: str,
    started: datetime,
    run: Invocation,
) -> None:
    changes = weakened(compare(baseline, found)) if found is not None else ()
    details = {"deleted": found is None, "changes": [c.to_json() for c in changes], "left": why}
    event, ref = sweep_event(baseline, account_id=config.account_id, detected_at=started, details=details, what=what)
    decision = Decision(Action.ALERT, Outcome.ALERTED, severity, why, SWEEP_RULE, ref)
    result = Result(event=event, decision=decision, outcome=Outcome.ALERTED, severity=severity, changes=changes)
    deliver(result, aws, config, run)
