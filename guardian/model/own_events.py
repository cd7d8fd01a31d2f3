"""The guardian's own EventBridge event: each alert mailed, as one PutEvents entry a team can route with a rule.

Pure. Source ``cloudtrail-guardian`` (EventBridge refuses a source starting with ``aws.``, and none of the guardian's
own rules, which match ``aws.*`` sources and CloudTrail's detail-types, can match it: no loop); the detail-type is
the ``ownEventsDetailType`` setting; the detail is the alert's JSON document, as mailed, plus one ``verify`` object.
A copy, not the channel: anyone who may put events on the bus can put one like it, so a receiver acts on the signed
record ``verify`` names (its key and SHA-256, from the signature sidecar the guardian alone writes), never on the event
alone: a forged event names no signed record, or (replayed) a real one, whose content is then what counts
(:func:`mismatch`; docs/alerts.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from guardian.model.config_values import ConfigError
from guardian.model.safe import fit, json_text

SOURCE = "cloudtrail-guardian"
DEFAULT_DETAIL_TYPE = "CloudTrail Guardian Alert"
DETAIL_TYPE_MAX = 128  # characters (PutEventsRequestEntry.DetailType)
# A PutEvents entry: Source, DetailType, Detail and Resources together, in UTF-8 bytes, at most 256 KB.
ENTRY_MAX = 256 * 1024
_ROOM = 4096  # for the "truncated" note itself
BUS_ARN = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[\w.\-/]{1,256}$")
# The sweep's GUARDIAN_OWN_EVENTS: the bus and detail-type are the remediation function's (its environment, read when
# the sweep has alerts to copy): a function's environment holds 4 KB, and the sweep's is near it.
AS_REMEDIATION = "remediation"


def own_events_config(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """GUARDIAN_OWN_EVENTS, the bus ARN (unset: off), and GUARDIAN_OWN_EVENTS_DETAIL_TYPE, 1 to 128 printable
    characters (unset: :data:`DEFAULT_DETAIL_TYPE`)."""
    bus = environ.get("GUARDIAN_OWN_EVENTS", "").strip()
    detail_type = environ.get("GUARDIAN_OWN_EVENTS_DETAIL_TYPE", "").strip() or DEFAULT_DETAIL_TYPE
    if len(detail_type) > DETAIL_TYPE_MAX or not detail_type.isprintable():
        raise ConfigError(f"GUARDIAN_OWN_EVENTS_DETAIL_TYPE must be 1 to 128 printable characters: {detail_type!r}")
    if not bus:
        return None
    if bus == AS_REMEDIATION:
        return bus, detail_type
    if not BUS_ARN.match(bus):
        raise ConfigError(f"GUARDIAN_OWN_EVENTS is not an event bus ARN: {bus!r}")
    return bus, detail_type


def entry_size(entry: dict[str, Any]) -> int:
    """How EventBridge counts an entry's size (PutEvents: the UTF-8 bytes of its text fields)."""
    fields = (
        entry.get("Source", ""),
        entry.get("DetailType", ""),
        entry.get("Detail", ""),
        *entry.get("Resources", ()),
    )
    return sum(len(str(value).encode()) for value in fields)


def evidence_key_of(message: str) -> str | None:
    """The evidence record's key the alert document names (``evidence.key``), or None."""
    try:
        found = (json.loads(message).get("evidence") or {}).get("key")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) and found else None


def verify_fields(evidence_key: str | None, evidence_sha256: str | None) -> dict[str, Any]:
    """What lets a receiver check the event against the guardian's signed record: its key and SHA-256 (None where
    it is not known: no record, or no signature yet), and where the signature is."""
    return {
        "evidence_key": evidence_key,
        "evidence_sha256": evidence_sha256,
        "signature_key": None if evidence_key is None else evidence_key + ".sig",
    }


def mismatch(detail: Mapping[str, Any], sidecar: Mapping[str, Any] | None) -> str | None:
    """Why an event's ``verify`` does not match the signature sidecar stored at its ``signature_key`` (None when it
    names that record and its SHA-256). The sidecar's own signature is checked as any record's
    (``guardian verify``, :func:`guardian.model.record_signatures.problem`); the receiver then trusts the record."""
    verify = detail.get("verify")
    if not isinstance(verify, Mapping) or not verify.get("evidence_key") or not verify.get("evidence_sha256"):
        return "no verify fields: not the guardian's event, or its record is unsigned"
    if sidecar is None:
        return f"no signed record at {verify['evidence_key']!r}"
    record = sidecar.get("record")
    if (
        not isinstance(record, Mapping)
        or record.get("key") != verify["evidence_key"]
        or record.get("sha256") != verify["evidence_sha256"]
    ):
        return "the record's SHA-256 is not the event's: forged or changed"
    return None


def alert_entry(
    message: str,
    *,
    bus_arn: str,
    detail_type: str,
    evidence_sha256: str | None = None,
    limit: int = ENTRY_MAX,
) -> dict[str, Any]:
    """The entry for an alert whose JSON document is ``message``: that document plus ``verify``; cut to ``limit``
    as the alert itself is (the evidence record keeps every value whole; ``verify`` is never cut)."""
    verify = verify_fields(evidence_key_of(message), evidence_sha256)
    document = json.loads(message)
    entry: dict[str, Any] = {
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": json_text({**document, "verify": verify}),
        "EventBusName": bus_arn,
    }
    if entry_size(entry) <= limit:
        return entry
    budget = max(limit - entry_size({**entry, "Detail": json_text({"verify": verify})}) - _ROOM, 0)
    document, paths = fit(document, budget)
    document["truncated"] = {
        "fields": paths[:20],
        "more_fields": max(len(paths) - 20, 0),
        "note": "values too long for an event were cut; the evidence record keeps the event whole",
    }
    document["verify"] = verify
    return {**entry, "Detail": json_text(document)}
