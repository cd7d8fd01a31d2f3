"""Blind windows read again once Event history holds all of them: the sweep's share of
:mod:`guardian.flows.blind_window`.

Event history shows a call within about 15 minutes of it (:data:`~guardian.model.blind_window.HISTORY_LAG`), and a
heal's read comes seconds after the window closed, so its last calls may be missing (``settled`` false). Each sweep
takes the windows not yet settled (of Event history's 90 days, at most :data:`PER_SWEEP`), reads each again
once the lag has passed, and keeps the result beside the first read (``<key>.settled.json``, signed, written once).
A read again in which a Region failed (a throttled LookupEvents) is not kept: the next sweep reads it again.
A first read whose signature does not verify is not the guardian's: it is skipped, and logged.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from guardian.flows.blind_window import Ports as KeepPorts
from guardian.flows.blind_window import keep
from guardian.flows.history import read_window
from guardian.model import signing
from guardian.model.blind_window import (
    HISTORY_LAG,
    PREFIX,
    SETTLED_SUFFIX,
    Read,
    settled_key,
    window_document,
)

if TYPE_CHECKING:
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
PER_SWEEP = 5  # windows read again per sweep at most (each up to 20 s of LookupEvents): the rest wait for the next
# Event history holds 90 days: a window not settled (a Region failed) is read again by each sweep while it is younger.
# Listed by month (4 ListObjectsV2 calls a sweep, 1,000 keys each); a window once settled is skipped unread.
HISTORY_DAYS = timedelta(days=90)


class Ports(KeepPorts, Protocol):
    def list_keys(self, prefix: str) -> list[str]: ...
    def object_bytes(self, key: str, version: str | None = None) -> bytes: ...


def settle_windows(aws: Ports, run: Invocation) -> list[str]:
    """Read again the recent windows whose lag has passed; the keys written."""
    now = run.clock()
    oldest = f"{PREFIX}{now - HISTORY_DAYS:%Y/%m/%d}/"
    months = dict.fromkeys(f"{PREFIX}{now - timedelta(days=n):%Y/%m}/" for n in range(HISTORY_DAYS.days, -1, -1))
    keys = [k for month in months for k in aws.list_keys(month) if k >= oldest]
    settled = {k for k in keys if k.endswith(SETTLED_SUFFIX)}
    todo = [k for k in keys if not k.endswith(SETTLED_SUFFIX) and settled_key(k) not in settled]
    written: list[str] = []
    reads = 0
    for key in reversed(todo):  # the newest first: a window that keeps failing never holds back a new one
        if reads >= PER_SWEEP:
            break
        first = _verified(aws, key)
        if first is None or first.get("settled") is not False:
            continue
        window = first.get("window") or {}
        start, end = _time(window.get("start")), _time(window.get("end"))
        if start is None or end is None or now < end + HISTORY_LAG:
            continue
        regions = [str(r) for r in first.get("regions") or []]
        reads += 1
        read: Read = read_window(aws, regions, start, end, run)
        document = window_document(
            evidence_key=str(first.get("evidence_key") or ""),
            trail_arn=first.get("trail"),
            regions=regions,
            start=start,
            end=end,
            read=read,
            read_at=run.clock(),
        )
        document["first_read"] = {"key": key, "total": first.get("total"), "read_at": first.get("read_at")}
        if read.failed:  # kept once only: a read a Region failed is not kept, the next sweep reads it again
            LOG.warning("blind window not read again: a Region failed", extra={"key": key, "failed": list(read.failed)})
            continue
        if keep(aws, settled_key(key), document):
            written.append(settled_key(key))
            LOG.info("blind window read again, settled", extra={"blind_window_key": key, "total": len(read.events)})
    return written


def _verified(aws: Ports, key: str) -> dict[str, Any] | None:
    """The first read, if the guardian signed it; None (logged) if anyone else could have written it."""
    try:
        document = json.loads(aws.object_bytes(key))
        signed_by = aws.signing_key or ""
        signing.verify(key, document, aws.public_key(), key_id=signed_by)
    except (ValueError, signing.SignatureError) as exc:
        LOG.error("blind window object not signed by the guardian: skipped", extra={"key": key, "error": str(exc)})
        return None
    return document if isinstance(document, dict) else None


def _time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
