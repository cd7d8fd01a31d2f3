"""What the sweep checks beside each trail: the bucket and log group it delivers to, its KMS key, and whether its
log files arrive. Each finding is healed through the same repair as the event path, with evidence and one alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from guardian.flows import baselines, storage
from guardian.flows.approvals import Verdict, settle_resource
from guardian.flows.deliver import deliver
from guardian.flows.observe import observed, undoing
from guardian.model.baseline_index import DELETED, is_index_key
from guardian.model.decide import Decision
from guardian.model.findings import baseline_event, sweep_event
from guardian.model.results import Result
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity, Subject
from guardian.ports.errors import describe_error

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from guardian.flows.workers import Workers
    from guardian.model.changes import Change
    from guardian.model.config import Config
    from guardian.model.refs import TrailRef
    from guardian.model.trail import TrailState
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResourceCheck:
    kind: str  # bucket, log_group
    name: str
    status: str  # in_baseline, baseline_recorded, strengthened, healed, heal_failed, observed, missing, not_readable
    changes: tuple[Change, ...] = ()


def sweep_resources(
    aws: Everything,
    config: Config,
    protected: Iterable[TrailState],
    work: Workers,
    *,
    started: datetime,
    run: Invocation,
) -> tuple[ResourceCheck, ...]:
    """Every bucket and log group a protected trail delivers to, once each (trails often share a bucket)."""
    serving: dict[tuple[Subject, str, str | None], set[str]] = {}
    for trail in protected:
        for kind, name, region in storage.resources_of(trail):
            serving.setdefault((kind, name, region), set()).add(trail.arn)

    def one(resource: tuple[Subject, str, str | None], trails: set[str]) -> ResourceCheck:
        kind, name, _ = resource
        try:
            return check_resource(aws, config, resource, trails, started=started, run=run)
        except ClientError as exc:
            code, _ = describe_error(exc)
            if code not in ("AccessDenied", "AccessDeniedException", "403"):
                raise
            # Typically an organization's log-archive bucket in another account: its owner guards it.
            LOG.warning("trail resource not readable", extra={"resource": name, "kind": kind, "error_code": code})
            return ResourceCheck(kind.value, name, "not_readable")
        except Exception as exc:  # a fault in one check (the guardian's own code) hides no other
            LOG.exception("a check of a trail resource failed", extra={"resource": name, "kind": kind})
            report_fault(aws, config, resource, exc, started=started, run=run)
            return ResourceCheck(kind.value, name, "heal_failed")

    ordered = sorted(serving.items(), key=lambda item: (item[0][0], item[0][1]))
    return tuple(work.map(lambda item: one(*item), ordered))


def check_resource(
    aws: Everything,
    config: Config,
    resource: tuple[Subject, str, str | None],
    trails: set[str],
    *,
    started: datetime,
    run: Invocation,
) -> ResourceCheck:
    """Hold a trail's bucket or log group (kind, name, Region) to its baseline; record one when first seen. A stored
    baseline that fails verification is alerted and mended; a pending approval is settled first."""
    kind, name, region = resource
    guarded, refused = baselines.load_resource_checked(aws, kind, name, region)
    if refused is not None:
        report_refused(aws, config, refused, None, started=started, run=run)
    if guarded is not None and guarded.pending is not None:
        live = storage.read(aws, kind, name, region)
        settled = settle_resource(aws, config, guarded, live, storage.trail_ref(guarded), started=started, run=run)
        if settled is Verdict.WAITING:
            return ResourceCheck(kind.value, name, settled.value)
        guarded = baselines.load_resource(aws, kind, name, region)
    if guarded is None:
        state = storage.read(aws, kind, name, region)
        if not state.exists:
            LOG.warning("a protected trail delivers to a missing resource", extra={"resource": name, "kind": kind})
            return ResourceCheck(kind.value, name, "missing")
        baselines.record_resource(
            aws, kind, state, sorted(trails), at=run.clock(), by="sweep", why="first seen by the sweep"
        )
        return ResourceCheck(kind.value, name, "baseline_recorded")
    if not trails <= set(guarded.trails):
        guarded = baselines.record_resource(
            aws,
            kind,
            guarded.baseline,
            sorted(trails | set(guarded.trails)),
            at=run.clock(),
            by="sweep",
            why="another protected trail delivers to it",
        )
    with undoing(run, heal=False):  # observe: the repair's writes are recorded, not made (guardian.flows.observe)
        fixed = storage.repair(aws, guarded, config, run)
    status: str | None = None
    if fixed.needed:
        event, ref = sweep_event(
            guarded.baseline,
            account_id=config.account_id,
            detected_at=started,
            details={
                "resource": guarded.label,
                "deleted": fixed.recreated,
                "changes": [c.to_json() for c in fixed.changes],
            },
            trail=storage.trail_ref(guarded),
        )
        severity = Severity.CRITICAL if fixed.recreated or not fixed.verified else SWEEP_RULE.severity
        reason = f"healed by sweep — {guarded.label} was weakened; the change was not seen as an event"
        decision = Decision(Action.HEAL, Outcome.HEALED, severity, reason, SWEEP_RULE, ref)
        result = observed(storage.as_result(fixed, event, decision, severity, run.clock()), run)
        deliver(result, aws, config, run)
        status = "healed" if fixed.verified else "heal_failed"
        status = "observed" if result.outcome is Outcome.OBSERVED else status
        if not fixed.verified:
            return ResourceCheck(kind.value, name, status, fixed.changes)
    kept = fixed.kept
    if kept:
        why = f"strengthening kept: {', '.join(c.field for c in kept)}"
        baselines.record_resource(aws, kind, fixed.target, guarded.trails, at=run.clock(), by="sweep", why=why)
        status = status or "strengthened"
    return ResourceCheck(kind.value, name, status or "in_baseline", fixed.changes)


def report_fault(
    aws: Everything,
    config: Config,
    resource: tuple[Subject, str, str | None],
    exc: Exception,
    *,
    started: datetime,
    run: Invocation,
) -> None:
    """A check that raised something no AWS call explains (a RecursionError, a bug of the guardian's): the
    resource could not be held to its baseline, so alert CRITICAL; the run then fails (heal_failed)."""
    from guardian.model.bucket import BucketState  # noqa: PLC0415 - sweep only
    from guardian.model.log_group import LogGroupState  # noqa: PLC0415

    kind, name, region = resource
    where = region or config.topic_region
    state = BucketState(name, where) if kind is Subject.BUCKET else LogGroupState(name, where)
    error = f"{type(exc).__name__}: {str(exc)[:300]}"
    event, ref = sweep_event(
        state,
        account_id=config.account_id,
        detected_at=started,
        details={"check_fault": f"{kind.value.replace('_', ' ')} {name}", "check_error": error},
        what="fault",
    )
    why = (
        f"the sweep could not check {kind.value} {name} ({error}): whatever was changed on it stays as it is until "
        "the fault is fixed; check it by hand"
    )
    decision = Decision(Action.HEAL, Outcome.HEAL_FAILED, Severity.CRITICAL, why, SWEEP_RULE, ref)
    result = Result(event, decision, Outcome.HEAL_FAILED, Severity.CRITICAL, diagnosis=error)
    deliver(result, aws, config, run)


def report_delivery_error(
    aws: Everything, config: Config, trail: TrailState, *, started: datetime, run: Invocation
) -> None:
    """CloudTrail could not write the trail's logs to S3 (bucket gone, policy or key changed): nothing to undo on
    the trail itself, so alert, once a day per trail and error while it lasts."""
    import hashlib  # noqa: PLC0415 - sweep only

    error = trail.delivery_error or ""
    digest = hashlib.sha256(error.encode()).hexdigest()[:8]
    event, ref = sweep_event(
        trail,
        account_id=config.account_id,
        detected_at=started,
        details={"delivery_error": error},
        event_id=f"sweep-delivery-{started:%Y%m%d}-{trail.home_region}-{trail.name}-{digest}",
    )
    reason = (
        f"CloudTrail reports LatestDeliveryError {error!r}: the trail logs, but its log files are not reaching "
        f"bucket {trail.s3_bucket}. Check that the bucket exists, that its policy lets cloudtrail.amazonaws.com "
        "write, and that the trail's KMS key policy lets CloudTrail use it"
    )
    decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.HIGH, reason, SWEEP_RULE, ref)
    deliver(Result(event=event, decision=decision, outcome=Outcome.ALERTED, severity=Severity.HIGH), aws, config, run)


def report_refused(
    aws: Everything,
    config: Config,
    refused: baselines.Refused,
    trail: TrailRef | None,
    *,
    started: datetime,
    run: Invocation,
) -> None:
    """A stored baseline failed verification: write the last verified version back as the newest (the refused one
    stays in the version history, as evidence), and alert CRITICAL, once per refused version."""
    if refused.fallback is not None:
        aws.write_json(refused.key, refused.fallback)
    if refused.fallback is not None and refused.problem == DELETED:
        why = (
            f"{refused.key} was {DELETED}: the guardian never deletes a baseline. The version the sweep's signed "
            "index holds is used, and written back as the newest"
        )
    elif refused.fallback is not None:
        why = (
            f"the newest version of {refused.key} failed verification ({refused.problem}): it was not written by "
            "the guardian, or was changed since. The last verified version is used, and written back as the newest"
        )
    elif is_index_key(refused.key):
        why = (
            f"{refused.key} failed verification ({refused.problem}) and no earlier version verifies: it was not "
            "used; each trail's own baseline is read and verified, and the index is written again"
        )
    else:
        why = (
            f"{refused.key} failed verification ({refused.problem}) and no earlier version verifies: the trail is "
            "held to the floor, and a new baseline is recorded from what is live"
        )
    what = "deleted" if refused.problem == DELETED else "refused"
    found = (refused.key, what, refused.version or "unversioned")
    _report_baseline(aws, config, found, why, trail, started=started, run=run)


def report_below_floor(
    aws: Everything,
    config: Config,
    raised: TrailState,
    problems: tuple[str, ...],
    trail: TrailRef,
    *,
    started: datetime,
    run: Invocation,
) -> None:
    """A verified baseline lies below the floor: record it raised to the floor, and alert CRITICAL once."""
    listed = "; ".join(problems)
    key = baselines.record(
        aws,
        trail.region,
        trail.name,
        raised,
        at=run.clock(),
        by="sweep",
        reason=f"raised to the floor: {listed}",
        sentinel=config.sentinel,
    )
    why = f"its baseline was below the floor ({listed}): the trail is held to the floor, and the baseline raised"
    _report_baseline(aws, config, (key, "raised", listed), why, trail, started=started, run=run)


def _report_baseline(
    aws: Everything,
    config: Config,
    found: tuple[str, str, str],
    why: str,
    trail: TrailRef | None,
    *,
    started: datetime,
    run: Invocation,
) -> None:
    """One CRITICAL alert for a stored baseline unfit to use; ``found`` is (key, "refused", "deleted" or "raised",
    version)."""
    key, what, version = found
    region, account = config.topic_region, config.account_id
    event = baseline_event(
        key, what=what, version=version, account_id=account, region=region, detected_at=started, trail=trail
    )
    decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.CRITICAL, why, SWEEP_RULE, trail)
    deliver(Result(event, decision, Outcome.ALERTED, Severity.CRITICAL), aws, config, run)
    LOG.error("a stored baseline was unfit to use", extra={"baseline": key, "problem": what, "version": version})
