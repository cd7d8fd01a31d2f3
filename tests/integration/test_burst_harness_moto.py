"""The burst benchmark's own accounting (``scripts/bench_burst.py``, :mod:`simulation.burst`): the write quota it
enforces, its virtual clock, its Lambda queue, and its fast path for moto's DynamoDB queries. No timing asserts: the
harness runs in virtual time, and these tests assert its bookkeeping only."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from moto import mock_aws

from guardian.adapters.full import FullAdapter
from simulation.burst import (
    Burst,
    BurstClients,
    Scenario,
    Settings,
    _indexed_queries,
    _virtual_guardian,
    run_burst,
    trail_regions,
)
from simulation.burst_figures import blind_windows, figures
from simulation.virtual_time import Stalled, VirtualClock, VirtualThreading
from simulation.write_quota import WriteQuota, write_quota

ONE_ATTEMPT = BotoConfig(retries={"mode": "standard", "total_max_attempts": 1})
GUARD = 60.0  # wall seconds a hung clock is given before the test fails (a guard, not a timing assert)


def _run_guarded(clock: VirtualClock) -> None:
    """``clock.run()`` in a thread of its own: a clock that stalls fails the test instead of hanging the suite."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            clock.run()
        except BaseException as exc:  # re-raised below
            raised.append(exc)

    runner = threading.Thread(target=run, daemon=True, name="clock-run")
    runner.start()
    runner.join(GUARD)
    assert not runner.is_alive(), f"the virtual clock stalled at {clock.seconds():.3f} s (threads left waiting)"
    if raised:
        raise raised[0]


def test_the_write_quota_refuses_a_second_write_in_one_simulated_second() -> None:
    """Per account and Region, every write; reads pass; moto is itself again after the block."""
    now = [0.0]
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="trail-logs")
        for region in ("us-east-1", "us-west-2"):
            boto3.client("cloudtrail", region_name=region).create_trail(Name="trail", S3BucketName="trail-logs")
        with write_quota(lambda: now[0]) as quota:
            east = boto3.client("cloudtrail", region_name="us-east-1", config=ONE_ATTEMPT)
            west = boto3.client("cloudtrail", region_name="us-west-2", config=ONE_ATTEMPT)
            east.start_logging(Name="trail")
            now[0] = 0.9
            with pytest.raises(ClientError) as refused:
                east.start_logging(Name="trail")
            assert refused.value.response["Error"]["Code"] == "ThrottlingException"
            assert east.get_trail_status(Name="trail")["IsLogging"]  # reads are not writes
            west.start_logging(Name="trail")  # another Region has its own quota
            now[0] = 1.0
            east.stop_logging(Name="trail")  # a second later: through (every write shares the quota)
        assert [(a.region, a.action, a.accepted) for a in quota.attempts] == [
            ("us-east-1", "StartLogging", True),
            ("us-east-1", "StartLogging", False),
            ("us-west-2", "StartLogging", True),
            ("us-east-1", "StopLogging", True),
        ]
        east = boto3.client("cloudtrail", region_name="us-east-1", config=ONE_ATTEMPT)
        east.start_logging(Name="trail")  # the block is over: moto is itself again
        east.start_logging(Name="trail")


def test_the_write_quota_lets_through_a_write_one_period_after_the_last_to_the_rounding() -> None:
    """Virtual times are float sums: 1.025 - 0.025 is 0.9999999999999999, and a heal a second after the last one
    must not be throttled by the rounding (burst (a'), one stop a second, lost 10 s to it)."""
    now = [0.025]
    quota = WriteQuota(lambda: now[0])
    assert quota.admit("1", "us-east-1", "StartLogging", "a")
    now[0] = 1.025
    assert quota.admit("1", "us-east-1", "StartLogging", "b")
    now[0] = 2.024
    assert not quota.admit("1", "us-east-1", "StartLogging", "c")


