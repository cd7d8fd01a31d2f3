"""A trail's S3 bucket and CloudWatch Logs group, held to their baselines like the trail itself.

A bucket or log group is guarded only while a protected trail delivers to it: the sweep records its baseline
(``baselines/buckets/<bucket>.json``, ``baselines/log-groups/<Region>/<quoted name>.json``, versioned in the
evidence bucket) beside the trail's. An event about any other bucket or group is none of the guardian's business:
ignored, no alert. A weakening change is put back (a deleted bucket or group is recreated; a recreated log group
is attached to its trails again); a strengthening one is kept and becomes the baseline; an exempt principal's
change becomes the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from guardian.flows import baselines
from guardian.flows.baselines import Guarded
from guardian.flows.steps import Step, poll, run_steps
from guardian.model.approvals import Pending
from guardian.model.bucket import BucketState, compare_bucket, target_bucket
from guardian.model.changes import Change, weakened
from guardian.model.log_access import LogAccess
from guardian.model.log_group import LogGroupState, compare_group, group_of, target_group
from guardian.model.refs import TrailRef
from guardian.model.results import ActionRecord, Result, Verification
from guardian.model.rules import Outcome, Severity, Subject
from guardian.model.trail import TrailState
from guardian.ports.calls import BucketCalls, Everything, HealPath, LogGroupCalls, SignedStore, TrailCalls
from guardian.ports.flow import Scope

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from guardian.model.baselines import ResourceState as State
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.ports.invocation import Invocation


class Ports(BucketCalls, LogGroupCalls, TrailCalls, SignedStore, Protocol):
    """A bucket's or log group's repair: their calls, the trails to re-attach a group to, and the baselines."""


@dataclass(frozen=True)
class Repair:
    """What a restore of a bucket or log group found, did and saw afterwards."""

    guarded: Guarded
    found: State
    changes: tuple[Change, ...]
    target: State
    actions: tuple[ActionRecord, ...] = ()
    after: State | None = None
    remaining: tuple[Change, ...] = ()
    checks: int = 0

    @property
    def needed(self) -> bool:
        return bool(weakened(self.changes))

    @property
    def verified(self) -> bool:
        return not self.remaining and all(a.succeeded for a in self.actions)

    @property
    def recreated(self) -> bool:
        return not self.found.exists

    @property
    def kept(self) -> tuple[Change, ...]:
        """What the target holds beyond the baseline: strengthening kept, the next baseline's reason."""
        return compare(self.guarded.baseline, self.target)


def resources_of(trail: TrailState) -> list[tuple[Subject, str, str | None]]:
    """The bucket and log group a trail delivers to: (kind, name, Region; None when only a read can tell)."""
    found: list[tuple[Subject, str, str | None]] = [(Subject.BUCKET, trail.s3_bucket, None)]
    group = group_of(trail.cloudwatch_logs_group_arn)
    if group:
        found.append((Subject.LOG_GROUP, group[1], group[0]))
    return found


# -- reading, comparing, restoring --------------------------------------------------------------------------------


def read(aws: Ports, kind: Subject, name: str, region: str | None) -> State:
    if kind is Subject.BUCKET:
        return aws.bucket_state(name, region)
    assert region is not None
    return aws.log_group_state(region, name)


def compare(baseline: State, current: State, access: LogAccess | None = None) -> tuple[Change, ...]:
    """``access``: whose writes and reads a bucket's policy must keep (its trails, the account's readers)."""
    if isinstance(baseline, BucketState):
        assert isinstance(current, BucketState)
        return compare_bucket(baseline, current, access)
    assert isinstance(current, LogGroupState)
    return compare_group(baseline, current)


def target(baseline: State, current: State, changes: Sequence[Change]) -> State:
    if isinstance(baseline, BucketState):
        assert isinstance(current, BucketState)
        return target_bucket(baseline, current, changes)
    assert isinstance(current, LogGroupState)
    return target_group(baseline, current, changes)


