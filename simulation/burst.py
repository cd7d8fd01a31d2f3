"""A burst against the guardian, in the simulation and in virtual time: the harness of ``scripts/bench_burst.py``.

An attacker stops trails over and over, or loops denied StopLogging calls, for a minute; each call's event reaches
the remediation function's handler (this process's code, in-process moto) as Lambda would run it:
asynchronously, at most ``concurrency`` invocations at once (each in an execution environment of its own that keeps
its clients warm), the others queued, and an invocation that raises retried twice, 1 and then 2 minutes later.

Honest about what AWS does and moto does not: CloudTrail's write quota (:mod:`simulation.write_quota`); a round
trip before every request (``latency``); botocore's retry waits, the guardian's back-off and its time budgets all in
virtual time (:mod:`simulation.virtual_time`), so the simulated timeline is what the figures report, whatever the
machine's speed. The attacker's own calls are applied to moto directly, outside the quota (see ``docs/operations.md``).
"""

from __future__ import annotations

import bisect
import contextvars
import copy
import dataclasses
import importlib
import itertools
import json
import logging
import math
import sys
import threading
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.endpoint
from botocore.config import Config as BotoConfig
from moto import mock_aws
from moto.cloudtrail import models as cloudtrail_models
from moto.cloudtrail.models import cloudtrail_backends
from moto.dynamodb import models as moto_dynamodb
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT
from moto.s3.models import FakeKey, s3_backends
from moto.sns.models import Subscription, Topic

from guardian.adapters.clients import CLIENT_CONFIG, Boto3Clients
from guardian.entrypoints import handler, runtime
from guardian.flows import budget
from guardian.ports.invocation import Invocation
from simulation.moto_server import ACCOUNT, REGION, cloudtrail_as_aws, create_activity_table, environment
from simulation.virtual_time import VirtualClock, VirtualLock, VirtualThreading
from simulation.write_quota import WriteQuota, write_quota

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "tests" / "events"
BUCKET = "guardian-evidence-burst"
LOGS_BUCKET = "burst-trail-logs"
TABLE = "guardian-activity-burst"
FUNCTION = "CloudTrailGuardian-remediation"
SENTINEL = "guardian-sentinel"
# Who gets the alerts: the stack's default recipient (MEDIUM and above) and one that asked for HIGH and above.
RECIPIENTS = (("security@example.com", "MEDIUM"), ("oncall@example.com", "HIGH"))
SEVERITIES = ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")
DENIED_BY = "eve"  # the principal looping denied calls (the stops are mallory's, as in tests/events)
STALL_SECONDS = 300.0  # wall seconds without the virtual clock moving before a burst is declared stalled


# CloudTrail holds 5 trails a Region (not adjustable), a multi-Region trail counting as one in each: the sentinel is
# one, so at most 4 of the attacker's targets share a Region and the write quota that heals them; more trails are
# spread over more Regions, as they must be in AWS (moto holds any number: a Scenario may say so, to compare).
TRAILS_PER_REGION = 4
REGIONS = (REGION, "us-west-2", "eu-west-1", "ap-southeast-2", "eu-central-1", "ap-northeast-1")


@dataclass(frozen=True)
class Scenario:
    name: str
    trails: int = 10
    trails_per_region: int = TRAILS_PER_REGION
    sentinel: bool = False  # the attacker stops the guardian's sentinel trail too (in the home Region)
    stops_per_trail: int = 0  # each trail stopped this many times within ``seconds``
    denied: int = 0  # denied StopLogging calls (errorCode AccessDenied) from one principal within ``seconds``
    seconds: float = 60.0


@dataclass(frozen=True)
class Settings:
    concurrency: int = 10  # the remediation function's reserved concurrency (or an assumed one)
    memory_mb: int = 256
    timeout: float = 60.0  # the function's timeout, seconds
    latency: float = 0.025  # seconds added before every request: a Region's round trip
    delivery: float = 0.0  # seconds from the call to its event reaching Lambda's queue (AWS publishes no figure)
    retry_delays: tuple[float, ...] = (60.0, 120.0)  # Lambda's asynchronous retries: 2, after 1 and 2 minutes


@dataclass(frozen=True)
class Invoked:
    event_id: str
    kind: str  # "stop" or "denied"
    attempt: int  # 0: the first delivery; 1, 2: Lambda's retries
    started: float
    ended: float
    failed: bool
    error: str  # the exception's type, "Timeout", or ""
    outcome: str


