"""``make cost``: the monthly cost of a deployment, from its synthesized templates and a stated call volume.

Everything counted comes from the templates of every stack the app makes (home and forwarders): keys, alarms and
their metrics, trails and what they record, functions with their memory and architecture, buckets, tables, topics
and subscriptions, queues, secrets, the sweep's schedule. Nothing is a hand-kept number. What cannot be read from a
template is a stated volume (``--help``): events handled, management calls made, evidence kept; each printed with
the table. Prices are list prices in one file, :file:`scripts/prices.json`, dated, each marked where it was read.

Fixed: what a deployment costs whatever happens in the account (keys, alarm metrics, secrets, the sweep every
``sweepMinutes``: its function, its reads of S3 and the forwarders' queues, its logs, its signature). Per volume:
what grows with the account's activity (events handled, alerts mailed, the sentinel's copy of management events).
The sentinel is its own line: it is the one cost that grows with everything the account does.

    make cost                                   # cdk.json's settings, 1 Region
    make cost COST_ARGS='--regions 17'          # the same, in 17 Regions (a forwarder in 16)
    make cost COST_ARGS='--context cisAlarms=true --management-reads 20000000'
    make cost COST_ARGS='--cdk-out cdk.out'     # the templates of a synth already made
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRICES = ROOT / "scripts" / "prices.json"
CDK_JSON = ROOT / "cdk.json"
# The commercial Regions the 17-Region tests use (tests/infra/test_aws_limits.py), the home Region first.
REGIONS = (
    *("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3"),
    *("eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3"),
    *("ap-southeast-1", "ap-southeast-2", "sa-east-1"),
)
HOURS_A_MONTH = 730  # AWS's own monthly figure
GB = 1024**3


@dataclass(frozen=True)
class Function:
    name: str
    memory_mb: int
    arch: str  # "arm64" or "x86_64"


@dataclass(frozen=True)
class Counts:
    """What the templates create, counted."""

    stacks: int = 0
    regions: int = 1  # the home Region and one per forwarder
    keys: int = 0
    alarms: int = 0
    alarm_metrics: int = 0
    trails: tuple[tuple[str, bool, bool], ...] = ()  # (name, records reads, delivers to CloudWatch Logs)
    functions: tuple[Function, ...] = ()
    buckets: int = 0
    tables: int = 0
    topics: int = 0
    email_subscriptions: int = 0
    queues: int = 0
    secrets: int = 0
    rules: int = 0
    sweep_minutes: int | None = None


@dataclass(frozen=True)
class Volume:
    """The stated monthly volume (what no template says)."""

    events: int = 1_000  # events the remediation function handles (tamper, guard-denied, watch rules)
    heals: int = 10  # of which healed (evidence, verification, a baseline recorded)
    forwarded: int = 10_000  # events forwarders send home, per forwarder Region
    management_writes: int = 1_000_000  # the account's write management events (the sentinel's default copy)
    management_reads: int = 9_000_000  # its read management events (recorded with sentinelReadEvents)
    sentinel_first_copy: bool = False  # no other trail records management events in the account: the copy is free
    evidence_gb: float = 1.0  # evidence and baselines kept in the evidence bucket
    event_seconds: float = 0.3  # the remediation function's billed duration for one event
    sweep_seconds: float | None = None  # one sweep's billed duration; None: from the bench's measurements
    sweep_requests_per_region: int = 40  # AWS requests of a clean sweep per Region (README: 1.7 a trail, 20 trails)
    event_log_kb: float = 2.0  # CloudWatch Logs written per event handled
    sweep_log_kb: float = 10.0  # and per sweep
    trail_event_kb: float = 0.25  # one management event in a gzipped CloudTrail log file
    trail_event_json_kb: float = 1.5  # and as CloudWatch Logs ingests it (CIS alarms)


@dataclass(frozen=True)
class Line:
    kind: str
    what: str
    fixed: float = 0.0
    volume: float = 0.0


@dataclass(frozen=True)
class Estimate:
    counts: Counts
    volume: Volume
    lines: tuple[Line, ...]
    sentinel: Line | None
    prices_note: str
    assumptions: tuple[str, ...] = field(default=())

    @property
    def fixed(self) -> float:
        return sum(line.fixed for line in self.lines)

    @property
    def per_volume(self) -> float:
        return sum(line.volume for line in self.lines)

    @property
    def total(self) -> float:
        return self.fixed + self.per_volume + (self.sentinel.volume if self.sentinel else 0.0)


def load_prices(path: Path = PRICES) -> tuple[dict[str, float], str]:
    document = json.loads(path.read_text())
    return {k: float(v["usd"]) for k, v in document["prices"].items()}, str(document["statement"])


# -- counting ---------------------------------------------------------------------------------------------------


def _resources(templates: Iterable[Mapping[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r.get("Properties", {}) for t in templates for r in t.get("Resources", {}).values() if r["Type"] == kind]


def _name(value: Any) -> str:
    """A name as the template writes it: a string, or the literal parts of a Fn::Join."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(p for p in value["Fn::Join"][1] if isinstance(p, str))
    return ""


