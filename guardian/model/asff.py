"""An alert as an AWS Security Finding Format (ASFF) finding: an informational copy in the account's Security Hub.

Pure. One finding per (account, Region, generator, resource): its ``Id`` is derived from those four, so a repeat of
the same tampering updates one finding (its ``guardian/count`` and ``UpdatedAt``) instead of adding another. The
security team's alert path stays SNS: anyone with ``securityhub:*`` in the account can archive or suppress a
finding, so it is a copy for the tools that already read Security Hub, never the channel.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardian import __version__
from guardian.model.rules import Outcome, Severity, Subject

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.results import Result

SCHEMA_VERSION = "2018-10-08"
# The attributes every BatchImportFindings finding must carry (Security Hub User Guide, "ASFF required attributes").
REQUIRED = (
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "Types",
    "CreatedAt",
    "UpdatedAt",
    "Severity",
    "Title",
    "Description",
    "Resources",
)
GENERATOR_PREFIX = "cloudtrail-guardian/"
COUNT_FIELD = "guardian/count"
PRODUCT_FIELDS_MAX = 50  # entries; each key at most 128 characters, each value at most 2,048
FINDING_BYTES_MAX = 240 * 1024  # a finding larger than 240 KB is refused
TITLE_MAX, DESCRIPTION_MAX, ID_MAX = 256, 1024, 512
TYPES = ("Software and Configuration Checks/AWS Security Best Practices", "TTPs/Defense Evasion")
LABELS = {
    Severity.CRITICAL: "CRITICAL",
    Severity.HIGH: "HIGH",
    Severity.MEDIUM: "MEDIUM",
    Severity.LOW: "LOW",
    Severity.INFO: "INFORMATIONAL",
}
# Compliance.Status: PASSED once the guardian put it back, FAILED while the weakening stands.
PASSED_OUTCOMES = frozenset({Outcome.HEALED})
WARNING_OUTCOMES = frozenset({Outcome.EXEMPT, Outcome.OWN_ACTION})


@dataclass(frozen=True)
class Finding:
    """The finding to import, and the workflow status it should end in (set by BatchUpdateFindings: after a finding
    is created, BatchImportFindings cannot change its Workflow)."""

    document: dict[str, Any]
    workflow: str  # NEW, NOTIFIED or RESOLVED

    @property
    def id(self) -> str:
        return str(self.document["Id"])

    @property
    def product_arn(self) -> str:
        return str(self.document["ProductArn"])


def product_arn(region: str, account: str, partition: str = "aws") -> str:
    """The account's own ``default`` product: findings an account imports about itself."""
    return f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default"


def generator_id(result: Result) -> str:
    """``cloudtrail-guardian/<decision row>`` (the eventName the table keys it by) or ``/<watch rule id>``."""
    d = result.decision
    row = d.watch_rule or result.event.event_name or "unknown"
    return GENERATOR_PREFIX + row[:200]


def resource(result: Result, account: str) -> dict[str, Any]:
    """The trail, bucket, key or log group the alert is about; else the account."""
    e, d = result.event, result.decision
    region = e.aws_region or ""
    about = d.rule.about if d.rule is not None else None
    if about is Subject.KEY and e.key is not None:
        arn = f"arn:aws:kms:{e.key.region}:{e.key.account_id or account}:key/{e.key.key_id}"
        return {"Type": "AwsKmsKey", "Id": arn, "Region": e.key.region}
    if e.resource is not None and about in (Subject.BUCKET, Subject.LOG_GROUP, Subject.DATA_STORE):
        r = e.resource
        where, owner = r.region or region, r.account_id or account
        if r.kind == "bucket":
            return {"Type": "AwsS3Bucket", "Id": f"arn:aws:s3:::{r.name}", "Region": where}
        if r.kind == "log_group":
            return {"Type": "Other", "Id": f"arn:aws:logs:{where}:{owner}:log-group:{r.name}", "Region": where}
        return {"Type": "Other", "Id": r.name, "Region": where}
    if d.trail is not None and d.watch_rule is None:
        t = d.trail
        arn = t.arn or f"arn:aws:cloudtrail:{t.region}:{t.account_id or account}:trail/{t.name}"
        return {"Type": "AwsCloudTrailTrail", "Id": arn, "Region": t.region}
    return {"Type": "AwsAccount", "Id": f"AWS::::Account:{account}", "Region": region}


def finding_id(account: str, region: str, generator: str, resource_id: str) -> str:
    """Stable per (account, Region, generator, resource): repeats update one finding."""
    key = json.dumps([account, region, generator, resource_id]).encode("utf-8", "backslashreplace")
    return f"{GENERATOR_PREFIX}{account}/{region}/{hashlib.sha256(key).hexdigest()[:40]}"


def compliance(outcome: Outcome) -> str:
    if outcome in PASSED_OUTCOMES:
        return "PASSED"
    return "WARNING" if outcome in WARNING_OUTCOMES else "FAILED"


def workflow(outcome: Outcome) -> str:
    """RESOLVED once healed; NOTIFIED when the heal failed (the CRITICAL alert told the team); else NEW."""
    if outcome is Outcome.HEALED:
        return "RESOLVED"
    return "NOTIFIED" if outcome is Outcome.HEAL_FAILED else "NEW"