def repair(aws: Ports, guarded: Guarded, config: Config, run: Invocation) -> Repair:
    """Put back what weakened the resource, then read it again until nothing weakened remains."""
    baseline = guarded.baseline
    found = read(aws, guarded.kind, baseline.name, baseline.region)
    changes = compare(baseline, found, LogAccess(config.account_id, guarded.trails, config.log_readers))
    goal = target(baseline, found, changes)
    weak = weakened(changes)
    if not weak:
        return Repair(guarded, found, changes, goal, after=found)
    steps = (
        _bucket_steps(aws, goal, weak)
        if isinstance(goal, BucketState)
        else _group_steps(aws, goal, weak, guarded.trails)
    )
    actions, raced = run_steps(steps, goal.region, goal.name, run, tolerate="BucketAlreadyOwnedByYou")
    if raced == "CreateBucket":  # recreated meanwhile (the sweep and an event can race): repair what is there
        return repair(aws, guarded, config, run)
    if not all(a.succeeded for a in actions):
        return Repair(guarded, found, changes, goal, tuple(actions), None, weak, 0)
    after, checks = poll(
        lambda: read(aws, guarded.kind, goal.name, goal.region),
        lambda now: not weakened(compare(goal, now)),
        config,
        run,
    )
    return Repair(guarded, found, changes, goal, tuple(actions), after, weakened(compare(goal, after)), checks)


def _bucket_steps(aws: Ports, goal: BucketState, weak: tuple[Change, ...]) -> list[Step]:
    fields = {c.field for c in weak}
    recreate = "exists" in fields
    steps: list[Step] = [("CreateBucket", lambda: aws.create_bucket(goal))] if recreate else []
    if (recreate and goal.public_access_block) or "public_access_block" in fields:
        steps.append(("PutPublicAccessBlock", lambda: aws.put_public_access_block(goal)))
    if (recreate and goal.versioning == "Enabled") or "versioning" in fields:
        steps.append(("PutBucketVersioning", lambda: aws.put_bucket_versioning(goal)))
    if "acl_grants" in fields:
        steps.append(("PutBucketAcl", lambda: aws.put_bucket_acl(goal)))
    if (recreate and goal.encryption) or "encryption" in fields:
        name = "PutBucketEncryption" if goal.encryption else "DeleteBucketEncryption"
        steps.append((name, lambda: aws.put_bucket_encryption(goal)))
    if (recreate and goal.policy) or "policy" in fields:
        steps.append(("PutBucketPolicy" if goal.policy else "DeleteBucketPolicy", lambda: aws.put_bucket_policy(goal)))
    if (recreate and goal.lifecycle_rules) or "lifecycle_rules" in fields:
        name = "PutBucketLifecycleConfiguration" if goal.lifecycle_rules else "DeleteBucketLifecycle"
        steps.append((name, lambda: aws.put_bucket_lifecycle(goal)))
    return steps


def _group_steps(aws: Ports, goal: LogGroupState, weak: tuple[Change, ...], trails: Sequence[str]) -> list[Step]:
    fields = {c.field for c in weak}
    recreate = "exists" in fields
    steps: list[Step] = [("CreateLogGroup", lambda: aws.create_log_group(goal))] if recreate else []
    if (recreate and goal.retention_days is not None) or "retention_days" in fields:
        steps.append(("PutRetentionPolicy", lambda: aws.put_retention(goal)))
    if "kms_key_id" in fields:
        name = "AssociateKmsKey" if goal.kms_key_id else "DisassociateKmsKey"
        steps.append((name, lambda: aws.associate_log_key(goal)))
    if (recreate and goal.transformer) or "transformer" in fields:  # taken off (or an approved one put back)
        steps.append(("PutTransformer" if goal.transformer else "DeleteTransformer", lambda: aws.put_transformer(goal)))
    if recreate:  # CloudTrail stops delivering to a deleted group: attach the new one again
        steps.extend(("UpdateTrail", _reattach(aws, arn)) for arn in trails)
    return steps


def _reattach(aws: Ports, arn: str) -> Callable[[], None]:
    def call() -> None:
        region, name = arn.split(":")[3], arn.split(":trail/", 1)[-1]
        trail = baselines.load(aws, region, name)
        if isinstance(trail, TrailState):
            aws.update_trail(trail, clear_prefix=False)

    return call


# -- the event path ---------------------------------------------------------------------------------------------


def scope(event: CloudTrailEvent, decision: Decision, aws: Everything) -> Scope | None:
    """A bucket or log group is the guardian's business only while a protected trail delivers to it (it has a
    baseline): the decision then names that trail."""
    assert decision.rule is not None
    ref = event.resource
    guarded = None if ref is None else baselines.load_resource(aws, decision.rule.about, ref.name, ref.region)
    return None if guarded is None else Scope(replace(decision, trail=trail_ref(guarded)), guarded)


