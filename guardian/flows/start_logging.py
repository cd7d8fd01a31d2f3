"""The heal for a stopped trail: StartLogging in its home Region, first, then GetTrailStatus until it logs.

StartLogging is the first network call: nothing (no read, no evidence check) stands between the event and the
heal. Throttled by CloudTrail's write quota, it is tried again in its turn (:mod:`guardian.flows.write_turns`), or
with jittered backoff, within the heal's budget (:func:`guardian.flows.budget.quota_write`), reading GetTrailStatus
first: a trail another invocation has healed meanwhile is recorded "already healed" (action result
``already_healed``), not healed twice; a trail stopped again after this event (CloudTrail's own StopLoggingTime,
:data:`SUPERSEDE_MARGIN` later or more) is the later stop's to heal: this invocation stops pressing on the quota and
records "superseded" (outcome ``superseded``). The invocation of the last stop is never superseded, so a trail left
stopped still ends healed or in a CRITICAL failed heal. A failure is explained from DescribeTrails where it can be
(a shadow trail, a deleted trail, a denied call).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from guardian.flows.budget import quota_write
from guardian.model.rules import Outcome, Severity
from guardian.ports.errors import AWS_ERRORS, describe_error

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from guardian.flows.budget import Turns
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.model.refs import TrailRef
    from guardian.model.results import ActionRecord, Result, Verification
    from guardian.ports.calls import HealCalls, HealPath
    from guardian.ports.flow import Scope
    from guardian.ports.invocation import Invocation
    from guardian.ports.turns import WriteTurns

LOG = logging.getLogger(__name__)
# How much later than this event's eventTime CloudTrail's StopLoggingTime must be to show a later stop. eventTime is
# when the call completed, on the endpoint host's clock, cut to the whole second: the event's own stop is stamped
# before completion, so at most 1 s after the cut eventTime, plus the two hosts' clock skew (NTP: milliseconds; 1 s
# allowed). Erring low would let the last stop's own invocation take its own stop for a later one and leave the trail
# to the sweep; erring high only keeps a few more invocations contending, as before.
SUPERSEDE_MARGIN = 2.0


def heal(
    event: CloudTrailEvent, decision: Decision, aws: HealPath, config: Config, run: Invocation, *, scope: Scope | None
) -> Result:
    return restart_logging(event, decision, aws, config, run)


def restart_logging(
    event: CloudTrailEvent, decision: Decision, aws: HealCalls, config: Config, run: Invocation
) -> Result:
    trail, clock = decision.trail, run.clock
    assert trail is not None
    started = clock()
    status: dict[str, Any] = {}

    def logging_again() -> bool:
        """Whether to stop pressing on the quota: the trail logs again, or a later stop's invocation owns it."""
        status.clear()
        status.update(aws.trail_status(trail))
        return bool(status.get("IsLogging")) or later_stop(status, event) is not None

    try:
        already = quota_write(
            lambda: aws.start_logging(trail),
            run,
            settled=logging_again,
            throttled=lambda: _note_throttle(aws, trail, run),
            turns=_in_turn(aws, trail=trail, event=event, run=run, settled=logging_again),
        )
    except AWS_ERRORS as exc:
        from guardian.flows.heal_outcomes import diagnose  # noqa: PLC0415 - after StartLogging
        from guardian.model.results import ActionRecord, Result  # noqa: PLC0415 - after StartLogging

        code, message = describe_error(exc)
        LOG.error("StartLogging failed", extra={"trail": trail.identifier, "region": trail.region, "error_code": code})
        action = ActionRecord("StartLogging", trail.region, trail.identifier, started, clock(), False, code, message)
        return Result(
            event=event,
            decision=decision,
            outcome=Outcome.HEAL_FAILED,
            severity=Severity.CRITICAL,
            actions=(action,),
            diagnosis=diagnose(aws, trail, code, message),
        )
    from guardian.model.results import ActionRecord, Result  # noqa: PLC0415 - after StartLogging, off the cold start

    if already and not status.get("IsLogging"):
        return _superseded(event, decision, trail, status, run, started=started)
    if already:
        LOG.info("StartLogging throttled: the trail logs again already", extra={"trail": trail.identifier})
        return _healed(event, decision, _already_healed(trail, started, run), _verification(status, 1, clock()))
    action = ActionRecord("StartLogging", trail.region, trail.identifier, started, clock(), True)
    LOG.info("StartLogging succeeded", extra={"trail": trail.identifier, "region": trail.region})
    verification = verify(aws, trail, config, run)
    again = None if verification.error_code else later_stop({"StopLoggingTime": verification.stop_logging_time}, event)
    if not verification.is_logging and again is not None:  # restarted, then stopped again by a later call
        from guardian.flows.heal_outcomes import stopped_again  # noqa: PLC0415 - after StartLogging

        return stopped_again(event, decision, action, verification, again)
    if not verification.is_logging:
        why = (
            f"GetTrailStatus failed: {verification.error_code}: {verification.error_message}"
            if verification.error_code
            else "StartLogging succeeded but GetTrailStatus still reports IsLogging false "
            f"after {verification.checks} checks"
        )
        return Result(
            event=event,
            decision=decision,
            outcome=Outcome.HEAL_FAILED,
            severity=Severity.CRITICAL,
            actions=(action,),
            verification=verification,
            diagnosis=why,
        )
    return _healed(event, decision, action, verification)


