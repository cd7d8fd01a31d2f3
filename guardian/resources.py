"""A trail's S3 bucket and CloudWatch Logs group, held to their baselines like the trail itself.

A bucket or log group is guarded only while a protected trail delivers to it: the sweep records its baseline
(``baselines/buckets/<bucket>.json``, ``baselines/log-groups/<Region>/<quoted name>.json``, versioned in the
evidence bucket) beside the trail's. An event about any other bucket or group is none of the guardian's business:
ignored, no alert. A weakening change is put back (a deleted bucket or group is recreated; a recreated log group
is attached to its trails again); a strengthening one is kept and becomes the baseline; an exempt principal's
change becomes the baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from guardian import baseline_store
from guardian.baseline import BASELINE_SCHEMA, BASELINE_SCHEMA_VERSION, PREFIX, Change, Effect, TrailState, weakened
from guardian.bucket import BucketState, compare_bucket, target_bucket
from guardian.events import CloudTrailEvent, TrailRef
from guardian.log_group import LogGroupState, compare_group, group_key, group_of, target_group
from guardian.policy import Decision, Outcome, Severity, Subject
from guardian.results import ActionRecord, Result, Verification, iso
from guardian.steps import Step, poll, run_steps

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.config import Config
    from guardian.workflow import Aws, Invocation

State = BucketState | LogGroupState


@dataclass(frozen=True)
class Guarded:
    """A bucket or log group with a baseline: what it must be, and the trails that deliver to it."""

    kind: Subject
    baseline: State
    trails: tuple[str, ...]  # ARNs of the protected trails that deliver to it
    key: str  # where the baseline is stored

    @property
    def label(self) -> str:
        state = self.baseline
        return f"bucket {state.name}" if isinstance(state, BucketState) else f"log group {state.name}"


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


# -- where baselines live -----------------------------------------------------------------------------------------


def bucket_key(name: str) -> str:
    return f"{PREFIX}/buckets/{name}.json"


def log_group_key(region: str, name: str) -> str:
    return f"{PREFIX}/log-groups/{group_key(region, name)}.json"


def store_key(kind: Subject, name: str, region: str | None) -> str:
    return bucket_key(name) if kind is Subject.BUCKET else log_group_key(region or "", name)


def load(store: baseline_store.Store, kind: Subject, name: str, region: str | None) -> Guarded | None:
    key = store_key(kind, name, region)
    document = store.read_json(key)
    if document is None or document.get("state") is None:
        return None
    state: State = (
        BucketState.from_json(document["state"])
        if kind is Subject.BUCKET
        else LogGroupState.from_json(document["state"])
    )
    return Guarded(kind, state, tuple(document.get("trails") or ()), key)


def record(
    store: baseline_store.Store, kind: Subject, state: State, trails: Sequence[str], *, at: datetime, by: str, why: str
) -> Guarded:
    key = store_key(kind, state.name, state.region)
    store.write_json(
        key,
        {
            "schema": BASELINE_SCHEMA,
            "schema_version": BASELINE_SCHEMA_VERSION,
            "kind": kind.value,
            "recorded_at": iso(at),
            "recorded_by": by,
            "reason": why,
            "trails": sorted(set(trails)),
            "state": state.to_json(),
        },
    )
    return Guarded(kind, state, tuple(sorted(set(trails))), key)


def resources_of(trail: TrailState) -> list[tuple[Subject, str, str | None]]:
    """The bucket and log group a trail delivers to: (kind, name, Region; None when only a read can tell)."""
    found: list[tuple[Subject, str, str | None]] = [(Subject.BUCKET, trail.s3_bucket, None)]
    group = group_of(trail.cloudwatch_logs_group_arn)
    if group:
        found.append((Subject.LOG_GROUP, group[1], group[0]))
    return found


# -- reading, comparing, restoring --------------------------------------------------------------------------------


def read(aws: Aws, kind: Subject, name: str, region: str | None) -> State:
    if kind is Subject.BUCKET:
        return aws.bucket_state(name, region)
    assert region is not None
    return aws.log_group_state(region, name)


def compare(baseline: State, current: State) -> tuple[Change, ...]:
    if isinstance(baseline, BucketState):
        assert isinstance(current, BucketState)
        return compare_bucket(baseline, current)
    assert isinstance(current, LogGroupState)
    return compare_group(baseline, current)


def target(baseline: State, current: State, changes: Sequence[Change]) -> State:
    if isinstance(baseline, BucketState):
        assert isinstance(current, BucketState)
        return target_bucket(baseline, current, changes)
    assert isinstance(current, LogGroupState)
    return target_group(baseline, current, changes)


def repair(aws: Aws, guarded: Guarded, config: Config, run: Invocation) -> Repair:
    """Put back what weakened the resource, then read it again until nothing weakened remains."""
    baseline = guarded.baseline
    found = read(aws, guarded.kind, baseline.name, baseline.region)
    changes = compare(baseline, found)
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


def _bucket_steps(aws: Aws, goal: BucketState, weak: tuple[Change, ...]) -> list[Step]:
    fields = {c.field for c in weak}
    recreate = "exists" in fields
    steps: list[Step] = [("CreateBucket", lambda: aws.create_bucket(goal))] if recreate else []
    if (recreate and goal.public_access_block) or "public_access_block" in fields:
        steps.append(("PutPublicAccessBlock", lambda: aws.put_public_access_block(goal)))
    if (recreate and goal.versioning == "Enabled") or "versioning" in fields:
        steps.append(("PutBucketVersioning", lambda: aws.put_bucket_versioning(goal)))
    if "acl_grants" in fields:
        steps.append(("PutBucketAcl", lambda: aws.put_bucket_acl(goal)))
    if (recreate and goal.policy) or "policy" in fields:
        steps.append(("PutBucketPolicy" if goal.policy else "DeleteBucketPolicy", lambda: aws.put_bucket_policy(goal)))
    if (recreate and goal.lifecycle_rules) or "lifecycle_rules" in fields:
        name = "PutBucketLifecycleConfiguration" if goal.lifecycle_rules else "DeleteBucketLifecycle"
        steps.append((name, lambda: aws.put_bucket_lifecycle(goal)))
    return steps


def _group_steps(aws: Aws, goal: LogGroupState, weak: tuple[Change, ...], trails: Sequence[str]) -> list[Step]:
    fields = {c.field for c in weak}
    recreate = "exists" in fields
    steps: list[Step] = [("CreateLogGroup", lambda: aws.create_log_group(goal))] if recreate else []
    if (recreate and goal.retention_days is not None) or "retention_days" in fields:
        steps.append(("PutRetentionPolicy", lambda: aws.put_retention(goal)))
    if "kms_key_id" in fields and goal.kms_key_id:
        steps.append(("AssociateKmsKey", lambda: aws.associate_log_key(goal)))
    if recreate:  # CloudTrail stops delivering to a deleted group: attach the new one again
        steps.extend(("UpdateTrail", _reattach(aws, arn)) for arn in trails)
    return steps


def _reattach(aws: Aws, arn: str) -> Callable[[], None]:
    def call() -> None:
        region, name = arn.split(":")[3], arn.split(":trail/", 1)[-1]
        trail = baseline_store.load(aws, region, name)
        if isinstance(trail, TrailState):
            aws.update_trail(trail, clear_prefix=False)

    return call


# -- the event path ---------------------------------------------------------------------------------------------


def guarded_by_event(aws: Aws, event: CloudTrailEvent, kind: Subject) -> Guarded | None:
    ref = event.resource
    if ref is None:
        return None
    return load(aws, kind, ref.name, ref.region)


def restore_resource(
    event: CloudTrailEvent, decision: Decision, aws: Aws, config: Config, run: Invocation, *, guarded: Guarded
) -> Result:
    """Undo what weakened a trail's bucket or log group; keep and record what strengthened it."""
    decision = replace(decision, trail=trail_ref(guarded))
    fixed = repair(aws, guarded, config, run)
    by = event.actor.arn or event.actor.display
    if fixed.target != guarded.baseline and (fixed.verified or not fixed.needed):
        kept = ", ".join(c.field for c in fixed.changes if c.effect is Effect.STRENGTHENED) or "none"
        record(
            aws,
            guarded.kind,
            fixed.target,
            guarded.trails,
            at=run.clock(),
            by="guardian" if fixed.needed else by,
            why=f"{event.event_name}: strengthening kept ({kept})",
        )
    if not fixed.needed:
        why = (
            f"the change strengthens {guarded.label}: kept, and recorded as its new baseline"
            if fixed.changes
            else f"{guarded.label} is not weaker than its baseline: nothing to undo"
        )
        severity = Severity.INFO if fixed.changes else Severity.LOW
        return Result(event, replace(decision, reason=why), Outcome.ALERTED, severity, changes=fixed.changes)
    severity = Severity.CRITICAL if fixed.recreated or not fixed.verified else decision.severity
    why = f"{guarded.label} (serving trail(s) {_names(guarded)}) put back to its baseline: " + ", ".join(
        a.action for a in fixed.actions
    )
    return as_result(fixed, event, replace(decision, reason=why), severity, run.clock())


def approve(aws: Aws, guarded: Guarded, event: CloudTrailEvent, reason: str, at: datetime) -> str:
    """An exempt principal's change is approved: the resource as it is now becomes its baseline."""
    state = read(aws, guarded.kind, guarded.baseline.name, guarded.baseline.region)
    by = event.actor.arn or event.actor.display
    return record(aws, guarded.kind, state, guarded.trails, at=at, by=by, why=reason).key


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
