"""The sweep settles pending approvals (:mod:`guardian.model.approvals`): confirmed by CloudTrail, the exempt change
becomes the baseline (never below the floor); not yet confirmed, the subject is left alone a while longer; not
confirmed in time, the approval is refused, CRITICAL, and the change is healed like any other."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, cast

from guardian.flows import baselines
from guardian.flows.deliver import deliver
from guardian.model.approvals import approved, confirmation
from guardian.model.decide import Decision
from guardian.model.findings import found_event
from guardian.model.results import Result
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity
from guardian.model.trail import TrailState
from guardian.ports.calls import Delivery, SignedStore, TrailCalls
from guardian.ports.errors import AWS_ERRORS, describe_error
from guardian.ports.history import History

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.flows.baselines import Guarded
    from guardian.model.approvals import Pending
    from guardian.model.baselines import ResourceState
    from guardian.model.config import Config
    from guardian.model.refs import TrailRef
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


class Verdict(StrEnum):
    APPROVED = "approved"
    WAITING = "approval_pending"
    REFUSED = "approval_refused"


class Ports(History, TrailCalls, SignedStore, Delivery, Protocol):
    """CloudTrail's history, the trail as it is now, the baselines, and the alert's path."""


def verdict(aws: History, pending: Pending, now: datetime) -> tuple[Verdict, str | None]:
    """Whether CloudTrail confirms the approval; if not, why, and whether to wait longer."""
    try:
        record = aws.lookup_event(pending.region, pending.event_id)
        problem = confirmation(pending, record)
    except AWS_ERRORS as exc:
        code, message = describe_error(exc)
        problem = f"LookupEvents failed: {code}: {message}"
    if problem is None:
        return Verdict.APPROVED, None
    return (Verdict.REFUSED if pending.expired(now) else Verdict.WAITING), problem


def settle_trail(
    aws: Ports,
    config: Config,
    pending: Pending,
    current: TrailState | baselines.Retired,
    trail: TrailRef,
    *,
    started: datetime,
    run: Invocation,
) -> Verdict:
    """Record the trail's confirmed approval, or refuse an unconfirmed one (the baseline stays, without it)."""
    outcome, problem = verdict(aws, pending, run.clock())
    if outcome is Verdict.WAITING:
        return outcome
    held = current if isinstance(current, TrailState) else None
    state, by = held, "sweep"
    if outcome is Verdict.APPROVED:  # what the approved call changed of the trail as it is now
        state, by = approved(pending.event_name, held, aws.trail_state(trail.region, trail.name)), pending.actor
    ct = config.control_tower
    if state is None and held is not None and ct is not None and ct.manages(trail, config.account_id):
        # Control Tower's trail is never retired by an approval (its role can be assumed from the management
        # account): the sweep recreates it, CRITICAL. A landing zone given up: stop protecting the trail by setting.
        state, problem = held, "Control Tower's trail is never retired by an approval: it is recreated"
    elif outcome is Verdict.APPROVED and state and held and ct is not None and ct.manages(trail, config.account_id):
        state, weaker = ct.adopted(held, state)
        if weaker:  # alerted HIGH below; the sweep puts them back
            problem = f"Control Tower's change left {', '.join(weaker)} weaker: kept as before, put back"
    why = _why(pending, outcome, problem)
    baselines.record(aws, trail.region, trail.name, state, at=run.clock(), by=by, reason=why, sentinel=config.sentinel)
    _report(aws, config, pending, (outcome, problem), trail, started=started, run=run)
    return outcome


def settle_resource(
    aws: Ports,
    config: Config,
    guarded: Guarded,
    live: ResourceState,
    trail: TrailRef | None,
    *,
    started: datetime,
    run: Invocation,
) -> Verdict:
    """The same for a trail's bucket or log group: ``live`` becomes its baseline once confirmed."""
    pending = guarded.pending
    assert pending is not None
    outcome, problem = verdict(aws, pending, run.clock())
    if outcome is Verdict.WAITING:
        return outcome
    state, by = guarded.baseline, "sweep"
    if outcome is Verdict.APPROVED:
        state, by = cast("ResourceState", approved(pending.event_name, guarded.baseline, live) or live), pending.actor
    why = _why(pending, outcome, problem)
    baselines.record_resource(aws, guarded.kind, state, guarded.trails, at=run.clock(), by=by, why=why)
    _report(aws, config, pending, (outcome, problem), trail, started=started, run=run)
    return outcome


def _why(pending: Pending, outcome: Verdict, problem: str | None) -> str:
    if outcome is Verdict.APPROVED:
        kept = f"; {problem}" if problem else ""
        return f"{pending.event_name} by an exempt principal, confirmed by CloudTrail ({pending.exemption}){kept}"
    return f"approval refused: {pending.event_name} by {pending.actor} not confirmed by CloudTrail ({problem})"


def _report(
    aws: Ports,
    config: Config,
    pending: Pending,
    settled: tuple[Verdict, str | None],
    trail: TrailRef | None,
    *,
    started: datetime,
    run: Invocation,
) -> None:
    """Evidence for a confirmed approval (INFO); a CRITICAL alert for a refused one: a forged event, most likely.
    ``settled`` is the verdict and, for a refusal, why."""
    outcome, problem = settled
    approved = outcome is Verdict.APPROVED
    event = found_event(
        f"sweep-approval-{outcome.value}-{pending.event_id}",
        account_id=config.account_id,
        region=pending.region,
        detected_at=started,
        trail=trail,
        raw={"approval": outcome.value, "approval_event": pending.event_name, "approval_actor": pending.actor},
    )
    why = (
        f"CloudTrail confirms {pending.event_name} by the exempt principal {pending.actor}: "
        + (problem or "recorded as the baseline")
        if approved
        else f"{pending.event_name} by {pending.actor} was exempt by its event, but CloudTrail has not confirmed it "
        f"({problem}): a forged event? The approval is refused and the change is undone like any other"
    )
    severity = Severity.INFO if approved else Severity.CRITICAL
    if approved and problem and "weaker: kept as before" in problem:  # Control Tower's role weakened its trail
        severity = Severity.HIGH
    decision = Decision(Action.ALERT, Outcome.ALERTED, severity, why, SWEEP_RULE, trail)
    deliver(Result(event, decision, Outcome.ALERTED, severity), aws, config, run)
    LOG.log(
        logging.INFO if approved else logging.ERROR, f"exempt change {outcome.value}", extra={"event": pending.event_id}
    )
