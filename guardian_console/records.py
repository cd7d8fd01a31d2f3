"""An evidence record as stored (its object's version, digest and Object Lock) and its time. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any


@dataclass(frozen=True)
class Stored:
    """One evidence object as stored: its record and what S3 says of it."""

    key: str
    account: str
    version_id: str | None
    sha256: str
    size: int
    lock_mode: str | None
    retain_until: datetime | None
    last_modified: datetime | None
    record: dict[str, Any]


@dataclass(frozen=True)
class Unread:
    key: str
    account: str
    problem: str


def when(record: dict[str, Any]) -> datetime | None:
    """The record's time: the event's, else when it was written."""
    for text in (get(record.get("when"), "event_time"), record.get("written_at")):
        moment = parse_time(text)
        if moment is not None:
            return moment
    return None


def within(record: dict[str, Any], start: date, end: date) -> bool:
    moment = when(record)
    if moment is None:
        return False
    return start <= moment.date() <= end


def parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None
