"""The sweep function's runs, from AWS's own metrics of its function, which nobody in the account can publish
(PutMetricData refuses an ``AWS/`` namespace), as the sweep-silent alarm reads them (infra/alarms.py). Not the
guardian's own ``CloudTrailGuardian`` SweepSucceeded metric: anyone allowed cloudwatch:PutMetricData can publish points
there (threat row put-metric-data). Read by the report's coverage and by ``guardian status``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

METRIC_NAMESPACE = "AWS/Lambda"
MAX_POINTS = 1440  # GetMetricStatistics returns at most this many points a call


def sweep_runs(
    cloudwatch: Any, function: str, since: datetime, until: datetime, period: int
) -> list[tuple[datetime, float]]:
    """The sweep function's runs that ended without an error, per period: Invocations less Errors (``AWS/Lambda``,
    dimension FunctionName). A junk invocation ends as an error, so it adds nothing (infra/alarms.py)."""
    totals: dict[str, dict[datetime, float]] = {"Invocations": {}, "Errors": {}}
    step = timedelta(seconds=period * MAX_POINTS)
    for name, found in totals.items():
        moment = since
        while moment < until:
            upto = min(moment + step, until)
            for p in cloudwatch.get_metric_statistics(
                Namespace=METRIC_NAMESPACE,
                MetricName=name,
                Dimensions=[{"Name": "FunctionName", "Value": function}],
                StartTime=moment,
                EndTime=upto,
                Period=period,
                Statistics=["Sum"],
            )["Datapoints"]:
                at = utc(p["Timestamp"])
                found[at] = found.get(at, 0.0) + float(p.get("Sum", 0))
            moment = upto
    errors = totals["Errors"]
    return sorted((at, max(count - errors.get(at, 0.0), 0.0)) for at, count in totals["Invocations"].items())


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
