"""The scheduled sweep: the backstop for changes EventBridge never delivered (its CloudTrail delivery is best
effort, and needs a logging trail).

Entry point ``guardian.sweep.lambda_handler``. Every protected trail in every configured Region (Regions in
parallel) is compared with its baseline and healed through the same restore engine; each heal gets evidence and
one alert "healed by sweep". A trail seen for the first time gets a baseline (protected trails always log). Each
successful run publishes the metric ``CloudTrailGuardian/SweepSucceeded``.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian import baseline_store, keys, own_rules, resources, runtime
from guardian.aws_full import FullAdapter
from guardian.baseline import Change, Effect, TrailState
from guardian.bucket import BucketState
from guardian.config import Config
from guardian.errors import describe_error
from guardian.events import SWEEP_SOURCE, Actor, CloudTrailEvent, TrailRef
from guardian.logs import get_logger
from guardian.policy import SWEEP_RULE, Action, Decision, Outcome, Severity, Subject
from guardian.restore import Restoration, as_result, restore
from guardian.results import Result, Verification, iso
from guardian.workflow import Clock, Invocation, deliver

LOG = get_logger()
METRIC_NAMESPACE = "CloudTrailGuardian"


class SweepFailed(RuntimeError):
    """Raised after every Region was swept and every alert sent, so the failure shows as a function error."""


@dataclass(frozen=True)
class TrailCheck:
    region: str
    name: str
    status: str  # in_baseline, baseline_recorded, strengthened, healed, heal_failed, not_protected, retired
    changes: tuple[Change, ...] = ()
    protected: TrailState | None = None  # the trail as it must be: its bucket and log group are checked next


@dataclass(frozen=True)
class ResourceCheck:
    kind: str  # bucket, log_group
    name: str
    status: str  # in_baseline, baseline_recorded, strengthened, healed, heal_failed, missing, not_readable
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class SweepReport:
    started_at: datetime
    checks: tuple[TrailCheck, ...]
    region_errors: dict[str, str]
    resources: tuple[ResourceCheck, ...] = ()
    rules: tuple[own_rules.RuleCheck, ...] = ()

    @property
    def statuses(self) -> list[str]:
        return [c.status for c in self.checks] + [r.status for r in self.resources] + [r.status for r in self.rules]

    @property
    def ok(self) -> bool:
        return not self.region_errors and not {"heal_failed", "deleted"} & set(self.statuses)

    def count(self, status: str) -> int:
        return self.statuses.count(status)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    config = runtime.config()
    aws = runtime.adapter(config).full()
    runtime.clients().warm(list(config.sweep_regions))  # before the threads: boto3 sessions are not thread-safe
    run = Invocation(
        runtime.now, time.sleep, getattr(context, "function_name", None), getattr(context, "aws_request_id", None)
    )
    redeployed = isinstance(event, dict) and event.get("source") == "aws.cloudformation"
    report = run_sweep(aws, config, run, redeployed=redeployed)
    metrics = {
        "TrailsChecked": float(len(report.checks)),
        "ResourcesChecked": float(len(report.resources)),
        "TrailsHealed": float(report.count("healed")),
        "HealFailures": float(report.count("heal_failed")),
    }
    if report.ok:
        metrics["SweepSucceeded"] = 1.0
    aws.put_metrics(METRIC_NAMESPACE, metrics)
    summary = {
        "ok": report.ok,
        "regions": list(config.sweep_regions),
        "checked": len(report.checks),
        "statuses": {s: sum(c.status == s for c in report.checks) for s in sorted({c.status for c in report.checks})},
        "resources": {f"{r.kind}:{r.name}": r.status for r in report.resources},
        "guardian_rules": {r.name: r.status for r in report.rules},
        "region_errors": report.region_errors,
    }
    LOG.info("sweep finished", extra={"sweep": summary})
    if not report.ok:
        raise SweepFailed(f"sweep incomplete: {summary}")
    return summary


def run_sweep(aws: FullAdapter, config: Config, run: Invocation, *, redeployed: bool = False) -> SweepReport:
    started = run.clock()
    # The guardian's own rules first: a disabled tamper rule means events are being lost right now.
    rules = own_rules.check_own_rules(aws, config, started=started, run=run, redeployed=redeployed)
    checks: list[TrailCheck] = []
    errors: dict[str, str] = {}
    regions = config.sweep_regions
    with ThreadPoolExecutor(max_workers=max(1, min(len(regions), 32))) as pool:  # I/O-bound: a thread per Region
        futures = {
            pool.submit(_sweep_region, aws, config, region, started=started, run=run): region for region in regions
        }
        for future in as_completed(futures):
            region = futures[future]
            try:
                checks += future.result()
            except (ClientError, BotoCoreError) as exc:  # one Region's failure must not hide the others
                code, message = describe_error(exc)
                errors[region] = f"{code}: {message}"
                LOG.error("sweep of a Region failed", extra={"region": region, "error_code": code})
    checked = tuple(sorted(checks, key=lambda c: (c.region, c.name)))
    repaired = sweep_resources(aws, config, checked, started=started, run=run)
    return SweepReport(started, checked, errors, repaired, rules)


def sweep_resources(
    aws: FullAdapter, config: Config, checks: tuple[TrailCheck, ...], *, started: datetime, run: Invocation
) -> tuple[ResourceCheck, ...]:
    """Every bucket and log group a protected trail delivers to, once each (trails often share a bucket)."""
    serving: dict[tuple[Subject, str, str | None], set[str]] = {}
    for check in checks:
        if check.protected is not None:
            for kind, name, region in resources.resources_of(check.protected):
                serving.setdefault((kind, name, region), set()).add(check.protected.arn)

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

    ordered = sorted(serving.items(), key=lambda item: (item[0][0], item[0][1]))
    if not ordered:
        return ()
    with ThreadPoolExecutor(max_workers=min(len(ordered), 32)) as pool:  # I/O-bound, like the Regions
        return tuple(pool.map(lambda item: one(*item), ordered))


def check_resource(
    aws: FullAdapter,
    config: Config,
    resource: tuple[Subject, str, str | None],
    trails: set[str],
    *,
    started: datetime,
    run: Invocation,
) -> ResourceCheck:
    """Hold a trail's bucket or log group (kind, name, Region) to its baseline; record one when first seen."""
    kind, name, region = resource
    guarded = resources.load(aws, kind, name, region)
    if guarded is None:
        state = resources.read(aws, kind, name, region)
        if not state.exists:
            LOG.warning("a protected trail delivers to a missing resource", extra={"resource": name, "kind": kind})
            return ResourceCheck(kind.value, name, "missing")
        resources.record(aws, kind, state, sorted(trails), at=run.clock(), by="sweep", why="first seen by the sweep")
        return ResourceCheck(kind.value, name, "baseline_recorded")
    if not trails <= set(guarded.trails):
        guarded = resources.record(
            aws,
            kind,
            guarded.baseline,
            sorted(trails | set(guarded.trails)),
            at=run.clock(),
            by="sweep",
            why="another protected trail delivers to it",
        )
    fixed = resources.repair(aws, guarded, config, run)
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
            trail=resources.trail_ref(guarded),
        )
        severity = Severity.CRITICAL if fixed.recreated or not fixed.verified else SWEEP_RULE.severity
        reason = f"healed by sweep — {guarded.label} was weakened; the change was not seen as an event"
        decision = Decision(Action.HEAL, Outcome.HEALED, severity, reason, SWEEP_RULE, ref)
        deliver(resources.as_result(fixed, event, decision, severity, run.clock()), aws, config, run)
        status = "healed" if fixed.verified else "heal_failed"
        if not fixed.verified:
            return ResourceCheck(kind.value, name, status, fixed.changes)
    if fixed.target != guarded.baseline:
        kept = ", ".join(c.field for c in fixed.changes if c.effect is Effect.STRENGTHENED)
        resources.record(
            aws, kind, fixed.target, guarded.trails, at=run.clock(), by="sweep", why=f"strengthening kept: {kept}"
        )
        status = status or "strengthened"
    return ResourceCheck(kind.value, name, status or "in_baseline", fixed.changes)


