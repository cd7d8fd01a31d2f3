"""A Security Hub finding's count that holds under a burst, for the event path's copies
(:mod:`guardian.flows.security_hub`) and the sweep's (:mod:`guardian.flows.sweep_findings`) alike.

The count is kept in the activity table (UpdateItem ADD, the item as it was before returned: atomic), not read from
Security Hub and written back: two copies of one finding at once each get their own number. Security Hub is asked
(GetFindings, 3 requests a second) only where the table cannot answer: a finding's first copy (the count and CreatedAt
it had before the table counted it, unless a finding's ``guardian/counted_in`` says it is the table's, and its
Workflow), a copy whose Workflow differs from the one the guardian last set (a finding someone SUPPRESSED stays so),
and the first copy of each :data:`WINDOW`: anyone with ``securityhub:*`` may mark a finding RESOLVED, and the table
alone would keep it so through every repeat; read once a window, it is set NEW (or NOTIFIED) again, SUPPRESSED left.
Once a window, not every repeat: a burst of one finding costs one GetFindings, so reads stay within Security Hub's 3
a second unless 180 findings repeat in one minute; a blind BatchUpdateFindings each repeat would undo SUPPRESSED.
Which copy is the window's first is in the count's own UpdateItem (the window set, the one before returned): no
extra request. After its import a copy reads the count again: where another copy counted past it (and may have
imported first), it imports the higher count, at most :data:`RECHECKS` times, so the finding ends at the table's
count whichever import lands last. Without the table (an adapter without it, or ``GUARDIAN_ACTIVITY_TABLE`` unset),
or for a finding whose item is not the guardian's (UnreadableCount: logged, that finding alone): GetFindings, then
import (not atomic), as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from guardian.ports.finding_counts import Before, FindingCounts, UnreadableCount

LOG = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
Each = Callable[[Callable[[T], R], Iterable[T]], Iterable[R]]
MARK = "guardian/counted_in"  # ProductFields: the count is the activity table's (never carried on a second time)
KEEP = timedelta(days=90)  # Security Hub deletes a finding 90 days after its last update: the item goes with it
RECHECKS = 3
WINDOW = 60  # seconds: a finding's Workflow read at most once a window on its repeats


@dataclass(frozen=True)
class Tally:
    """A finding's count with this copy's reports added, its CreatedAt, and what Security Hub said of it (where
    asked: only then is its Workflow known)."""

    count: int
    created_at: str | None
    existing: dict[str, Any] | None = None
    asked: bool = False
    noted: str | None = None  # the Workflow the table had for it
    kept: bool = False  # counted in the activity table

    def marked(self, document: dict[str, Any]) -> dict[str, Any]:
        """The finding to import, saying where its count is kept (so no copy takes it for one from before)."""
        fields = {**document.get("ProductFields", {}), MARK: "activity table"} if self.kept else None
        return {**document, "ProductFields": fields} if fields is not None else document

    def workflow_to_set(self, wanted: str) -> bool:
        """Whether BatchUpdateFindings must set ``wanted`` (never over SUPPRESSED, never when not asked)."""
        return self.asked and self.status not in (wanted, "SUPPRESSED")

    @property
    def status(self) -> str:
        return str(((self.existing or {}).get("Workflow") or {}).get("Status") or "NEW")


def counter(aws: object, table: str | None) -> FindingCounts | None:
    """The activity table's counts, where there is one and the adapter reaches it."""
    return aws if table and isinstance(aws, FindingCounts) else None


