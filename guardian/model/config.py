"""Runtime configuration from environment variables, read once and validated with errors that name the variable."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from guardian.model.decide import GLOB, Exemption, PolicyContext

if TYPE_CHECKING:
    from collections.abc import Mapping

_SNS_TOPIC_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sns:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):[A-Za-z0-9_.-]{1,256}$"
)
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


# Every variable the guardian reads. Also the cache key: configuration is parsed again only if one changes.
VARIABLES = (
    "GUARDIAN_TOPIC_ARN",
    "GUARDIAN_EVIDENCE_BUCKET",
    "GUARDIAN_SELF_ROLE_ARN",
    "GUARDIAN_EXEMPT_PRINCIPALS",
    "GUARDIAN_VERIFY_ATTEMPTS",
    "GUARDIAN_VERIFY_DELAY_SECONDS",
    "GUARDIAN_SWEEP_REGIONS",
    "GUARDIAN_PROTECT_TRAILS",
    "GUARDIAN_PROTECT_TAG",
    "GUARDIAN_ACTIVITY_TABLE",
    "GUARDIAN_REPEAT_THRESHOLD",
    "GUARDIAN_REPEAT_WINDOW_MINUTES",
    "GUARDIAN_OWN_RULES",
    "GUARDIAN_CENTRAL_TOPIC_ARN",
    "GUARDIAN_TRAIL_ACCOUNTS",
    "GUARDIAN_SIGNING_KEY_ARN",
    "GUARDIAN_SELF_FUNCTIONS",
    "AWS_REGION",
)
# What boto3 takes from the environment that decides where and as whom clients talk.
CLIENT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_PROFILE")


class ConfigError(ValueError):
    """The function's environment is wrong. Raised (not swallowed) so the event is retried and kept in the DLQ."""