def test_the_virtual_clock_interleaves_threads_and_times_out_joins_virtually() -> None:
    clock = VirtualClock(datetime(2026, 1, 1, tzinfo=UTC))
    seen: list[tuple[float, str]] = []
    threads = VirtualThreading(clock)

    def slow() -> None:
        clock.sleep(10)
        seen.append((clock.seconds(), "slow done"))

    def caller() -> None:
        worker = threads.Thread(target=slow, daemon=True)
        worker.start()
        worker.join(2)
        seen.append((clock.seconds(), f"join gave up, alive {worker.is_alive()}"))

    def other() -> None:
        clock.sleep(1)
        seen.append((clock.seconds(), "other"))

    clock.spawn(caller)
    clock.spawn(other)
    clock.at(5, lambda: seen.append((clock.seconds(), "callback")))
    clock.run()
    assert seen == [(1, "other"), (2, "join gave up, alive True"), (5, "callback"), (10, "slow done")]
    assert not clock.participating()  # this thread never took part: its waits are counted, not waited
    clock.sleep(30)
    assert clock.foreign == 1
    assert clock.seconds() == 10
    assert threads.Lock is threading.Lock  # the rest of threading is threading's


def test_invocations_reading_the_public_key_at_once_do_not_stall_the_clock() -> None:
    """The guardian reads its signing key's public half from KMS under a process-wide lock (the alert group's
    verification, from every invocation). In virtual time the request waits on the clock with the lock held: the
    next invocation asking for the key must wait on the clock too, not block the clock's one running thread (bursts
    (b) and (c) stalled there at 0.25 s, before the harness swapped the guardian's locks for virtual ones)."""
    from guardian.adapters import services  # noqa: PLC0415 - its key cache is emptied for the test

    with mock_aws():
        key = boto3.client("kms", region_name="us-east-1").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
        arn = str(key["KeyMetadata"]["Arn"])
        services._PUBLIC_KEYS.pop(arn, None)
        clock = VirtualClock(datetime(2026, 1, 1, tzinfo=UTC))
        burst = Burst(Scenario("x"), Settings())
        read: list[tuple[float, str]] = []
        with _virtual_guardian(clock):
            for name in ("first", "second", "third"):
                aws = FullAdapter(
                    BurstClients(clock, 0.025, burst),
                    topic_arn="arn:aws:sns:us-east-1:123456789012:t",
                    topic_region="us-east-1",
                    evidence_bucket="b",
                    signing_key=arn,
                )

                def reads(adapter: FullAdapter = aws, who: str = name) -> None:
                    adapter.public_key()
                    read.append((clock.seconds(), who))

                clock.spawn(reads)
            _run_guarded(clock)
        assert [who for _, who in read] == ["first", "second", "third"]
        assert burst.requests["kms.GetPublicKey"] == 1  # read once, under the lock, and kept for the others
        assert all(when == 0.025 for when, _ in read)  # the others waited for the first one's round trip only
        assert not services._PUBLIC_KEYS_LOCK.locked()


def test_a_lock_held_across_a_wait_on_the_clock_is_reported_not_hung() -> None:
    """A stall the harness does not know (a real lock held across a wait) fails the run, naming where."""
    clock = VirtualClock(datetime(2026, 1, 1, tzinfo=UTC))
    lock = threading.Lock()

    def holder() -> None:
        with lock:
            clock.sleep(1)

    def blocked() -> None:
        with lock:
            pass

    clock.spawn(holder)
    clock.spawn(blocked)
    with pytest.raises(Stalled, match="has not moved") as stalled:
        clock.run(stall_seconds=0.5)
    assert ", in blocked\n" in str(stalled.value)  # the stack of the thread that blocks the clock
    assert clock.seconds() == 0  # the holder's second never came (its two threads are left, daemons, stuck)


