"""The scheduled sweep: the backstop for changes EventBridge never delivered (its CloudTrail delivery is best
effort, and needs a logging trail).

The path an alert takes and the guardian's own rules and functions first; then every protected trail in every
configured Region (Regions in parallel) is compared with its baseline and healed through the same restore engine;
then each bucket and log group they deliver to. Each heal gets evidence and one alert "healed by sweep". A trail
seen for the first time gets a baseline (protected trails always log). Entry point: :mod:`guardian.entrypoints.sweep`.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from guardian.flows import baselines, own_functions, own_rules
from guardian.flows.alert_path import PathCheck, check_alert_path
from guardian.flows.approvals import Verdict, settle_trail
from guardian.flows.deliver import deliver
from guardian.flows.digests import extend_chain
from guardian.flows.key_checks import check_key
from guardian.flows.restore_trail import Restoration, as_result, restore
from guardian.flows.sweep_checks import (
    ResourceCheck,
    check_resource,
    report_below_floor,
    report_delivery_error,
    report_refused,
    sweep_resources,
)
from guardian.model.decide import Decision
from guardian.model.findings import sweep_event
from guardian.model.floor import raise_to_floor
from guardian.model.refs import TrailRef
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity, Subject
from guardian.model.trail import TrailState
from guardian.ports.errors import AWS_ERRORS, describe_error

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from guardian.model.changes import Change
    from guardian.model.config import Config
    from guardian.model.results import Result
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class TrailCheck:
    region: str
    name: str
    status: str  # in_baseline, baseline_recorded, strengthened, healed, heal_failed, not_protected, retired
    changes: tuple[Change, ...] = ()
    protected: TrailState | None = None  # the trail as it must be: its bucket and log group are checked next


@dataclass(frozen=True)
class SweepReport:
    started_at: datetime
    checks: tuple[TrailCheck, ...]
    region_errors: dict[str, str]
    resources: tuple[ResourceCheck, ...] = ()
    rules: tuple[own_rules.RuleCheck, ...] = ()
    functions: tuple[own_functions.FunctionCheck, ...] = ()
    alert_path: tuple[PathCheck, ...] = ()
    check_errors: dict[str, str] = field(default_factory=dict)  # a check of the guardian itself that could not run
    digest: str | None = None  # what extending the evidence digest chain did

    @property
    def statuses(self) -> list[str]:
        own = [r.status for r in self.rules] + [f.status for f in self.functions] + [p.status for p in self.alert_path]
        return [c.status for c in self.checks] + [r.status for r in self.resources] + own

    @property
    def ok(self) -> bool:
        failed = {"heal_failed", "deleted"} & set(self.statuses)
        return not self.region_errors and not self.check_errors and not failed

    def count(self, status: str) -> int:
        return self.statuses.count(status)


def run_sweep(aws: Everything, config: Config, run: Invocation, *, redeployed: bool = False) -> SweepReport:
    started = run.clock()
    # The alert path first (an alert nobody receives is no alert), then the guardian's own rules and functions (a
    # disabled tamper rule means events are being lost right now). A deployment re-records their baselines only
    # if CloudFormation confirms it.
    failures: dict[str, str] = {}
    deployed_at = None
    if redeployed:
        deployed_at = _checked("deployment", failures, lambda: own_functions.confirmed_deployment(aws, config, started))
        if deployed_at is None:
            own_functions.report_unconfirmed_deployment(aws, config, started=started, run=run)
    path = _checked(
        "alert_path",
        failures,
        lambda: check_alert_path(aws, config, started=started, run=run, deployed_at=deployed_at),
    )
    rules = _checked(
        "guardian_rules",
        failures,
        lambda: own_rules.check_own_rules(aws, config, started=started, run=run, deployed_at=deployed_at),
    )
    functions = _checked(
        "guardian_functions",
        failures,
        lambda: own_functions.check_own_functions(aws, config, started=started, run=run, deployed_at=deployed_at),
    )
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
            except AWS_ERRORS as exc:  # one Region's failure must not hide the others
                code, message = describe_error(exc)
                errors[region] = f"{code}: {message}"
                LOG.error("sweep of a Region failed", extra={"region": region, "error_code": code})
    checked = tuple(sorted(checks, key=lambda c: (c.region, c.name)))
    protected = [c.protected for c in checked if c.protected is not None]
    repaired = sweep_resources(aws, config, protected, started=started, run=run)
    digest = _checked("evidence_digest", failures, lambda: extend_chain(aws, run))  # last: today's records included
    return SweepReport(started, checked, errors, repaired, rules or (), functions or (), path or (), failures, digest)


def _checked(what: str, failures: dict[str, str], check: Callable[[], T]) -> T | None:
    """Run one check of the guardian itself; an AWS error is recorded (the run then fails) and the sweep goes on,
    so one denied call never hides the trails."""
    try:
        return check()
    except AWS_ERRORS as exc:
        code, message = describe_error(exc)
        failures[what] = f"{code}: {message}"
        LOG.error("a check of the guardian itself failed", extra={"check": what, "error_code": code})
        return None


def _sweep_region(
    aws: Everything,
    config: Config,
    region: str,
    *,
    started: datetime,
    run: Invocation,
) -> list[TrailCheck]:
    # This account's trails; in organization mode also the management account's (organization) trails.
    accounts = {config.account_id, *config.trail_accounts}
    own = {t["Name"] for t in aws.list_trails(region) if _account(t.get("TrailARN", "")) in accounts}
    names = own | baselines.names_in(aws, region)
    return [check_trail(aws, config, region, name, started=started, run=run) for name in sorted(names)]


def check_trail(
    aws: Everything,
    config: Config,
    region: str,
    name: str,
    *,
    started: datetime,
    run: Invocation,
) -> TrailCheck:
    found = aws.trail_state(region, name)
    baseline = _baseline_for(aws, config, region, name, found, started=started, run=run)
    if isinstance(baseline, TrailCheck):
        return baseline
    if found is None:  # CreateTrail needs the trail's bucket: bring it back first if it is gone too
        bucket = (Subject.BUCKET, baseline.s3_bucket, None)
        if baselines.load_resource(aws, Subject.BUCKET, baseline.s3_bucket, None) is not None:
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
    kept = restoration.kept
    if kept:
        reason = f"strengthening kept: {', '.join(c.field for c in kept)}"
        baselines.record(aws, region, name, restoration.target, at=run.clock(), by="sweep", reason=reason)
        status = status or "strengthened"
    live = restoration.after or found
    if live is not None and live.delivery_error:
        report_delivery_error(aws, config, live, started=started, run=run)
    key_status = check_key(aws, config, restoration.target, started=started, run=run)
    if key_status == "heal_failed" or (key_status == "healed" and status is None):
        status = key_status
    return TrailCheck(region, name, status or "in_baseline", restoration.changes, restoration.target)


def _baseline_for(
    aws: Everything,
    config: Config,
    region: str,
    name: str,
    found: TrailState | None,
    *,
    started: datetime,
    run: Invocation,
) -> TrailState | TrailCheck:
    """The baseline to hold the trail to, or the check's result when there is nothing to hold it to. A stored
    version that fails verification, or lies below the floor, is alerted and mended first."""
    checked = baselines.load_checked(aws, region, name)
    stored = checked.state
    ref = _ref(config, region, name, found)
    if checked.refused is not None:
        report_refused(aws, config, checked.refused, ref, started=started, run=run)
    if checked.below_floor and isinstance(stored, TrailState):
        report_below_floor(aws, config, stored, checked.below_floor, ref, started=started, run=run)
    if checked.pending is not None and not isinstance(stored, baselines.Missing):
        settled = settle_trail(aws, config, checked.pending, stored, ref, started=started, run=run)
        if settled is Verdict.WAITING:  # an exempt change CloudTrail has not confirmed yet: left as it is, for now
            return TrailCheck(region, name, settled.value)
        stored = baselines.load(aws, region, name)
    if isinstance(stored, baselines.Retired):
        if found is None:
            return TrailCheck(region, name, "retired")
        stored = baselines.Missing()  # created again after an approved deletion: a new trail
    if isinstance(stored, TrailState):
        # Judged on the baseline, so removing the protection tag does not unprotect a trail.
        return stored if config.protects(stored.name, stored.tags) else TrailCheck(region, name, "not_protected")
    if found is None:
        return TrailCheck(region, name, "retired")
    if not config.protects(found.name, found.tags):
        return TrailCheck(region, name, "not_protected")
    baseline = raise_to_floor(found)  # a protected trail logs, and records management events
    baselines.record(aws, region, name, baseline, at=run.clock(), by="sweep", reason="first seen by the sweep")
    return baseline if baseline != found else TrailCheck(region, name, "baseline_recorded", protected=baseline)


def _ref(config: Config, region: str, name: str, found: TrailState | None) -> TrailRef:
    arn = found.arn if found else f"arn:aws:cloudtrail:{region}:{config.account_id}:trail/{name}"
    return TrailRef(name=name, region=region, account_id=config.account_id, given=arn, arn=arn)


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


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""