def _alarm_metrics(alarm: Mapping[str, Any]) -> int:
    """CloudWatch bills an alarm per metric it reads: a metric-math alarm, each of its metrics."""
    metrics = alarm.get("Metrics")
    return sum(1 for m in metrics if "MetricStat" in m) if metrics else 1


def _records_reads(trail: Mapping[str, Any]) -> bool:
    selectors = trail.get("EventSelectors")
    if selectors is None and trail.get("AdvancedEventSelectors") is None:
        return True  # CloudTrail's default: all management events
    return any(s.get("ReadWriteType", "All") in ("All", "ReadOnly") for s in selectors or ())


def count(templates: Sequence[Mapping[str, Any]]) -> Counts:
    """Count what the templates (every stack of the deployment) create."""
    alarms = _resources(templates, "AWS::CloudWatch::Alarm")
    rules = _resources(templates, "AWS::Events::Rule")
    minutes = None
    for rule in rules:
        found = re.fullmatch(r"rate\((\d+) minutes?\)", str(rule.get("ScheduleExpression", "")))
        if found and _name(rule.get("Name")).endswith("-sweep-schedule"):
            minutes = int(found[1])
    forwarders = sum(1 for r in rules if _name(r.get("Name")).endswith("-forward"))
    functions = tuple(
        Function(
            _name(f.get("FunctionName")) or "(deployment helper)",
            int(f.get("MemorySize", 128)),
            (f.get("Architectures") or ["x86_64"])[0],
        )
        for f in _resources(templates, "AWS::Lambda::Function")
    )
    trails = tuple(
        (_name(t.get("TrailName")), _records_reads(t), "CloudWatchLogsLogGroupArn" in t)
        for t in _resources(templates, "AWS::CloudTrail::Trail")
    )
    subscriptions = _resources(templates, "AWS::SNS::Subscription")
    return Counts(
        stacks=len(templates),
        regions=1 + forwarders,
        keys=len(_resources(templates, "AWS::KMS::Key")),
        alarms=len(alarms),
        alarm_metrics=sum(_alarm_metrics(a) for a in alarms),
        trails=trails,
        functions=functions,
        buckets=len(_resources(templates, "AWS::S3::Bucket")),
        tables=len(_resources(templates, "AWS::DynamoDB::Table")),
        topics=len(_resources(templates, "AWS::SNS::Topic")),
        email_subscriptions=sum(1 for s in subscriptions if str(s.get("Protocol", "")).startswith("email")),
        queues=len(_resources(templates, "AWS::SQS::Queue")),
        secrets=len(_resources(templates, "AWS::SecretsManager::Secret")),
        rules=len(rules),
        sweep_minutes=minutes,
    )


# -- pricing ----------------------------------------------------------------------------------------------------