def tally(
    wanted: Mapping[str, tuple[int, str]],
    aws: object,
    table: str | None,
    now: datetime,
    *,
    read: Callable[[list[str]], dict[str, dict[str, Any]]],
    each: Each[str, Any] = map,
) -> dict[str, Tally]:
    """Each finding's count (``wanted``: its Id -> the times reported now, the Workflow wanted); ``read``: GetFindings
    of those Ids (raises SecurityHubOff where it is not enabled); ``each``: map, or a pool's."""
    from guardian.model.asff import count_of  # noqa: PLC0415
    from guardian.model.results import iso  # noqa: PLC0415

    stamp, counts = iso(now) or "", counter(aws, table)
    if counts is None or table is None:
        return _asked(wanted, read(list(wanted)))
    ttl, ids, window = int((now + KEEP).timestamp()), list(wanted), int(now.timestamp()) // WINDOW

    def add(i: str) -> Before | None:
        try:
            return counts.add_finding_count(table, i, wanted[i][0], created_at=stamp, expires_at=ttl, window=window)
        except UnreadableCount as exc:
            _unread(i, exc)
            return None

    before = dict(zip(ids, each(add, ids), strict=True))
    counted = {i: b for i, b in before.items() if b is not None and _created_ok(b.created_at)}
    lost = [i for i in ids if i not in counted]
    ask = lost + [i for i, b in counted.items() if b.first or _due(b, wanted[i][1], window)]
    found = read(ask) if ask else {}
    tallies = _asked({i: wanted[i] for i in lost}, found)
    for i, b in counted.items():
        existing = found.get(i)
        count, created = b.count + wanted[i][0], b.created_at or stamp
        fields = (existing or {}).get("ProductFields") or {}
        if b.first and existing is not None and MARK not in fields:  # counted before the table was: it goes on
            known, created = count_of(existing), _created(existing) or created
            try:
                seeded = counts.add_finding_count(
                    table, i, known, created_at=created, expires_at=ttl, replace_created=True
                )
            except UnreadableCount as exc:
                _unread(i, exc)
                tallies |= _asked({i: wanted[i]}, found)
                continue
            count = seeded.count + known
        tallies[i] = Tally(count, created, existing, asked=i in ask, noted=b.workflow, kept=True)
    return {i: tallies[i] for i in ids}


def _due(before: Before, wanted: str, window: int) -> bool:
    """Whether a repeat reads the Workflow: the guardian last set another (not SUPPRESSED, found so), or it is the
    first copy of this window."""
    return before.workflow not in (wanted, "SUPPRESSED") or before.window != window


def _asked(wanted: Mapping[str, tuple[int, str]], found: Mapping[str, dict[str, Any]]) -> dict[str, Tally]:
    """Counted from Security Hub (GetFindings, then import): without the table, or its item not the guardian's."""
    from guardian.model.asff import count_of  # noqa: PLC0415

    return {
        i: Tally(count_of(found.get(i)) + times, _created(found.get(i)), found.get(i), asked=True)
        for i, (times, _) in wanted.items()
    }


def _unread(finding_id: str, exc: Exception) -> None:
    LOG.warning(
        "a finding's count in the activity table is not the guardian's: counted from Security Hub",
        extra={"finding_id": finding_id, "error": str(exc)[:300]},
    )


def _created_ok(created: str | None) -> bool:
    """A CreatedAt the guardian wrote (an ISO 8601 time), or none: another makes Security Hub refuse the finding."""
    try:
        return created is None or datetime.fromisoformat(created.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def behind(aws: object, table: str | None, imported: Mapping[str, int], each: Each[str, Any] = map) -> dict[str, int]:
    """The findings whose count another copy raised past the one just imported: Id -> the count now."""
    counts = counter(aws, table)
    if counts is None or table is None or not imported:
        return {}
    ids = list(imported)
    now = dict(zip(ids, each(lambda i: counts.finding_count(table, i), ids), strict=True))
    return {i: c for i, c in now.items() if c > imported[i]}


def note_workflows(aws: object, table: str | None, done: Mapping[str, str], tallies: Mapping[str, Tally]) -> None:
    """Keep the Workflow each finding now has (set, or found SUPPRESSED), where the table's differs."""
    counts = counter(aws, table)
    if counts is None or table is None:
        return
    for i, wanted in done.items():
        t = tallies[i]
        if not t.kept:
            continue
        status = "SUPPRESSED" if t.asked and t.status == "SUPPRESSED" else wanted
        if t.noted != status:
            counts.note_finding_workflow(table, i, status)


def _created(existing: dict[str, Any] | None) -> str | None:
    return str((existing or {}).get("CreatedAt") or "") or None
