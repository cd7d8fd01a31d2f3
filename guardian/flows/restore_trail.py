"""Put a trail back to its baseline: recreate it if deleted, undo what weakened it, keep what strengthened it.

Logging comes back first (it bounds the blind window), then settings, selectors, insights and tags. Afterwards
the trail is read again until nothing weakened remains, so "restored" always means "seen restored".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from guardian.flows import baselines
from guardian.flows.budget import under_quota
from guardian.flows.steps import Step, poll, run_steps
from guardian.model.approvals import Pending
from guardian.model.changes import Change, weakened
from guardian.model.results import ActionRecord, Result, Verification
from guardian.model.rules import Outcome, Severity, Subject
from guardian.model.trail import TrailState, compare, target_state
from guardian.ports.calls import Everything, HealPath, KeyCalls, SignedStore, TrailCalls
from guardian.ports.flow import Scope

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.flows.budget import Pacer
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.model.refs import TrailRef
    from guardian.ports.invocation import Invocation

SETTINGS = frozenset(
    {"multi_region", "include_global_service_events", "log_file_validation", "kms_key_id", "sns_topic_arn"}
    | {"cloudwatch_logs_group_arn", "cloudwatch_logs_role_arn", "s3_bucket", "s3_prefix", "organization"}
)


class Restoring(TrailCalls, KeyCalls, Protocol):
    """A trail's calls, GetTrailStatus (the heal path's) to verify a heal that only restarted logging, and a new
    key's policy (is it one the account's readers can still decrypt with?)."""

    def trail_status(self, trail: TrailRef) -> dict[str, Any]: ...


class Ports(Restoring, SignedStore, Protocol):
    """A restore on the event path: the trail's calls and its baseline."""


@dataclass(frozen=True)
class Restoration:
    baseline: TrailState
    found: TrailState | None  # None: the trail was deleted
    changes: tuple[Change, ...]  # baseline → found
    target: TrailState  # what the trail must be now; also the next baseline
    actions: tuple[ActionRecord, ...] = ()
    after: TrailState | None = None
    remaining: tuple[Change, ...] = ()  # still weakened after the restore
    checks: int = 0

    @property
    def needed(self) -> bool:
        return self.found is None or bool(weakened(self.changes))

    @property
    def verified(self) -> bool:
        return self.after is not None and not self.remaining and all(a.succeeded for a in self.actions)

    @property
    def recreated(self) -> bool:
        return self.found is None

    @property
    def kept(self) -> tuple[Change, ...]:
        """What the target holds beyond the baseline (strengthening kept): the next baseline's reason. Empty when
        the two cover the same, however they are written (no selectors and the default selectors, say)."""
        return compare(self.baseline, self.target)


def restore(
    aws: Restoring,
    baseline: TrailState,
    found: TrailState | None,
    config: Config,
    run: Invocation,
    *,
    pace: Pacer | None = None,
) -> Restoration:
    """``pace``: the sweep's, to leave CloudTrail's write quota to the event path (see budget.under_quota). Where
    Control Tower runs, a deleted trail is never recreated a second organization trail (flows.control_tower)."""
    if found is None:
        changes: tuple[Change, ...] = ()
        target = baseline
        if config.control_tower is not None and baseline.organization:
            from guardian.flows.control_tower import recreate_as  # noqa: PLC0415 - only where Control Tower runs

            target = recreate_as(aws, config.control_tower, baseline)
        steps = _recreate_steps(aws, target)
    else:
        changes = compare(baseline, found)
        if any(c.field == "kms_key_id" and not weakened((c,)) for c in changes):
            from guardian.flows.key_fit import judge_new_key  # noqa: PLC0415 - only when a key was put on the trail

            changes = judge_new_key(aws, changes, found, config)
        target = target_state(baseline, found, changes)
        if not weakened(changes):
            return Restoration(baseline, found, changes, target, after=found)
        steps = _repair_steps(aws, found, target, weakened(changes))
    region = target.home_region
    logs = lambda: bool(aws.trail_status(target.ref(None)).get("IsLogging"))  # noqa: E731
    steps = under_quota(steps, run, region=region, logging=logs, pace=pace)
    actions, raced = run_steps(steps, region, target.name, run, tolerate="TrailAlreadyExistsException")
    if raced == "CreateTrail":
        # Recreated meanwhile (the sweep and an event can race for a deleted trail): repair what is there.
        current = aws.trail_state(target.home_region, target.name)
        if current is not None:
            return restore(aws, baseline, current, config, run, pace=pace)
    logging_only = found is not None and {c.field for c in weakened(changes)} == {"logging"}
    after, remaining, checks = _verify(aws, target, found if logging_only else None, config, run)
    return Restoration(baseline, found, changes, target, tuple(actions), after, remaining, checks)