def test_the_indexed_query_answers_as_moto_does() -> None:
    """Counts and pages (moto's 1 MB) the same with the fast path as through moto's own query."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "p", "AttributeType": "S"},
                {"AttributeName": "at", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for index in (5, 1, 3, *range(10, 130)):  # out of order first; 40 KB items: several 1 MB pages
            item = {"p": {"S": "mallory"}, "at": {"S": f"2026-{index:04d}"}, "pad": {"S": "x" * 40_000}}
            dynamodb.put_item(TableName="t", Item=item)
        dynamodb.put_item(TableName="t", Item={"p": {"S": "eve"}, "at": {"S": "2026-0050"}})

        def count(low: str, high: str) -> tuple[int, int]:
            pages = dynamodb.get_paginator("query").paginate(
                TableName="t",
                KeyConditionExpression="p = :p AND #at BETWEEN :low AND :high",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":p": {"S": "mallory"}, ":low": {"S": low}, ":high": {"S": high}},
                Select="COUNT",
            )
            answers = list(pages)
            return sum(page["Count"] for page in answers), len(answers)

        ranges = [("2026-0000", "2026-9999"), ("2026-0003", "2026-0050"), ("2026-0200", "2026-0300")]
        by_moto = [count(*bounds) for bounds in ranges]
        burst = Burst(Scenario("x"), Settings())
        with _indexed_queries(burst):
            fast = [count(*bounds) for bounds in ranges]
            dynamodb.put_item(TableName="t", Item={"p": {"S": "mallory"}, "at": {"S": "2026-0004"}})
            assert count("2026-0003", "2026-0005")[0] == 3  # a later write is seen
        assert fast == by_moto
        assert by_moto[0][0] == 123
        assert by_moto[0][1] > 1
        assert burst.query_read_units > 0


def test_a_tiny_burst_counts_every_event_and_invocation() -> None:
    burst = run_burst(Scenario("tiny", trails=2, stops_per_trail=3, denied=4), Settings(concurrency=2))
    first = [i for i in burst.invocations if i.attempt == 0]
    assert sorted(Counter(i.kind for i in first).items()) == [("denied", 4), ("stop", 6)]
    assert len({i.event_id for i in first}) == 10  # every event delivered once, then only retried
    assert all(i.outcome for i in first if i.kind == "denied")  # the handler answered (a denied call never raises)
    for retry in (i for i in burst.invocations if i.attempt > 0):
        earlier = [i for i in burst.invocations if i.event_id == retry.event_id and i.attempt == retry.attempt - 1]
        assert len(earlier) == 1
        assert earlier[0].failed  # only a failure is retried
    assert [trail for _, trail in burst.stops] == ["trail-00", "trail-01"] * 3
    assert len(burst.denied) == 4
    assert burst.peak_concurrency <= 2
    assert burst.unpaced_requests == 0  # every request the guardian sent waited on the virtual clock
    assert burst.requests["cloudtrail.StartLogging"] >= len(burst.quota.accepted("StartLogging") if burst.quota else [])
    accepted = sorted(a.at for a in burst.quota.accepted()) if burst.quota else []
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(accepted))
    found = figures(burst)
    _, unhealed = blind_windows(burst.stops, burst.starts)
    assert found.stops == 6
    assert found.stops_healed + unhealed == 6
    assert found.invocations == len(burst.invocations)
    assert found.start_logging_max_per_second <= 1
    assert sum(mail.total for mail in found.mail.values()) == len(burst.emails)


def test_trails_are_spread_over_regions_as_cloudtrails_quota_requires() -> None:
    """5 trails a Region, the sentinel one of them: 10 trails take 3 Regions, never more than 4 in one."""
    spread = trail_regions(Scenario("a", trails=10))
    assert Counter(spread.values()) == {"us-east-1": 4, "us-west-2": 3, "eu-west-1": 3}
    assert set(trail_regions(Scenario("one", trails=10, trails_per_region=10)).values()) == {"us-east-1"}
    with pytest.raises(ValueError, match="30 trails need 8 Regions"):
        trail_regions(Scenario("more", trails=30))


def test_a_burst_over_two_regions_heals_each_trail_in_its_own_under_its_own_quota() -> None:
    burst = run_burst(Scenario("two", trails=2, stops_per_trail=3, trails_per_region=1), Settings(concurrency=2))
    assert burst.not_logging == ()
    assert burst.quota is not None
    started = {(a.region, a.trail) for a in burst.quota.accepted("StartLogging")}
    assert started == {("us-east-1", "trail-00"), ("us-west-2", "trail-01")}
    for region in ("us-east-1", "us-west-2"):
        accepted = sorted(a.at for a in burst.quota.accepted() if a.region == region)
        assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(accepted))


def test_a_burst_on_the_sentinel_too_heals_it_as_one_of_the_home_regions_trails() -> None:
    burst = run_burst(Scenario("s", trails=1, stops_per_trail=2, sentinel=True), Settings(concurrency=2))
    assert sorted({trail for _, trail in burst.stops}) == ["guardian-sentinel", "trail-00"]
    assert burst.trails == ("trail-00", "guardian-sentinel")
    assert burst.not_logging == ()
    assert figures(burst).stops == 4