@dataclass
class Burst:
    """What happened, on the virtual timeline (seconds since the burst began)."""

    scenario: Scenario
    settings: Settings
    stops: list[tuple[float, str]] = field(default_factory=list)  # (when, trail): each StopLogging that went through
    denied: list[float] = field(default_factory=list)
    starts: list[tuple[float, str]] = field(default_factory=list)  # (when, trail): each StartLogging that went through
    invocations: list[Invoked] = field(default_factory=list)
    publishes: list[tuple[float, str, str]] = field(default_factory=list)  # (when, topic, subject)
    emails: list[tuple[float, str]] = field(default_factory=list)  # (when, subscription endpoint)
    subscriptions: tuple[str, ...] = ()
    requests: Counter[str] = field(default_factory=Counter)  # "cloudtrail.StartLogging": n (every attempt)
    query_read_units: float = 0.0  # DynamoDB read units of every Query (eventually consistent unless asked)
    unpaced_requests: int = 0  # requests sent, or waits asked for, by a thread outside virtual time (reported)
    evidence_objects: int = 0
    evidence_by_prefix: Counter[str] = field(default_factory=Counter)
    trails: tuple[str, ...] = ()
    not_logging: tuple[str, ...] = ()  # attacked trails not logging once everything settled
    quota: WriteQuota | None = None
    peak_concurrency: int = 0
    peak_queue: int = 0
    environments: int = 0
    settled_at: float = 0.0  # when the last invocation ended
    error_samples: dict[str, str] = field(default_factory=dict)  # each exception type's first message and place
    wall_seconds: float = 0.0


_ENVIRONMENT: contextvars.ContextVar[BurstClients] = contextvars.ContextVar("burst_environment")


class BurstClients(Boto3Clients):
    """One execution environment's clients: warm between its invocations, counting every request (retries too) and
    waiting ``latency`` of virtual time before each is answered."""

    def __init__(self, clock: VirtualClock, latency: float, burst: Burst) -> None:
        super().__init__()
        self.clock, self.latency, self.burst = clock, latency, burst

    def _client(self, service: str, region: str | None, config: BotoConfig = CLIENT_CONFIG) -> Any:
        client = super()._client(service, region, config)
        if not getattr(client, "_burst_counted", False):
            # First: the wait comes before moto answers (moto's own handler on this event answers the request).
            client.meta.events.register_first("before-send.*.*", self._before_send)
            client._burst_counted = True
        return client

    def _before_send(self, event_name: str = "", **_: Any) -> None:
        self.burst.requests[event_name.split(".", 1)[-1]] += 1
        if not self.clock.participating():
            self.burst.unpaced_requests += 1
        elif self.latency:
            self.clock.sleep(self.latency)


class _Context:
    """What Lambda passes the handler: its name, a request id, and the time left, on the virtual clock."""

    def __init__(self, clock: VirtualClock, timeout: float) -> None:
        self.function_name = FUNCTION
        self.aws_request_id = str(uuid.uuid4())
        self._clock, self._deadline = clock, clock.seconds() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock.seconds()) * 1000))


class AsyncLambda:
    """Lambda's asynchronous invocation of one function: a queue, ``concurrency`` environments, two retries."""

    def __init__(self, clock: VirtualClock, settings: Settings, burst: Burst) -> None:
        self.clock, self.settings, self.burst = clock, settings, burst
        self.queue: deque[tuple[dict[str, Any], str, int]] = deque()
        self.free = [BurstClients(clock, settings.latency, burst) for _ in range(settings.concurrency)]
        self.used: set[int] = set()
        self.busy = 0

    def deliver(self, event: dict[str, Any], kind: str, attempt: int = 0) -> None:
        self.queue.append((event, kind, attempt))
        self.burst.peak_queue = max(self.burst.peak_queue, len(self.queue))
        self._dispatch()

    def _dispatch(self) -> None:
        while self.queue and self.free:
            environment, (event, kind, attempt) = self.free.pop(), self.queue.popleft()
            self.busy += 1
            self.used.add(id(environment))
            self.burst.peak_concurrency = max(self.burst.peak_concurrency, self.busy)

            def invoke(
                env: BurstClients = environment, e: dict[str, Any] = event, k: str = kind, a: int = attempt
            ) -> None:
                self._invoke(env, e, k, a)

            self.clock.spawn(invoke)

    def _invoke(self, environment: BurstClients, event: dict[str, Any], kind: str, attempt: int) -> None:
        _ENVIRONMENT.set(environment)
        started = self.clock.seconds()
        error, outcome = "", ""
        try:
            answer = handler.lambda_handler(event, _Context(self.clock, self.settings.timeout))
            outcome = str(answer.get("outcome", ""))
        except Exception as exc:  # noqa: BLE001 - Lambda records it and retries the event
            error = type(exc).__name__
            if error not in self.burst.error_samples:  # a harness defect shows here, not only as a count
                where = traceback.extract_tb(exc.__traceback__)[-1]
                self.burst.error_samples[error] = f"{str(exc)[:200]} ({where.filename}:{where.lineno})"
        ended = self.clock.seconds()
        if ended - started > self.settings.timeout:
            error = error or "Timeout"  # Lambda would have ended it there (what it did later is counted anyway)
        failed = bool(error)
        self.burst.invocations.append(
            Invoked(event["detail"]["eventID"], kind, attempt, started, ended, failed, error, outcome)
        )
        if failed and attempt < len(self.settings.retry_delays):
            self.clock.at(ended + self.settings.retry_delays[attempt], lambda: self.deliver(event, kind, attempt + 1))
        self.busy -= 1
        self.free.append(environment)
        self._dispatch()


