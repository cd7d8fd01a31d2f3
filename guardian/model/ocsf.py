"""An alert as an OCSF Detection Finding (class 2004, category 2 Findings, OCSF 1.1.0): a copy for Security Lake.

Pure. One JSON object per finding update, written by the guardian alone to its evidence bucket under
:data:`PREFIX`, partitioned as a Security Lake custom source is (``region=/accountId=/eventDay=``): Security Lake
takes only Parquet, which a stdlib-only function cannot write, so a team's own job converts the prefix into the
custom source's. ``finding_info.uid`` is the Security Hub finding's Id (:func:`guardian.model.asff.finding_id`), so
the two copies correlate. The guardian keeps no state for this copy: the activity follows the outcome (Close once
healed and verified, Update for repeated tampering, else Create). The ``security_control`` profile is not applied
(its ``action_id`` is Allowed or Denied at the time of the call; the guardian undoes a call already made).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from guardian import __version__
from guardian.model.asff import TYPES, finding_id, generator_id, resource
from guardian.model.rules import Outcome, Severity
from guardian.model.safe import cut, json_text, key_part

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.results import Result

OCSF_VERSION = "1.1.0"  # what Security Lake's custom sources take
CLASS_UID, CLASS_NAME = 2004, "Detection Finding"
CATEGORY_UID, CATEGORY_NAME = 2, "Findings"
ACTIVITIES = {1: "Create", 2: "Update", 3: "Close"}
SEVERITY_IDS = {  # OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical (6 Fatal unused)
    Severity.INFO: (1, "Informational"),
    Severity.LOW: (2, "Low"),
    Severity.MEDIUM: (3, "Medium"),
    Severity.HIGH: (4, "High"),
    Severity.CRITICAL: (5, "Critical"),
}
STATUS_NEW, STATUS_RESOLVED = (1, "New"), (4, "Resolved")
# Required by the class and its base event (OCSF 1.1.0: base_event, includes/classification, includes/occurrence,
# profiles/cloud, events/findings/finding); the objects' own required attributes are checked by :func:`problems`.
REQUIRED = (
    "activity_id",
    "category_uid",
    "class_uid",
    "type_uid",
    "time",
    "severity_id",
    "metadata",
    "finding_info",
    "cloud",
)
PREFIX = "ocsf/detection-finding/"
PRODUCT = {"name": "CloudTrail Guardian", "vendor_name": "cloudtrail-guardian", "version": __version__}
TEXT_MAX = 2048


def activity_id(outcome: Outcome) -> int:
    """Close (3) once healed and verified; Update (2) for repeated tampering (its finding exists); else Create (1)."""
    if outcome is Outcome.HEALED:
        return 3
    return 2 if outcome is Outcome.REPEATED_TAMPERING else 1


def millis(moment: datetime) -> int:
    """OCSF's timestamp_t: milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


def build_detection_finding(
    result: Result,
    *,
    account: str,
    home_region: str,
    now: datetime,
    evidence_key: str,
    evidence_sha256: str | None,
    summary: str,
) -> dict[str, Any]:
    """The OCSF object for a published (or held) alert."""
    e, d, v = result.event, result.decision, result.verification
    generator = generator_id(result)
    where = resource(result, account)
    region = str(where.get("Region") or e.aws_region or home_region)
    activity = activity_id(result.outcome)
    severity_id, severity = SEVERITY_IDS[result.severity]
    status_id, status = STATUS_RESOLVED if result.outcome is Outcome.HEALED else STATUS_NEW
    seen = millis(e.event_time) if e.event_time else millis(now)
    title = d.rule.what if d.rule is not None else (d.reason or e.event_name or "guardian alert")
    unmapped: dict[str, Any] = {
        "outcome": result.outcome.value,
        "severity": result.severity.value,
        "event_id": e.event_id,
        "evidence_key": evidence_key,
        "evidence_sha256": evidence_sha256 or "not written",
    }
    if v is not None:
        unmapped["verified_logging"] = v.is_logging
        unmapped["verification_checks"] = v.checks
    if result.diagnosis:
        unmapped["diagnosis"] = cut(result.diagnosis, TEXT_MAX)
    return {
        "activity_id": activity,
        "activity_name": ACTIVITIES[activity],
        "category_uid": CATEGORY_UID,
        "category_name": CATEGORY_NAME,
        "class_uid": CLASS_UID,
        "class_name": CLASS_NAME,
        "type_uid": CLASS_UID * 100 + activity,
        "type_name": f"{CLASS_NAME}: {ACTIVITIES[activity]}",
        "time": millis(now),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "message": cut(summary, TEXT_MAX),
        "metadata": {
            "version": OCSF_VERSION,
            "product": dict(PRODUCT),
            "profiles": ["cloud"],
            "uid": evidence_key,  # this update: one per alert
        },
        "finding_info": {
            "uid": finding_id(account, region, generator, str(where["Id"])),
            "title": cut(title[:1].upper() + title[1:], 256),
            "desc": cut(summary, TEXT_MAX),
            "types": list(TYPES),
            "created_time": seen,
            "first_seen_time": seen,
            "last_seen_time": seen,
            "analytic": {"type_id": 1, "type": "Rule", "uid": generator, "name": cut(generator, 256)},
        },
        "resources": [
            {
                "uid": cut(str(where["Id"]), TEXT_MAX),
                "type": where["Type"],
                "region": where.get("Region") or region,
                "cloud_partition": "aws",
            }
        ],
        "cloud": {
            "provider": "AWS",
            "account": {"uid": account, "type_id": 10, "type": "AWS Account"},
            "region": region,
        },
        "evidences": [_evidence(result)],
        "unmapped": unmapped,
    }


