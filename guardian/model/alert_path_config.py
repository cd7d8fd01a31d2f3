"""The sweep's ``GUARDIAN_ALERT_PATH`` setting: what it checks an alert goes through. Apart from
:mod:`guardian.model.config`, which reads it only where it is set (the sweep's function): a StopLogging heal never
compiles it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from guardian.model.config_values import ConfigError, under_prefix

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class AlertPath:
    """What the sweep checks an alert goes through (``GUARDIAN_ALERT_PATH``): the addresses subscribed to the
    topic, the alarms that must act, the keys that must be enabled, the dead-letter queue."""

    emails: tuple[str, ...] = ()
    # each address's body filter on severity (JSON; None: every message), as the stack subscribed it
    filters: Mapping[str, str | None] = field(default_factory=dict)
    alarms: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    queue: str | None = None
    log_group: str | None = None  # the CIS alarms' log group, and their metric filters' common prefix on it
    metric_filters: str | None = None
    # each chat webhook's secret (ARN) → the version approved (``secretVersion``), or None: the first one recorded
    secrets: Mapping[str, str | None] = field(default_factory=dict)
    buckets: tuple[str, ...] = ()  # the guardian's own buckets (evidence, access logs): held as deployed


# The CIS alarms' names after ``<stackName>-cis-`` (infra.cis_alarms.alarm_names; a test holds the two alike): the
# stack writes ``"cis": true`` among its alarms rather than the 15 names (a 4 KB environment).
CIS_ALARMS = tuple(
    f"4-{n}-{slug}"
    for n, slug in enumerate(
        (
            "unauthorized-api-calls",
            "console-sign-in-without-mfa",
            "root-account-usage",
            "iam-policy-changes",
            "cloudtrail-configuration-changes",
            "console-authentication-failures",
            "cmk-disabled-or-scheduled-for-deletion",
            "s3-bucket-policy-changes",
            "config-configuration-changes",
            "security-group-changes",
            "nacl-changes",
            "network-gateway-changes",
            "route-table-changes",
            "vpc-changes",
            "organizations-changes",
        ),
        start=1,
    )
)
SEVERITIES = ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")  # infra.recipients.SEVERITIES


def severity_filter(minimum: str) -> str:
    """The body filter the stack subscribes ``address:MINIMUM`` with, as compact JSON (infra.recipients)."""
    policy = {"severity": [*SEVERITIES[SEVERITIES.index(minimum) :], {"exists": False}]}
    return json.dumps(policy, sort_keys=True, separators=(",", ":"))


def _alarms(value: object) -> object:
    """``{"prefix": p, "names": [...], "cis": true}``: the names under the prefix, and the CIS alarms' under it."""
    if isinstance(value, dict) and value.get("cis") is True:
        prefix = value.get("prefix")
        names = value.get("names")
        if isinstance(prefix, str) and isinstance(names, list):
            return {"prefix": prefix, "names": [*names, *(f"cis-{n}" for n in CIS_ALARMS)]}
    return value


def _emails(value: object, filters: object) -> tuple[object, object]:
    """Entries ``address`` (every message) or ``address:MINIMUM`` (the filter of that severity and above, unless
    ``filters`` names the address): the addresses, and the filters with those of the entries added."""
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value) or not isinstance(filters, dict):
        return value, filters
    addresses, derived = [], {}
    for entry in value:
        address, colon, minimum = entry.rpartition(":") if ":" in entry else (entry, "", "")
        if colon and minimum not in SEVERITIES[1:]:
            raise ConfigError(
                f"GUARDIAN_ALERT_PATH emails: {entry!r} is not address or address:LOW|MEDIUM|HIGH|CRITICAL"
            )
        addresses.append(address)
        if colon:
            derived[address] = severity_filter(minimum)
    return addresses, {**derived, **filters}


def alert_path(text: str) -> AlertPath:
    """``{"emails": [address[:MINIMUM], ...], "filters": {address: policy}, "alarms": [...], "keys": [key ARNs],
    "queue": URL}``; empty: nothing to check."""
    if not text.strip():
        return AlertPath()
    shape = 'GUARDIAN_ALERT_PATH must be {"emails": [...], "alarms": [...], "keys": [...], "queue": "https://..."}'
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"GUARDIAN_ALERT_PATH is not valid JSON ({exc.msg} at {exc.pos})") from exc
    if isinstance(value, dict):  # the alarms may be written under the stack's prefix (a 4 KB environment)
        alarms = under_prefix(_alarms(value.get("alarms")), "GUARDIAN_ALERT_PATH alarms")
        value = value if alarms is None else {**value, "alarms": alarms}
        emails, filters = _emails(value.get("emails", []), value.get("filters", {}))
        value = {**value, "emails": emails, "filters": filters}
    lists = ("emails", "alarms", "keys", "buckets")
    if not isinstance(value, dict) or set(value) - {*lists, "queue", "filters", "logGroup", "metricFilters", "secrets"}:
        raise ConfigError(shape)
    filters = value.get("filters", {})
    if not isinstance(filters, dict) or not all(isinstance(v, str | None) for v in filters.values()):
        raise ConfigError('GUARDIAN_ALERT_PATH "filters" must map each address to a filter policy (JSON) or null')
    secrets = value.get("secrets", [])
    if not isinstance(secrets, list) or not all(
        isinstance(s, dict) and isinstance(s.get("arn"), str) and isinstance(s.get("version"), str | None)
        for s in secrets
    ):
        raise ConfigError('GUARDIAN_ALERT_PATH "secrets" must be [{"arn": secret ARN, "version": approved or null}]')
    if not all(isinstance(value.get(k, []), list) and all(isinstance(i, str) for i in value.get(k, [])) for k in lists):
        raise ConfigError(shape)
    queue, group, prefix = value.get("queue"), value.get("logGroup"), value.get("metricFilters")
    if not all(v is None or isinstance(v, str) for v in (queue, group, prefix)):
        raise ConfigError(shape)
    return AlertPath(
        emails=tuple(value.get("emails", [])),
        filters={str(k): v for k, v in filters.items()},
        alarms=tuple(value.get("alarms", [])),
        keys=tuple(value.get("keys", [])),
        queue=queue or None,
        log_group=group or None,
        metric_filters=prefix or None,
        secrets={s["arn"]: s.get("version") for s in secrets},
        buckets=tuple(value.get("buckets", [])),
    )