def _event(template: dict[str, Any], when: datetime, trail: str, region: str) -> dict[str, Any]:
    event = copy.deepcopy(template)
    event["id"] = str(uuid.uuid4())
    stamp = when.isoformat(timespec="seconds").replace("+00:00", "Z")
    event["time"], event["region"] = stamp, region
    detail = event["detail"]
    detail["awsRegion"] = region
    if "tlsDetails" in detail:
        detail["tlsDetails"]["clientProvidedHostHeader"] = f"cloudtrail.{region}.amazonaws.com"
    detail["eventID"], detail["requestID"] = str(uuid.uuid4()), str(uuid.uuid4())
    detail["eventTime"] = stamp
    detail["requestParameters"] = {"name": trail}
    return event


def _denied_template() -> dict[str, Any]:
    text = (EVENTS / "stop_logging_access_denied.json").read_text().replace("mallory", DENIED_BY)
    template: dict[str, Any] = json.loads(text)
    template["detail"]["userIdentity"]["principalId"] = "AIDAEXAMPLEEVE000001"
    template["detail"]["userIdentity"]["accessKeyId"] = "AKIAEXAMPLEEVE000001"
    return template


def _setup(scenario: Scenario) -> dict[str, str]:
    """The account as the stack leaves it (the pieces the remediation function uses), and the function's
    environment."""
    s3, sns = boto3.client("s3", region_name=REGION), boto3.client("sns", region_name=REGION)
    s3.create_bucket(Bucket=LOGS_BUCKET)
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    topic = sns.create_topic(Name="guardian-alerts")["TopicArn"]
    for address, minimum in RECIPIENTS:
        policy = {"severity": [*SEVERITIES[SEVERITIES.index(minimum) :], {"exists": False}]}
        sns.subscribe(
            TopicArn=topic,
            Protocol="email-json",
            Endpoint=address,
            Attributes={"FilterPolicy": json.dumps(policy), "FilterPolicyScope": "MessageBody"},
        )
    key = boto3.client("kms", region_name=REGION).create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    create_activity_table(TABLE, REGION)
    for name, region in [*trail_regions(scenario).items(), (SENTINEL, REGION)]:
        cloudtrail = boto3.client("cloudtrail", region_name=region)
        cloudtrail.create_trail(Name=name, S3BucketName=LOGS_BUCKET, IsMultiRegionTrail=name == SENTINEL)
        cloudtrail.start_logging(Name=name)
    return {
        "GUARDIAN_TOPIC_ARN": topic,
        "GUARDIAN_EVIDENCE_BUCKET": BUCKET,
        "GUARDIAN_EXEMPT_PRINCIPALS": "[]",
        "GUARDIAN_SELF_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/CloudTrailGuardian-remediation-role",
        "GUARDIAN_ACTIVITY_TABLE": TABLE,
        "GUARDIAN_REPEAT_THRESHOLD": "3",
        "GUARDIAN_REPEAT_WINDOW_MINUTES": "10",
        "GUARDIAN_ALERT_GROUP_MINUTES": "5",  # as the stack deploys it (alertGroupMinutes)
        "GUARDIAN_SIGNING_KEY_ARN": str(key["KeyMetadata"]["Arn"]),
        "GUARDIAN_SELF_FUNCTIONS": json.dumps([FUNCTION, "CloudTrailGuardian-sweep"]),
        "GUARDIAN_SENTINEL_TRAIL": SENTINEL,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
    }


