"""The figures of one burst (:class:`simulation.burst.Burst`): heals, blind windows, write rate, alerts and emails
per subscription, evidence, invocations and what the burst costs. Computed only: ``scripts/bench_burst.py`` prints
them beside the targets, and asserts nothing."""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from simulation.burst import Burst

# List prices, us-east-1, USD, as published on the AWS pricing pages in 2025 (Lambda: arm64, the guardian's
# architecture; DynamoDB: on-demand after the November 2024 reduction; KMS: the asymmetric rate, an upper bound for
# the RSA 2048 signing key's requests). Written down 2026-12-06; check them before quoting a bill.
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000
SNS_PUBLISH = 0.50 / 1_000_000  # per request of up to 64 KB
SNS_EMAIL = 2.00 / 100_000  # per email / email-json delivery
S3_PUT = 0.005 / 1_000  # PUT, COPY, POST, LIST
S3_GET = 0.0004 / 1_000  # GET, HEAD and the rest
DYNAMODB_WRITE = 0.625 / 1_000_000  # per write request unit (an item up to 1 KB)
DYNAMODB_READ = 0.125 / 1_000_000  # per read request unit (4 KB strongly consistent, 8 KB eventually)
KMS_REQUEST = 0.15 / 10_000
PRICES_AS_OF = "2025 list prices, us-east-1"

S3_PUT_CLASS = ("PutObject", "CopyObject", "PostObject", "PutObjectTagging", "PutObjectRetention", "PutObjectLegalHold")
DYNAMODB_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
DYNAMODB_READS = ("GetItem", "BatchGetItem", "TransactGetItems", "Scan")


@dataclass(frozen=True)
class Spread:
    p50: float
    p99: float
    max: float
    count: int


@dataclass(frozen=True)
class Mail:
    total: int
    max_per_second: int
    average_per_second: float  # from the burst's start to the last email (or over the burst, if that is longer)
    span: float  # the seconds that average is over


@dataclass(frozen=True)
class Figures:
    stops: int
    stops_healed: int
    not_logging: tuple[str, ...]
    blind_window: Spread | None
    start_logging_accepted: int
    start_logging_throttled: int
    start_logging_max_per_second: int  # accepted, per account and Region, in any one second
    start_logging_attempts_max_per_second: int  # attempts, throttled ones too
    writes_throttled: int
    publishes: int
    publishes_max_per_second: int
    mail: dict[str, Mail]
    evidence_objects: int
    invocations: int
    retries: int
    failed_invocations: int
    failed_for_good: int  # events whose last attempt failed too (Lambda would send them to the dead-letter queue)
    errors: dict[str, int]
    outcomes: dict[str, int]
    peak_concurrency: int
    peak_queue: int
    settled_at: float
    gb_seconds: float
    costs: dict[str, float]

    @property
    def cost(self) -> float:
        return sum(self.costs.values())


