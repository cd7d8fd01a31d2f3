"""The alert the security team receives: SNS Subject, a versioned JSON Message, and filterable attributes.

Pure. Schema ``cloudtrail-guardian/alert`` (:data:`ALERT_SCHEMA_VERSION`); docs/alerts.md documents every field with
an example.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from guardian import __version__
from guardian.model.changes import weakened
from guardian.model.refs import SWEEP_SOURCE
from guardian.model.results import Result, iso
from guardian.model.rules import Outcome, Subject

ALERT_SCHEMA = "cloudtrail-guardian/alert"
ALERT_SCHEMA_VERSION = "1.1"  # 1.1 added detected_by and changes
# SNS: "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long."
SUBJECT_MAX = 99


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


def subject(result: Result) -> str:
    """One human line, at most 99 characters: names and actor are shortened, never the verdict."""
    e, rule = result.event, result.decision.rule
    if e.event_source == SWEEP_SOURCE:
        return _sweep_subject(result)
    if result.outcome is Outcome.REPEATED_TAMPERING:
        actor = e.actor.display
        found = re.match(r"(\d+) tampering changes by .* within (\d+) minutes", result.decision.reason)
        count, minutes = found.groups() if found else ("several", "?")
        template = "[CRITICAL] Repeated tampering by {actor}: " + f"{count} changes within {minutes} minutes"
        budget = SUBJECT_MAX - len(template.format(actor=""))
        return _clean(template.format(actor=_ellipsize(actor, max(budget, 12))))[:SUBJECT_MAX]
    trail = result.decision.trail.name if result.decision.trail else None
    actor = "the guardian" if result.outcome is Outcome.OWN_ACTION else e.actor.display
    what = rule.what if rule else (e.event_name or "event")
    tail = _subject_tail(result)
    if result.outcome is Outcome.ATTEMPT_FAILED:
        head = f"[{result.severity}] Attempted {e.event_name}"
    else:
        head = f"[{result.severity}] {what}"
    unnamed = " on an unidentified trail" if rule is None or rule.about is Subject.TRAIL else ""
    on = " on trail {trail}" if trail else unnamed
    template = head + on + " by {actor}" + tail
    budget = SUBJECT_MAX - len(template.format(trail="", actor=""))
    trail_text, actor_text = _share(trail or "", actor, budget)
    return _clean(template.format(trail=trail_text, actor=actor_text))[:SUBJECT_MAX]


def _sweep_subject(result: Result) -> str:
    trail = result.decision.trail.name if result.decision.trail else "?"
    rule = result.event.raw.get("guardian_rule")
    if isinstance(rule, str):
        verdict = "restored by sweep" if result.outcome is Outcome.HEALED else "NOT restored: redeploy the stack"
        text = f"[{result.severity}] Guardian rule {_ellipsize(rule, 40)} {_rule_change(result)} — {verdict}"
        return _clean(text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 1] + "…")
    error = result.event.raw.get("delivery_error")
    if isinstance(error, str):
        template = f"[{result.severity}] Trail {{trail}}: log files not delivered ({error})"
        text = template.format(trail=_ellipsize(trail, 40))
        return _clean(text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 1] + "…")
    verdict = "healed by sweep" if result.outcome is Outcome.HEALED else "HEAL FAILED (sweep)"
    what = _trail_change(result)
    resource = result.event.raw.get("resource")
    if isinstance(resource, str):  # "bucket NAME" or "log group NAME"
        what = f"of trail {{trail}} {what}"
        template = f"[{result.severity}] {resource[:1].upper()}{resource[1:]} {what} — {verdict}"
    else:
        template = f"[{result.severity}] Trail {{trail}} {what} — {verdict}"
    budget = SUBJECT_MAX - len(template.format(trail=""))
    text = template.format(trail=_ellipsize(trail, max(budget, 12)))
    return _clean(text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 1] + "…")


def _rule_change(result: Result) -> str:
    """What the sweep found on one of the guardian's own rules: deleted, disabled, targets removed."""
    names = {"exists": "deleted", "state": "disabled", "targets": "targets removed"}
    return ", ".join(names.get(c.field, c.field) for c in result.changes)


def _trail_change(result: Result) -> str:
    """What the sweep found on a trail, bucket or log group: deleted, or weakened (which fields)."""
    recreated = any(a.action.startswith("Create") for a in result.actions) or bool(result.event.raw.get("deleted"))
    return "deleted" if recreated else "weakened (" + ", ".join(c.field for c in weakened(result.changes)) + ")"


def _finding(result: Result) -> str:
    """What the sweep found, as a phrase: "trail org-audit (us-east-1) deleted"."""
    raw, trail = result.event.raw, result.decision.trail
    where = f"trail {trail.name} ({trail.region})" if trail else "a trail"
    if isinstance(raw.get("guardian_rule"), str):
        return f"the guardian's own rule {raw['guardian_rule']} {_rule_change(result)}"
    if isinstance(raw.get("delivery_error"), str):
        return f"{where} logging, but its log files not delivered ({raw['delivery_error']})"
    if isinstance(raw.get("key"), str):
        state = next((c.after for c in result.changes if c.field == "kms_key_state"), "not enabled")
        return f"the KMS key {raw['key']} of {where} {state}"
    if isinstance(raw.get("resource"), str):
        return f"{raw['resource']} of {where} {_trail_change(result)}"
    return f"{where} {_trail_change(result)}"


def _subject_tail(result: Result) -> str:
    match result.outcome:
        case Outcome.HEALED:
            window = result.blind_window_seconds
            return f" — restored in {window:.1f} s" if window is not None else " — restored"
        case Outcome.HEAL_FAILED:
            return " — HEAL FAILED"
        case Outcome.ATTEMPT_FAILED:
            return f" — failed: {result.event.error_code}"
        case Outcome.EXEMPT:
            return " — exempt, not undone"
        case Outcome.NOT_HEALABLE:
            return " — cannot heal from here"
        case _:
            return ""


def _share(a: str, b: str, budget: int) -> tuple[str, str]:
    """Fit two names into ``budget`` characters: shorten the longer one first, the other only if still needed."""
    floor = 12
    excess = len(a) + len(b) - budget
    if excess <= 0:
        return a, b
    if len(a) >= len(b):
        a = _ellipsize(a, max(len(a) - excess, floor))
    else:
        b = _ellipsize(b, max(len(b) - excess, floor))
    excess = len(a) + len(b) - budget
    if excess > 0:
        a = _ellipsize(a, max(len(a) - excess, floor))
        b = _ellipsize(b, max(budget - len(a), floor))
    return a, b


def _ellipsize(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: max(width - 1, 1)] + "…"


def _clean(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


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
        "actor": {
            "arn": e.actor.arn,
            "type": e.actor.type,
            "name": e.actor.display,
            "account": e.actor.account_id,
            "session_issuer_arn": e.actor.session_issuer_arn,
            "access_key_id": e.actor.access_key_id,
            "source_ip": e.source_ip,
            "user_agent": e.user_agent,
            "console": e.actor.console,
            "mfa": e.actor.mfa_authenticated,
        },
        "trail": None
        if d.trail is None
        else {
            "name": d.trail.name,
            "arn": d.trail.arn,
            "home_region": d.trail.region,
            "account": d.trail.account_id,
        },
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