def trail_names(scenario: Scenario) -> list[str]:
    return [f"trail-{index:02d}" for index in range(scenario.trails)]


def trail_regions(scenario: Scenario) -> dict[str, str]:
    """Each trail's Region: as few Regions as hold ``trails_per_region`` each, the trails dealt out evenly."""
    names = trail_names(scenario)
    count = max(1, math.ceil(len(names) / scenario.trails_per_region))
    if count > len(REGIONS):
        raise ValueError(f"{len(names)} trails need {count} Regions at {scenario.trails_per_region} a Region")
    return {name: REGIONS[index % count] for index, name in enumerate(names)}


def targets(scenario: Scenario) -> dict[str, str]:
    """What the attacker stops, and where: the trails, and the sentinel where the scenario says so."""
    return {**trail_regions(scenario), **({SENTINEL: REGION} if scenario.sentinel else {})}


@contextmanager
def _recording(clock: VirtualClock, burst: Burst) -> Iterator[None]:
    """Every StartLogging that went through, every publish and every email, on the virtual timeline."""
    backend_start, topic_publish, sub_publish = (
        cloudtrail_models.CloudTrailBackend.start_logging,
        Topic.publish,
        Subscription.publish,
    )

    def start_logging(self: Any, name: str) -> None:
        backend_start(self, name)
        burst.starts.append((clock.seconds(), self.get_trail(name).trail_name))

    def publish(self: Topic, message: str, subject: str | None = None, *args: Any, **kwargs: Any) -> str:
        burst.publishes.append((clock.seconds(), self.arn, subject or ""))
        return topic_publish(self, message, subject, *args, **kwargs)

    def deliver(self: Subscription, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
        matcher = self._filter_policy_matcher
        attributes = kwargs.get("message_attributes", args[1] if len(args) > 1 else None)
        if self.protocol.startswith("email") and (matcher is None or matcher.matches(attributes, message)):
            burst.emails.append((clock.seconds(), self.endpoint))
        sub_publish(self, message, message_id, *args, **kwargs)

    cloudtrail_models.CloudTrailBackend.start_logging = start_logging  # type: ignore[method-assign]
    Topic.publish = publish  # type: ignore[method-assign]
    Subscription.publish = deliver  # type: ignore[method-assign]
    try:
        yield
    finally:
        cloudtrail_models.CloudTrailBackend.start_logging = backend_start  # type: ignore[method-assign]
        Topic.publish = topic_publish  # type: ignore[method-assign]
        Subscription.publish = sub_publish  # type: ignore[method-assign]


@dataclass
class _Sorted:
    """One partition's items in range-key order, with their sizes summed (moto's 1 MB page)."""

    seen: int = 0
    keys: list[str] = field(default_factory=list)
    items: list[Any] = field(default_factory=list)
    sums: list[int] = field(default_factory=lambda: [0])


@contextmanager
def _indexed_queries(burst: Burst) -> Iterator[None]:
    """moto's DynamoDB Query walks every item of the table and copies every match, for each query: counting a
    principal's activity on each of 10,000 events made the simulation quadratic (hours). A query on a partition
    and a string range key (BETWEEN, forward, no index, filter, projection or limit) is answered here from the
    partition's items kept sorted: the same items, pages (moto's 1 MB), counts and LastEvaluatedKey; any other
    query goes to moto."""
    original = moto_dynamodb.DynamoDBBackend.query
    partitions: dict[tuple[int, str], _Sorted] = {}

    def sync(table: Any, hash_key: Any) -> _Sorted:
        found = partitions.setdefault((id(table), str(hash_key.value)), _Sorted())
        stored = table.items.get(hash_key, {})
        if len(stored) != found.seen:
            in_order = True
            for item in itertools.islice(stored.values(), found.seen, None):
                key = str(item.range_key.value)
                at = bisect.bisect_right(found.keys, key)
                in_order = in_order and at == len(found.keys)
                found.keys.insert(at, key)
                found.items.insert(at, item)
                if in_order:
                    found.sums.append(found.sums[-1] + item.size())
            if not in_order:
                found.sums = [0, *itertools.accumulate(item.size() for item in found.items)]
            found.seen = len(stored)
        return found

    def query(  # noqa: PLR0917 - moto's own signature
        self: Any,
        table_name: str,
        hash_key_dict: Any,
        range_comparison: Any,
        range_value_dicts: Any,
        limit: Any,
        exclusive_start_key: Any,
        scan_index_forward: bool,
        projection_expressions: Any,
        index_name: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        table = self.get_table(table_name)
        simple = (
            hash_key_dict
            and range_comparison == "BETWEEN"
            and all("S" in value for value in range_value_dicts)
            and not limit
            and scan_index_forward
            and not projection_expressions
            and index_name is None
            and table.range_key_attr
            and not kwargs.get("filter_expression")
            and not args
            and set(kwargs)
            <= {
                "consistent_read",
                "expr_names",
                "expr_values",
                "filter_expression",
                "hash_key_conditions",
                "range_key_conditions",
            }
        )
        if not simple:
            burst.query_read_units += 1.0  # at least (what moto's own path read is not measured)
            return original(
                self,
                table_name,
                hash_key_dict,
                range_comparison,
                range_value_dicts,
                limit,
                exclusive_start_key,
                scan_index_forward,
                projection_expressions,
                index_name,
                *args,
                **kwargs,
            )
        part = sync(table, DynamoType(hash_key_dict))
        low, high = (value["S"] for value in range_value_dicts)
        first, end = bisect.bisect_left(part.keys, low), bisect.bisect_right(part.keys, high)
        if exclusive_start_key:
            first = max(first, bisect.bisect_right(part.keys, exclusive_start_key[table.range_key_attr]["S"]))
        last = max(first, bisect.bisect_right(part.sums, part.sums[first] + RESULT_SIZE_LIMIT) - 1)
        last = min(last, end)
        results = part.items[first:last]
        read = part.sums[last] - part.sums[first]  # DynamoDB rounds a query's read up to 4 KB units
        burst.query_read_units += math.ceil(max(read, 1) / 4096) * (1.0 if kwargs.get("consistent_read") else 0.5)
        more = last < end and results
        after = {table.hash_key_attr: hash_key_dict, table.range_key_attr: {"S": part.keys[last - 1]}}
        return results, len(results), after if more else None

    with _patched(moto_dynamodb.DynamoDBBackend, "query", query):
        yield


class _VirtualTime:
    """``time`` for botocore's retry waits: virtual in a thread taking part, real elsewhere."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock

    def sleep(self, seconds: float) -> None:
        if self._clock.participating():
            self._clock.sleep(seconds)
        else:
            time.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextmanager
def _patched(target: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(target, name)
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, original)


# Imported before the locks are swapped: the guardian imports them lazily, off the heal path.
GUARDIAN_MODULES = ("guardian.adapters.full",)
_LOCK_TYPE = type(threading.Lock())


@contextmanager
def virtual_locks(clock: VirtualClock) -> Iterator[list[str]]:
    """Every module-level lock of the guardian's modules swapped for a :class:`VirtualLock` for the block, and every
    module-level lock factory (``threading.Lock`` held as an attribute: ``services._new_lock``, a lock per signing
    key) for one making them (a real one held across a request, which waits on the clock, stalls the clock: one held
    across KMS GetPublicKey did). Yields the names swapped."""
    for name in GUARDIAN_MODULES:
        importlib.import_module(name)
    found = [
        (module, attribute, value is threading.Lock)
        for name, module in list(sys.modules.items())
        if (name == "guardian" or name.startswith("guardian.")) and module is not None
        for attribute, value in list(vars(module).items())
        if isinstance(value, _LOCK_TYPE) or value is threading.Lock
    ]
    with ExitStack() as stack:
        for module, attribute, factory in found:
            virtual = (lambda: VirtualLock(clock)) if factory else VirtualLock(clock)
            stack.enter_context(_patched(module, attribute, virtual))
        yield [f"{module.__name__}.{attribute}" for module, attribute, _ in found]


@contextmanager
def _virtual_guardian(clock: VirtualClock) -> Iterator[None]:
    """The handler's clock, sleep, time budgets, clients and botocore's retry waits on the virtual clock; moto's
    trail timestamps too (StartLoggingTime is compared with the event's time)."""

    real = runtime.invocation

    def invocation(context: Any, *args: Any, **kwargs: Any) -> Invocation:
        """The runtime's own (whatever else it carries), with its clock, sleep and time left on the virtual clock."""
        run, remaining = real(context, *args, **kwargs), context.get_remaining_time_in_millis
        plan = getattr(run, "plan", None)  # observe mode skips the wait after a recorded write: so does this

        def sleep(seconds: float) -> None:
            if plan is None or not plan.pending:
                clock.sleep(seconds)

        return dataclasses.replace(run, clock=clock.now, sleep=sleep, remaining=lambda: remaining() / 1000)

    with ExitStack() as stack:
        stack.enter_context(_patched(runtime, "now", clock.now))
        stack.enter_context(_patched(runtime, "invocation", invocation))
        stack.enter_context(_patched(runtime, "clients", _ENVIRONMENT.get))
        stack.enter_context(_patched(budget, "threading", VirtualThreading(clock)))
        stack.enter_context(_patched(botocore.endpoint, "time", _VirtualTime(clock)))
        stack.enter_context(_patched(cloudtrail_models, "utcnow", lambda: clock.now().replace(tzinfo=None)))
        stack.enter_context(virtual_locks(clock))
        logging.disable(logging.CRITICAL)  # 10,000 invocations' log lines: the figures are the output
        stack.callback(logging.disable, logging.NOTSET)
        yield


def schedule(clock: VirtualClock, scenario: Scenario, settings: Settings, function: AsyncLambda, burst: Burst) -> None:
    """The attacker's calls, spread evenly over the burst; each event queued ``delivery`` seconds later."""
    stop_template = json.loads((EVENTS / "stop_logging.json").read_text())
    denied_template = _denied_template()
    regions = targets(scenario)
    names = list(regions)

    def stop(when: float, trail: str) -> Callable[[], None]:
        def act() -> None:
            # the attacker's call: applied directly, outside the write quota
            cloudtrail_backends[ACCOUNT][regions[trail]].stop_logging(trail)
            burst.stops.append((when, trail))
            event = _event(stop_template, clock.now(), trail, regions[trail])
            clock.at(when + settings.delivery, lambda: function.deliver(event, "stop"))

        return act

    def deny(when: float, trail: str) -> Callable[[], None]:
        def act() -> None:
            burst.denied.append(when)
            event = _event(denied_template, clock.now(), trail, regions[trail])
            clock.at(when + settings.delivery, lambda: function.deliver(event, "denied"))

        return act

    stops = len(names) * scenario.stops_per_trail
    for index in range(stops):
        when = index * scenario.seconds / stops
        clock.at(when, stop(when, names[index % len(names)]))
    for index in range(scenario.denied):
        when = index * scenario.seconds / scenario.denied
        clock.at(when, deny(when, names[index % len(names)]))


def run_burst(scenario: Scenario, settings: Settings, *, stall_seconds: float | None = STALL_SECONDS) -> Burst:
    """One burst in a fresh in-process moto account, run until every invocation and retry has ended; raises
    :class:`~simulation.virtual_time.Stalled` if the virtual clock stops moving for ``stall_seconds`` of wall time
    (a harness defect)."""
    burst = Burst(scenario, settings, trails=tuple(targets(scenario)))
    wall = time.perf_counter()
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    with mock_aws(), cloudtrail_as_aws(), environment(**credentials, AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION):
        variables = _setup(scenario)
        start = datetime.now(UTC).replace(microsecond=0)
        clock = VirtualClock(start)
        with (
            environment(**variables),
            write_quota(clock.seconds) as quota,
            _recording(clock, burst),
            _virtual_guardian(clock),
            _indexed_queries(burst),
        ):
            handler.reset()
            function = AsyncLambda(clock, settings, burst)
            schedule(clock, scenario, settings, function, burst)
            try:
                clock.run(stall_seconds)
            finally:
                handler.reset()
            burst.quota = quota
            burst.unpaced_requests += clock.foreign
            burst.environments = len(function.used)
        burst.settled_at = max((i.ended for i in burst.invocations), default=0.0)
        burst.subscriptions = tuple(address for address, _ in RECIPIENTS)
        _count_evidence(burst)
        regions = targets(scenario)
        burst.not_logging = tuple(
            n for n in burst.trails if not cloudtrail_backends[ACCOUNT][regions[n]].get_trail(n).status.is_logging
        )
    burst.wall_seconds = time.perf_counter() - wall
    return burst


def _count_evidence(burst: Burst) -> None:
    """Every object version in the evidence bucket (delete markers left out), read from moto's backend: its
    ListObjectVersions deep-copies every version of the bucket for each page of 1,000 (30,000 versions after burst
    (b): quadratic, a quarter of an hour)."""
    bucket = s3_backends[ACCOUNT]["aws"].get_bucket(BUCKET)
    for key, versions in bucket.keys.iterlists():
        for version in versions:
            if isinstance(version, FakeKey):
                burst.evidence_objects += 1
                burst.evidence_by_prefix[str(key).split("/", 1)[0]] += 1
