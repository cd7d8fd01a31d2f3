"""Run the calls of an undo in order, recording each (stop at the first failure: later steps depend on it), then
read the result again until it holds (with backoff), so "restored" always means "seen restored"."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from guardian.model.results import ActionRecord, Result, Verification
from guardian.model.rules import Outcome, Severity
from guardian.ports.errors import AWS_ERRORS, describe_error

if TYPE_CHECKING:
    from guardian.model.changes import Change
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.ports.invocation import Invocation

T = TypeVar("T")

Step = tuple[str, Callable[[], None]]


def run_steps(
    steps: Sequence[Step], region: str, target: str, run: Invocation, *, tolerate: str | None = None
) -> tuple[list[ActionRecord], str | None]:
    """The action records, and the name of the step that failed with error code ``tolerate`` (if one did):
    the caller decides what that means (a resource recreated meanwhile), nothing is recorded for it."""
    actions: list[ActionRecord] = []
    for name, call in steps:
        started = run.clock()
        try:
            call()
        except AWS_ERRORS as exc:
            code, message = describe_error(exc)
            if tolerate is not None and code == tolerate:
                return actions, name
            actions.append(ActionRecord(name, region, target, started, run.clock(), False, code, message))
            break
        actions.append(ActionRecord(name, region, target, started, run.clock(), True))
    return actions, None


def poll(read: Callable[[], T], done: Callable[[T], bool], config: Config, run: Invocation) -> tuple[T, int]:
    """Read until ``done``, at most ``verify_attempts`` times, the wait doubling from ``verify_delay_seconds``.
    Returns the last value read and how many reads it took."""
    value = read()
    checks = 1
    while not done(value) and checks < config.verify_attempts:
        run.sleep(config.verify_delay_seconds * 2 ** (checks - 1))
        value, checks = read(), checks + 1
    return value, checks


def repaired(
    event: CloudTrailEvent,
    decision: Decision,
    *,
    why: str,
    actions: Sequence[ActionRecord],
    checks: int,
    change: Change,
    still: str | None,
    run: Invocation,
) -> Result:
    """The Result of an undo that puts one state back (a key's, an event data store's): HEALED with the row's
    severity, or HEAL_FAILED and CRITICAL naming the call that failed, else ``still`` (what remains wrong)."""
    from dataclasses import replace  # noqa: PLC0415

    failed = next((a for a in actions if not a.succeeded), None)
    healed = failed is None and still is None
    diagnosis = None
    if not healed:
        diagnosis = f"{failed.action} failed: {failed.error_code}: {failed.error_message}" if failed else still
    return Result(
        event,
        replace(decision, reason=why),
        Outcome.HEALED if healed else Outcome.HEAL_FAILED,
        decision.severity if healed else Severity.CRITICAL,
        tuple(actions),
        Verification(is_logging=None, checks=checks, checked_at=run.clock()),
        changes=(change,),
        diagnosis=diagnosis,
    )
