"""``--processes``: an org read split across processes, for its CPU. Reading a target costs ~0.1 s of CPU (botocore's
clients, signing, parsing) and threads share one core, so 800 targets take minutes in one process whatever the
number of threads. Each process reads its share of the accounts (every target of an account in the same process: its
role is still assumed once) with its own thread pool; the parent counts the targets as they are read (one progress
line) and merges the results, in order. Spawned processes: nothing of the parent's state (sessions, locks) is shared.
"""

from __future__ import annotations

import os
import pickle
import queue
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from guardian_console.org import OrgRun, Progress, Target, Unread, over_org

if TYPE_CHECKING:
    from collections.abc import Callable

    from guardian_console.sessions import Account

T = TypeVar("T")
START = "spawn"  # how processes start (the benchmark forks, so that its replayed network reaches them)
AUTO_ABOVE = 100  # targets: above, one process per CPU by default
_DONE: Any = None  # in a child: the queue it reports each target read to


def count(asked: int | None, targets: int) -> int:
    """``--processes`` as given, else one per CPU above :data:`AUTO_ABOVE` targets, else one."""
    if asked is not None:
        return max(1, asked)
    return (os.cpu_count() or 1) if targets > AUTO_ABOVE else 1


def picklable(read: Callable[[Account], Any]) -> bool:
    """Whether ``read`` can go to another process (a module's function or a dataclass of one, not a lambda)."""
    try:
        pickle.dumps(read)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class Share:
    """One process's part: its accounts' targets and how to read them."""

    targets: list[Target]
    read: Callable[[Account], Any]
    role: str
    profile: str | None
    region: str | None
    workers: int
    stack: str


def over_processes(
    targets: list[Target],
    read: Callable[[Account], T],
    *,
    processes: int,
    progress: TextIO | None,
    **share: Any,
) -> OrgRun[T]:
    """``over_org`` of each share in its own process; ``share``: :class:`Share`'s other fields."""
    import multiprocessing  # noqa: PLC0415 - only when processes are asked for

    accounts = sorted({t.account for t in targets})
    parts = [set(accounts[n::processes]) for n in range(processes)]
    shares = [Share([t for t in targets if t.account in p], read, **share) for p in parts if p]
    context = multiprocessing.get_context(START)
    done: Any = context.Queue()
    left = {a: sum(1 for t in targets if t.account == a) for a in accounts}
    counter = Progress(progress, len(accounts))
    with ProcessPoolExecutor(len(shares), mp_context=context, initializer=_child, initargs=(done,)) as pool:
        futures = [pool.submit(_read_share, s) for s in shares]
        while not all(f.done() for f in futures):
            _drain(done, counter, left, timeout=0.2)
        _drain(done, counter, left, timeout=0)
        runs = [_result(f, s) for f, s in zip(futures, shares, strict=True)]
    results = sorted((r for run in runs for r in run.results), key=lambda r: (r[0].account, r[0].region))
    unread = sorted((u for run in runs for u in run.unread), key=lambda u: (u.account, u.region))
    counter.read, counter.bad = len(accounts), {u.account for u in unread}  # a child's last counts may lag its result
    counter.show(end="\n")
    return OrgRun(results, unread)


def _result(future: Future[OrgRun[T]], share: Share) -> OrgRun[T]:
    """A share's results; if its process itself failed (killed, out of memory), each of its targets unread, named."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a process's end is its accounts' Unread, never the whole run's
        why = f"its process failed: {type(exc).__name__}: {exc}"
        return OrgRun([], [Unread(t.account, t.region, why) for t in share.targets])


def _drain(done: Any, counter: Progress, left: dict[str, int], *, timeout: float) -> None:
    try:
        account, failed = done.get(timeout=timeout) if timeout else done.get_nowait()
        while True:
            counter.done(account, left, failed=failed)
            account, failed = done.get_nowait()
    except queue.Empty:
        return


def _child(done: Any) -> None:
    global _DONE  # noqa: PLW0603 - the child's one queue, set once as it starts
    _DONE = done


def _read_share(share: Share) -> OrgRun[Any]:
    import boto3  # noqa: PLC0415 - the console's own import, never the Lambda's

    base = boto3.session.Session(profile_name=share.profile, region_name=share.region)
    return over_org(
        share.targets,
        share.read,
        role=share.role,
        base_session=base,
        workers=share.workers,
        stack=share.stack,
        on_done=lambda account, failed: _DONE.put((account, failed)),
    )