def sweep_seconds(regions: int) -> float:
    """One clean sweep's duration: the medians of ``make bench`` section 5 (20 trails a Region, 25 ms a request),
    0.55 s for 1 Region and 4.0 s for 17, in between by the line through them."""
    return 0.55 + (regions - 1) * (4.0 - 0.55) / 16


def _gb_seconds_price(function: Function, prices: Mapping[str, float]) -> float:
    return prices["lambda_gb_second_arm64" if function.arch == "arm64" else "lambda_gb_second_x86_64"]


def estimate(counts: Counts, volume: Volume, prices: Mapping[str, float], note: str = "") -> Estimate:
    """The monthly cost, line by line: fixed, and per volume."""
    p = prices
    sweeps = HOURS_A_MONTH * 60 / counts.sweep_minutes if counts.sweep_minutes else 0.0
    seconds = volume.sweep_seconds if volume.sweep_seconds is not None else sweep_seconds(counts.regions)
    sweep_fn = next((f for f in counts.functions if f.name.endswith("-sweep")), None)
    event_fn = next((f for f in counts.functions if f.name.endswith("-remediation")), None)
    notifiers = [f for f in counts.functions if "-webhook-" in f.name or f.name.endswith("-notifier")]
    lines: list[Line] = []
    lines.append(Line("KMS keys", f"{counts.keys} keys", fixed=counts.keys * p["kms_key_month"]))
    # KMS requests: a Sign per sweep (its heartbeat record), per event three (evidence, record, baseline), and a
    # data key per publish to the encrypted topic.
    sweep_kms = sweeps * p["kms_sign_request"]
    event_kms = volume.events * (3 * p["kms_sign_request"] + p["kms_request"])
    lines.append(Line("KMS requests", f"{sweeps:,.0f} + {volume.events * 4:,} requests", sweep_kms, event_kms))
    lines.append(
        Line(
            "CloudWatch alarms",
            f"{counts.alarms} alarms, {counts.alarm_metrics} metrics",
            fixed=counts.alarm_metrics * p["alarm_metric_month"],
        )
    )
    sweep_lambda = 0.0
    if sweep_fn is not None:
        gb_s = sweeps * seconds * sweep_fn.memory_mb / 1024
        sweep_lambda = gb_s * _gb_seconds_price(sweep_fn, p) + sweeps * p["lambda_request"]
    event_lambda = 0.0
    if event_fn is not None:
        gb_s = volume.events * volume.event_seconds * event_fn.memory_mb / 1024
        event_lambda = gb_s * _gb_seconds_price(event_fn, p) + volume.events * p["lambda_request"]
    for notifier in notifiers:  # one invocation per alert, about as long as an event's
        gb_s = volume.events * volume.event_seconds * notifier.memory_mb / 1024
        event_lambda += gb_s * _gb_seconds_price(notifier, p) + volume.events * p["lambda_request"]
    mb = [f"{f.memory_mb} MB {f.arch}" if f else "none" for f in (sweep_fn, event_fn)]
    what = f"{sweeps:,.0f} sweeps x {seconds:.2f} s ({mb[0]}), {volume.events:,} x {volume.event_seconds:g} s ({mb[1]})"
    lines.append(Line("Lambda", what, sweep_lambda, event_lambda))
    logs_fixed = sweeps * volume.sweep_log_kb * 1024 / GB * p["logs_ingest_gb"]
    logs_volume = volume.events * volume.event_log_kb * (1 + len(notifiers)) * 1024 / GB * p["logs_ingest_gb"]
    lines.append(Line("CloudWatch Logs (functions)", "ingested", logs_fixed, logs_volume))
    # S3: each sweep lists the baselines and reads the index in every Region, and writes its heartbeat; each
    # event writes evidence (three objects) and reads its baseline.
    s3_fixed = sweeps * (counts.regions * (p["s3_put_request"] + p["s3_get_request"]) + p["s3_put_request"])
    s3_volume = volume.evidence_gb * p["s3_gb_month"] + volume.events * (3 * p["s3_put_request"] + p["s3_get_request"])
    lines.append(Line("S3", f"{counts.buckets} buckets, {volume.evidence_gb:g} GB of evidence", s3_fixed, s3_volume))
    if counts.tables:
        dynamo = volume.events * (p["dynamodb_write_unit"] + p["dynamodb_read_unit"])
        lines.append(
            Line("DynamoDB (on-demand)", f"{counts.tables} tables, {volume.events:,} counted changes", 0, dynamo)
        )
    sns = volume.events * (p["sns_publish"] + counts.email_subscriptions * p["sns_email"])
    what = f"{counts.topics} topics, {counts.email_subscriptions} email subscriptions, {volume.events:,} alerts"
    lines.append(Line("SNS", what, 0.0, sns))
    # SQS: the sweep reads each forwarder's dead-letter queue once a sweep.
    sqs = sweeps * (counts.regions - 1) * p["sqs_request"]
    lines.append(Line("SQS", f"{counts.queues} queues", fixed=sqs))
    if counts.secrets:
        secrets = counts.secrets * p["secret_month"]
        lines.append(Line("Secrets Manager", f"{counts.secrets} secrets", secrets, volume.events * p["secret_request"]))
    forwarded = volume.forwarded * (counts.regions - 1)
    what = f"{counts.rules} rules (free), {forwarded:,} events sent home"
    lines.append(Line("EventBridge", what, 0.0, forwarded * p["eventbridge_custom_event"]))
    return Estimate(counts, volume, tuple(lines), _sentinel(counts, volume, p, sweeps), note)


