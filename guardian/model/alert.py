"""The alert the security team receives: SNS Subject, a versioned JSON Message, and filterable attributes.

Pure. Schema ``cloudtrail-guardian/alert`` (:data:`ALERT_SCHEMA_VERSION`); docs/alerts.md documents every field with
an example.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from guardian import __version__
from guardian.model.refs import SWEEP_SOURCE, detected_by
from guardian.model.results import Result, actor_fields, iso, trail_fields, watch_fields
from guardian.model.rules import Outcome, Severity
from guardian.model.safe import cut, fit, json_text, text
from guardian.model.subjects import SUBJECT_MAX, rule_change, subject, trail_change

ALERT_SCHEMA = "cloudtrail-guardian/alert"
# 1.1 detected_by, changes; 1.2 evidence.written/error, truncated; 1.3 purpose; 1.4 watch_rule (and the rule attribute)
ALERT_SCHEMA_VERSION = "1.4"
# SNS takes 256 KiB for message, subject and attributes together. The message is kept to half of that (an email
# beyond it helps no one; the evidence record has every value whole), so the limit holds by construction.
MESSAGE_BUDGET = 128 * 1024
ATTRIBUTE_MAX = 256
_PATHS_LISTED = 20


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


def build_alert(
    result: Result,
    *,
    evidence_bucket: str,
    evidence_key: str,
    function_name: str | None,
    evidence_error: str | None = None,
    account: str = "",
) -> Alert:
    """The alert for a result. ``evidence_error``: why its evidence record could not be written; the alert is then
    CRITICAL and says so, since it is the only record of the event. ``account``: the account's label for the
    subject (its id, and its alias where known)."""
    if evidence_error is not None:
        result = replace(result, severity=Severity.CRITICAL)
    document = alert_document(
        result,
        evidence_bucket=evidence_bucket,
        evidence_key=evidence_key,
        function_name=function_name,
        evidence_error=evidence_error,
    )
    message = json_text(document)
    if len(message) * 4 > MESSAGE_BUDGET and len(message.encode()) > MESSAGE_BUDGET:  # one rendering when it fits
        document, cut_paths = fit(document, MESSAGE_BUDGET - 4096)  # room for "truncated" itself
        document["truncated"] = {
            "fields": cut_paths[:_PATHS_LISTED],
            "more_fields": max(len(cut_paths) - _PATHS_LISTED, 0),
            "note": "values too long for an alert were cut; the evidence record keeps the event whole",
        }
        message = json_text(document)
    return Alert(
        subject=subject(result, account),
        message=message,
        attributes={
            **_attributes(result.severity.value, result.event.event_name or "unknown", result.outcome.value),
            **({"purpose": result.purpose.kind, "purpose_id": result.purpose.id} if result.purpose else {}),
            **({"rule": result.decision.watch_rule} if result.decision.watch_rule else {}),
        },
    )


def fallback_alert(
    *, event_id: str, event_name: str | None, outcome: str, problem: str, function_name: str | None, account: str = ""
) -> Alert:
    """The alert when the full one cannot be built (a fault in the guardian's own code): what is known of the event,
    and what went wrong. Built from a handful of bounded strings, so it cannot fail on the event's content."""
    name, event_id, problem = (
        cut(text(event_name or "unknown"), 128),
        cut(text(event_id), 256),
        cut(text(problem), 2048),
    )
    document = {
        "schema": ALERT_SCHEMA,
        "schema_version": ALERT_SCHEMA_VERSION,
        "severity": Severity.CRITICAL.value,
        "outcome": outcome,
        "summary": f"The guardian failed while handling {name} event {event_id}: {problem}. "
        "Look at the event in CloudTrail and at the guardian's logs now.",
        "reason": problem,
        "event": {"id": event_id, "name": name},
        "guardian": {"version": __version__, "function": function_name},
        "fallback": True,
    }
    headline = f"[CRITICAL] {account + ' ' if account else ''}Guardian failed on {name} event — check it now"
    return Alert(
        subject="".join(ch if ch.isprintable() else " " for ch in headline)[:SUBJECT_MAX],
        message=json_text(document),
        attributes=_attributes(Severity.CRITICAL.value, name, outcome),
    )


def _attributes(severity: str, event_name: str, outcome: str) -> dict[str, str]:
    """Message attributes (for subscription filters): text, bounded."""
    return {
        "severity": severity,
        "event_name": cut(text(event_name), ATTRIBUTE_MAX),
        "outcome": outcome,
    }


def _finding(result: Result) -> str:
    """What the sweep found, as a phrase: "trail org-audit (us-east-1) deleted"."""
    raw, trail = result.event.raw, result.decision.trail
    where = f"trail {trail.name} ({trail.region})" if trail else "a trail"
    for field, label in (("guardian_function", "the guardian's own function"), ("alert_path", "the alert path:")):
        if isinstance(raw.get(field), str):
            return f"{label} {raw[field]} changed ({', '.join(c.field for c in result.changes)})"
    if isinstance(raw.get("stack_change"), str):
        return f"the guardian's own resource changed by a stack not its own: {raw['stack_change']}"
    if isinstance(raw.get("unconfirmed_deployment"), str):
        return "a deployment event CloudFormation does not confirm"
    if isinstance(raw.get("approval"), str):
        return f"an exempt {raw.get('approval_event')} by {raw.get('approval_actor')} on {where}"
    if isinstance(raw.get("baseline"), str):
        return f"the stored baseline {raw['baseline']} unfit to use: {result.decision.reason}"
    if isinstance(raw.get("guardian_rule"), str):
        return f"the guardian's own rule {raw['guardian_rule']} {rule_change(result)}"
    if raw.get("mode_tag") == "observe":
        return f"{where} tagged cloudtrail-guardian:mode=observe (ignored: still healed)"
    if isinstance(raw.get("delivery_error"), str):
        return f"{where} logging, but its log files not delivered ({raw['delivery_error']})"
    if isinstance(raw.get("key"), str):
        state = next((c.after for c in result.changes if c.field == "kms_key_state"), "not enabled")
        return f"the KMS key {raw['key']} of {where} {state}"
    if isinstance(raw.get("resource"), str):
        return f"{raw['resource']} of {where} {trail_change(result)}"
    return f"{where} {trail_change(result)}"


def summary(result: Result, evidence_error: str | None = None) -> str:
    """One or two sentences for people: what happened, who did it (or what the sweep found), what the guardian did."""
    e, d = result.event, result.decision
    if isinstance(e.raw.get("stack_alert"), str):  # guardian.flows.stack_roles: a CloudTrail record, judged
        happened = f"{e.raw['stack_alert']} (CloudTrail event {e.raw.get('cloudtrail_event_id', '?')})"
    elif e.event_source == SWEEP_SOURCE:
        happened = f"The sweep found {_finding(result)}; no event reported the change"
    else:
        what = d.rule.what if d.rule else (e.event_name or "event")
        trail = f"trail {d.trail.name} ({d.trail.region})" if d.trail else "an unidentified trail"
        who = f"{e.actor.display}" + (f" from {e.source_ip}" if e.source_ip else "")
        if d.watch_rule is not None:  # not about a trail: the call and where it was made
            happened = f"{_sentence(what)}: {e.event_source}:{e.event_name} in {e.aws_region} by {who}"
        else:
            happened = f"{_sentence(what)} on {trail} by {who}"
    said = _said(result, happened)
    if result.purpose is not None:
        said = _purposed(result, said)
    if evidence_error is None:
        return said
    return f"{said} The evidence record could NOT be written ({evidence_error}): this alert is the only record."


def _purposed(result: Result, said: str) -> str:
    p = result.purpose
    assert p is not None
    if p.kind == "selftest":
        return f"Self-test {p.id} by {p.by} ({p.reason}): {said}"
    trail = result.decision.trail
    where = f"trail {trail.name} ({trail.region})" if trail else "a trail"
    approved = f"{p.by} approved the current configuration of {where} as its baseline: {p.reason}."
    return f"{approved} {_reason_sentence(result)}"


def _reason_sentence(result: Result) -> str:
    return _sentence(result.decision.reason).rstrip(".") + "."


def _said(result: Result, happened: str) -> str:
    d = result.decision
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
        case Outcome.SUPERSEDED:
            return f"{happened}. The guardian left the heal to a later stop: {result.diagnosis or 'superseded'}."
        case Outcome.OBSERVED:  # observe mode (guardian.model.mode): what heal would have called, none made
            calls = ", ".join(f"{c.service}:{c.operation}" for c in result.planned)
            return f"{happened}. Observe mode: the guardian changed nothing; heal would have called {calls}."
        case _:
            return f"{happened}. {_sentence(d.reason)}."


def _did(result: Result) -> str:
    """The undo, in words: the calls it made."""
    calls = [a.action for a in result.actions]
    if any(a.already_healed for a in result.actions):
        return "found logging restarted already (another invocation's heal)"
    if calls == ["StartLogging"]:
        return "restarted logging"
    return f"put it back ({', '.join(calls)})" if calls else "put it back"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def alert_document(
    result: Result,
    *,
    evidence_bucket: str,
    evidence_key: str,
    function_name: str | None,
    evidence_error: str | None = None,
) -> dict[str, Any]:
    e, d, v = result.event, result.decision, result.verification
    return {
        "schema": ALERT_SCHEMA,
        "schema_version": ALERT_SCHEMA_VERSION,
        "severity": result.severity.value,
        "outcome": result.outcome.value,
        "summary": summary(result, evidence_error),
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
            "planned": [c.to_json() for c in result.planned] or None,
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
        "detected_by": detected_by(e.event_source, d.watch_rule),
        "watch_rule": watch_fields(result),
        "purpose": result.purpose.to_json() if result.purpose else None,
        "changes": [c.to_json() for c in result.changes],
        "evidence": {
            "bucket": evidence_bucket,
            "key": evidence_key,
            "written": evidence_error is None,
            "error": evidence_error,
        },
        "input_problems": list(e.problems),
        "guardian": {"version": __version__, "function": function_name},
        "truncated": None,
    }


def _action_result(result: Result) -> str:
    if not result.actions:
        return "none"
    if result.outcome is Outcome.HEALED:
        return "already_healed" if any(a.already_healed for a in result.actions) else "succeeded"
    if result.outcome is Outcome.SUPERSEDED:
        return "superseded"
    return "failed"