def _evidence(result: Result) -> dict[str, Any]:
    """The call the finding is about: who made it (``actor.user``) and what it was (``api``)."""
    e = result.event
    a = e.actor
    user: dict[str, Any] = {"name": cut(a.display, 256), "type": a.type or "Unknown"}
    if a.arn:
        user["uid"] = cut(a.arn, TEXT_MAX)
    if a.account_id:
        user["account"] = {"uid": a.account_id, "type_id": 10, "type": "AWS Account"}
    evidence: dict[str, Any] = {
        "actor": {"user": user},
        "api": {
            "operation": cut(e.event_name or "unknown", 256),
            "service": {"name": cut(e.event_source or "unknown", 256)},
            "request": {"uid": cut(e.event_id, 256)},
        },
    }
    if e.source_ip:
        evidence["src_endpoint"] = {"ip": cut(e.source_ip, 256)}
    return evidence


def object_key(document: dict[str, Any], evidence_key: str) -> str:
    """``ocsf/detection-finding/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/<evidence record's name>.json``: the
    custom source's partitions; one object per alert (its evidence record's name), so a retry writes none twice."""
    from datetime import UTC, datetime  # noqa: PLC0415

    day = datetime.fromtimestamp(document["time"] / 1000, UTC).strftime("%Y%m%d")
    cloud = document["cloud"]
    name = evidence_key.rsplit("/", 1)[-1]
    region, account = key_part(str(cloud["region"]), 32), key_part(str(cloud["account"]["uid"]), 32)
    return f"{PREFIX}region={region}/accountId={account}/eventDay={day}/{name}"


def body(document: dict[str, Any]) -> bytes:
    """One line of JSON (objects concatenated are NDJSON)."""
    return (json_text(document) + "\n").encode()


def problems(document: dict[str, Any]) -> list[str]:
    """What keeps the object from being a valid Detection Finding: a required attribute missing, a wrong class,
    type_uid not class_uid * 100 + activity_id, or an object without its own required attributes."""
    found = [f"missing {name}" for name in REQUIRED if document.get(name) in (None, "", [], {})]
    if document.get("class_uid") != CLASS_UID or document.get("category_uid") != CATEGORY_UID:
        found.append("not a Detection Finding (class 2004, category 2)")
    if document.get("activity_id") not in ACTIVITIES:
        found.append("activity_id is not 1, 2 or 3")
    elif document.get("type_uid") != CLASS_UID * 100 + int(document["activity_id"]):
        found.append("type_uid is not class_uid * 100 + activity_id")
    if document.get("severity_id") not in {s for s, _ in SEVERITY_IDS.values()}:
        found.append("severity_id out of range")
    if not isinstance(document.get("time"), int):
        found.append("time is not milliseconds since the epoch")
    metadata = document.get("metadata") or {}
    product = metadata.get("product") or {}
    if not metadata.get("version") or not product.get("vendor_name"):
        found.append("metadata needs version and product.vendor_name")
    info = document.get("finding_info") or {}
    if not info.get("uid") or not info.get("title"):
        found.append("finding_info needs uid and title")
    if "analytic" in info and "type_id" not in info["analytic"]:
        found.append("finding_info.analytic needs type_id")
    if not (document.get("cloud") or {}).get("provider"):
        found.append("cloud needs provider")
    if any("api" in e and not e["api"].get("operation") for e in document.get("evidences") or []):
        found.append("evidences.api needs operation")
    try:
        json.dumps(document)
    except (TypeError, ValueError):
        found.append("not JSON")
    return found
