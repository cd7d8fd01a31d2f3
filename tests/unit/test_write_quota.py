"""Heals under CloudTrail's write quota (1 request a second per account and Region, issue 21): a throttled write waits
with full jitter, capped, within the heal's budget, and is tried by the guardian alone; a trail another invocation
healed meanwhile is recorded "already healed"; the sweep paces its writes. Clocks, waits and jitter are injected:
nothing here waits or reads real time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from guardian.flows import budget
from guardian.flows.budget import QUOTA_ATTEMPTS, QUOTA_CAP, Pacer, heal_budget, quota_write
from guardian.flows.restore_trail import restore
from guardian.flows.start_logging import restart_logging
from guardian.model.alert import alert_document
from guardian.model.config import Config
from guardian.model.decide import decide
from guardian.model.events import parse_event
from guardian.model.evidence import evidence_record
from guardian.model.rules import Outcome, Severity
from guardian.ports.invocation import Invocation
from tests.support import load_event
from tests.unit.test_restore import BASELINE, FakeTrails
from tests.unit.test_workflow import CONTEXT, FakeAws

THROTTLED = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StartLogging")


class Run:
    """A fake invocation: sleeping advances the clock; ``limit`` seconds before Lambda's timeout at the start."""

    def __init__(self, limit: float | None = None) -> None:
        self.now = datetime(2026, 11, 20, 10, 0, 2, tzinfo=UTC)
        self.start, self.limit = self.now, limit
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)

    def remaining(self) -> float:
        assert self.limit is not None
        return self.limit - (self.now - self.start).total_seconds()

    def invocation(self) -> Invocation:
        return Invocation(lambda: self.now, self.sleep, remaining=self.remaining if self.limit is not None else None)


class Writes:
    """A write refused ``throttles`` times with ThrottlingException, then made."""

    def __init__(self, throttles: int, error: ClientError = THROTTLED) -> None:
        self.throttles, self.error, self.attempts = throttles, error, 0

    def __call__(self) -> None:
        self.attempts += 1
        if self.attempts <= self.throttles:
            raise self.error


@pytest.fixture(autouse=True)
def half_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "jitter", lambda: 0.5)


def test_a_throttled_write_waits_with_jitter_doubling_and_is_made() -> None:
    run, write = Run(), Writes(throttles=3)
    assert quota_write(write, run.invocation()) is False
    assert write.attempts == 4
    assert run.sleeps == [0.5, 1.0, 2.0]  # jitter x 1, 2, 4 s


def test_the_waits_are_capped_and_the_attempts_bounded_then_the_throttle_is_raised() -> None:
    run, write = Run(), Writes(throttles=100)
    with pytest.raises(ClientError) as raised:
        quota_write(write, run.invocation())
    assert raised.value is THROTTLED
    assert write.attempts == QUOTA_ATTEMPTS == 20
    assert run.sleeps == [0.5, 1.0] + [0.5 * QUOTA_CAP] * 17  # 4 s and more, capped to 4


@pytest.mark.threat("write-quota")
def test_no_wait_ends_past_the_heals_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """40 s left: the heal has 15 (the evidence write and the alert keep 25). Full waits of 1, 2, 4 and 4 s fit; the
    next (4 s, with the margin for an answer) would not, so the throttle is raised and the alert goes out in time."""
    monkeypatch.setattr(budget, "jitter", lambda: 1.0)
    run, write = Run(limit=40.0), Writes(throttles=100)
    budget_at_start = heal_budget(run.invocation())
    with pytest.raises(ClientError):
        quota_write(write, run.invocation())
    assert run.sleeps == [1.0, 2.0, 4.0, 4.0]
    assert write.attempts == 5
    assert budget_at_start is not None
    assert sum(run.sleeps) + budget.QUOTA_MARGIN <= budget_at_start


def test_another_error_is_raised_at_once_without_a_wait() -> None:
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "StartLogging")
    run, write = Run(), Writes(throttles=100, error=denied)
    with pytest.raises(ClientError):
        quota_write(write, run.invocation(), settled=lambda: pytest.fail("a denied write is not a throttle"))
    assert (write.attempts, run.sleeps) == (1, [])


def test_a_write_settled_meanwhile_is_not_tried_again() -> None:
    run, write = Run(), Writes(throttles=100)
    assert quota_write(write, run.invocation(), settled=lambda: True) is True
    assert (write.attempts, run.sleeps) == (1, [])


def test_a_failed_read_of_whether_it_settled_does_not_stop_the_write() -> None:
    def unreadable() -> bool:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "reads too"}}, "GetTrailStatus")

    run, write = Run(), Writes(throttles=1)
    assert quota_write(write, run.invocation(), settled=unreadable) is False
    assert write.attempts == 2


def config() -> Config:
    return Config(
        topic_arn="arn:aws:sns:us-east-1:123456789012:t",
        evidence_bucket="ev",
        self_role_arn=None,
        exempt_principals=(),
        verify_attempts=3,
        verify_delay_seconds=0.5,
    )


def heal(aws: FakeAws, run: Run) -> Any:
    event = parse_event(load_event("stop_logging"))
    return restart_logging(event, decide(event, CONTEXT), aws, config(), run.invocation())


