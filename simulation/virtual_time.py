"""Virtual time for the burst benchmark: a minute of attack and its heals simulated in seconds of wall time.

A discrete-event clock driving real threads, one at a time. Each thread taking part (an invocation of a function,
a worker thread the function starts) runs until it waits on the clock (:meth:`VirtualClock.sleep`, a join, the
latency added before a request); then the clock moves to the earliest wake-up that is due and resumes that one
thread. So the threads interleave as they would in time, share moto's state without races (only one runs at a
time), and a 60 s budget or a 2 minute retry delay costs no wall time.

:class:`VirtualThreading` stands in for the ``threading`` module where the guardian starts a worker thread and
joins it with a timeout (``guardian.flows.budget.within``): the worker takes part in virtual time and the join's
timeout is virtual. Everything else it delegates to ``threading``.

A real lock must never be held across a wait on the clock: the next thread the clock resumes and that asks for the
lock blocks in the operating system while the clock counts it as running, and nothing moves again (the guardian's
cache of its signing key's public half is read from KMS under a lock: with alert groups on, the benchmark's bursts
(b) and (c) stalled at 0.25 s). :class:`VirtualLock` is a lock whose waiters wait on the clock, so the holder gets to
run and release it; the harness swaps the guardian's module-level locks for these (``simulation.burst``). A stall
left anyway fails :meth:`VirtualClock.run` (``stall_seconds``) with every thread's stack, never a silent hang.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any


class _Wake:
    """One wake-up: a thread's (``event``) or a callback's; ``done`` once fired (a later duplicate is skipped)."""

    __slots__ = ("callback", "done", "event")

    def __init__(self, callback: Callable[[], None] | None = None) -> None:
        self.event = threading.Event()
        self.callback = callback
        self.done = False


class VirtualClock:
    def __init__(self, start: datetime) -> None:
        self.start = start
        self._now = 0.0
        self._lock = threading.RLock()
        self._heap: list[tuple[float, int, _Wake]] = []
        self._order = itertools.count()
        self._running = 0  # threads taking part that are not waiting on the clock: 0 or 1
        self._idle = threading.Event()
        self.errors: list[BaseException] = []  # raised in a thread or a callback: the caller re-raises the first
        self._local = threading.local()
        self.foreign = 0  # waits asked for by a thread not taking part (a harness defect if any: reported)
        self._moves = 0  # wake-ups fired and threads ended: the clock's progress, for the stall check
        self._threads: set[int] = set()  # the idents of the threads taking part, alive

    # The time, as seconds since the start and as the datetime the guardian reads.
    def seconds(self) -> float:
        return self._now

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self._now)

    def participating(self) -> bool:
        """Whether the calling thread takes part in virtual time (may wait on the clock)."""
        return bool(getattr(self._local, "taking_part", False))

    def at(self, when: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` at ``when`` (seconds since the start), in whichever thread moves the clock there. It
        must not wait on the clock: it records, queues or starts threads."""
        with self._lock:
            heapq.heappush(self._heap, (max(when, self._now), next(self._order), _Wake(callback)))

    def spawn(self, target: Callable[[], None]) -> None:
        """Start ``target`` in a thread taking part in virtual time, at the current time, with the caller's
        context variables (the function's execution environment)."""
        context = contextvars.copy_context()
        wake = _Wake()
        with self._lock:
            heapq.heappush(self._heap, (self._now, next(self._order), wake))

        def body() -> None:
            wake.event.wait()
            self._local.taking_part = True
            self._threads.add(threading.get_ident())
            try:
                context.run(target)
            except BaseException as exc:  # noqa: BLE001 - reported by run(), never lost
                self.errors.append(exc)
            finally:
                self._threads.discard(threading.get_ident())
                with self._lock:
                    self._running -= 1
                    self._moves += 1
                    self._drive()

        threading.Thread(target=body, daemon=True, name="virtual-time").start()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of virtual time (from a thread taking part; from any other, counted in ``foreign``
        and not waited: it would break the one-thread-at-a-time rule)."""
        if not self.participating():
            self.foreign += 1
            return
        wake = _Wake()
        with self._lock:
            heapq.heappush(self._heap, (self._now + max(0.0, seconds), next(self._order), wake))
        self._wait(wake)

    def wait_for(self, wake: _Wake, timeout: float | None) -> None:
        """Wait until ``wake`` is fired by :meth:`fire`, or ``timeout`` seconds have passed."""
        if not self.participating():
            self.foreign += 1
            return
        if timeout is not None:
            with self._lock:
                heapq.heappush(self._heap, (self._now + max(0.0, timeout), next(self._order), wake))
        self._wait(wake)

    def fire(self, wake: _Wake) -> None:
        """Wake ``wake``'s thread now (after the caller waits or ends: one thread runs at a time)."""
        with self._lock:
            heapq.heappush(self._heap, (self._now, next(self._order), wake))

    def _wait(self, wake: _Wake) -> None:
        with self._lock:
            self._running -= 1
            self._drive()
        wake.event.wait()

    def _drive(self) -> None:
        """With no thread running: move to the earliest due wake-up; run callbacks, resume one thread."""
        while self._running == 0:
            if not self._heap:
                self._idle.set()
                return
            when, _, wake = heapq.heappop(self._heap)
            if wake.done:
                continue
            wake.done = True
            self._moves += 1
            self._now = max(self._now, when)
            if wake.callback is None:
                self._running += 1
                wake.event.set()
                return
            try:
                wake.callback()
            except BaseException as exc:  # noqa: BLE001 - reported by run()
                self.errors.append(exc)

    def run(self, stall_seconds: float | None = None) -> None:
        """From the main thread (not taking part): run everything scheduled until nothing is left to do. With
        ``stall_seconds``: raise :class:`Stalled` once the clock has not moved for that long in wall time (a thread
        counted as running is blocked on something other than the clock: a harness defect, never a figure)."""
        self._idle.clear()
        with self._lock:
            self._drive()
        if stall_seconds is None:
            self._idle.wait()
        else:
            seen = -1
            while not self._idle.wait(stall_seconds):
                with self._lock:
                    moved, seen = self._moves != seen, self._moves
                if not moved:
                    raise Stalled(self._stall_report(stall_seconds))
        if self.errors:
            raise self.errors[0]

    def _stall_report(self, seconds: float) -> str:
        frames = sys._current_frames()  # the only way to see where the threads are
        stacks = [
            f"thread {ident}:\n" + "".join(traceback.format_stack(frames[ident]))
            for ident in sorted(self._threads)
            if ident in frames
        ]
        return (
            f"the virtual clock has not moved for {seconds:g} s of wall time at {self._now:.3f} s "
            f"({self._running} thread(s) counted as running, {len(self._heap)} wake-ups due): a thread taking part "
            "is blocked on something other than the clock (a real lock held across a wait?)\n" + "\n".join(stacks)
        )


