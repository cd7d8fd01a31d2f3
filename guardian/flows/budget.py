"""Time for the alert, kept whatever else hangs: a step before the alert gets only the time the alert can spare.

A Lambda invocation ends at its timeout, alert or not, and botocore's own bounds are too wide to rely on (six
attempts of up to 10 s each, with backoff, for one call). So a step that could hang (the heal, the evidence write,
the steps after the alert) runs in a worker thread the caller waits for at most its budget. A step that runs out of
time raises :class:`OutOfTime`; the step itself goes on in its thread, which is harmless: every heal call is
idempotent and is verified again on the next delivery or sweep.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, TypeVar

from guardian.ports.errors import AWS_ERRORS, is_throttling

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from guardian.ports.invocation import Invocation

T = TypeVar("T")

# Seconds kept back from the invocation's remaining time (Lambda's timeout is 60 s; see docs/operations.md).
ALERT_RESERVE = 15.0  # for publishing the alert (and its central copy) after everything else
EVIDENCE_SECONDS = 10.0  # at most, for writing the evidence record before the alert
MARKER_SECONDS = 3.0  # at most, for reading a self-test's marker before the alert (a StopLogging of the sentinel)
AFTER_ALERT_MARGIN = 2.0  # the steps after the alert stop this long before the timeout
# CloudTrail's write quota (1 request a second per account and Region): a throttled write waits, full jitter, a
# random time in [0, min(QUOTA_CAP, QUOTA_BASE * 2**retry)] s, at most QUOTA_ATTEMPTS attempts in all (botocore
# retries none of them: guardian.adapters.clients), and never a wait that would end past the heal's budget.
# In Lambda the heal's budget (35 s of the 60 s timeout) binds before 10 attempts do; in simulation.burst (10 trails
# stopped 10 times each in a minute) 6 attempts left 14 heals of 114 failed, 10 attempts 2 of 102.
QUOTA_ATTEMPTS = 10
QUOTA_BASE = 1.0
QUOTA_CAP = 8.0
QUOTA_MARGIN = 1.0  # kept after a wait for the next attempt to be answered
SWEEP_WRITE_SECONDS = 1.5  # the sweep writes at most once in this many seconds per Region: the quota is the events'
jitter: Callable[[], float] = random.random  # the wait's random factor (tests set it)
QUOTA_STEPS = frozenset({"StartLogging", "CreateTrail", "UpdateTrail", "PutEventSelectors", "PutInsightSelectors"})


class OutOfTime(TimeoutError):
    """A step did not finish within its budget."""


def heal_budget(run: Invocation) -> float | None:
    """Time for the heal: what remains once the evidence write and the alert have theirs."""
    return _left(run, ALERT_RESERVE + EVIDENCE_SECONDS)


def evidence_budget(run: Invocation) -> float | None:
    left = _left(run, ALERT_RESERVE)
    return EVIDENCE_SECONDS if left is None else min(left, EVIDENCE_SECONDS)


def marker_budget(run: Invocation) -> float:
    left = _left(run, ALERT_RESERVE + EVIDENCE_SECONDS)
    return MARKER_SECONDS if left is None else min(left, MARKER_SECONDS)


def after_alert_budget(run: Invocation) -> float | None:
    return _left(run, AFTER_ALERT_MARGIN)


def quota_write(
    call: Callable[[], object],
    run: Invocation,
    *,
    settled: Callable[[], bool] | None = None,
    throttled: Callable[[], None] | None = None,
) -> bool:
    """Make a CloudTrail write under the write quota: again after a throttle, with full jitter, within the heal's
    budget. Before waiting, ``settled()`` (a read: its own, larger quota) may say the write is needed no more (another
    invocation healed the trail): then True, "already done". False once the write went through; the last throttle,
    or any other error, is raised. ``throttled()`` is told of each throttle (the sweep's pacer)."""
    for attempt in range(QUOTA_ATTEMPTS):
        try:
            call()
        except AWS_ERRORS as exc:
            if not is_throttling(exc):
                raise
            if throttled is not None:
                throttled()
            if settled is not None and _quietly(settled):
                return True
            wait = jitter() * min(QUOTA_CAP, QUOTA_BASE * 2**attempt)
            left = heal_budget(run)
            if attempt + 1 == QUOTA_ATTEMPTS or (left is not None and wait + QUOTA_MARGIN > left):
                raise
            run.sleep(wait)
        else:
            return False
    raise AssertionError("unreachable: the last attempt returns or raises")


def under_quota(
    steps: Sequence[tuple[str, Callable[[], None]]],
    run: Invocation,
    *,
    region: str,
    logging: Callable[[], bool],
    pace: Pacer | None = None,
) -> list[tuple[str, Callable[[], None]]]:
    """A restore's steps, each quota write made through :func:`quota_write` (a StartLogging settled once
    ``logging()``), in its turn where the sweep paces its writes (``pace``)."""

    def wrapped(name: str, call: Callable[[], None]) -> Callable[[], None]:
        def write() -> None:
            if pace is not None:
                pace(region)
            told = (lambda: pace.throttled(region)) if pace is not None else None
            quota_write(call, run, settled=logging if name == "StartLogging" else None, throttled=told)

        return write if name in QUOTA_STEPS else call

    return [(name, wrapped(name, call)) for name, call in steps]


def _quietly(settled: Callable[[], bool]) -> bool:
    try:
        return settled()
    except AWS_ERRORS:  # the read failed: not known to be settled, so the write goes on
        return False


class Pacer:
    """The sweep's writes in a Region where a burst is on (a write of this sweep was throttled there): at most one
    per ``seconds`` across its threads, so the write quota is left to the event path. A sweep that meets no throttle
    writes unpaced (a few writes: one heal per weakened trail)."""

    def __init__(self, run: Invocation, seconds: float | None = None) -> None:
        self._run, self._seconds = run, SWEEP_WRITE_SECONDS if seconds is None else seconds
        self._next: dict[str, float] = {}
        self._burst: set[str] = set()
        self._lock = threading.Lock()

    def throttled(self, region: str) -> None:
        with self._lock:
            self._burst.add(region)

    def __call__(self, region: str) -> None:
        now = self._run.clock().timestamp()
        with self._lock:
            slot = max(now, self._next.get(region, now)) if region in self._burst else now
            self._next[region] = slot + self._seconds
        if slot > now:
            self._run.sleep(slot - now)


def _left(run: Invocation, reserve: float) -> float | None:
    return None if run.remaining is None else run.remaining() - reserve


def within(seconds: float | None, step: Callable[[], T], what: str) -> T:
    """``step()``, or :class:`OutOfTime` once ``seconds`` have passed (None: no limit, run inline)."""
    if seconds is None:
        return step()
    if seconds <= 0:
        raise OutOfTime(f"{what}: no time left before the function's timeout")
    box: list[tuple[bool, object]] = []

    def work() -> None:
        try:
            box.append((True, step()))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which decides
            box.append((False, exc))

    worker = threading.Thread(target=work, name=f"guardian: {what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if not box:
        raise OutOfTime(f"{what} did not finish within {seconds:.1f} s")
    done, value = box[0]
    if not done:
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[return-value]