def _note_throttle(aws: HealCalls, trail: TrailRef, run: Invocation) -> None:
    """A StartLogging throttled: this environment's next heals take a turn before writing, even if this one turns out
    superseded or already healed (a heal writing at once in a burst takes another's turn)."""
    store: Callable[[bool], WriteTurns | None] | None = getattr(aws, "turns", None)
    turns = None if store is None else store(True)
    if turns is not None:
        turns.throttled(trail.region, run.clock().timestamp())


def _in_turn(
    aws: HealCalls, *, trail: TrailRef, event: CloudTrailEvent, run: Invocation, settled: Callable[[], bool]
) -> Turns | None:
    """The write made in turn (:mod:`guardian.flows.write_turns`) after a throttle, or at once where this
    environment took turns lately; None without a store (no activity table). A quiet account's first StartLogging
    waits for nothing: no import, no call. Once the store fails or has no turn in time, jitter for the rest."""
    store: Callable[[bool], WriteTurns | None] | None = getattr(aws, "turns", None)
    if store is None:
        return None
    given_up: list[bool] = []

    def take(write: Callable[[], object], throttled: bool, writes: int) -> bool | None:
        turns = None if given_up else store(throttled)
        if turns is None or not (throttled or turns.busy(trail.region, run.clock().timestamp())):
            return None
        from guardian.flows.write_turns import in_turn  # noqa: PLC0415 - a burst only, off the cold start

        stop = event.event_time
        done = in_turn(
            write,
            run,
            turns=turns,
            region=trail.region,
            trail=trail.arn or trail.identifier,
            join_after=None if stop is None else stop.timestamp(),
            settled=settled,
            throttled=throttled,
            writes=writes,
        )
        if done is None:
            given_up.append(True)
        return done

    return take


def _healed(event: CloudTrailEvent, decision: Decision, action: ActionRecord, verification: Verification) -> Result:
    from guardian.model.results import Result, blind_window  # noqa: PLC0415 - after StartLogging

    return Result(
        event=event,
        decision=decision,
        outcome=Outcome.HEALED,
        severity=decision.severity,
        actions=(action,),
        verification=verification,
        blind_window_seconds=blind_window(event.event_time, verification),
    )