def spread(values: Iterable[float]) -> Spread | None:
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(0, math.ceil(0.99 * len(ordered)) - 1)  # nearest rank
    return Spread(ordered[(len(ordered) - 1) // 2], ordered[rank], ordered[-1], len(ordered))


def per_second_max(times: Iterable[float]) -> int:
    seconds = Counter(math.floor(t) for t in times)
    return max(seconds.values(), default=0)


def blind_windows(stops: list[tuple[float, str]], starts: list[tuple[float, str]]) -> tuple[list[float], int]:
    """For each stop: the time until its trail next logged again (a StartLogging that went through); and how
    many stops no start followed."""
    by_trail: dict[str, list[float]] = defaultdict(list)
    for when, trail in starts:
        by_trail[trail].append(when)
    for times in by_trail.values():
        times.sort()
    windows, unhealed = [], 0
    for when, trail in stops:
        times = by_trail.get(trail, [])
        at = bisect.bisect_left(times, when)
        if at == len(times):
            unhealed += 1
        else:
            windows.append(times[at] - when)
    return windows, unhealed


def figures(burst: Burst) -> Figures:
    windows, _ = blind_windows(burst.stops, burst.starts)
    quota = burst.quota
    attempts = quota.attempts if quota is not None else []
    starts = [a for a in attempts if a.action == "StartLogging"]
    by_place: dict[tuple[str, str], list[float]] = defaultdict(list)
    tried: dict[tuple[str, str], list[float]] = defaultdict(list)
    for attempt in starts:
        tried[(attempt.account, attempt.region)].append(attempt.at)
        if attempt.accepted:
            by_place[(attempt.account, attempt.region)].append(attempt.at)
    seconds = burst.scenario.seconds
    mail = {}
    for address in burst.subscriptions:
        times = [when for when, endpoint in burst.emails if endpoint == address]
        span = max([seconds, *times])
        mail[address] = Mail(len(times), per_second_max(times), len(times) / span, span)
    last_attempt: dict[str, tuple[int, bool]] = {}
    for invoked in burst.invocations:
        if invoked.attempt >= last_attempt.get(invoked.event_id, (-1, False))[0]:
            last_attempt[invoked.event_id] = (invoked.attempt, invoked.failed)
    timeout = burst.settings.timeout  # billed up to the timeout, where Lambda ends the invocation
    billed = (min(timeout, max(0.001, math.ceil((i.ended - i.started) * 1000) / 1000)) for i in burst.invocations)
    gb_seconds = sum(billed) * (burst.settings.memory_mb / 1024)
    return Figures(
        stops=len(burst.stops),
        stops_healed=len(windows),
        not_logging=burst.not_logging,
        blind_window=spread(windows),
        start_logging_accepted=sum(a.accepted for a in starts),
        start_logging_throttled=sum(not a.accepted for a in starts),
        start_logging_max_per_second=max((per_second_max(t) for t in by_place.values()), default=0),
        start_logging_attempts_max_per_second=max((per_second_max(t) for t in tried.values()), default=0),
        writes_throttled=sum(not a.accepted for a in attempts),
        publishes=len(burst.publishes),
        publishes_max_per_second=per_second_max(when for when, _, _ in burst.publishes),
        mail=mail,
        evidence_objects=burst.evidence_objects,
        invocations=len(burst.invocations),
        retries=sum(i.attempt > 0 for i in burst.invocations),
        failed_invocations=sum(i.failed for i in burst.invocations),
        failed_for_good=sum(failed for _, failed in last_attempt.values()),
        errors=dict(Counter(i.error for i in burst.invocations if i.error)),
        outcomes=dict(Counter(i.outcome for i in burst.invocations if i.outcome)),
        peak_concurrency=burst.peak_concurrency,
        peak_queue=burst.peak_queue,
        settled_at=burst.settled_at,
        gb_seconds=gb_seconds,
        costs=costs(burst, gb_seconds),
    )


def costs(burst: Burst, gb_seconds: float) -> dict[str, float]:
    """What the burst costs at list prices, by service (CloudWatch Logs and CloudTrail's own charges left out)."""
    requests = burst.requests
    s3_puts = sum(requests[f"s3.{op}"] for op in S3_PUT_CLASS)
    s3_gets = sum(n for op, n in requests.items() if op.startswith("s3.")) - s3_puts
    writes = sum(requests[f"dynamodb.{op}"] for op in DYNAMODB_WRITES)
    reads = sum(requests[f"dynamodb.{op}"] for op in DYNAMODB_READS) + burst.query_read_units
    kms = sum(n for op, n in requests.items() if op.startswith("kms."))
    return {
        "Lambda": gb_seconds * LAMBDA_GB_SECOND + len(burst.invocations) * LAMBDA_REQUEST,
        "SNS": requests["sns.Publish"] * SNS_PUBLISH + len(burst.emails) * SNS_EMAIL,
        "S3": s3_puts * S3_PUT + s3_gets * S3_GET,
        "DynamoDB": writes * DYNAMODB_WRITE + reads * DYNAMODB_READ,
        "KMS": kms * KMS_REQUEST,
    }
