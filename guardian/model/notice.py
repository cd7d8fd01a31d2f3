"""What a message on the guardian's topic says, read for people: the guardian's alerts, self-protection's alerts
(straight from EventBridge) and CloudWatch alarms, each reduced to a :class:`Notice` that a chat message shows.

Pure. Anything else on the topic is shown as its subject and text. Every value is the message's own, so what an
account's user wrote (a trail name, an ARN, a parameter) reaches the chat: the renderings escape it
(:mod:`guardian.model.chat`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

ALERT_SCHEMA = "cloudtrail-guardian/alert"
SELF_PROTECTION_SCHEMA = "cloudtrail-guardian/self-protection-alert"


@dataclass(frozen=True)
class Notice:
    title: str
    severity: str  # INFO...CRITICAL, or ALARM / OK for a CloudWatch alarm
    summary: str
    facts: tuple[tuple[str, str], ...] = ()  # (name, value), in the order shown
    link: str | None = None  # a console page to open
    kind: str = "text"  # alert, self-protection, alarm, text
    extra: dict[str, Any] = field(default_factory=dict)  # the message as parsed, for a generic webhook


def notice(message: str, subject: str | None) -> Notice:
    """The notice of one SNS message (its ``Message`` and ``Subject``)."""
    try:
        document = json.loads(message)
    except ValueError:
        document = None
    if isinstance(document, dict):
        if document.get("schema") == ALERT_SCHEMA:
            return _alert(document, subject)
        if document.get("schema") == SELF_PROTECTION_SCHEMA:
            return _self_protection(document)
        if "AlarmName" in document and "NewStateValue" in document:
            return _alarm(document)
    title = (subject or message.split("\n", 1)[0] or "CloudTrail Guardian")[:150]
    return Notice(title, "INFO", message[:2000], extra={"message": message})


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _alert(doc: dict[str, Any], subject: str | None) -> Notice:
    event, actor = doc.get("event") or {}, doc.get("actor") or {}
    trail, action, evidence = doc.get("trail") or {}, doc.get("action") or {}, doc.get("evidence") or {}
    region = _text(event.get("region") or trail.get("home_region"))
    account = _text(event.get("account") or trail.get("account"))
    alias = _text((doc.get("account") or {}).get("alias")) if isinstance(doc.get("account"), dict) else ""
    taken = ", ".join(action.get("taken") or [])
    did = f"{taken} ({_text(action.get('result'))})" if taken else "alerted (nothing to undo)"
    facts = [
        ("Severity", _text(doc.get("severity"))),
        ("Outcome", _text(doc.get("outcome"))),
        ("Actor", _text(actor.get("arn") or actor.get("name"))),
        ("Trail", _text(trail.get("name"))),
        ("Account", f"{account} ({alias})" if alias else account),
        ("Region", region),
        ("What the guardian did", did),
        ("Evidence", f"s3://{_text(evidence.get('bucket'))}/{_text(evidence.get('key'))}" if evidence else ""),
    ]
    watch = doc.get("watch_rule")
    if isinstance(watch, dict):
        facts.insert(2, ("Watch rule", _text(watch.get("id"))))
    link = _trail_link(region, _text(trail.get("arn"))) if trail.get("arn") else _event_link(region, event.get("id"))
    return Notice(
        title=_text(subject) or f"[{doc.get('severity')}] {_text(event.get('name'))}",
        severity=_text(doc.get("severity")),
        summary=_text(doc.get("summary")),
        facts=tuple((k, v) for k, v in facts if v),
        link=link,
        kind="alert",
        extra=doc,
    )


def _self_protection(doc: dict[str, Any]) -> Notice:
    record = doc.get("cloudtrail_record") or {}
    who = (record.get("userIdentity") or {}).get("arn") if isinstance(record, dict) else None
    region = _text(doc.get("region"))
    facts = [
        ("Severity", _text(doc.get("severity"))),
        ("Guardian", _text(doc.get("guardian"))),
        ("Changed", f"{_text(doc.get('resource_kind'))}: {_text(doc.get('what'))}"),
        ("Actor", _text(who)),
        ("Account", _text(doc.get("account"))),
        ("Region", region),
        ("Source IP", _text(doc.get("source_ip"))),
    ]
    return Notice(
        title=_text(doc.get("subject")),
        severity=_text(doc.get("severity")),
        summary=_text(doc.get("note")),
        facts=tuple((k, v) for k, v in facts if v.strip(": ")),
        link=_event_link(region, doc.get("event_id")),
        kind="self-protection",
        extra=doc,
    )


def _alarm(doc: dict[str, Any]) -> Notice:
    arn = _text(doc.get("AlarmArn"))
    region = arn.split(":")[3] if arn.count(":") >= 5 else ""
    name = _text(doc.get("AlarmName"))
    facts = [
        ("State", f"{_text(doc.get('OldStateValue'))} → {_text(doc.get('NewStateValue'))}"),
        ("Alarm", name),
        ("Account", _text(doc.get("AWSAccountId"))),
        ("Region", region),
        ("Why", _text(doc.get("NewStateReason"))),
    ]
    return Notice(
        title=f"{_text(doc.get('NewStateValue'))}: {name}",
        severity=_text(doc.get("NewStateValue")),
        summary=_text(doc.get("AlarmDescription")) or _text(doc.get("NewStateReason")),
        facts=tuple((k, v) for k, v in facts if v),
        link=f"{_console(region)}/cloudwatch/home?region={region}#alarmsV2:alarm/{quote(name, safe='')}"
        if region
        else None,
        kind="alarm",
        extra=doc,
    )


def _console(region: str) -> str:
    if region.startswith("cn-"):
        return "https://console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "https://console.amazonaws-us-gov.com"
    return "https://console.aws.amazon.com"


def _trail_link(region: str, arn: str) -> str:
    return f"{_console(region)}/cloudtrailv2/home?region={region}#/trails/{quote(arn, safe='')}"


def _event_link(region: str, event_id: Any) -> str | None:
    if not region or not event_id:
        return None
    return f"{_console(region)}/cloudtrailv2/home?region={region}#/events/{quote(str(event_id), safe='')}"