def _sentinel(counts: Counts, volume: Volume, p: Mapping[str, float], sweeps: float) -> Line | None:
    """The sentinel's copy of management events: writes, and reads when it records them (the sweep's own reads
    among them), free only when it is the account's first copy; its log files in S3 while kept; and, with the CIS
    alarms on its log group, CloudWatch Logs' ingestion of every event."""
    sentinel = next((t for t in counts.trails if t[0].endswith("-sentinel")), None)
    if sentinel is None:
        return None
    _, reads, to_logs = sentinel
    sweep_reads = sweeps * counts.regions * volume.sweep_requests_per_region
    events = volume.management_writes + ((volume.management_reads + sweep_reads) if reads else 0)
    copy = 0.0 if volume.sentinel_first_copy else events * p["trail_management_event"]
    stored = events * 3 * volume.trail_event_kb * 1024 / GB * p["s3_gb_month"]  # 90 days kept by default
    logs = events * volume.trail_event_json_kb * 1024 / GB * p["logs_ingest_gb"] if to_logs else 0.0
    kinds = "read and write" if reads else "write"
    what = f"{kinds}: {events:,.0f} events ({'first copy, free' if volume.sentinel_first_copy else 'a paid copy'})"
    if to_logs:
        what += ", to CloudWatch Logs"
    return Line("CloudTrail sentinel", what, 0.0, copy + stored + logs)


# -- synthesizing -----------------------------------------------------------------------------------------------


def demo_context(regions: int, extra: Mapping[str, Any]) -> dict[str, Any]:
    """cdk.json's settings (what ``make deploy`` uses), in ``regions`` Regions homed in us-east-1."""
    context = dict(json.loads(CDK_JSON.read_text()).get("context", {}))
    if not 1 <= regions <= len(REGIONS):
        raise SystemExit(f"cost: --regions must be 1 to {len(REGIONS)}")
    context.update(regions=",".join(REGIONS[:regions]), homeRegion=REGIONS[0])
    context.update(extra)
    return context


