"""CloudTrail's own record of the account's calls (LookupEvents, its Event history): one call by id, or every
management call of a time window, page by page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from datetime import datetime


class History(Protocol):
    """CloudTrail's own record of a call (LookupEvents), which no one in the account can forge."""

    def lookup_event(self, region: str, event_id: str) -> dict[str, Any] | None: ...


class HistoryPages(Protocol):
    """Event history, a page at a time: a window's management events in one Region (LookupEvents' shape: EventId,
    EventName, EventTime, Username, CloudTrailEvent), optionally only those with one attribute (``("EventSource",
    "cloudtrail.amazonaws.com")``); and the next page's token, None at the end. ``quick``: one attempt with short
    timeouts, for a read an alert waits on."""

    def lookup_page(
        self,
        region: str,
        start: datetime,
        end: datetime,
        token: str | None,
        *,
        only: tuple[str, str] | None = None,
        quick: bool = False,
    ) -> tuple[list[dict[str, Any]], str | None]: ...
