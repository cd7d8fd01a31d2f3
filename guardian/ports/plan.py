"""Observe mode's seam: the writes an undo would have made, recorded in place of being made.

The adapters' clients hand every write to :meth:`CallPlan.intercept` (see :mod:`guardian.adapters.observe`); the
flows run unchanged, so the plan is exactly what heal would do, up to the first call that depends on a change
observe did not make. Calls are kept per thread: the sweep checks trails on a pool, each unit in one thread, and
each delivery takes the calls its own thread recorded (:func:`guardian.flows.observe.observed`).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from guardian.model.mode import PlannedCall


class CallPlan:
    """Where observe's recorded calls go; :meth:`healing` lets this thread's writes through (a trail tagged
    ``heal``, the guardian's own resources)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _calls(self) -> list[PlannedCall]:
        calls: list[PlannedCall] | None = getattr(self._local, "calls", None)
        if calls is None:
            calls = self._local.calls = []
        return calls

    @property
    def recording(self) -> bool:
        """Whether this thread's writes are recorded (not made)."""
        return not getattr(self._local, "healing", False)

    @property
    def pending(self) -> bool:
        """Whether this thread recorded writes not yet taken (an undo is under way, observed)."""
        return self.recording and bool(getattr(self._local, "calls", None))

    def intercept(self, call: PlannedCall) -> bool:
        """Record ``call`` if this thread observes: True if it was recorded (and must not be made)."""
        if not self.recording:
            return False
        self._calls().append(call)
        return True

    def take(self) -> tuple[PlannedCall, ...]:
        """This thread's recorded calls since the last take, and forget them."""
        calls = tuple(self._calls())
        self._local.calls = []
        return calls

    @contextmanager
    def healing(self) -> Iterator[None]:
        """Within: this thread's writes are made, as in heal."""
        before = getattr(self._local, "healing", False)
        self._local.healing = True
        try:
            yield
        finally:
            self._local.healing = before
