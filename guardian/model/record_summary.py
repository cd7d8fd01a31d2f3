"""An evidence record in one line: what the auditor's report lists of it. Pure.

The sweep puts this summary in the digest chain (signed), so a report reads one digest per sweep instead of every
record; the console computes the same summary from a record it reads itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def summarize(record: dict[str, Any]) -> dict[str, Any]:
    trail, who, where = _dict(record.get("trail")), _dict(record.get("who")), _dict(record.get("where"))
    what, verification = _dict(record.get("what")), _dict(record.get("verification"))
    moment = record_time(record)
    actions = [str(a.get("action")) for a in record.get("actions") or [] if isinstance(a, dict)]
    return {
        "time": moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment else "",
        "account": str(where.get("account") or ""),
        "region": str(where.get("region") or ""),
        "trail": str(trail.get("name") or ""),
        "event": str(what.get("event_name") or ""),
        "severity": str(record.get("severity") or ""),
        "outcome": str(record.get("outcome") or ""),
        # A sweep's finding names the caller CloudTrail's Event history recorded, else "not recorded" (its raw's actor)
        "actor": str(who.get("arn") or _dict(_dict(record.get("original_event")).get("actor")).get("arn") or ""),
        "action": ", ".join(actions) or "none",
        "verified": _verified(record, verification),
        "blind_window_seconds": _number(record.get("blind_window_seconds")),
        "restore_seconds": _restore_seconds(record, verification),
        "detected_by": str(record.get("detected_by") or "event"),
        "purpose": str(_dict(record.get("purpose")).get("kind") or ""),  # "approval", "selftest": not tampering
        "guardian_version": str(_dict(record.get("guardian")).get("version") or ""),
    }


def record_time(record: dict[str, Any]) -> datetime | None:
    """The record's time: its event's, else when it was written."""
    for text in (_dict(record.get("when")).get("event_time"), record.get("written_at")):
        moment = parse_time(text)
        if moment is not None:
            return moment
    return None


def parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _verified(record: dict[str, Any], verification: dict[str, Any]) -> str:
    if not verification:
        return "not applicable" if not record.get("actions") else "not verified"
    if verification.get("is_logging") is False:
        return "not logging"
    return f"verified ({verification.get('checks', '?')} checks)"


def _restore_seconds(record: dict[str, Any], verification: dict[str, Any]) -> float | None:
    """From the event to the verified restore (CloudTrail's StartLoggingTime, else when it was seen restored)."""
    if record.get("outcome") != "healed":
        return None
    event_time = parse_time(_dict(record.get("when")).get("event_time"))
    restored = parse_time(verification.get("start_logging_time")) or parse_time(verification.get("checked_at"))
    if event_time is None or restored is None:
        return None
    return round(max(0.0, (restored - event_time).total_seconds()), 3)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
