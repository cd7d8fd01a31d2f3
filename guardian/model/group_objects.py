"""An alert group's window as objects in the evidence bucket, which only the guardian can write (the bucket policy
denies every other principal every object write; Object Lock keeps each object): so an insider who can write the
activity table can neither remove a held alert from its digest nor mark a digest sent.

Pure. Under ``groups/<hour the window started>/<group id>/<window start>/``:

- ``opening.json``: the window's opening (the same fields as the signed table item), written before that item;
- ``m/<member name>``: one empty-bodied object per held (or counted) event, its fields in its name
  (:meth:`guardian.model.grouping.Member.name`), so one ListObjectsV2 reads 1,000 members;
- ``claim-<n>``: the digest is being sent (write-once, ``IfNoneMatch``: one sender); ``failed-<n>``: that attempt
  was refused, and the next takes ``claim-<n+1>``. A window is flushed when it has more claims than failures.

Beside them, ``groups/open/<group id>/<slot>.json`` claims a window before its first alert goes out
(:func:`guardian.model.grouping.claim_key`): a flood's first alerts, none seeing a window yet, agree on one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from guardian.model.grouping import GROUPS_PREFIX, Member, member_from

if TYPE_CHECKING:
    from collections.abc import Iterable

OPENING = "opening.json"
MEMBERS = "m/"
CLAIM, FAILED = "claim-", "failed-"
LOOKBACK_HOURS = 3  # hours before the window length that the sweep lists (it runs far more often than that)


@dataclass(frozen=True)
class WindowObjects:
    """What one List of a window's prefix says of it."""

    prefix: str
    has_opening: bool
    members: tuple[Member, ...]
    claims: int
    failures: int

    @property
    def flushed(self) -> bool:
        return self.claims > self.failures

    @property
    def held(self) -> bool:
        """Whether any alert of the window waits for the digest (else each went out on its own)."""
        return any(not m.alerted for m in self.members)

    def attempt(self) -> tuple[str, str]:
        """The next attempt's claim, and the object that says it was refused."""
        return f"{self.prefix}{CLAIM}{self.claims}", f"{self.prefix}{FAILED}{self.claims}"


def windows_of(keys: Iterable[str]) -> dict[str, WindowObjects]:
    """The windows found among listed keys (anything else under ``groups/`` is ignored), by prefix."""
    found: dict[str, tuple[list[bool], list[Member], list[int]]] = {}
    for key in keys:
        parts = key.split("/", 4)
        if len(parts) != 5 or f"{parts[0]}/" != GROUPS_PREFIX:
            continue
        prefix, rest = "/".join(parts[:4]) + "/", parts[4]
        opening, members, counts = found.setdefault(prefix, ([False], [], [0, 0]))
        if rest == OPENING:
            opening[0] = True
        elif rest.startswith(MEMBERS):
            member = member_from(rest.removeprefix(MEMBERS))
            if member is not None:
                members.append(member)
        elif rest.startswith(CLAIM):
            counts[0] += 1
        elif rest.startswith(FAILED):
            counts[1] += 1
    return {p: WindowObjects(p, o[0], _once(m), c[0], c[1]) for p, (o, m, c) in found.items()}


def _once(members: list[Member]) -> tuple[Member, ...]:
    """One member per event: a redelivered event held after it was alerted is counted as alerted."""
    by_id: dict[str, Member] = {}
    for m in members:
        if m.event_id not in by_id or m.alerted:
            by_id[m.event_id] = m
    return tuple(by_id.values())


def hours_to_list(now: datetime, minutes: int) -> list[str]:
    """The hour prefixes that can hold a window closed since the last few sweeps: bounded, newest last."""
    first = now.astimezone(UTC) - timedelta(minutes=minutes, hours=LOOKBACK_HOURS)
    hour = first.replace(minute=0, second=0, microsecond=0)
    found = []
    while hour <= now:
        found.append(f"{GROUPS_PREFIX}{hour:%Y-%m-%dT%H}/")
        hour += timedelta(hours=1)
    return found
