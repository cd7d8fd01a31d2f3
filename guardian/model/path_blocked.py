"""The "alert path blocked" alert: the account's own topic refused an alert (its policy denies the guardian, its key
is disabled, it was deleted), so the security account is told, CRITICAL, besides receiving its own copy.

Pure, and built from a handful of bounded strings (as the fallback alert is), so it cannot fail on the event.
"""

from __future__ import annotations

from guardian import __version__
from guardian.model.alert import ALERT_SCHEMA, ALERT_SCHEMA_VERSION, Alert
from guardian.model.rules import Severity
from guardian.model.safe import cut, json_text, text
from guardian.model.subjects import SUBJECT_MAX

BLOCKED_OUTCOME = "alert_path_blocked"  # the outcome attribute: a security account's filter can pick these out
BLOCKED_TAG = "guardian-blocked-message-id"  # the evidence record's tag (or ledger entry) once this alert went out


def blocked_alert(
    *,
    topic_arn: str,
    error: str,
    event_id: str,
    event_name: str | None,
    severity: str,
    evidence_key: str,
    function_name: str | None,
    account: str = "",
) -> Alert:
    """CRITICAL: ``topic_arn`` refused the alert of ``event_id`` with ``error``; its own copy went to the security
    account beside this one."""
    topic, error = cut(text(topic_arn), 512), cut(text(error), 1024)
    name, event_id = cut(text(event_name or "unknown"), 128), cut(text(event_id), 256)
    topic_name = topic.rsplit(":", 1)[-1]
    document = {
        "schema": ALERT_SCHEMA,
        "schema_version": ALERT_SCHEMA_VERSION,
        "severity": Severity.CRITICAL.value,
        "outcome": BLOCKED_OUTCOME,
        "summary": f"The account's alerts topic {topic} refused the guardian's {severity} alert on {name} event "
        f"{event_id} ({error}): nobody subscribed there received it. Its copy reached this topic. Someone may "
        "have changed the topic's policy or key to silence the guardian: look at the topic now.",
        "reason": f"alert path blocked: {error}",
        "alert_path_blocked": {"topic": topic, "error": error, "alert_severity": cut(text(severity), 16)},
        "event": {"id": event_id, "name": name},
        "evidence": {"key": cut(text(evidence_key), 512)},
        "guardian": {"version": __version__, "function": function_name},
    }
    headline = f"[CRITICAL] {account + ' ' if account else ''}Alert path blocked: {topic_name} refused an alert"
    return Alert(
        subject="".join(ch if ch.isprintable() else " " for ch in headline)[:SUBJECT_MAX],
        message=json_text(document),
        attributes={"severity": Severity.CRITICAL.value, "event_name": name, "outcome": BLOCKED_OUTCOME},
    )
