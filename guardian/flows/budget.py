"""Time for the alert, kept whatever else hangs: a step before the alert gets only the time the alert can spare.

A Lambda invocation ends at its timeout, alert or not, and botocore's own bounds are too wide to rely on (six
attempts of up to 10 s each, with backoff, for one call). So a step that could hang (the heal, the evidence write,
the steps after the alert) runs in a worker thread the caller waits for at most its budget. A step that runs out of
time raises :class:`OutOfTime`; the step itself goes on in its thread, which is harmless: every heal call is
idempotent and is verified again on the next delivery or sweep.
"""

from __future__ import annotations

import copy
import random
import threading
from typing import TYPE_CHECKING, TypeVar

from guardian.ports.errors import AWS_ERRORS, is_throttling

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from guardian.ports.invocation import Invocation

    # The write quota's turns, as the heal flow hands them to quota_write: (the write, after a throttle, writes left)
    Turns = Callable[[Callable[[], object], bool, int], bool | None]

T = TypeVar("T")

# Seconds kept back from the invocation's remaining time (Lambda's timeout is 60 s; see docs/operations.md).
ALERT_RESERVE = 15.0  # for publishing the alert (and its central copy) after everything else
EVIDENCE_SECONDS = 10.0  # at most, for writing the evidence record before the alert
MARKER_SECONDS = 3.0  # at most, for reading a self-test's marker before the alert (a StopLogging of the sentinel)
AFTER_ALERT_MARGIN = 2.0  # the steps after the alert stop this long before the timeout
# CloudTrail's write quota (1 request a second per account and Region): a throttled write waits, full jitter, a
# random time in [0, min(QUOTA_CAP, QUOTA_BASE * 2**retry)] s, at most QUOTA_ATTEMPTS attempts in all (botocore
# retries none of them: guardian.adapters.clients), and never a wait that would end past the heal's budget.
# In Lambda the heal's budget (35 s of the 60 s timeout) binds before 20 attempts do. The cap keeps the contenders
# even: a heal that has waited long retries as often as a new one (with superseded heals out, one per trail), so no
# trail starves behind newer stops. simulation.burst (a) at 0.2 scale, p99 blind window: cap 8 s 33 to 36 s, cap
# 4 s 26 to 31 s; a cap of 2 s no better, and more throttled writes and status reads (reads: about 10 a second).
QUOTA_ATTEMPTS = 20
QUOTA_BASE = 1.0
QUOTA_CAP = 4.0
QUOTA_MARGIN = 1.0  # kept after a wait for the next attempt to be answered
SWEEP_WRITE_SECONDS = 1.5  # the sweep writes at most once in this many seconds per Region: the quota is the events'
FUNCTION_TIMEOUT = 60.0  # the remediation function's timeout (infra/remediation.py; a test holds them equal)
HEAL_SECONDS = FUNCTION_TIMEOUT - ALERT_RESERVE - EVIDENCE_SECONDS  # the event path's heal budget: 35 s
# A trail stopped less than this long ago is the event path's: its StopLogging's invocation (and a later stop's) is
# still healing it, so the sweep makes no write for it yet: it looks again once the stop is this old (sweep_left).
EVENT_PATH_SECONDS = 2 * HEAL_SECONDS
jitter: Callable[[], float] = random.random  # the wait's random factor (tests set it)
QUOTA_STEPS = frozenset({"StartLogging", "CreateTrail", "UpdateTrail", "PutEventSelectors", "PutInsightSelectors"})


class OutOfTime(TimeoutError):
    """A step did not finish within its budget."""


