"""Reading one environment variable of the guardian's: each parser validates its value and names the variable in
its error (:class:`guardian.model.config.ConfigError`)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from guardian.model.decide import GLOB, Exemption

if TYPE_CHECKING:
    from collections.abc import Mapping


class ConfigError(ValueError):
    """The function's environment is wrong. Raised (not swallowed) so the event is retried and kept in the DLQ."""


SNS_TOPIC_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sns:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):[A-Za-z0-9_.-]{1,256}$"
)
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required but not set")
    return value


def exempt_principals(text: str, name: str = "GUARDIAN_EXEMPT_PRINCIPALS") -> tuple[Exemption, ...]:
    """A JSON list of principals, each a string or {"principal": ..., "until": ISO 8601 time}: an exact ARN, or a
    glob spelled ``glob:...`` (see :class:`guardian.model.decide.Exemption`). The approvers take the same form."""
    if not text.strip():
        return ()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not valid JSON ({exc.msg} at {exc.pos})") from exc
    shape = (
        f"{name} must be a JSON list of principal ARNs, each a string or "
        '{"principal": "arn:aws:iam::123456789012:role/ci-deployer", "until": "2026-12-31T00:00:00Z"}'
    )
    if not isinstance(value, list):
        raise ConfigError(shape)
    exemptions = []
    for item in value:
        if isinstance(item, str) and item.strip():
            exemptions.append(Exemption(_principal(item)))
        elif isinstance(item, dict) and isinstance(item.get("principal"), str) and item["principal"].strip():
            exemptions.append(Exemption(_principal(item["principal"]), _moment(item.get("until"))))
        else:
            raise ConfigError(shape)
    return tuple(exemptions)


def _principal(text: str) -> str:
    """An exact ARN, or a glob only where spelled ``glob:``: a wildcard elsewhere is an error, not a guess."""
    text = text.strip()
    if not text.startswith(GLOB) and any(ch in text for ch in "*?"):
        raise ConfigError(
            f"GUARDIAN_EXEMPT_PRINCIPALS: {text!r} has a wildcard; an exemption is an exact ARN unless written "
            f"{GLOB}{text} (a * never crosses a /)"
        )
    return text


