"""An event's time, checked: a time CloudTrail could not have written is an input problem, named, and the event is
treated as undated (no blind window, no window for repeated tampering computed from it), never a crash.

Pure.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:  # only the type checker needs the shape; a Protocol class costs cold start
    from typing import Protocol

    class Timed(Protocol):
        """What the check reads of an event (:class:`guardian.model.events.CloudTrailEvent`, a frozen dataclass)."""

        @property
        def event_time(self) -> datetime | None: ...
        @property
        def event_time_raw(self) -> str | None: ...
        @property
        def problems(self) -> tuple[str, ...]: ...


E = TypeVar("E", bound="Timed")

EARLIEST = datetime(2013, 11, 13, tzinfo=UTC)  # CloudTrail's launch: no record is older
FUTURE_SKEW = timedelta(minutes=15)  # a record stamped later than now by more than this is impossible


def parse_time(value: str | None, prefix: str, problems: list[str]) -> datetime | None:
    """The event's time, or None (the raw text is kept) when it is not a time CloudTrail could have written."""
    if not value:
        return None
    shown = value if len(value) <= 64 else value[:64] + "…"
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"{prefix}eventTime {shown!r} is not an ISO 8601 time: the event is treated as undated")
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if parsed < EARLIEST:
        problems.append(
            f"{prefix}eventTime {shown!r} is before CloudTrail existed (2013-11-13): the event is treated as undated"
        )
        return None
    return parsed


def check_time(event: E, now: datetime) -> E:
    """The event, undated with a problem named if its time is later than ``now`` allows (clock skew aside): a time
    from the future would make every window and key computed from it wrong."""
    if event.event_time is None or event.event_time <= now + FUTURE_SKEW:
        return event
    raw = event.event_time_raw or ""
    problem = f"eventTime {raw[:64]!r} is in the future: the event is treated as undated"
    undated: E = replace(cast("Any", event), event_time=None, problems=(*event.problems, problem))
    return undated
