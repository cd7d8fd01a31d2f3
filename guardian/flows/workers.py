"""The sweep's one bounded pool of threads, so its requests in flight stay bounded however many Regions it covers.

The sweep waits on the network, not the CPU, so it overlaps requests: each Region's listing reads at once, then its
trails, then every bucket, log group and key. Every one of those units of work runs on this pool (``WORKERS``
threads), so 17 Regions of 20 trails send at most ``WORKERS`` requests at a time, not hundreds; botocore's
connection pool is sized to match (``max_pool_connections`` in :mod:`guardian.adapters.clients`). A Region has at
most ``PER_REGION`` units in flight: CloudTrail's read quota is about 10 requests per second per Region.

A unit of work waits for no unit submitted after it (that could exhaust the pool): the pool starts units in the
order they were submitted, so one submitted earlier is running or done. Whatever waits longer (a Region's sweep,
the resources' phase) runs on a thread of its own and hands units to the pool.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

T = TypeVar("T")
R = TypeVar("R")

WORKERS = 32
PER_REGION = 10


class Workers:
    def __init__(self, size: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="guardian-sweep")

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._pool.shutdown(wait=True)

    def map(self, work: Callable[[T], R], items: Iterable[T], *, limit: int = WORKERS) -> list[R]:
        """``work`` over ``items`` on the pool, at most ``limit`` at once; the results in order. Every item is
        worked even when one fails (one trail's error must not leave the others unchecked); then the first
        failure is raised."""
        pending = deque(items)
        running: set[Future[R]] = set()
        futures: list[Future[R]] = []
        while pending or running:
            while pending and len(running) < limit:
                future = self._pool.submit(work, pending.popleft())
                running.add(future)
                futures.append(future)
            running = wait(running, return_when=FIRST_COMPLETED).not_done
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]  # type: ignore[misc]
        return [f.result() for f in futures]

    def submit(self, call: Callable[[], R]) -> Future[R]:
        """One unit of work, started now: for reads that go out together and are waited for one by one."""
        return self._pool.submit(call)
