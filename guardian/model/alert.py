"""The alert the security team receives: SNS Subject, a versioned JSON Message, and filterable attributes.

Pure. Schema ``cloudtrail-guardian/alert`` (:data:`ALERT_SCHEMA_VERSION`); docs/alerts.md documents every field with
an example.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from guardian import __version__
from guardian.model.refs import SWEEP_SOURCE
from guardian.model.results import Result, actor_fields, iso, trail_fields
from guardian.model.rules import Outcome
from guardian.model.subjects import rule_change, subject, trail_change

ALERT_SCHEMA = "cloudtrail-guardian/alert"
ALERT_SCHEMA_VERSION = "1.1"  # 1.1 added detected_by and changes


@dataclass(frozen=True)
class Alert:
    subject: str
    message: str  # the JSON document, as a string (email-json delivers it escaped inside "Message")
    attributes: dict[str, str]

    def publish_kwargs(self, topic_arn: str) -> dict[str, Any]:
        return {
            "TopicArn": topic_arn,
            "Subject": self.subject,
            "Message": self.message,
            "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in self.attributes.items()},
        }


def build_alert(result: Result, *, evidence_bucket: str, evidence_key: str, function_name: str | None) -> Alert:
    document = alert_document(
        result, evidence_bucket=evidence_bucket, evidence_key=evidence_key, function_name=function_name
    )
    return Alert(
        subject=subject(result),
        message=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        attributes={
            "severity": result.severity.value,
            "event_name": result.event.event_name or "unknown",
            "outcome": result.outcome.value,
        },
    )


def _finding(result: Result) -> str:
    """What the sweep found, as a phrase: "trail org-audit (us-east-1) deleted"."""
    raw, trail = result.event.raw, result.decision.trail
    where = f"trail {trail.name} ({trail.region})" if trail else "a trail"
    for field, label in (("guardian_function", "the guardian's own function"), ("alert_path", "the alert path:")):
        if isinstance(raw.get(field), str):
            return f"{label} {raw[field]} changed ({', '.join(c.field for c in result.changes)})"
    if isinstance(raw.get("unconfirmed_deployment"), str):
        return "a deployment event CloudFormation does not confirm"
    if isinstance(raw.get("approval"), str):
        return f"an exempt {raw.get('approval_event')} by {raw.get('approval_actor')} on {where}"
    if isinstance(raw.get("baseline"), str):
        return f"the stored baseline {raw['baseline']} unfit to use: {result.decision.reason}"
    if isinstance(raw.get("guardian_rule"), str):
        return f"the guardian's own rule {raw['guardian_rule']} {rule_change(result)}"
    if isinstance(raw.get("delivery_error"), str):
        return f"{where} logging, but its log files not delivered ({raw['delivery_error']})"
    if isinstance(raw.get("key"), str):
        state = next((c.after for c in result.changes if c.field == "kms_key_state"), "not enabled")
        return f"the KMS key {raw['key']} of {where} {state}"
    if isinstance(raw.get("resource"), str):
        return f"{raw['resource']} of {where} {trail_change(result)}"
    return f"{where} {trail_change(result)}"


def summary(result: Result) -> str:
    """One or two sentences for people: what happened, who did it (or what the sweep found), what the guardian did."""
    e, d = result.event, result.decision
    if e.event_source == SWEEP_SOURCE:
        happened = f"The sweep found {_finding(result)}; no event reported the change"
    else:
        what = d.rule.what if d.rule else (e.event_name or "event")
        trail = f"trail {d.trail.name} ({d.trail.region})" if d.trail else "an unidentified trail"
        who = f"{e.actor.display}" + (f" from {e.source_ip}" if e.source_ip else "")
        happened = f"{_sentence(what)} on {trail} by {who}"
    match result.outcome:
        case Outcome.HEALED:
            window = (
                f" The trail was blind for {result.blind_window_seconds:.1f} s."
                if result.blind_window_seconds is not None
                else ""
            )
            return f"{happened}. The guardian {_did(result)} and verified it.{window}"
        case Outcome.HEAL_FAILED:
            why = result.diagnosis or "see actions"
            return f"{happened}. The guardian could NOT put it back: {why}. Act now."
        case _:
            return f"{happened}. {_sentence(d.reason)}."


def _did(result: Result) -> str:
    """The undo, in words: the calls it made."""
    calls = [a.action for a in result.actions]
    if calls == ["StartLogging"]:
        return "restarted logging"
    return f"put it back ({', '.join(calls)})" if calls else "put it back"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def alert_document(
    result: Result, *, evidence_bucket: str, evidence_key: str, function_name: str | None
) -> dict[str, Any]:
    e, d, v = result.event, result.decision, result.verification
    return {
        "schema": ALERT_SCHEMA,
        "schema_version": ALERT_SCHEMA_VERSION,
        "severity": result.severity.value,
        "outcome": result.outcome.value,
        "summary": summary(result),
        "reason": d.reason,
        "event": {
            "id": e.event_id,
            "name": e.event_name,
            "source": e.event_source,
            "time": e.event_time_raw,
            "region": e.aws_region,
            "account": e.account_id,
            "error_code": e.error_code,
            "error_message": e.error_message,
        },
        "actor": actor_fields(e, named=True),
        "trail": trail_fields(d.trail),
        "action": {
            "taken": [a.action for a in result.actions] or None,
            "result": _action_result(result),
            "error": next((f"{a.error_code}: {a.error_message}" for a in result.actions if not a.succeeded), None),
            "diagnosis": result.diagnosis,
        },
        "verification": None
        if v is None
        else {
            "is_logging": v.is_logging,
            "start_logging_time": iso(v.start_logging_time),
            "latest_delivery_time": iso(v.latest_delivery_time),
            "latest_delivery_error": v.latest_delivery_error,
            "checks": v.checks,
        },
        "blind_window_seconds": result.blind_window_seconds,
        "detected_by": "sweep" if e.event_source == SWEEP_SOURCE else "event",
        "changes": [c.to_json() for c in result.changes],
        "evidence": {"bucket": evidence_bucket, "key": evidence_key},
        "input_problems": list(e.problems),
        "guardian": {"version": __version__, "function": function_name},
    }


def _action_result(result: Result) -> str:
    if not result.actions:
        return "none"
    if result.outcome is Outcome.HEALED:
        return "succeeded"
    return "failed"
