"""Runtime configuration from environment variables, read once and validated with errors that name the variable."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from guardian.model import config_values as read
from guardian.model.config_values import BUCKET, ROLE_ARN, SNS_TOPIC_ARN, ConfigError, under_prefix
from guardian.model.decide import Exemption, PolicyContext

if TYPE_CHECKING:
    from collections.abc import Mapping

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
    "GUARDIAN_FORWARDER_RULES",
    "GUARDIAN_OWN_FUNCTIONS",
    "GUARDIAN_STACK_ID",
    "GUARDIAN_ALERT_PATH",
    "GUARDIAN_LAKE",
    "GUARDIAN_LOG_READERS",
    "AWS_REGION",
)
# What boto3 takes from the environment that decides where and as whom clients talk.
CLIENT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_PROFILE")


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
    forwarder_rules: tuple[str, ...] = ()  # its rules in every Region but its own (the sweep checks them there)
    own_functions: tuple[str, ...] = ()  # its functions (the sweep holds their configuration to the deployment's)
    stack_id: str | None = None  # its stack: a deployment event re-records its baselines only if the stack confirms
    alert_path: AlertPath = AlertPath()
    lake: bool = False  # the sweep holds every CloudTrail Lake event data store to its baseline (the stack sets it)
    approvers: tuple[Exemption, ...] = ()  # who may approve a trail's configuration, and register a self-test
    sentinel_trail: str | None = None  # the guardian's own sentinel trail: the only one a self-test stops
    log_readers: tuple[str, ...] = ()  # roles that must keep reading (and decrypting) the trails' log files

    @property
    def account_id(self) -> str:
        """The account the guardian protects: the one that owns its own topic."""
        match = SNS_TOPIC_ARN.match(self.topic_arn)
        assert match  # validated in from_env
        return match["account"]

    @property
    def topic_region(self) -> str:
        match = SNS_TOPIC_ARN.match(self.topic_arn)
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
        topic_arn = read.required(environ, "GUARDIAN_TOPIC_ARN")
        if not SNS_TOPIC_ARN.match(topic_arn):
            raise ConfigError(f"GUARDIAN_TOPIC_ARN is not an SNS topic ARN: {topic_arn!r}")
        bucket = read.required(environ, "GUARDIAN_EVIDENCE_BUCKET")
        if not BUCKET.match(bucket):
            raise ConfigError(f"GUARDIAN_EVIDENCE_BUCKET is not a valid S3 bucket name: {bucket!r}")
        # The function's own role, then (comma-separated) the guardian's other roles, such as the sweep's.
        roles = [r.strip() for r in environ.get("GUARDIAN_SELF_ROLE_ARN", "").split(",") if r.strip()]
        bad = [r for r in roles if not ROLE_ARN.match(r)]
        if bad:
            raise ConfigError(f"GUARDIAN_SELF_ROLE_ARN is not an IAM role ARN: {bad[0]!r}")
        self_role = roles[0] if roles else None
        return cls(
            topic_arn=topic_arn,
            evidence_bucket=bucket,
            self_role_arn=self_role,
            exempt_principals=read.exempt_principals(environ.get("GUARDIAN_EXEMPT_PRINCIPALS", "")),
            verify_attempts=read.integer(environ, "GUARDIAN_VERIFY_ATTEMPTS", 6, low=1, high=20),
            verify_delay_seconds=read.number(environ, "GUARDIAN_VERIFY_DELAY_SECONDS", 0.25, low=0.0, high=10.0),
            sweep_regions=read.regions(environ),
            other_guardian_roles=tuple(roles[1:]),
            protect_trails=read.listed(environ, "GUARDIAN_PROTECT_TRAILS"),
            protect_tag=read.tag(environ.get("GUARDIAN_PROTECT_TAG", "")),
            activity_table=environ.get("GUARDIAN_ACTIVITY_TABLE", "").strip() or None,
            repeat_threshold=read.integer(environ, "GUARDIAN_REPEAT_THRESHOLD", 3, low=2, high=1000),
            repeat_window_minutes=read.integer(environ, "GUARDIAN_REPEAT_WINDOW_MINUTES", 10, low=1, high=1440),
            own_rules=read.own_rules(environ),
            central_topic_arn=read.central_topic(environ),
            trail_accounts=read.accounts(environ),
            signing_key_arn=read.key_arn(environ.get("GUARDIAN_SIGNING_KEY_ARN", "")),
            self_functions=read.listed(environ, "GUARDIAN_SELF_FUNCTIONS"),
            forwarder_rules=read.listed(environ, "GUARDIAN_FORWARDER_RULES"),
            own_functions=read.listed(environ, "GUARDIAN_OWN_FUNCTIONS"),
            stack_id=environ.get("GUARDIAN_STACK_ID", "").strip() or None,
            alert_path=_alert_path(environ.get("GUARDIAN_ALERT_PATH", "")),
            lake=environ.get("GUARDIAN_LAKE", "").strip() == "1",
            approvers=read.exempt_principals(environ.get("GUARDIAN_APPROVERS", ""), "GUARDIAN_APPROVERS"),
            sentinel_trail=environ.get("GUARDIAN_SENTINEL_TRAIL", "").strip() or None,
            log_readers=_log_readers(environ),
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


def _log_readers(environ: Mapping[str, str]) -> tuple[str, ...]:
    """GUARDIAN_LOG_READERS: a JSON list of IAM role ARNs (the ``logReaders`` setting)."""
    readers = read.listed(environ, "GUARDIAN_LOG_READERS")
    bad = [r for r in readers if not ROLE_ARN.match(r)]
    if bad:
        raise ConfigError(f"GUARDIAN_LOG_READERS must hold IAM role ARNs, got {bad[0]!r}")
    return readers


def _alert_path(text: str) -> AlertPath:
    """``{"emails": [...], "filters": {address: policy}, "alarms": [...], "keys": [key ARNs], "queue": URL}``;
    empty: nothing to check."""
    if not text.strip():
        return AlertPath()
    shape = 'GUARDIAN_ALERT_PATH must be {"emails": [...], "alarms": [...], "keys": [...], "queue": "https://..."}'
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"GUARDIAN_ALERT_PATH is not valid JSON ({exc.msg} at {exc.pos})") from exc
    if isinstance(value, dict):  # the alarms may be written under the stack's prefix (a 4 KB environment)
        alarms = under_prefix(value.get("alarms"), "GUARDIAN_ALERT_PATH alarms")
        value = value if alarms is None else {**value, "alarms": alarms}
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
