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

from guardian import baseline_store, runtime
from guardian.aws import AwsAdapter
from guardian.baseline import Change, Effect
from guardian.config import Config
from guardian.errors import describe_error
from guardian.events import SWEEP_SOURCE, Actor, CloudTrailEvent, TrailRef
from guardian.logs import get_logger
from guardian.policy import SWEEP_RULE, Action, Decision, Outcome, Severity
from guardian.restore import Clock, Restoration, Sleep, as_result, restore
from guardian.results import Result, iso
from guardian.workflow import deliver

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


@dataclass(frozen=True)
class SweepReport:
    started_at: datetime
    checks: tuple[TrailCheck, ...]
    region_errors: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.region_errors and all(c.status != "heal_failed" for c in self.checks)

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    config = runtime.config()
    aws = runtime.adapter(config)
    runtime.clients().warm(list(config.sweep_regions))  # before the threads: boto3 sessions are not thread-safe
    report = run_sweep(
        aws,
        config,
        clock=runtime.now,
        sleep=time.sleep,
        function_name=getattr(context, "function_name", None),
        request_id=getattr(context, "aws_request_id", None),
    )
    metrics = {
        "TrailsChecked": float(len(report.checks)),
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
        "statuses": {s: report.count(s) for s in sorted({c.status for c in report.checks})},
        "region_errors": report.region_errors,
    }
    LOG.info("sweep finished", extra={"sweep": summary})
    if not report.ok:
        raise SweepFailed(f"sweep incomplete: {summary}")
    return summary


def run_sweep(
    aws: AwsAdapter,
    config: Config,
    *,
    clock: Clock,
    sleep: Sleep,
    function_name: str | None = None,
    request_id: str | None = None,
) -> SweepReport:
    started = clock()
    checks: list[TrailCheck] = []
    errors: dict[str, str] = {}
    regions = config.sweep_regions
    with ThreadPoolExecutor(max_workers=max(1, min(len(regions), 32))) as pool:  # I/O-bound: a thread per Region
        futures = {
            pool.submit(
                _sweep_region,
                aws,
                config,
                region,
                started=started,
                clock=clock,
                sleep=sleep,
                function_name=function_name,
                request_id=request_id,
            ): region
            for region in regions
        }
        for future in as_completed(futures):
            region = futures[future]
            try:
                checks += future.result()
            except (ClientError, BotoCoreError) as exc:  # one Region's failure must not hide the others
                code, message = describe_error(exc)
                errors[region] = f"{code}: {message}"
                LOG.error("sweep of a Region failed", extra={"region": region, "error_code": code})
    return SweepReport(started, tuple(sorted(checks, key=lambda c: (c.region, c.name))), errors)


def _sweep_region(
    aws: AwsAdapter,
    config: Config,
    region: str,
    *,
    started: datetime,
    clock: Clock,
    sleep: Sleep,
    function_name: str | None,
    request_id: str | None,
) -> list[TrailCheck]:
    own = {t["Name"] for t in aws.list_trails(region) if _account(t.get("TrailARN", "")) == config.account_id}
    names = own | baseline_store.names_in(aws, region)
    return [
        check_trail(
            aws,
            config,
            region,
            name,
            started=started,
            clock=clock,
            sleep=sleep,
            function_name=function_name,
            request_id=request_id,
        )
        for name in sorted(names)
    ]


def check_trail(
    aws: AwsAdapter,
    config: Config,
    region: str,
    name: str,
    *,
    started: datetime,
    clock: Clock,
    sleep: Sleep,
    function_name: str | None = None,
    request_id: str | None = None,
) -> TrailCheck:
    found = aws.trail_state(region, name)
    stored = baseline_store.load(aws, region, name)
    if isinstance(stored, baseline_store.Retired):
        if found is None:
            return TrailCheck(region, name, "retired")
        stored = baseline_store.Missing()  # created again after an approved deletion: a new trail
    if isinstance(stored, baseline_store.Missing):
        if found is None:
            return TrailCheck(region, name, "retired")
        if not config.protects(found.name, found.tags):
            return TrailCheck(region, name, "not_protected")
        baseline = replace(found, logging=True)  # a protected trail logs
        baseline_store.record(aws, region, name, baseline, at=clock(), by="sweep", reason="first seen by the sweep")
        if found.logging:
            return TrailCheck(region, name, "baseline_recorded")
    else:
        baseline = stored
        # Judged on the baseline, so removing the protection tag does not unprotect a trail.
        if not config.protects(baseline.name, baseline.tags):
            return TrailCheck(region, name, "not_protected")
    restoration = restore(
        aws,
        baseline,
        found,
        attempts=config.verify_attempts,
        delay=config.verify_delay_seconds,
        clock=clock,
        sleep=sleep,
    )
    if not restoration.needed:
        if restoration.target != baseline:
            kept = ", ".join(c.field for c in restoration.changes if c.effect is Effect.STRENGTHENED)
            baseline_store.record(
                aws, region, name, restoration.target, at=clock(), by="sweep", reason=f"strengthening kept: {kept}"
            )
            return TrailCheck(region, name, "strengthened", restoration.changes)
        return TrailCheck(region, name, "in_baseline")
    result = sweep_result(restoration, account_id=config.account_id, detected_at=started, checked_at=clock())
    deliver(
        result,
        aws,
        topic_arn=config.topic_arn,
        evidence_bucket=config.evidence_bucket,
        clock=clock,
        function_name=function_name,
        request_id=request_id,
    )
    if restoration.verified and restoration.target != baseline:
        baseline_store.record(
            aws, region, name, restoration.target, at=clock(), by="sweep", reason="restored; strengthening kept"
        )
    status = "healed" if restoration.verified else "heal_failed"
    LOG.log(
        logging.INFO if restoration.verified else logging.ERROR,
        f"sweep {status}",
        extra={"trail": baseline.arn, "region": region},
    )
    return TrailCheck(region, name, status, restoration.changes)


def sweep_result(restoration: Restoration, *, account_id: str, detected_at: datetime, checked_at: datetime) -> Result:
    """The Result of a heal the sweep made: a record of what it found, in place of a CloudTrail event."""
    target = restoration.target
    trail = TrailRef(
        name=target.name, region=target.home_region, account_id=account_id, given=target.arn, arn=target.arn
    )
    event = CloudTrailEvent(
        event_id=f"sweep-{detected_at:%Y%m%dT%H%M%SZ}-{target.home_region}-{target.name}",
        event_id_derived=True,
        detail_type=None,
        event_name="DriftDetected",
        event_source=SWEEP_SOURCE,
        event_type="GuardianSweep",
        event_time=detected_at,
        event_time_raw=iso(detected_at),
        aws_region=target.home_region,
        account_id=account_id,
        source_ip=None,
        user_agent=None,
        error_code=None,
        error_message=None,
        actor=Actor(),
        request_parameters=None,
        trail=trail,
        problems=(),
        raw={
            "source": SWEEP_SOURCE,
            "detected_at": iso(detected_at),
            "trail": target.arn,
            "deleted": restoration.recreated,
            "changes": [c.to_json() for c in restoration.changes],
        },
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