class Stalled(RuntimeError):
    """The virtual clock stopped moving: a harness defect (see the module's docstring)."""


class VirtualLock:
    """``threading.Lock`` for threads taking part in virtual time: one that finds it held waits on the clock (so
    the holder, asleep on the clock, runs and releases it), and is resumed by the release. A thread not taking
    part blocks as on a real lock."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._real = threading.Lock()
        self._waiters: deque[_Wake] = deque()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._clock.participating():
            return self._real.acquire(blocking, timeout)
        while not self._real.acquire(blocking=False):
            if not blocking:
                return False
            wake = new_wake()
            self._waiters.append(wake)
            self._clock.wait_for(wake, None if timeout < 0 else timeout)
            if timeout >= 0 and not self._real.acquire(blocking=False):
                return False  # waited its timeout (or woken and beaten to it: as a real lock may be)
            if timeout >= 0:
                return True
        return True

    def release(self) -> None:
        self._real.release()
        while self._waiters:
            wake = self._waiters.popleft()
            if not wake.done:  # one whose timeout fired is gone
                self._clock.fire(wake)
                break

    def locked(self) -> bool:
        return self._real.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


def new_wake() -> _Wake:
    return _Wake()


class VirtualThread:
    """``threading.Thread`` as the guardian uses it (target, args, name, daemon; start; join with a timeout), in
    virtual time."""

    def __init__(  # noqa: PLR0917 - threading.Thread's signature
        self,
        clock: VirtualClock,
        group: None = None,
        target: Callable[..., Any] | None = None,
        name: str | None = None,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        daemon: bool | None = None,
    ) -> None:
        self._clock, self._target, self._args, self._kwargs = clock, target, args, kwargs or {}
        self.name, self.daemon = name or "virtual", daemon
        self._finished = False
        self._joiners: list[_Wake] = []

    def start(self) -> None:
        self._clock.spawn(self._run)

    def _run(self) -> None:
        try:
            if self._target is not None:
                self._target(*self._args, **self._kwargs)
        finally:
            self._finished = True
            for joiner in self._joiners:
                self._clock.fire(joiner)

    def join(self, timeout: float | None = None) -> None:
        if self._finished:
            return
        wake = new_wake()
        self._joiners.append(wake)
        self._clock.wait_for(wake, timeout)

    def is_alive(self) -> bool:
        return not self._finished


class VirtualThreading:
    """The ``threading`` module, with :class:`VirtualThread` for ``Thread``."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock

    def Thread(self, *args: Any, **kwargs: Any) -> VirtualThread:  # noqa: N802 - the name threading uses
        return VirtualThread(self._clock, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(threading, name)
