"""Time for the alert, kept whatever else hangs: a step before the alert gets only the time the alert can spare.

A Lambda invocation ends at its timeout, alert or not, and botocore's own bounds are too wide to rely on (six
attempts of up to 10 s each, with backoff, for one call). So a step that could hang (the heal, the evidence write,
the steps after the alert) runs in a worker thread the caller waits for at most its budget. A step that runs out of
time raises :class:`OutOfTime`; the step itself goes on in its thread, which is harmless: every heal call is
idempotent and is verified again on the next delivery or sweep.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

    from guardian.ports.invocation import Invocation

T = TypeVar("T")

# Seconds kept back from the invocation's remaining time (Lambda's timeout is 60 s; see docs/operations.md).
ALERT_RESERVE = 15.0  # for publishing the alert (and its central copy) after everything else
EVIDENCE_SECONDS = 10.0  # at most, for writing the evidence record before the alert
MARKER_SECONDS = 3.0  # at most, for reading a self-test's marker before the alert (a StopLogging of the sentinel)
AFTER_ALERT_MARGIN = 2.0  # the steps after the alert stop this long before the timeout


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
