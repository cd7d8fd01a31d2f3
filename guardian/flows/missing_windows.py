"""A healed stop or delete whose blind window was never kept: alerted HIGH by the sweep, once.

The window is read after the alert (:mod:`guardian.flows.blind_window`); if that read fails outright (KMS Sign
throttled, the invocation's time up) or its object is deleted, nothing else says so, and the report would show no
window. So each sweep looks at the evidence records written between :data:`AFTER` and :data:`AFTER` +
:data:`BAND` ago: in requests, one ListObjectVersions of today's and yesterday's ``evidence/`` and one ListObjectsV2 of
the same days' ``blind-windows/`` (paged by 1,000), then one GetObject for each record with no window object (at most
:data:`READS`), to see whether it is a healed stop or delete (:func:`~guardian.model.blind_window.wants_window`).
The alert's id comes from the record's key, its day from the record's: written once, it is never sent again, and a
record whose alert is in the listing is not read again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from guardian.flows.deliver import deliver
from guardian.model.blind_window import PREFIX, wants_window, window_key
from guardian.model.decide import Decision
from guardian.model.findings import found_event
from guardian.model.results import Result, iso
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
AFTER = timedelta(minutes=30)  # a heal's read ends within Lambda's 15 minutes; the sweep's at once: twice that
BAND = timedelta(hours=2)  # records this much older than AFTER are looked at too (sweeps missed, a slow sweep)
READS = 20  # records read per sweep at most (each with no window object yet, in the band)
ID_PREFIX = "sweep-blind-window-missing-"
_NOT_HEALS = (".heal-failed.json", ".repeated-tampering.json")  # guardian.model.evidence.evidence_key's suffixes


def alert_missing(aws: Everything, config: Config, run: Invocation) -> list[str]:
    """Alert each healed stop or delete record of the band with no blind-window object; the records alerted."""
    now = run.clock()
    days = [f"{now - timedelta(days=n):%Y/%m/%d}/" for n in (1, 0)]
    versions = [v for day in days for v in aws.object_versions(f"evidence/{day}") if v.get("IsLatest", True)]
    windows = {k for day in days for k in aws.list_keys(PREFIX + day)}
    present = {str(v["Key"]) for v in versions}
    alerted: list[str] = []
    reads = 0
    for version in sorted(versions, key=lambda v: v["LastModified"]):
        key, written = str(version["Key"]), version["LastModified"]
        if not _candidate(key) or not now - AFTER - BAND <= written <= now - AFTER or window_key(key) in windows:
            continue
        if _alert_key(key, written) in present:
            continue  # alerted already
        if reads >= READS:
            LOG.warning("blind windows not checked this sweep: too many records", extra={"next": key})
            break
        reads += 1
        try:
            record = json.loads(aws.object_bytes(key))
        except ValueError:
            continue  # not the guardian's record: the unsigned-record check names it
        if isinstance(record, dict) and wants_window(record):
            _alert(aws, config, run, key=key, written=written, record=record)
            alerted.append(key)
    return alerted


def _candidate(key: str) -> bool:
    """A record of an event (not a sidecar, a failed heal's or a repeat's record, nor this check's own alert)."""
    name = key.rsplit("/", 1)[-1]
    return name.endswith(".json") and not name.startswith(ID_PREFIX) and not name.endswith(_NOT_HEALS)


def _event_id(key: str) -> str:
    return ID_PREFIX + hashlib.sha256(key.encode("utf-8", "backslashreplace")).hexdigest()[:32]


def _alert_key(key: str, written: datetime) -> str:
    return f"evidence/{written:%Y/%m/%d}/{_event_id(key)}.json"  # as guardian.model.evidence.evidence_key names it


def _alert(
    aws: Everything, config: Config, run: Invocation, *, key: str, written: datetime, record: dict[str, Any]
) -> None:
    trail: dict[str, Any] = record["trail"] if isinstance(record.get("trail"), dict) else {}
    what: dict[str, Any] = record["what"] if isinstance(record.get("what"), dict) else {}
    event = found_event(
        _event_id(key),
        account_id=config.account_id,
        region=config.topic_region,
        detected_at=written,  # the record's own time: the alert's record key is the same at every sweep
        raw={"evidence_record": key, "blind_window": window_key(key), "found_at": iso(run.clock())},
    )
    why = (
        f"blind window not recovered: the healed {what.get('event_name')} of "
        f"{trail.get('arn') or trail.get('name')} (record {key}, written {iso(written)}) has no events object "
        f"{window_key(key)} after {int(AFTER.total_seconds() // 60)} minutes: its read from Event history failed or "
        "the object was deleted. Read the window from CloudTrail's Event history (90 days) while it is there."
    )
    decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.HIGH, why, SWEEP_RULE)
    deliver(Result(event, decision, Outcome.ALERTED, Severity.HIGH), aws, config, run)
    LOG.error("blind window not recovered", extra={"evidence_key": key})