class LeftToEventPath(RuntimeError):
    """The sweep yields a write to the event path: a burst is on in the Region (see :class:`Pacer`)."""


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
    turns: Turns | None = None,
) -> bool:
    """Make a CloudTrail write under the write quota: again after a throttle, with full jitter, within the heal's
    budget. Before waiting, ``settled()`` (a read: its own, larger quota) may say the write is needed no more (another
    invocation healed the trail): then True, "already done". False once the write went through; the last throttle,
    or any other error, is raised. ``throttled()`` is told of each throttle (the sweep's pacer). ``turns(write, after
    a throttle, writes left)``: the write made in its turn (:mod:`guardian.flows.write_turns`), answering as above, or
    None: jitter, as without; asked first (no throttle yet), None at once unless turns were taken lately. At most
    :data:`QUOTA_ATTEMPTS` writes in all, in turn or not."""
    made: list[BaseException | None] = []

    def counted() -> None:
        made.append(None)
        try:
            call()
        except AWS_ERRORS as exc:
            made[-1] = exc
            raise

    if turns is not None and (done := turns(counted, False, QUOTA_ATTEMPTS)) is not None:
        return done
    while len(made) < QUOTA_ATTEMPTS:
        try:
            counted()
        except AWS_ERRORS as exc:
            if not is_throttling(exc):
                raise
            if throttled is not None:
                throttled()
            if settled is not None and _quietly(settled):
                return True
            if turns is not None and (done := turns(counted, True, QUOTA_ATTEMPTS - len(made))) is not None:
                return done
            wait = jitter() * min(QUOTA_CAP, QUOTA_BASE * 2 ** (len(made) - 1))
            left = heal_budget(run)
            if len(made) >= QUOTA_ATTEMPTS or (left is not None and wait + QUOTA_MARGIN > left):
                raise made[-1] or exc from None
            run.sleep(wait)
        else:
            return False
    last = made[-1]
    assert last is not None, "the last write went through: returned above"
    raise last


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
                pace(region, name)
            told = (lambda: pace.throttled(region, name)) if pace is not None else None
            quota_write(call, run, settled=logging if name == "StartLogging" else None, throttled=told)
            if pace is not None:
                pace.wrote(region)

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
    writes unpaced (a few writes: one heal per weakened trail).

    Where the sweep's first write in a Region is throttled, the event path is mid-burst there: the sweep *yields*,
    its restores of settings (UpdateTrail, PutEventSelectors, ...) raise :class:`LeftToEventPath` instead of waiting.
    Their events may have been lost, so the sweep alerts what it deferred, and the next sweep restores it
    :meth:`insisting` (paced, never yielded). A StartLogging is still made, paced: the sweep restarts only trails
    stopped :data:`EVENT_PATH_SECONDS` ago or more, which the event path has given up on."""

    def __init__(self, run: Invocation, seconds: float | None = None) -> None:
        self._run, self._seconds = run, SWEEP_WRITE_SECONDS if seconds is None else seconds
        self._next: dict[str, float] = {}
        self._burst: set[str] = set()
        self._wrote: set[str] = set()
        self._yields: set[str] = set()
        self._lock = threading.Lock()
        self._insist = False

    def insisting(self) -> Pacer:
        """This pacer for a restore deferred once already: it waits its turn, it never yields again."""
        other = copy.copy(self)  # shares the slots, the Regions in a burst and the lock
        other._insist = True
        return other

    def throttled(self, region: str, name: str = "") -> None:
        """A write was throttled: pace the Region from now on; yield it if no write of this sweep went through."""
        with self._lock:
            self._burst.add(region)
            if region not in self._wrote:
                self._yields.add(region)
        self._yield(region, name)

    def wrote(self, region: str) -> None:
        with self._lock:
            self._wrote.add(region)

    def yielded(self, region: str) -> bool:
        return region in self._yields

    def __call__(self, region: str, name: str = "") -> None:
        self._yield(region, name)
        now = self._run.clock().timestamp()
        with self._lock:
            slot = max(now, self._next.get(region, now)) if region in self._burst else now
            self._next[region] = slot + self._seconds
        if slot > now:
            self._run.sleep(slot - now)

    def _yield(self, region: str, name: str) -> None:
        if not self._insist and name != "StartLogging" and region in self._yields:
            raise LeftToEventPath(f"{name or 'a write'} in {region}: the event path is mid-burst there")


def event_path_owns(stopped_at: datetime | None, now: datetime) -> bool:
    """Whether a trail stopped at ``stopped_at`` (CloudTrail's StopLoggingTime) is still the event path's to heal:
    stopped less than :data:`EVENT_PATH_SECONDS` ago, so that StopLogging's invocation (or a later stop's) is on it."""
    return stopped_at is not None and (now - stopped_at).total_seconds() < EVENT_PATH_SECONDS


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