def _recreate_steps(aws: TrailCalls, baseline: TrailState) -> list[Step]:
    steps: list[Step] = [("CreateTrail", lambda: aws.create_trail(baseline))]
    if baseline.logging:
        steps.append(("StartLogging", lambda: aws.start_trail(baseline)))
    if baseline.event_selectors is not None or baseline.advanced_event_selectors is not None:
        # A new trail logs every management event already: selectors only where the baseline had its own.
        steps.append(("PutEventSelectors", lambda: aws.put_event_selectors(baseline)))
    if baseline.insight_types:
        steps.append(("PutInsightSelectors", lambda: aws.put_insight_selectors(baseline)))
    return steps


def _repair_steps(aws: TrailCalls, found: TrailState, target: TrailState, weak: tuple[Change, ...]) -> list[Step]:
    fields = {c.field for c in weak}
    steps: list[Step] = []
    if "logging" in fields:
        steps.append(("StartLogging", lambda: aws.start_trail(target)))
    if fields & SETTINGS:
        clear = target.s3_prefix is None and found.s3_prefix is not None
        # A key put on a trail that had none is taken off with KmsKeyId "" (an absent parameter keeps the key).
        update = replace(target, kms_key_id="") if target.kms_key_id is None and found.kms_key_id else target
        steps.append(("UpdateTrail", lambda: aws.update_trail(update, clear_prefix=clear)))
    if fields & {"event_selectors", "advanced_event_selectors"}:
        steps.append(("PutEventSelectors", lambda: aws.put_event_selectors(target)))
    if "insight_types" in fields:
        steps.append(("PutInsightSelectors", lambda: aws.put_insight_selectors(target)))
    if "tags" in fields:
        missing = sorted(set(target.tags) - set(found.tags))
        steps.append(("AddTags", lambda: aws.add_tags(target, missing)))
    return steps


def _verify(
    aws: Restoring, target: TrailState, logging_only: TrailState | None, config: Config, run: Invocation
) -> tuple[TrailState | None, tuple[Change, ...], int]:
    """Read the trail again until nothing weakened remains against the target, with backoff. When logging was all
    that was weakened (``logging_only``: the trail as found), GetTrailStatus alone is read: the rest was read just
    before and no call touched it."""

    def remaining(after: TrailState | None) -> tuple[Change, ...]:
        return weakened(compare(target, after)) if after is not None else ()

    def read() -> TrailState | None:
        if logging_only is None:
            return aws.trail_state(target.home_region, target.name)
        status = aws.trail_status(target.ref(None))
        error = status.get("LatestDeliveryError") or None
        return replace(logging_only, logging=bool(status.get("IsLogging")), delivery_error=error)

    after, checks = poll(read, lambda now: now is not None and not remaining(now), config, run)
    return after, remaining(after), checks


def heal(
    event: CloudTrailEvent, decision: Decision, aws: HealPath, config: Config, run: Invocation, *, scope: Scope | None
) -> Result:
    return restore_baseline(event, decision, aws.full(), config, run)


def scope(event: CloudTrailEvent, decision: Decision, aws: Everything) -> Scope | None:
    """Every trail of the account is the guardian's business (protection by name or tag is the sweep's filter)."""
    return Scope(decision, None)


def approve(
    event: CloudTrailEvent, decision: Decision, aws: Everything, run: Invocation, scope: Scope | None
) -> str | None:
    """An exempt principal changed this account's trail: it is left as it is, and becomes the baseline once CloudTrail
    confirms the event (the sweep looks it up; see :mod:`guardian.model.approvals`)."""
    trail = decision.trail
    if trail is None or trail.account_id not in (None, event.account_id) or decision.rule is None:
        return None
    if decision.rule.about is not Subject.TRAIL:
        return None
    pending = Pending.of(event, decision.reason, run.clock())
    return baselines.request_approval(aws, trail.region, trail.name, pending, at=run.clock())


