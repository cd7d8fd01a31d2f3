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

import ipaddress
import json
from typing import TYPE_CHECKING, Any

from guardian import __version__
from guardian.model.asff import TYPES, finding_id, finding_title, generator_id, resource
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
# What OCSF 1.1.0 requires of a Detection Finding with the cloud profile ("") and of each object, at the paths the
# builder uses them: tests/unit/test_ocsf_schema.py checks this table against the published schema (an extract of
# it, tests/fixtures/ocsf/), and :func:`problems` applies it at run time, where the schema is not at hand.
REQUIRED: dict[str, tuple[str, ...]] = {
    "": ("activity_id", "category_uid", "class_uid", "cloud", "finding_info", "metadata", "severity_id", "time",
         "type_uid"),
    "metadata": ("product", "version"),
    "metadata.product": ("vendor_name",),
    "finding_info": ("title", "uid"),
    "finding_info.analytic": ("type_id",),
    "cloud": ("provider",),
    "evidences.api": ("operation",),
    "evidences.api.request": ("uid",),
}  # fmt: skip
# CloudTrail's userIdentity.type as OCSF's user.type_id (0 Unknown, 1 User, 2 Admin, 3 System; 99 Other keeps
# CloudTrail's word in user.type, as OCSF asks of an id's caption).
USER_TYPES = {"IAMUser": (1, "User"), "Root": (2, "Admin"), "AWSService": (3, "System")}
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
    e, v = result.event, result.verification
    generator = generator_id(result)
    where = resource(result, account)
    region = str(where.get("Region") or e.aws_region or home_region)
    activity = activity_id(result.outcome)
    severity_id, severity = SEVERITY_IDS[result.severity]
    status_id, status = STATUS_RESOLVED if result.outcome is Outcome.HEALED else STATUS_NEW
    seen = millis(e.event_time) if e.event_time else millis(now)
    title = finding_title(result)
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
    type_id, kind = USER_TYPES.get(a.type, (99, cut(a.type, 64))) if a.type else (0, "Unknown")
    user: dict[str, Any] = {"name": cut(a.display, 256), "type_id": type_id, "type": kind}
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
        evidence["src_endpoint"] = _endpoint(e.source_ip)
    return evidence


def _endpoint(source: str) -> dict[str, str]:
    """CloudTrail's sourceIPAddress is an address, or the name of the AWS service that made the call
    (``cloudformation.amazonaws.com``, ``AWS Internal``): OCSF's ``ip`` takes only an address (ip_t)."""
    try:
        return {"ip": str(ipaddress.ip_address(source))}
    except ValueError:
        return {"svc_name": cut(source, 256)}


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
    """What keeps the object from being a valid Detection Finding: a required attribute (:data:`REQUIRED`) missing,
    a wrong class, an activity or severity outside their enums, type_uid not class_uid * 100 + activity_id, a time
    that is not milliseconds, or not JSON."""
    found = [
        f"missing {path}{'.' if path else ''}{name}"
        for path, names in REQUIRED.items()
        for part in _parts(document, path)
        for name in names
        if part.get(name) in (None, "", [], {})
    ]
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
    try:
        json.dumps(document)
    except (TypeError, ValueError):
        found.append("not JSON")
    return found


def _parts(document: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """The objects at ``path`` (through arrays); none when an enclosing object is absent (its own absence, if
    required, is named at its parent)."""
    parts = [document]
    for name in path.split(".") if path else ():
        found: list[dict[str, Any]] = []
        for part in parts:
            value = part.get(name)
            found += [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
            found += [value] if isinstance(value, dict) else []
        parts = found
    return parts
