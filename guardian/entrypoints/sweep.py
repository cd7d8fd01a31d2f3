"""Lambda entry point of the scheduled sweep: wiring only. Configuration and clients on first use; the sweep itself
is :func:`guardian.flows.sweep.run_sweep`. Each successful run publishes ``CloudTrailGuardian/SweepSucceeded``."""

from __future__ import annotations

import json
import logging
from typing import Any

from guardian.entrypoints import runtime
from guardian.flows.sweep import run_sweep
from guardian.model.operator_requests import is_operator_request
from guardian.model.sweep_triggers import is_sweep_trigger, not_served_unproven

LOG = logging.getLogger(__name__)
METRIC_NAMESPACE = "CloudTrailGuardian"


class SweepFailed(RuntimeError):
    """Raised after every Region was swept and every alert sent, so the failure shows as a function error."""


class NotASweep(SweepFailed):
    """Raised for an invocation that swept nothing (junk, a malformed or unproven request): a function error, so
    the dead man's switch (invocations less errors) never counts it as a sweep; see
    :mod:`guardian.model.sweep_triggers`."""


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    config = runtime.config()
    own = runtime.full_adapter(config, own=True)  # the guardian's own resources: repaired in observe too
    if is_operator_request(event):  # `guardian approve` or `guardian selftest`: served, not a sweep
        from guardian.flows.operator import serve  # noqa: PLC0415

        answer = serve(event, own, config, runtime.invocation(context))
        if not_served_unproven(answer):  # junk for the dead man's switch: an error, never a success
            raise NotASweep(json.dumps(answer))
        return answer
    if not is_sweep_trigger(event):
        LOG.error("invoked with something that is not a sweep's trigger", extra={"event_type": type(event).__name__})
        raise NotASweep("not the schedule, a deployment or `guardian sweep`: nothing swept")
    runtime.clients().warm(list(config.sweep_regions))  # before the threads: boto3 sessions are not thread-safe
    watching = runtime.observing(config)  # observe: the trails' own checks record their writes
    if watching is not None:
        watching.warm(list(config.sweep_regions))
    aws = runtime.full_adapter(config)
    run = runtime.invocation(context, config)
    redeployed = isinstance(event, dict) and event.get("source") == "aws.cloudformation"
    report = run_sweep(aws, config, run, redeployed=redeployed, own_calls=own)
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
        "left": report.left,  # alerted, left to the event path or deferred: findings, not failures
        "resources": {f"{r.kind}:{r.name}": r.status for r in report.resources},
        "guardian_rules": {f"{r.region}:{r.name}": r.status for r in report.rules},
        "guardian_functions": {f.name: f.status for f in report.functions},
        "guardian_aliases": {a.what: a.status for a in report.aliases},
        "alert_path": {p.what: p.status for p in report.alert_path},
        "region_errors": report.region_errors,
        "check_errors": report.check_errors,
        "evidence_digest": report.digest,
    }
    if report.lake_delivery is not None:  # informational: a failure is mailed MEDIUM (guardian.flows.lake_delivery)
        lake = report.lake_delivery
        summary["security_lake"] = {
            "objects": lake.objects,
            "findings": lake.findings,
            "left_out": lake.left_out,
            "failed": lake.failed,
            "note": lake.note,
        }
    if config.control_tower_detect:  # controlTower auto without managementAccountId: informational
        from guardian.flows.control_tower import detection  # noqa: PLC0415

        summary["control_tower"] = detection(aws, config)
    LOG.info("sweep finished", extra={"sweep": summary})
    if not report.ok:
        raise SweepFailed(f"sweep incomplete: {summary}")
    return summary