def heal(
    event: CloudTrailEvent, decision: Decision, aws: HealPath, config: Config, run: Invocation, *, scope: Scope | None
) -> Result:
    assert scope is not None
    assert isinstance(scope.found, Guarded)
    return restore_resource(event, decision, aws.full(), config, run, guarded=scope.found)


def approve(
    event: CloudTrailEvent, decision: Decision, aws: Everything, run: Invocation, scope: Scope | None
) -> str | None:
    """An exempt principal changed the resource: it is left as it is, and becomes the baseline once CloudTrail confirms
    the event (the sweep looks it up; see :mod:`guardian.model.approvals`)."""
    if scope is None or not isinstance(scope.found, Guarded):
        return None
    guarded = scope.found
    pending = Pending.of(event, decision.reason, run.clock())
    why = f"approval pending: {pending.event_name} by {pending.actor}, until CloudTrail confirms it"
    at = run.clock()
    kind, state, trails = guarded.kind, guarded.baseline, guarded.trails
    return baselines.record_resource(aws, kind, state, trails, at=at, by="guardian", why=why, pending=pending).key


def restore_resource(
    event: CloudTrailEvent, decision: Decision, aws: Ports, config: Config, run: Invocation, *, guarded: Guarded
) -> Result:
    """Undo what weakened a trail's bucket or log group; keep and record what strengthened it."""
    decision = replace(decision, trail=trail_ref(guarded))
    fixed = repair(aws, guarded, config, run)
    by = event.actor.arn or event.actor.display
    kept = fixed.kept
    if kept and (fixed.verified or not fixed.needed):
        baselines.record_resource(
            aws,
            guarded.kind,
            fixed.target,
            guarded.trails,
            at=run.clock(),
            by="guardian" if fixed.needed else by,
            why=f"{event.event_name}: strengthening kept ({', '.join(c.field for c in kept)})",
        )
    if not fixed.needed:
        why = (
            f"the change strengthens {guarded.label}: kept, and recorded as its new baseline"
            if kept
            else f"{guarded.label} is not weaker than its baseline: nothing to undo"
        )
        severity = Severity.INFO if kept else Severity.LOW
        return Result(event, replace(decision, reason=why), Outcome.ALERTED, severity, changes=fixed.changes)
    severity = Severity.CRITICAL if fixed.recreated or not fixed.verified else decision.severity
    why = f"{guarded.label} (serving trail(s) {_names(guarded)}) put back to its baseline: " + ", ".join(
        a.action for a in fixed.actions
    )
    return as_result(fixed, event, replace(decision, reason=why), severity, run.clock())


def as_result(fixed: Repair, event: CloudTrailEvent, decision: Decision, severity: Severity, at: datetime) -> Result:
    return Result(
        event=event,
        decision=decision,
        outcome=Outcome.HEALED if fixed.verified else Outcome.HEAL_FAILED,
        severity=severity,
        actions=fixed.actions,
        verification=Verification(is_logging=None, checks=fixed.checks, checked_at=at),
        changes=fixed.changes,
        diagnosis=None if fixed.verified else diagnosis(fixed),
    )


def diagnosis(fixed: Repair) -> str:
    failed = next((a for a in fixed.actions if not a.succeeded), None)
    if failed is not None and failed.action == "CreateBucket" and failed.error_code == "BucketAlreadyExists":
        return (
            f"CreateBucket failed: the name {fixed.target.name} now belongs to another AWS account. If it accepts "
            "CloudTrail's writes, this account's logs go to that account: point the trail at a new bucket now"
        )
    if failed is not None:
        return f"{failed.action} failed: {failed.error_code}: {failed.error_message}"
    return f"{fixed.guarded.label} still weakened after the restore: " + ", ".join(c.field for c in fixed.remaining)


def trail_ref(guarded: Guarded) -> TrailRef | None:
    """The first trail the resource serves, named in the alert ("on trail X")."""
    if not guarded.trails:
        return None
    arn = guarded.trails[0]
    parts = arn.split(":")
    return TrailRef(name=arn.split(":trail/", 1)[-1], region=parts[3], account_id=parts[4], given=arn, arn=arn)


def _names(guarded: Guarded) -> str:
    return ", ".join(arn.split(":trail/", 1)[-1] for arn in guarded.trails) or "none recorded"
