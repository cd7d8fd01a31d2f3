"""The webhook notifier's Lambda entry point: SNS (the guardian's topic, filtered by severity) → a chat message.

Configuration, read on first use: ``GUARDIAN_WEBHOOK_SECRET`` (the secret holding the URL),
``GUARDIAN_WEBHOOK_KIND`` (slack, teams, generic), ``GUARDIAN_WEBHOOK_NAME`` and ``GUARDIAN_WEBHOOK_VERSION``
(the secret's version approved: only it is read, so a URL put in the secret by anyone else is never posted to).
Raises so that Lambda retries and its dead-letter queue keeps what could not be posted.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from guardian.entrypoints import runtime
from guardian.flows.notify import post
from guardian.model.chat import KINDS, body
from guardian.model.config_values import ConfigError
from guardian.model.notice import notice

LOG = logging.getLogger(__name__)
_adapters: dict[str, Any] = {}


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    secret, kind, name = _settings()
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise ValueError("not an SNS event: no Records (the notifier is subscribed to the guardian's topic)")
    posted = []
    for record in records:
        sns = record.get("Sns") if isinstance(record, dict) else None
        if not isinstance(sns, dict) or not isinstance(sns.get("Message"), str):
            raise TypeError("an SNS record without a Message")
        found = notice(sns["Message"], sns.get("Subject"))
        version = os.environ.get("GUARDIAN_WEBHOOK_VERSION") or None
        answer = post(_adapter(), secret, body(kind, found), runtime.invocation(context), name=name, version=version)
        posted.append({"title": found.title, "status": answer.status, "attempts": answer.attempts})
    return {"posted": posted}


def _settings() -> tuple[str, str, str]:
    secret = os.environ.get("GUARDIAN_WEBHOOK_SECRET", "")
    kind = os.environ.get("GUARDIAN_WEBHOOK_KIND", "generic")
    if not secret:
        raise ConfigError("GUARDIAN_WEBHOOK_SECRET is required but not set")
    if kind not in KINDS:
        raise ConfigError(f"GUARDIAN_WEBHOOK_KIND must be one of {', '.join(KINDS)}, got {kind!r}")
    return secret, kind, os.environ.get("GUARDIAN_WEBHOOK_NAME", "webhook")


def _adapter() -> Any:
    from guardian.adapters.webhook import WebhookAdapter  # noqa: PLC0415

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    key = f"{region}|{os.environ.get('AWS_ENDPOINT_URL', '')}"
    if key not in _adapters:
        _adapters.clear()
        _adapters[key] = WebhookAdapter(runtime.clients(), region)
    return _adapters[key]