def _sweep_region(
    aws: FullAdapter,
    config: Config,
    region: str,
    *,
    started: datetime,
    run: Invocation,
) -> list[TrailCheck]:
    # This account's trails; in organization mode also the management account's (organization) trails.
    accounts = {config.account_id, *config.trail_accounts}
    own = {t["Name"] for t in aws.list_trails(region) if _account(t.get("TrailARN", "")) in accounts}
    names = own | baseline_store.names_in(aws, region)
    return [check_trail(aws, config, region, name, started=started, run=run) for name in sorted(names)]


def check_trail(
    aws: FullAdapter,
    config: Config,
    region: str,
    name: str,
    *,
    started: datetime,
    run: Invocation,
) -> TrailCheck:
    found = aws.trail_state(region, name)
    baseline = _baseline_for(aws, config, region, name, found, clock=run.clock)
    if isinstance(baseline, TrailCheck):
        return baseline
    if found is None:  # CreateTrail needs the trail's bucket: bring it back first if it is gone too
        bucket = (Subject.BUCKET, baseline.s3_bucket, None)
        if resources.load(aws, Subject.BUCKET, baseline.s3_bucket, None) is not None:
            check_resource(aws, config, bucket, {baseline.arn}, started=started, run=run)
    restoration = restore(aws, baseline, found, config, run)
    status: str | None
    if restoration.needed:
        result = sweep_result(restoration, account_id=config.account_id, detected_at=started, checked_at=run.clock())
        deliver(result, aws, config, run)
        status = "healed" if restoration.verified else "heal_failed"
        LOG.log(
            logging.INFO if restoration.verified else logging.ERROR,
            f"sweep {status}",
            extra={"trail": baseline.arn, "region": region},
        )
        if not restoration.verified:
            return TrailCheck(region, name, status, restoration.changes, restoration.target)
    else:
        status = None
    if restoration.target != baseline:
        kept = ", ".join(c.field for c in restoration.changes if c.effect is Effect.STRENGTHENED)
        baseline_store.record(
            aws, region, name, restoration.target, at=run.clock(), by="sweep", reason=f"strengthening kept: {kept}"
        )
        status = status or "strengthened"
    live = restoration.after or found
    if live is not None and live.delivery_error:
        report_delivery_error(aws, config, live, started=started, run=run)
    key_status = check_key(aws, config, restoration.target, started=started, run=run)
    if key_status == "heal_failed" or (key_status == "healed" and status is None):
        status = key_status
    return TrailCheck(region, name, status or "in_baseline", restoration.changes, restoration.target)


