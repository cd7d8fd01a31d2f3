"""Context ``webhooks``: the chat webhooks alerts are posted to, each with its own minimum severity."""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from infra.errors import SettingsError
from infra.recipients import SEVERITIES, severity_filter

KINDS = ("slack", "teams", "generic")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,30}")
_VERSION = re.compile(r"[A-Za-z0-9-]{32,64}")


class Webhook(NamedTuple):
    name: str
    kind: str
    minimum: str = "MEDIUM"
    secret_arn: str | None = None
    secret_version: str | None = None  # the secret's version approved: the notifier reads it only, the sweep holds it

    def filter_policy(self) -> dict[str, list[Any]] | None:
        return severity_filter(self.minimum)


def _secret(where: str, secret: Any, version: Any) -> None:
    if secret is not None and not (isinstance(secret, str) and secret.startswith("arn:")):
        raise SettingsError(f"{where}.secretArn must be a Secrets Manager secret ARN")
    if version is not None and not (isinstance(version, str) and _VERSION.fullmatch(version)):
        raise SettingsError(f"{where}.secretVersion must be a version id of the secret (32 to 64 characters)")


def webhooks(value: Any) -> tuple[Webhook, ...]:
    """Context ``webhooks``: ``[{"name": "soc", "kind": "slack", "minimumSeverity": "HIGH", "secretArn": ...,
    "secretVersion": ...}]``. ``secretVersion`` approves a URL put in the secret (its version id): until it is set,
    the first version the sweep sees is the one approved."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise SettingsError(f"webhooks is not valid JSON: {exc}") from exc
    if not isinstance(value, list):
        raise SettingsError('webhooks must be a list: [{"name": "soc", "kind": "slack"}]')
    found: list[Webhook] = []
    for index, entry in enumerate(value):
        where = f"webhooks[{index}]"
        if not isinstance(entry, dict):
            raise SettingsError(f"{where} must be an object")
        unknown = sorted(set(entry) - {"name", "kind", "minimumSeverity", "secretArn", "secretVersion"})
        if unknown:
            raise SettingsError(
                f"{where} has unknown keys {unknown} (name, kind, minimumSeverity, secretArn, secretVersion)"
            )
        name, kind = entry.get("name"), entry.get("kind")
        minimum = str(entry.get("minimumSeverity", "MEDIUM")).upper()
        secret, version = entry.get("secretArn"), entry.get("secretVersion")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise SettingsError(f"{where}.name must be 1-31 lowercase letters, digits and hyphens")
        if kind not in KINDS:
            raise SettingsError(f"{where}.kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if minimum not in SEVERITIES:
            raise SettingsError(f"{where}.minimumSeverity must be one of {', '.join(SEVERITIES)}")
        _secret(where, secret, version)
        found.append(Webhook(name, kind, minimum, secret, version))
    if len({w.name for w in found}) != len(found):
        raise SettingsError("webhooks names a webhook twice")
    return tuple(found)
