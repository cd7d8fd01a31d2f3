"""What the account did while a trail was not logging, as CloudTrail's Event history (LookupEvents) holds it.

Pure. Event history keeps 90 days of management events whether or not a trail logs, so after a stopped or deleted
trail is healed the guardian reads the blind window back from it: the insider's own calls while the trail was off
are exactly what an investigator asks for first. The events come from CloudTrail, which no one in the account can
write. They are kept in a signed object beside the evidence record (``blind-windows/`` + the record's path after
``evidence/``): the record is written once, under Object Lock, before the alert, and the read comes after the
alert, so it cannot be in the record itself. docs/evidence.md documents the object.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from guardian.model.results import iso

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime

BLIND_WINDOW_SCHEMA = "cloudtrail-guardian/blind-window"
BLIND_WINDOW_SCHEMA_VERSION = "1.0"
PREFIX = "blind-windows/"
MAX_EVENTS = 2_000  # events kept per window, over every Region read; beyond it the object says `truncated`
MAX_SECONDS = 20.0  # time spent reading per window (the pacing included); beyond it, `truncated` too
PAGE_SIZE = 50  # LookupEvents returns at most 50 events a page
REQUESTS_PER_SECOND = 2.0  # LookupEvents quota per account and Region (CloudTrail User Guide, "Quotas")
NOT_RECORDED = "not recorded"
# Event history shows a call within about 15 minutes of it (guardian.model.approvals.WAIT): a window read sooner
# after its end may lack its last calls, and the object says so (``settled`` false).
HISTORY_LAG = timedelta(minutes=15)
SETTLED_SUFFIX = ".settled.json"


@dataclass(frozen=True)
class Read:
    """What LookupEvents gave for one window: the events (LookupEvents' shape, each with its Region), the requests
    made, and why reading stopped early (``count``, ``time``), None if the window was read to its end."""

    events: tuple[Mapping[str, Any], ...]
    requests: int
    truncated: str | None = None
    failed: tuple[str, ...] = ()  # "<region>: <error>" for each Region that could not be read to its end


def window_key(evidence_key: str) -> str:
    """The events object's key: the record's path, under ``blind-windows/`` in place of ``evidence/``."""
    return PREFIX + evidence_key.removeprefix("evidence/")


def settled_key(key: str) -> str:
    """Where the sweep keeps a window read again once Event history holds all of it: beside the first read."""
    return key.removesuffix(".json") + SETTLED_SUFFIX


def record_of(event: Mapping[str, Any]) -> dict[str, Any]:
    """The CloudTrail record inside a LookupEvents event (its ``CloudTrailEvent`` string), or {} if unreadable."""
    try:
        record = json.loads(str(event.get("CloudTrailEvent") or "null"))
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def principal_of(event: Mapping[str, Any]) -> str:
    """Who made the call: the record's ``userIdentity.arn``, else its invoking service, else LookupEvents'
    ``Username``."""
    identity = record_of(event).get("userIdentity")
    if isinstance(identity, dict):
        for field in ("arn", "invokedBy", "principalId"):
            if isinstance(identity.get(field), str) and identity[field]:
                return str(identity[field])
    return str(event.get("Username") or "unknown")


def counts(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """How many calls each principal made of each event name, the most first (then by principal and name)."""
    counted = Counter((principal_of(e), str(e.get("EventName") or "")) for e in events)
    ordered = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    return [{"principal": p, "event_name": n, "count": c} for (p, n), c in ordered]


def summary_line(events: Sequence[Mapping[str, Any]], truncated: str | None, failed: Sequence[str] = ()) -> str:
    """``37 calls by 3 principals`` (``at least`` when the read was cut or a Region failed, each such Region named:
    ``(us-east-1 not read: ThrottlingException: ...)``): a throttled read is never "0 calls"."""
    principals = len({principal_of(e) for e in events})
    more = "at least " if truncated or failed else ""
    line = f"{more}{len(events)} calls by {principals} principal{'s' if principals != 1 else ''}"
    if failed:
        line += " (" + "; ".join(" not read: ".join(f.split(": ", 1)) for f in failed) + ")"
    return line


def window_document(
    *,
    evidence_key: str,
    trail_arn: str | None,
    regions: Sequence[str],
    start: datetime,
    end: datetime,
    read: Read,
    read_at: datetime,
) -> dict[str, Any]:
    """The events object (signed by the caller): the window, the counts, and every event as CloudTrail holds it."""
    events = [record_of(e) or _bare(e) for e in read.events]
    return {
        "schema": BLIND_WINDOW_SCHEMA,
        "schema_version": BLIND_WINDOW_SCHEMA_VERSION,
        "evidence_key": evidence_key,
        "trail": trail_arn,
        "regions": list(regions),
        "window": {"start": iso(start), "end": iso(end)},
        "read_at": iso(read_at),
        # false: read before Event history could hold every call, or a Region not read (the sweep reads it again)
        "settled": read_at >= end + HISTORY_LAG and not read.failed,
        "requests": read.requests,
        "bounds": {"max_events": MAX_EVENTS, "max_seconds": MAX_SECONDS},
        "truncated": read.truncated,
        "failed": list(read.failed),
        "summary": summary_line(read.events, read.truncated, read.failed),
        "total": len(read.events),
        "principals": len({principal_of(e) for e in read.events}),
        "counts": counts(read.events),
        "events": events,
    }


def match(
    events: Iterable[Mapping[str, Any]], names: Iterable[str], about: Iterable[str], *, before: datetime
) -> Mapping[str, Any] | None:
    """The newest successful call of one of ``names`` whose request names one of ``about`` (a name or an ARN), not
    after ``before``: the call that made a change the sweep found."""
    wanted, targets = set(names), set(about)

    def named(event: Mapping[str, Any]) -> bool:
        record = record_of(event)
        request = record.get("requestParameters")
        values = request.values() if isinstance(request, dict) else ()
        return not record.get("errorCode") and any(isinstance(v, str) and v in targets for v in values)

    found = [e for e in events if e.get("EventName") in wanted and _time(e) <= before.timestamp() and named(e)]
    return max(found, key=_time, default=None)


def _time(event: Mapping[str, Any]) -> float:
    """The event's time as a POSIX timestamp (LookupEvents gives a datetime), 0 if it has none."""
    stamp = getattr(event.get("EventTime"), "timestamp", None)
    return float(stamp()) if callable(stamp) else 0.0


def _bare(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event whose record could not be read: what LookupEvents says of it."""
    at = event.get("EventTime")
    return {
        "eventID": event.get("EventId"),
        "eventName": event.get("EventName"),
        "eventSource": event.get("EventSource"),
        "eventTime": iso(at) if hasattr(at, "isoformat") else at,
        "username": event.get("Username"),
    }


WINDOW_EVENTS = ("StopLogging", "DeleteTrail")  # a trail off: the event path reads its window once it is healed


def wants_window(record: Mapping[str, Any]) -> bool:
    """Whether the guardian reads a blind window after this evidence record: a healed stop or delete of a trail (the
    event path's, or the sweep's: a trail found deleted or not logging), tampering only (no approval, no self-test)."""
    if record.get("outcome") != "healed" or record.get("purpose"):
        return False
    what = record.get("what")
    name = what.get("event_name") if isinstance(what, dict) else None
    if name in WINDOW_EVENTS:
        return True
    original = record.get("original_event")
    if name != "DriftDetected" or not isinstance(original, dict):
        return False
    changes = original.get("changes")
    stopped = isinstance(changes, list) and any(isinstance(c, dict) and c.get("field") == "logging" for c in changes)
    return original.get("deleted") is True or stopped
