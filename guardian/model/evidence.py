"""The evidence record kept for every alerted event, and where it lives in the Object Lock bucket.

Pure. One JSON object per event and outcome, keyed by the CloudTrail ``eventID`` so a duplicate delivery finds
the record already there (``IfNoneMatch="*"``) and, seeing its alert tag, sends no second alert.
Schema ``cloudtrail-guardian/evidence`` (:data:`EVIDENCE_SCHEMA_VERSION`); docs/evidence.md documents it.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

from guardian import __version__
from guardian.model.refs import detected_by
from guardian.model.results import Result, actor_fields, iso, trail_fields, watch_fields
from guardian.model.rules import Outcome
from guardian.model.safe import digest, json_bytes, shorten

if TYPE_CHECKING:
    from datetime import datetime

EVIDENCE_SCHEMA = "cloudtrail-guardian/evidence"
# 1.1 detected_by, changes; 1.2 original_event_omitted, truncated; 1.3 purpose; 1.4 watch_rule; 1.5 signed at
# write (a signature sidecar beside the record: guardian.model.record_signatures)
EVIDENCE_SCHEMA_VERSION = "1.5"
# Set on the evidence record once its alert is published. A tag is mutable metadata, not part of the locked
# record: it only tells a duplicate delivery that the alert went out, without a second object per event.
ALERT_TAG = "guardian-alert-message-id"
CENTRAL_TAG = "guardian-central-message-id"  # the copy published to the security account's topic, if configured
PREFIX = "evidence"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
# The event is kept whole up to this size (an EventBridge event is at most 256 KB; a direct invocation can be
# larger); beyond it, its SHA-256 and size. Copied fields elsewhere in the record are cut at FIELD_LIMIT characters.
EVENT_LIMIT = 1024 * 1024
FIELD_LIMIT = 16 * 1024


def evidence_key(result: Result) -> str:
    """``evidence/YYYY/MM/DD/<eventID>[.heal-failed].json``: deterministic, so every delivery finds the same key.

    A failed heal gets its own key: when a retry later succeeds, both the failure and the recovery are kept.
    """
    e = result.event
    day = e.event_time.strftime("%Y/%m/%d") if e.event_time else "undated"
    event_id = e.event_id if _SAFE_ID.match(e.event_id) else digest(e.event_id)
    suffix = {Outcome.HEAL_FAILED: ".heal-failed", Outcome.REPEATED_TAMPERING: ".repeated-tampering"}.get(
        result.outcome, ""
    )
    return f"{PREFIX}/{day}/{event_id}{suffix}.json"


def evidence_record(
    result: Result,
    *,
    written_at: datetime,
    topic_arn: str,
    alert_subject: str,
    function_name: str | None,
    request_id: str | None,
    boto3_version: str,
    botocore_version: str,
) -> dict[str, Any]:
    """The record of one alerted event. Copied fields are cut at :data:`FIELD_LIMIT` (``truncated`` lists them);
    the original event is kept whole beside them."""
    e, d, v = result.event, result.decision, result.verification
    fields = {
        "schema": EVIDENCE_SCHEMA,
        "schema_version": EVIDENCE_SCHEMA_VERSION,
        "record_id": e.event_id,
        "record_id_derived": e.event_id_derived,
        "written_at": iso(written_at),
        "outcome": result.outcome.value,
        "severity": result.severity.value,
        "decision": {"action": d.action.value, "reason": d.reason},
        "who": actor_fields(e),
        "where": {"region": e.aws_region, "account": e.account_id},
        "when": {"event_time": e.event_time_raw},
        "what": {"event_source": e.event_source, "event_name": e.event_name, "error_code": e.error_code},
        "trail": trail_fields(d.trail),
        "actions": [
            {
                "action": a.action,
                "region": a.region,
                "target": a.target,
                "started_at": iso(a.started_at),
                "finished_at": iso(a.finished_at),
                "result": a.result,
                "error_code": a.error_code,
                "error_message": a.error_message,
            }
            for a in result.actions
        ],
        "verification": None
        if v is None
        else {
            "is_logging": v.is_logging,
            "checks": v.checks,
            "checked_at": iso(v.checked_at),
            "start_logging_time": iso(v.start_logging_time),
            "stop_logging_time": iso(v.stop_logging_time),
            "latest_delivery_time": iso(v.latest_delivery_time),
            "latest_delivery_error": v.latest_delivery_error,
            "error_code": v.error_code,
            "error_message": v.error_message,
        },
        "blind_window_seconds": result.blind_window_seconds,
        "detected_by": detected_by(e.event_source, result.decision.watch_rule),
        "watch_rule": watch_fields(result),
        "purpose": result.purpose.to_json() if result.purpose else None,
        "changes": [c.to_json() for c in result.changes],
        "diagnosis": result.diagnosis,
        "planned": [c.to_json() for c in result.planned] or None,  # observe mode: the calls not made
        "alert": {"topic_arn": topic_arn, "subject": alert_subject},
        "input_problems": list(e.problems),
        "guardian": {
            "version": __version__,
            "boto3_version": boto3_version,
            "botocore_version": botocore_version,
            "python": "{}.{}.{}".format(*sys.version_info[:3]),
            "function": function_name,
            "request_id": request_id,
        },
    }
    shortened, cut_paths = shorten(fields, FIELD_LIMIT, 10_000)
    record: dict[str, Any] = shortened
    record["truncated"] = cut_paths or None
    record.update(_original(e.raw))
    return record


def _original(raw: Any) -> dict[str, Any]:
    """The event exactly as received, or, beyond :data:`EVENT_LIMIT`, its digest and size."""
    body = json_bytes(raw)
    if len(body) <= EVENT_LIMIT:
        return {"original_event": raw, "original_event_omitted": None}
    import hashlib  # noqa: PLC0415 - rare path

    return {
        "original_event": None,
        "original_event_omitted": {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()},
    }