def _baseline_for(
    aws: FullAdapter, config: Config, region: str, name: str, found: TrailState | None, *, clock: Clock
) -> TrailState | TrailCheck:
    """The baseline to hold the trail to, or the check's result when there is nothing to hold it to."""
    stored = baseline_store.load(aws, region, name)
    if isinstance(stored, baseline_store.Retired):
        if found is None:
            return TrailCheck(region, name, "retired")
        stored = baseline_store.Missing()  # created again after an approved deletion: a new trail
    if isinstance(stored, TrailState):
        # Judged on the baseline, so removing the protection tag does not unprotect a trail.
        return stored if config.protects(stored.name, stored.tags) else TrailCheck(region, name, "not_protected")
    if found is None:
        return TrailCheck(region, name, "retired")
    if not config.protects(found.name, found.tags):
        return TrailCheck(region, name, "not_protected")
    baseline = replace(found, logging=True)  # a protected trail logs
    baseline_store.record(aws, region, name, baseline, at=clock(), by="sweep", reason="first seen by the sweep")
    return baseline if not found.logging else TrailCheck(region, name, "baseline_recorded", protected=baseline)


def sweep_result(restoration: Restoration, *, account_id: str, detected_at: datetime, checked_at: datetime) -> Result:
    """The Result of a heal the sweep made: a record of what it found, in place of a CloudTrail event."""
    target = restoration.target
    event, trail = sweep_event(
        target,
        account_id=account_id,
        detected_at=detected_at,
        details={"deleted": restoration.recreated, "changes": [c.to_json() for c in restoration.changes]},
    )
    severity = Severity.CRITICAL if restoration.recreated or not restoration.verified else SWEEP_RULE.severity
    reason = (
        "healed by sweep — the change was not seen as an event; the trail was deleted and is recreated from "
        "its baseline"
        if restoration.recreated
        else "healed by sweep — the change was not seen as an event"
    )
    decision = Decision(Action.HEAL, Outcome.HEALED, severity, reason, SWEEP_RULE, trail)
    return as_result(restoration, event, decision, severity=severity, checked_at=checked_at)