def _moment(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(f"GUARDIAN_EXEMPT_PRINCIPALS: 'until' must be an ISO 8601 time, got {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def regions(environ: Mapping[str, str]) -> tuple[str, ...]:
    """GUARDIAN_SWEEP_REGIONS (JSON list), else the function's own Region."""
    text = environ.get("GUARDIAN_SWEEP_REGIONS", "").strip()
    if not text:
        own = environ.get("AWS_REGION", "").strip()
        return (own,) if own else ()
    regions = names(text, variable="GUARDIAN_SWEEP_REGIONS")
    bad = [r for r in regions if not _REGION.match(r)]
    if bad:
        raise ConfigError(f"GUARDIAN_SWEEP_REGIONS has invalid Region names: {', '.join(bad)}")
    return regions


def listed(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A JSON list of names in variable ``name``; empty if unset."""
    return names(environ.get(name, ""), variable=name)


def under_prefix(value: object, variable: str) -> list[str] | None:
    """``{"prefix": p, "names": [n, ...]}`` as ``[p + n, ...]``: how the stack writes names that share the stack's
    prefix, so that a long stack name does not outgrow a function's 4 KB environment. None for any other value."""
    if not isinstance(value, dict) or set(value) != {"prefix", "names"}:
        return None
    prefix, short = value["prefix"], value["names"]
    if not isinstance(prefix, str) or not isinstance(short, list) or not all(isinstance(n, str) for n in short):
        raise ConfigError(f'{variable} must be {{"prefix": "...", "names": ["...", ...]}} or a JSON list of names')
    return [prefix + n for n in short]


# The guards of infra.stack_callers, one each: derived from any self-protection guard, never listed.
STACK_GUARDS = ("cfn-exec-role", "cfn-exec-borrowed", "iam-tag", "cfn-iam-tag", "denied", "denied-access")


def own_rules(environ: Mapping[str, str]) -> tuple[str, ...]:
    """``GUARDIAN_OWN_RULES``, and the rules derived from it that the stack leaves out of it (a function's
    environment holds 4 KB): for each self-protection guard ``<p>-guard-<kind>`` its CloudFormation twin
    ``<p>-guard-cfn-<kind>``, and the guards of :data:`STACK_GUARDS` (infra.stack_callers)."""
    text = environ.get("GUARDIAN_OWN_RULES", "")
    try:
        expanded = under_prefix(json.loads(text), "GUARDIAN_OWN_RULES") if text.strip() else None
    except json.JSONDecodeError:
        expanded = None  # names() says what is wrong with it
    given = tuple(expanded) if expanded is not None else listed(environ, "GUARDIAN_OWN_RULES")
    derived: list[str] = []
    for name in given:
        prefix, found, kind = name.rpartition("-guard-")
        if found and kind not in ("deployment", *STACK_GUARDS) and not kind.startswith("cfn-"):
            derived += [f"{prefix}-guard-cfn-{kind}", *(f"{prefix}-guard-{k}" for k in STACK_GUARDS)]
    return tuple(dict.fromkeys([*given, *derived]))


def names(text: str, *, variable: str = "GUARDIAN_PROTECT_TRAILS") -> tuple[str, ...]:
    if not text.strip():
        return ()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{variable} is not valid JSON ({exc.msg} at {exc.pos})") from exc
    value = under_prefix(value, variable) or value  # the stack's compact form of names sharing its prefix
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ConfigError(f'{variable} must be a JSON list of names, e.g. ["us-east-1", "eu-west-1"]')
    return tuple(dict.fromkeys(item.strip() for item in value))


_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")


def key_arn(text: str) -> str | None:
    text = text.strip()
    if text and not _KEY_ARN.match(text):
        raise ConfigError(f"GUARDIAN_SIGNING_KEY_ARN is not a KMS key ARN: {text!r}")
    return text or None


def central_topic(environ: Mapping[str, str]) -> str | None:
    text = environ.get("GUARDIAN_CENTRAL_TOPIC_ARN", "").strip()
    if text and not SNS_TOPIC_ARN.match(text):
        raise ConfigError(f"GUARDIAN_CENTRAL_TOPIC_ARN is not an SNS topic ARN: {text!r}")
    return text or None


def qualifier(environ: Mapping[str, str]) -> str:
    """``GUARDIAN_CDK_QUALIFIER``: the CDK bootstrap qualifier whose execution role no other stack may lend."""
    text = environ.get("GUARDIAN_CDK_QUALIFIER", "").strip() or "hnb659fds"
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,10}", text):
        raise ConfigError(f"GUARDIAN_CDK_QUALIFIER is not a CDK qualifier (up to 10 letters or digits): {text!r}")
    return text


def accounts(environ: Mapping[str, str]) -> tuple[str, ...]:
    accounts = names(environ.get("GUARDIAN_TRAIL_ACCOUNTS", ""), variable="GUARDIAN_TRAIL_ACCOUNTS")
    bad = [a for a in accounts if not re.fullmatch(r"\d{12}", a)]
    if bad:
        raise ConfigError(f"GUARDIAN_TRAIL_ACCOUNTS must hold 12-digit account ids, got {', '.join(bad)}")
    return accounts


def account(environ: Mapping[str, str], name: str) -> str | None:
    """One 12-digit account id, or None where unset (``GUARDIAN_CONTROL_TOWER``: the management account)."""
    text = environ.get(name, "").strip()
    if text and not re.fullmatch(r"\d{12}", text):
        raise ConfigError(f"{name} must be a 12-digit account id, got {text!r}")
    return text or None


def tag(text: str) -> tuple[str, str | None] | None:
    """GUARDIAN_PROTECT_TAG: "key" (any value) or "key=value"."""
    text = text.strip()
    if not text:
        return None
    key, sep, value = text.partition("=")
    if not key.strip():
        raise ConfigError(f"GUARDIAN_PROTECT_TAG must be 'key' or 'key=value', got {text!r}")
    return key.strip(), (value.strip() if sep else None)


def integer(environ: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    return int(number(environ, name, default, low=low, high=high, whole=True))


def number(
    environ: Mapping[str, str], name: str, default: float, *, low: float, high: float, whole: bool = False
) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError as exc:
        raise ConfigError(f"{name} must be {'a whole number' if whole else 'a number'}, got {text!r}") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value