@dataclass(frozen=True)
class Config:
    topic_arn: str
    evidence_bucket: str
    self_role_arn: str | None
    exempt_principals: tuple[Exemption, ...]
    verify_attempts: int
    verify_delay_seconds: float
    sweep_regions: tuple[str, ...] = ()
    other_guardian_roles: tuple[str, ...] = ()
    protect_trails: tuple[str, ...] = ()  # empty: every trail of the account
    protect_tag: tuple[str, str | None] | None = None  # (key, value or None for any value)
    activity_table: str | None = None  # repeated-tampering detection is on when set
    repeat_threshold: int = 3
    repeat_window_minutes: int = 10
    own_rules: tuple[str, ...] = ()  # the guardian's own EventBridge rules: the sweep keeps them enabled and targeted
    central_topic_arn: str | None = None  # a security account's topic: every alert is published there too
    trail_accounts: tuple[str, ...] = ()  # organization mode: other accounts whose (organization) trails heal here
    signing_key_arn: str | None = None  # the KMS key that signs baselines (only the guardian's roles may sign)
    self_functions: tuple[str, ...] = ()  # the guardian's function names: its calls come from these sessions

    @property
    def account_id(self) -> str:
        """The account the guardian protects: the one that owns its own topic."""
        match = _SNS_TOPIC_ARN.match(self.topic_arn)
        assert match  # validated in from_env
        return match["account"]

    @property
    def topic_region(self) -> str:
        match = _SNS_TOPIC_ARN.match(self.topic_arn)
        assert match
        return match["region"]

    @property
    def policy(self) -> PolicyContext:
        return PolicyContext(
            account_id=self.account_id,
            self_role_arn=self.self_role_arn,
            exempt_principals=self.exempt_principals,
            other_guardian_roles=self.other_guardian_roles,
            trail_accounts=self.trail_accounts,
            self_functions=self.self_functions,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        topic_arn = _required(environ, "GUARDIAN_TOPIC_ARN")
        if not _SNS_TOPIC_ARN.match(topic_arn):
            raise ConfigError(f"GUARDIAN_TOPIC_ARN is not an SNS topic ARN: {topic_arn!r}")
        bucket = _required(environ, "GUARDIAN_EVIDENCE_BUCKET")
        if not _BUCKET.match(bucket):
            raise ConfigError(f"GUARDIAN_EVIDENCE_BUCKET is not a valid S3 bucket name: {bucket!r}")
        # The function's own role, then (comma-separated) the guardian's other roles, such as the sweep's.
        roles = [r.strip() for r in environ.get("GUARDIAN_SELF_ROLE_ARN", "").split(",") if r.strip()]
        bad = [r for r in roles if not _ROLE_ARN.match(r)]
        if bad:
            raise ConfigError(f"GUARDIAN_SELF_ROLE_ARN is not an IAM role ARN: {bad[0]!r}")
        self_role = roles[0] if roles else None
        return cls(
            topic_arn=topic_arn,
            evidence_bucket=bucket,
            self_role_arn=self_role,
            exempt_principals=_exempt_principals(environ.get("GUARDIAN_EXEMPT_PRINCIPALS", "")),
            verify_attempts=_int(environ, "GUARDIAN_VERIFY_ATTEMPTS", 6, low=1, high=20),
            verify_delay_seconds=_float(environ, "GUARDIAN_VERIFY_DELAY_SECONDS", 0.25, low=0.0, high=10.0),
            sweep_regions=_regions(environ),
            other_guardian_roles=tuple(roles[1:]),
            protect_trails=_names(environ.get("GUARDIAN_PROTECT_TRAILS", "")),
            protect_tag=_tag(environ.get("GUARDIAN_PROTECT_TAG", "")),
            activity_table=environ.get("GUARDIAN_ACTIVITY_TABLE", "").strip() or None,
            repeat_threshold=_int(environ, "GUARDIAN_REPEAT_THRESHOLD", 3, low=2, high=1000),
            repeat_window_minutes=_int(environ, "GUARDIAN_REPEAT_WINDOW_MINUTES", 10, low=1, high=1440),
            own_rules=_names(environ.get("GUARDIAN_OWN_RULES", ""), variable="GUARDIAN_OWN_RULES"),
            central_topic_arn=_central_topic(environ),
            trail_accounts=_accounts(environ),
            signing_key_arn=_key_arn(environ.get("GUARDIAN_SIGNING_KEY_ARN", "")),
            self_functions=_names(environ.get("GUARDIAN_SELF_FUNCTIONS", ""), variable="GUARDIAN_SELF_FUNCTIONS"),
        )

    def protects(self, name: str, tags: tuple[tuple[str, str], ...]) -> bool:
        """Whether a trail with this name and these tags is protected (names and tag narrow "every trail")."""
        if self.protect_trails and name not in self.protect_trails:
            return False
        if self.protect_tag is None:
            return True
        key, value = self.protect_tag
        present = dict(tags)
        return key in present and (value is None or present[key] == value)


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required but not set")
    return value


def _exempt_principals(text: str) -> tuple[Exemption, ...]:
    """A JSON list of principals, each a string or {"principal": ..., "until": ISO 8601 time}: an exact ARN, or a
    glob spelled ``glob:...`` (see :class:`guardian.model.decide.Exemption`)."""
    if not text.strip():
        return ()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"GUARDIAN_EXEMPT_PRINCIPALS is not valid JSON ({exc.msg} at {exc.pos})") from exc
    shape = (
        "GUARDIAN_EXEMPT_PRINCIPALS must be a JSON list of principal ARNs, each a string or "
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


def _regions(environ: Mapping[str, str]) -> tuple[str, ...]:
    """GUARDIAN_SWEEP_REGIONS (JSON list), else the function's own Region."""
    text = environ.get("GUARDIAN_SWEEP_REGIONS", "").strip()
    if not text:
        own = environ.get("AWS_REGION", "").strip()
        return (own,) if own else ()
    regions = _names(text, variable="GUARDIAN_SWEEP_REGIONS")
    bad = [r for r in regions if not _REGION.match(r)]
    if bad:
        raise ConfigError(f"GUARDIAN_SWEEP_REGIONS has invalid Region names: {', '.join(bad)}")
    return regions


def _names(text: str, *, variable: str = "GUARDIAN_PROTECT_TRAILS") -> tuple[str, ...]:
    if not text.strip():
        return ()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{variable} is not valid JSON ({exc.msg} at {exc.pos})") from exc
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ConfigError(f'{variable} must be a JSON list of names, e.g. ["us-east-1", "eu-west-1"]')
    return tuple(dict.fromkeys(item.strip() for item in value))


_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")


def _key_arn(text: str) -> str | None:
    text = text.strip()
    if text and not _KEY_ARN.match(text):
        raise ConfigError(f"GUARDIAN_SIGNING_KEY_ARN is not a KMS key ARN: {text!r}")
    return text or None


def _central_topic(environ: Mapping[str, str]) -> str | None:
    text = environ.get("GUARDIAN_CENTRAL_TOPIC_ARN", "").strip()
    if text and not _SNS_TOPIC_ARN.match(text):
        raise ConfigError(f"GUARDIAN_CENTRAL_TOPIC_ARN is not an SNS topic ARN: {text!r}")
    return text or None


def _accounts(environ: Mapping[str, str]) -> tuple[str, ...]:
    accounts = _names(environ.get("GUARDIAN_TRAIL_ACCOUNTS", ""), variable="GUARDIAN_TRAIL_ACCOUNTS")
    bad = [a for a in accounts if not re.fullmatch(r"\d{12}", a)]
    if bad:
        raise ConfigError(f"GUARDIAN_TRAIL_ACCOUNTS must hold 12-digit account ids, got {', '.join(bad)}")
    return accounts


def _tag(text: str) -> tuple[str, str | None] | None:
    """GUARDIAN_PROTECT_TAG: "key" (any value) or "key=value"."""
    text = text.strip()
    if not text:
        return None
    key, sep, value = text.partition("=")
    if not key.strip():
        raise ConfigError(f"GUARDIAN_PROTECT_TAG must be 'key' or 'key=value', got {text!r}")
    return key.strip(), (value.strip() if sep else None)


def _int(environ: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {text!r}") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float(environ: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {text!r}") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value