def restore_baseline(event: CloudTrailEvent, decision: Decision, aws: Ports, config: Config, run: Invocation) -> Result:
    """Put the trail back to its baseline (recreate, undo weakening); keep and record what strengthened it. A stored
    baseline unfit to use (refused, or below the floor) makes the alert CRITICAL and says so; the sweep mends it."""
    trail = decision.trail
    assert trail is not None
    checked = baselines.load_checked(aws, trail.region, trail.name, sentinel=config.sentinel)
    result = _restore_to(event, decision, aws, config, run, stored=checked.state)
    notes = [f"the newest stored baseline was refused ({checked.refused.problem})"] if checked.refused else []
    if checked.below_floor:
        notes.append(f"the stored baseline was below the floor ({'; '.join(checked.below_floor)})")
    if not notes:
        return result
    held = "the trail was held to the last verified baseline and the floor"
    reason = f"{result.decision.reason}; {'; '.join(notes)}: {held}"
    return replace(result, severity=Severity.CRITICAL, decision=replace(result.decision, reason=reason))


def _restore_to(
    event: CloudTrailEvent,
    decision: Decision,
    aws: Ports,
    config: Config,
    run: Invocation,
    *,
    stored: TrailState | baselines.Missing | baselines.Retired,
) -> Result:
    trail = decision.trail
    assert trail is not None
    if not isinstance(stored, TrailState):
        why = (
            "no baseline has been recorded for this trail yet (the sweep records one): nothing to restore from"
            if isinstance(stored, baselines.Missing)
            else "the trail was retired by an exempt deletion"
        )
        return _nothing_undone(event, decision, why, decision.severity)
    restoration = restore(aws, stored, aws.trail_state(trail.region, trail.name), config, run)
    kept = restoration.kept
    if kept and (restoration.verified or not restoration.needed):
        by = "guardian" if restoration.needed else event.actor.arn or event.actor.display
        baselines.record(
            aws,
            trail.region,
            trail.name,
            restoration.target,
            at=run.clock(),
            by=by,
            reason=f"{event.event_name}: kept ({', '.join(c.field for c in kept)}): stronger, or Control Tower's",
            sentinel=config.sentinel,
        )
    if not restoration.needed:
        if kept:
            why = "the change strengthens the trail: kept, and recorded as its new baseline"
            return _nothing_undone(event, decision, why, Severity.INFO, restoration.changes)
        why = "the live trail is not weaker than its baseline: nothing to undo"
        return _nothing_undone(event, decision, why, Severity.LOW, restoration.changes)
    severity = Severity.CRITICAL if restoration.recreated or not restoration.verified else decision.severity
    return as_result(restoration, event, decision, severity=severity, checked_at=run.clock())


def _nothing_undone(
    event: CloudTrailEvent, decision: Decision, why: str, severity: Severity, changes: tuple[Change, ...] = ()
) -> Result:
    return Result(
        event=event, decision=replace(decision, reason=why), outcome=Outcome.ALERTED, severity=severity, changes=changes
    )


def as_result(
    restoration: Restoration, event: CloudTrailEvent, decision: Decision, *, severity: Severity, checked_at: datetime
) -> Result:
    """What a restore did, as the alert and the evidence record tell it (for the event path and the sweep)."""
    after = restoration.after
    if restoration.recreated and restoration.baseline.organization and not restoration.target.organization:
        from guardian.flows.control_tower import NOT_RESTORED  # noqa: PLC0415 - only where Control Tower runs

        decision = replace(decision, reason=f"{decision.reason}; {NOT_RESTORED}")
    verification = Verification(
        is_logging=None if after is None else after.logging, checks=restoration.checks, checked_at=checked_at
    )
    return Result(
        event=event,
        decision=decision,
        outcome=Outcome.HEALED if restoration.verified else Outcome.HEAL_FAILED,
        severity=severity,
        actions=restoration.actions,
        verification=verification,
        changes=restoration.changes,
        diagnosis=None if restoration.verified else diagnosis(restoration),
    )


def diagnosis(restoration: Restoration) -> str:
    """Why a restore did not end as it should: the call that failed, or what is still weaker than the target."""
    failed = next((a for a in restoration.actions if not a.succeeded), None)
    if failed is not None:
        return f"{failed.action} failed: {failed.error_code}: {failed.error_message}"
    if restoration.after is None:
        return "the trail still does not exist after CreateTrail"
    return "still weakened after the restore: " + ", ".join(c.field for c in restoration.remaining)
