"""An evidence record as stored (its object's version, digest and Object Lock) and its one-line summary. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from guardian.model.record_summary import parse_time


@dataclass(frozen=True)
class Stored:
    """One evidence object version: what S3 says of it, and its summary (from the record itself, or from the signed
    digest that lists it, whichever the console read)."""

    key: str
    account: str
    version_id: str | None
    sha256: str
    lock_mode: str | None
    retain_until: datetime | None
    summary: dict[str, Any]

    @property
    def time(self) -> datetime | None:
        return parse_time(self.summary.get("time"))


@dataclass(frozen=True)
class Unread:
    key: str
    account: str
    problem: str


def day_prefixes(start: date, end: date) -> list[str]:
    """The evidence prefixes of a period: one per day (a record's key carries its event's day), and undated."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [f"evidence/{d:%Y/%m/%d}/" for d in days] + ["evidence/undated/"]


def within(moment: datetime | None, start: date, end: date) -> bool:
    return moment is not None and start <= moment.date() <= end


def newest_first(records: list[Stored]) -> list[Stored]:
    return sorted(records, key=lambda s: s.time or datetime.min.replace(tzinfo=UTC), reverse=True)


def get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None
