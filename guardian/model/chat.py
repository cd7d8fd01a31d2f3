"""A :class:`~guardian.model.notice.Notice` as the body a chat webhook takes: Slack (Block Kit), Microsoft Teams
(an Adaptive Card, as Teams workflows take it) or any HTTPS endpoint (plain JSON).

Pure. Values come from the account (a trail's name, an actor's ARN): each is escaped for the chat's markup, so a
name such as ``<https://evil.example|click>`` or ``[click](https://evil.example)`` shows as text, never as a link.
Lengths are cut to what each chat accepts.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guardian.model.notice import Notice

KINDS = ("slack", "teams", "generic")
_URGENT = ("CRITICAL", "HIGH", "ALARM")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<])")


def body(kind: str, notice: Notice) -> dict[str, Any]:
    if kind == "slack":
        return slack(notice)
    if kind == "teams":
        return teams(notice)
    return generic(notice)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_text(text: str) -> str:
    """Slack's mrkdwn: &, < and > are its only markup characters to escape (Slack API, formatting text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(notice: Notice) -> dict[str, Any]:
    fields = [
        {"type": "mrkdwn", "text": _cut(f"*{_slack_text(name)}*\n{_slack_text(value)}", 2000)}
        for name, value in notice.facts[:10]  # a section takes ten fields at most
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(notice.title, 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(_slack_text(notice.summary) or " ", 3000)}},
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if notice.link:
        button = {"type": "button", "text": {"type": "plain_text", "text": "Open in the AWS console"}}
        blocks.append({"type": "actions", "elements": [{**button, "url": notice.link}]})
    return {"text": _cut(_slack_text(notice.title), 3000), "blocks": blocks}


def _teams_text(text: str) -> str:
    """Adaptive Cards render a subset of Markdown in TextBlocks and facts: each markup character is escaped."""
    return _MARKDOWN.sub(r"\\\1", text)


def teams(notice: Notice) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": _teams_text(_cut(notice.title, 300)),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
                "color": "Attention" if notice.severity in _URGENT else "Default",
            },
            {"type": "TextBlock", "text": _teams_text(_cut(notice.summary, 3000)), "wrap": True},
            {
                "type": "FactSet",
                "facts": [{"title": n, "value": _teams_text(_cut(v, 1000))} for n, v in notice.facts],
            },
        ],
    }
    if notice.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in the AWS console", "url": notice.link}]
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


def generic(notice: Notice) -> dict[str, Any]:
    return {
        "title": notice.title,
        "severity": notice.severity,
        "summary": notice.summary,
        "facts": dict(notice.facts),
        "link": notice.link,
        "kind": notice.kind,
        "message": notice.extra,
    }