def sweep_event(
    subject: TrailState | resources.State,
    *,
    account_id: str,
    detected_at: datetime,
    details: dict[str, Any],
    trail: TrailRef | None = None,
    what: str = "",
    event_id: str | None = None,
) -> tuple[CloudTrailEvent, TrailRef]:
    """A record of what the sweep found, standing in for the CloudTrail event that never came.

    ``subject`` is the trail, or its bucket or log group; ``what`` tells apart two findings on one trail in one
    sweep (its settings and its key), so each gets its own evidence record and alert."""
    if isinstance(subject, TrailState):
        region, name, arn = subject.home_region, subject.name, subject.arn
        ref = TrailRef(name=name, region=region, account_id=account_id, given=arn, arn=arn)
        kind = "trail"
    else:
        region, name = subject.region, subject.name
        kind = "bucket" if isinstance(subject, BucketState) else "log-group"
        ref = trail or TrailRef(name=name, region=region, account_id=account_id, given=name, arn=None)
        arn = ref.arn or name
    suffix = f"-{what}" if what else ""
    event = found_event(
        event_id or f"sweep-{detected_at:%Y%m%dT%H%M%SZ}-{region}-{kind}-{name.strip('/').replace('/', '_')}{suffix}",
        account_id=account_id,
        region=region,
        detected_at=detected_at,
        trail=ref,
        raw={"trail": arn, **details},
    )
    return event, ref


def report_delivery_error(
    aws: FullAdapter, config: Config, trail: TrailState, *, started: datetime, run: Invocation
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


def rule_event(name: str, *, account_id: str, region: str, detected_at: datetime) -> CloudTrailEvent:
    """A record of what the sweep found on one of the guardian's own rules."""
    event_id = f"sweep-{detected_at:%Y%m%dT%H%M%SZ}-{region}-guardian-rule-{name}"
    return found_event(
        event_id, account_id=account_id, region=region, detected_at=detected_at, raw={"guardian_rule": name}
    )


def found_event(
    event_id: str,
    *,
    account_id: str,
    region: str,
    detected_at: datetime,
    raw: dict[str, Any],
    trail: TrailRef | None = None,
) -> CloudTrailEvent:
    """What the sweep found, shaped as the event that never came: the alert and the evidence take it as one."""
    return CloudTrailEvent(
        event_id=event_id,
        event_id_derived=True,
        detail_type=None,
        event_name="DriftDetected",
        event_source=SWEEP_SOURCE,
        event_type="GuardianSweep",
        event_time=detected_at,
        event_time_raw=iso(detected_at),
        aws_region=region,
        account_id=account_id,
        source_ip=None,
        user_agent=None,
        error_code=None,
        error_message=None,
        actor=Actor(),
        request_parameters=None,
        trail=trail,
        problems=(),
        raw={"source": SWEEP_SOURCE, "detected_at": iso(detected_at), **raw},
    )


def check_key(
    aws: FullAdapter,
    config: Config,
    trail: TrailState,
    *,
    started: datetime,
    run: Invocation,
) -> str | None:
    """The trail's key must be enabled: repair it if not (a lost DisableKey or ScheduleKeyDeletion event)."""
    key = keys.key_of(trail, config.account_id)
    if key is None or aws.key_state(key) == "Enabled":
        return None
    state, actions, after, checks = keys.repair_key(aws, key, config, run)
    healed = after == "Enabled" and all(a.succeeded for a in actions)
    change = Change("kms_key_state", "Enabled", state, Effect.WEAKENED)
    event, ref = sweep_event(
        trail,
        account_id=config.account_id,
        detected_at=started,
        details={"key": key.key_id, "changes": [change.to_json()]},
        what="key",
    )
    reason = f"healed by sweep — key {key.key_id} of the trail was {state}; the change was not seen as an event"
    decision = Decision(Action.HEAL, Outcome.HEALED, Severity.CRITICAL, reason, SWEEP_RULE, ref)
    result = Result(
        event=event,
        decision=decision,
        outcome=Outcome.HEALED if healed else Outcome.HEAL_FAILED,
        severity=Severity.CRITICAL,
        actions=tuple(actions),
        verification=Verification(is_logging=None, checks=checks, checked_at=run.clock()),
        changes=(change,),
        diagnosis=None if healed else f"key {key.key_id} is {after} after the restore",
    )
    deliver(result, aws, config, run)
    return "healed" if healed else "heal_failed"


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""