def synthesized(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The template of every stack the app makes (cdk-nag runs, as on every synth)."""
    from app import build_app  # noqa: PLC0415 - the CDK only when synthesizing

    assembly = build_app(dict(context)).synth(force=True)
    return [dict(stack.template) for stack in assembly.stacks]


def from_cdk_out(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.template.json"))]


# -- printing ---------------------------------------------------------------------------------------------------


def render(found: Estimate, *, accounts: int = 100) -> str:
    c, v = found.counts, found.volume
    out = [
        f"CloudTrail Guardian, monthly cost: {c.regions} Region(s) ({c.regions - 1} forwarders), {c.stacks} stacks, "
        f"sweep every {c.sweep_minutes} min",
        f"Prices: {found.prices_note}",
        "",
        f"{'resource kind':<28} {'counted / stated':<72} {'fixed':>9} {'volume':>9}",
    ]
    out += [f"{line.kind:<28} {line.what[:72]:<72} {line.fixed:>9.2f} {line.volume:>9.2f}" for line in found.lines]
    out.append(f"{'total, sentinel excluded':<101} {found.fixed:>9.2f} {found.per_volume:>9.2f}")
    if found.sentinel is not None:
        s = found.sentinel
        out.append(f"{s.kind:<28} {s.what[:72]:<72} {'':>9} {s.volume:>9.2f}")
    out += [
        "",
        f"per account: ${found.fixed:,.2f} fixed + ${found.per_volume:,.2f} per volume"
        + (f" + ${found.sentinel.volume:,.2f} sentinel" if found.sentinel else "")
        + f" = ${found.total:,.2f} a month",
        f"{accounts} accounts: ${found.fixed * accounts:,.2f} fixed, ${found.total * accounts:,.2f} in all a month",
        "",
        f"Stated volume a month: {v.events:,} events handled ({v.heals:,} healed), {v.forwarded:,} events forwarded "
        f"per forwarder Region, {v.management_writes:,} write and {v.management_reads:,} read management events, "
        f"{v.evidence_gb:g} GB of evidence; sentinel {'first' if v.sentinel_first_copy else 'second (paid)'} copy.",
        "Assumed: an event's function run "
        f"{v.event_seconds:g} s, a sweep {v.sweep_seconds or sweep_seconds(c.regions):.2f} s (bench medians), "
        f"{v.sweep_requests_per_region} requests a Region a sweep, {v.trail_event_kb:g} KB a logged event; "
        "free tiers not counted.",
    ]
    return "\n".join(out)


def _pairs(values: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for value in values:
        if value.endswith(".json") and "=" not in value:
            found.update(json.loads(Path(value).read_text()))
            continue
        key, sep, text = value.partition("=")
        if not sep:
            raise SystemExit(f"cost: --context takes key=value or a JSON file, got {value!r}")
        found[key] = text
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--regions", type=int, default=1, help="Regions covered, homed in us-east-1 (1-17)")
    parser.add_argument("--context", action="append", default=[], help="key=value, or a JSON file of context")
    parser.add_argument("--cdk-out", type=Path, help="read the templates of this cloud assembly instead")
    parser.add_argument("--accounts", type=int, default=100)
    defaults = Volume()
    parser.add_argument("--events", type=int, default=defaults.events, help="events handled a month")
    parser.add_argument("--heals", type=int, default=defaults.heals, help="of which healed")
    parser.add_argument("--forwarded", type=int, default=defaults.forwarded, help="events forwarded, per Region")
    parser.add_argument("--management-writes", type=int, default=defaults.management_writes)
    parser.add_argument("--management-reads", type=int, default=defaults.management_reads)
    parser.add_argument("--sentinel-first-copy", action="store_true", help="no other trail: the copy is free")
    parser.add_argument("--evidence-gb", type=float, default=defaults.evidence_gb)
    parser.add_argument("--sweep-seconds", type=float, help="one sweep's duration (default: the bench's medians)")
    args = parser.parse_args(argv)
    templates = (
        from_cdk_out(args.cdk_out) if args.cdk_out else synthesized(demo_context(args.regions, _pairs(args.context)))
    )
    volume = Volume(
        events=args.events,
        heals=args.heals,
        forwarded=args.forwarded,
        management_writes=args.management_writes,
        management_reads=args.management_reads,
        sentinel_first_copy=args.sentinel_first_copy,
        evidence_gb=args.evidence_gb,
        sweep_seconds=args.sweep_seconds,
    )
    prices, note = load_prices()
    print(render(estimate(count(templates), volume, prices, note), accounts=args.accounts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
