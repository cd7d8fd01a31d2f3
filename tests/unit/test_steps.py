"""Running an undo's calls and reading the result again: the order, the first failure, the backoff."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from guardian.flows.steps import poll, run_steps
from guardian.model.config import Config
from guardian.ports.invocation import Invocation

CONFIG = Config(
    topic_arn="arn:aws:sns:us-east-1:123456789012:t",
    evidence_bucket="b",
    self_role_arn=None,
    exempt_principals=(),
    verify_attempts=4,
    verify_delay_seconds=0.5,
)


def invocation(waits: list[float]) -> Invocation:
    return Invocation(lambda: datetime(2026, 11, 24, tzinfo=UTC), waits.append)


def test_steps_run_in_order_and_stop_at_the_first_failure() -> None:
    calls: list[str] = []

    def fail() -> None:
        calls.append("b")
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "B")

    steps: list[Any] = [("A", lambda: calls.append("a")), ("B", fail), ("C", lambda: calls.append("c"))]
    actions, raced = run_steps(steps, "us-east-1", "t", invocation([]))
    assert calls == ["a", "b"]  # C depends on B: never run
    assert [(a.action, a.succeeded, a.error_code) for a in actions] == [("A", True, None), ("B", False, "AccessDenied")]
    assert raced is None


def test_a_tolerated_error_is_reported_not_recorded() -> None:
    def exists() -> None:
        raise ClientError({"Error": {"Code": "BucketAlreadyOwnedByYou", "Message": "x"}}, "CreateBucket")

    actions, raced = run_steps([("CreateBucket", exists)], "r", "t", invocation([]), tolerate="BucketAlreadyOwnedByYou")
    assert (actions, raced) == ([], "CreateBucket")


def test_poll_reads_until_done_with_doubling_waits() -> None:
    waits: list[float] = []
    values = iter(["Disabled", "Disabled", "Enabled", "never read"])
    assert poll(lambda: next(values), lambda v: v == "Enabled", CONFIG, invocation(waits)) == ("Enabled", 3)
    assert waits == [0.5, 1.0]


def test_poll_gives_up_after_the_configured_attempts() -> None:
    waits: list[float] = []
    assert poll(lambda: "Disabled", lambda v: v == "Enabled", CONFIG, invocation(waits)) == ("Disabled", 4)
    assert waits == [0.5, 1.0, 2.0]  # no wait after the last read