def test_a_second_invocation_whose_start_is_throttled_finds_the_trail_logging_and_records_already_healed() -> None:
    """Two invocations on one trail: the other's StartLogging went first and took the quota. This one's StartLogging
    is throttled, GetTrailStatus says IsLogging: healed, not a failed heal, and no further write."""
    aws, run = FakeAws(), Run()
    aws.start_error = THROTTLED
    aws.statuses = iter([{"IsLogging": True, "StartLoggingTime": datetime(2026, 11, 20, 10, 0, 1, tzinfo=UTC)}])
    result = heal(aws, run)
    assert (result.outcome, result.severity) == (Outcome.HEALED, Severity.HIGH)
    assert [call for call, _ in aws.calls] == ["StartLogging", "GetTrailStatus"]
    assert run.sleeps == []
    (action,) = result.actions
    assert (action.action, action.already_healed, action.error_code) == ("StartLogging", True, "ThrottlingException")
    assert result.verification is not None
    assert result.verification.is_logging
    assert result.blind_window_seconds is not None
    record = evidence_record(
        result,
        written_at=run.now,
        topic_arn="t",
        alert_subject="s",
        function_name=None,
        request_id=None,
        boto3_version="1",
        botocore_version="1",
    )
    assert record["actions"][0]["result"] == "already_healed"
    alert = alert_document(result, evidence_bucket="ev", evidence_key="k", function_name=None)
    assert alert["action"]["result"] == "already_healed"
    assert alert["action"]["error"] is None
    assert "already" in alert["summary"]


def test_a_throttled_start_on_a_trail_still_stopped_waits_and_heals() -> None:
    aws, run = FakeAws(), Run()
    starts = Writes(throttles=2)

    def start_logging(trail: Any) -> None:
        aws.calls.append(("StartLogging", trail))
        starts()

    aws.start_logging = start_logging  # type: ignore[method-assign]
    aws.statuses = iter([{"IsLogging": False}, {"IsLogging": False}, {"IsLogging": True}])
    result = heal(aws, run)
    assert result.outcome is Outcome.HEALED
    assert not result.actions[0].already_healed
    assert [call for call, _ in aws.calls] == [
        "StartLogging",
        "GetTrailStatus",
        "StartLogging",
        "GetTrailStatus",
        "StartLogging",
        "GetTrailStatus",
    ]
    assert run.sleeps == [0.5, 1.0]


def test_a_start_throttled_for_good_is_a_failed_heal_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "jitter", lambda: 1.0)
    aws, run = FakeAws(), Run(limit=60.0)
    aws.start_error = THROTTLED
    aws.statuses = iter([{"IsLogging": False}] * 20)
    result = heal(aws, run)
    assert (result.outcome, result.severity) == (Outcome.HEAL_FAILED, Severity.CRITICAL)
    assert result.diagnosis is not None
    assert "write quota" in result.diagnosis
    # The heal's budget is 35 s (60 less 25): 31 s of waits, then a wait of 4 s (and 1 s for an answer) would not fit.
    assert run.sleeps == [1.0, 2.0, 4.0] + [4.0] * 6
    assert sum(1 for call, _ in aws.calls if call == "StartLogging") == 10


def test_the_sweep_paces_its_writes_in_a_region_once_a_burst_is_on() -> None:
    run = Run()
    pace = Pacer(run.invocation(), seconds=1.5)
    pace("us-east-1")
    pace("us-east-1")
    pace.wrote("us-east-1")
    assert run.sleeps == []  # no throttle seen: a sweep's few writes go at once
    pace.throttled("us-east-1")  # not its first write: paced, not yielded
    for region in ("us-east-1", "us-east-1", "eu-west-1", "us-east-1"):
        pace(region)
    # The clock moves only by the waits: each us-east-1 write waits for its slot, 1.5 s after the one before.
    assert run.sleeps == [1.5, 1.5, 1.5]


def test_a_sweep_restore_throttled_once_paces_its_next_writes() -> None:
    """A deleted trail recreated by the sweep: its StartLogging is throttled (a burst is on), so it is tried again
    after a jittered wait, and the next write (PutInsightSelectors) waits for its slot, 1.5 s after the last."""
    run = Run()
    baseline = replace(BASELINE, tags=(), insight_types=("ApiCallRateInsight",))
    trails = FakeTrails(None)
    times: list[tuple[str, float]] = []

    def timed(name: str, call: Any, throttles: int = 0) -> Any:
        def write(*args: Any, **kwargs: Any) -> None:
            times.append((name, (run.now - run.start).total_seconds()))
            if sum(1 for n, _ in times if n == name) <= throttles:
                raise THROTTLED
            call(*args, **kwargs)

        return write

    trails.create_trail = timed("CreateTrail", trails.create_trail)  # type: ignore[method-assign]
    trails.start_trail = timed("StartLogging", trails.start_trail, throttles=1)  # type: ignore[method-assign]
    trails.put_insight_selectors = timed("PutInsightSelectors", trails.put_insight_selectors)  # type: ignore[method-assign]
    restore(trails, baseline, None, config(), run.invocation(), pace=Pacer(run.invocation()))
    assert times == [("CreateTrail", 0.0), ("StartLogging", 0.0), ("StartLogging", 0.5), ("PutInsightSelectors", 1.5)]
    assert budget.SWEEP_WRITE_SECONDS > 1.0  # under 1 write a second
