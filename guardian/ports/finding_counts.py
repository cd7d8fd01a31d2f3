"""A Security Hub finding's count, kept in the guardian's activity table (:mod:`guardian.flows.finding_counts`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Before:
    """The finding's item as it was before this count was added: None fields where there was no item."""

    count: int = 0
    created_at: str | None = None
    workflow: str | None = None  # the Workflow status the guardian last set or found
    window: int | None = None  # the window in which a copy last counted it (a Workflow read is due once a window)

    @property
    def first(self) -> bool:
        """This count made the item: only this copy may carry on a count Security Hub had before the table."""
        return self.count == 0


class UnreadableCount(Exception):
    """The finding's item is not one the guardian wrote (without the SCP anyone may write the activity table): a count
    not a whole number, an attribute of another type. That finding is counted from Security Hub instead."""


@runtime_checkable
class FindingCounts(Protocol):
    """UpdateItem ADD of a finding's count (the item as it was before: atomic, so two copies at once each get their
    own number), and a consistent read of the count. Runtime-checkable: an adapter without them has none."""

    def add_finding_count(
        self,
        table: str,
        finding_id: str,
        times: int,
        *,
        created_at: str,
        expires_at: int,
        replace_created: bool = False,
        window: int | None = None,
    ) -> Before: ...

    def note_finding_workflow(self, table: str, finding_id: str, workflow: str) -> None: ...
    def finding_count(self, table: str, finding_id: str) -> int: ...