def build_finding(
    result: Result,
    *,
    account: str,
    home_region: str,
    now: datetime,
    count: int,
    evidence_key: str,
    evidence_sha256: str | None,
    summary: str,
    created_at: str | None = None,
    generator: str | None = None,
) -> Finding:
    """The finding for a published alert. ``count``: how often this finding has been reported, this time included;
    ``created_at``: the existing finding's, kept on an update. ``summary``: the alert's, for the description."""
    from guardian.model.results import iso  # noqa: PLC0415

    e, v = result.event, result.verification
    generator = generator or generator_id(result)  # the sweep's: its finding's row (guardian.flows.sweep_findings)
    where = resource(result, account)
    region = str(where.get("Region") or e.aws_region or home_region)
    stamp = iso(now) or ""
    fields: dict[str, str] = {
        "guardian/version": __version__,
        "guardian/outcome": result.outcome.value,
        "guardian/severity": result.severity.value,
        COUNT_FIELD: str(max(count, 1)),
        "guardian/event_id": e.event_id,
        "guardian/event_name": e.event_name or "unknown",
        "guardian/evidence_key": evidence_key,
        "guardian/evidence_sha256": evidence_sha256 or "not written",
        "guardian/actor": e.actor.display,
    }
    if v is not None:
        fields["guardian/verified_logging"] = str(v.is_logging).lower()
        fields["guardian/verification_checks"] = str(v.checks)
    if result.diagnosis:
        fields["guardian/diagnosis"] = result.diagnosis
    title = finding_title(result)
    severity = {"Label": LABELS[result.severity], "Original": result.severity.value}
    document: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(account, region, generator, str(where["Id"])),
        "ProductArn": product_arn(home_region, account),
        "GeneratorId": generator,
        "AwsAccountId": account,
        "Types": list(TYPES),
        "CreatedAt": created_at or stamp,
        "UpdatedAt": stamp,
        "Severity": severity,
        "FindingProviderFields": {"Severity": severity, "Types": list(TYPES)},
        "Title": _cut(title[:1].upper() + title[1:], TITLE_MAX),
        "Description": _cut(summary, DESCRIPTION_MAX),
        "Resources": [{**where, "Partition": "aws"}],
        "Compliance": {"Status": compliance(result.outcome)},
        "Workflow": {"Status": "NEW"},  # at creation; later states by BatchUpdateFindings
        "RecordState": "ACTIVE",
        "ProductFields": {k[:128]: _cut(val, 2048) for k, val in list(fields.items())[:PRODUCT_FIELDS_MAX]},
        "SourceUrl": f"https://console.aws.amazon.com/cloudtrail/home?region={e.aws_region or region}#/events",
    }
    if e.event_time_raw:
        document["FirstObservedAt"] = document["LastObservedAt"] = e.event_time_raw
    return Finding(document, workflow(result.outcome))


def problems(document: dict[str, Any]) -> list[str]:
    """What keeps a finding from being accepted: a required attribute missing, or a limit exceeded."""
    found = [f"missing {name}" for name in REQUIRED if document.get(name) in (None, "", [])]
    if document.get("SchemaVersion") != SCHEMA_VERSION:
        found.append("SchemaVersion is not " + SCHEMA_VERSION)
    if "Label" not in (document.get("Severity") or {}):
        found.append("Severity.Label missing")
    if any(not {"Type", "Id"} <= set(r) for r in document.get("Resources") or []):
        found.append("a resource without Type and Id")
    fields = document.get("ProductFields") or {}
    if len(fields) > PRODUCT_FIELDS_MAX or not all(isinstance(v, str) for v in fields.values()):
        found.append("ProductFields must be at most 50 strings")
    if len(str(document.get("Id", ""))) > ID_MAX:
        found.append("Id longer than 512 characters")
    if len(json.dumps(document).encode()) > FINDING_BYTES_MAX:
        found.append("larger than 240 KB")
    return found


def count_of(existing: dict[str, Any] | None) -> int:
    """How often an existing finding was reported (its ``guardian/count``); 0 for none or an unreadable count.
    Informational: anyone who may import findings in the account could have written it."""
    if not existing:
        return 0
    raw = (existing.get("ProductFields") or {}).get(COUNT_FIELD, "0")
    try:
        return max(0, min(int(str(raw)), 10**9))
    except ValueError:
        return 0


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def finding_title(result: Result) -> str:
    """The decision-table row's words; for what the sweep (or a stack call, a path note) reports, which all share
    the sweep's row, the alert's own subject line without its tags: "Guardian rule X disabled", not "trail drifted"."""
    from guardian.model.rules import SWEEP_RULE  # noqa: PLC0415
    from guardian.model.subjects import subject  # noqa: PLC0415

    d, e = result.decision, result.event
    if d.rule is not None and d.rule is not SWEEP_RULE:
        return d.rule.what
    if d.rule is None:
        return d.reason or e.event_name or "guardian alert"
    tags = subject(result).split("] ")
    return tags[-1] if len(tags) > 1 else tags[0]