def _already_healed(trail: TrailRef, started: datetime, run: Invocation) -> ActionRecord:
    """StartLogging was throttled (the write quota: another invocation's StartLogging went first) and GetTrailStatus
    then said IsLogging: healed, by another invocation; this one records it and writes nothing more."""
    from guardian.model.results import ActionRecord  # noqa: PLC0415 - after StartLogging

    return ActionRecord(
        "StartLogging",
        trail.region,
        trail.identifier,
        started,
        run.clock(),
        True,
        "ThrottlingException",
        "throttled by CloudTrail's write quota; GetTrailStatus then showed the trail logging: already healed",
        already_healed=True,
    )


def later_stop(status: dict[str, Any], event: CloudTrailEvent) -> datetime | None:
    """CloudTrail's StopLoggingTime, if it shows a stop later than ``event`` (by :data:`SUPERSEDE_MARGIN` at least:
    not the event's own stop). Only CloudTrail writes it: a stop no one made cannot be shown."""
    stopped: Any = status.get("StopLoggingTime")
    at = event.event_time
    if at is None or getattr(stopped, "tzinfo", None) is None:  # none, or a time without its zone: not known
        return None
    later: datetime = stopped
    return later if later.timestamp() - at.timestamp() >= SUPERSEDE_MARGIN else None


def _superseded(
    event: CloudTrailEvent,
    decision: Decision,
    trail: TrailRef,
    status: dict[str, Any],
    run: Invocation,
    *,
    started: datetime,
) -> Result:
    """StartLogging throttled, and the trail stopped again after this event: that stop is an event too, and its own
    invocation heals the trail (or alerts CRITICAL that it could not). This one alerts its stop at the row's severity,
    and leaves the quota to it."""
    from guardian.model.results import ActionRecord, Result, iso  # noqa: PLC0415 - after StartLogging

    later = later_stop(status, event)
    assert later is not None
    why = f"superseded by the stop at {iso(later)}"
    LOG.info("StartLogging throttled: the trail was stopped again later", extra={"trail": trail.identifier})
    message = f"throttled by CloudTrail's write quota; {why}, whose own invocation owns the heal"
    action = ActionRecord(
        "StartLogging",
        trail.region,
        trail.identifier,
        started,
        run.clock(),
        False,
        "ThrottlingException",
        message,
        superseded_by=later,
    )
    return Result(
        event=event,
        decision=decision,
        outcome=Outcome.SUPERSEDED,
        severity=decision.severity,
        actions=(action,),
        verification=_verification(status, 1, run.clock()),
        diagnosis=f"{why}: the trail was stopped again, and that stop's own heal restarts it (or alerts CRITICAL)",
    )


def verify(aws: HealCalls, trail: TrailRef, config: Config, run: Invocation) -> Verification:
    """GetTrailStatus until IsLogging is true, with exponential backoff, at most ``verify_attempts`` times."""
    from guardian.model.results import Verification  # noqa: PLC0415 - after StartLogging

    attempts, delay, clock, sleep = config.verify_attempts, config.verify_delay_seconds, run.clock, run.sleep
    status: dict[str, Any] = {}
    for check in range(1, attempts + 1):
        try:
            status = aws.trail_status(trail)
        except AWS_ERRORS as exc:
            code, message = describe_error(exc)
            return Verification(
                is_logging=None, checks=check, checked_at=clock(), error_code=code, error_message=message
            )
        if status.get("IsLogging"):
            return _verification(status, check, clock())
        if check < attempts:
            sleep(delay * 2 ** (check - 1))
    return _verification(status, attempts, clock())


def _verification(status: dict[str, Any], checks: int, checked_at: datetime) -> Verification:
    from guardian.model.results import Verification  # noqa: PLC0415 - after StartLogging

    return Verification(
        is_logging=bool(status.get("IsLogging")),
        checks=checks,
        checked_at=checked_at,
        start_logging_time=status.get("StartLoggingTime"),
        stop_logging_time=status.get("StopLoggingTime"),
        latest_delivery_time=status.get("LatestDeliveryTime"),
        latest_delivery_error=status.get("LatestDeliveryError") or None,
    )
