"""Runtime configuration from environment variables, read once and validated with errors that name the variable."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from guardian.model import config_values as read
from guardian.model.config_values import BUCKET, ROLE_ARN, SNS_TOPIC_ARN, ConfigError
from guardian.model.decide import Exemption, PolicyContext

if TYPE_CHECKING:
    from collections.abc import Mapping

    from guardian.model.alert_path_config import AlertPath
    from guardian.model.control_tower import ControlTower
    from guardian.model.floor import Sentinel

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
    "GUARDIAN_ALERT_GROUP_MINUTES",
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
    "GUARDIAN_CDK_QUALIFIER",
    "GUARDIAN_MODE",
    "GUARDIAN_SENTINEL_TRAIL",
    "GUARDIAN_SECURITY_HUB",
    "GUARDIAN_OCSF",
    "GUARDIAN_OWN_EVENTS",
    "GUARDIAN_OWN_EVENTS_DETAIL_TYPE",
    "GUARDIAN_CONTROL_TOWER",
    "GUARDIAN_SECURITY_LAKE",
    "AWS_REGION",
)
# What boto3 takes from the environment that decides where and as whom clients talk.
CLIENT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_PROFILE")


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
    alert_group_minutes: int = 0  # repeats of an alert within this window go in one digest (0: off; stack: 5)
    own_rules: tuple[str, ...] = ()  # the guardian's own EventBridge rules: the sweep keeps them enabled and targeted
    central_topic_arn: str | None = None  # a security account's topic: every alert is published there too
    trail_accounts: tuple[str, ...] = ()  # organization mode: other accounts whose (organization) trails heal here
    signing_key_arn: str | None = None  # the KMS key that signs baselines (only the guardian's roles may sign)
    self_functions: tuple[str, ...] = ()  # the guardian's function names: its calls come from these sessions
    forwarder_rules: tuple[str, ...] = ()  # its rules in every Region but its own (the sweep checks them there)
    own_functions: tuple[str, ...] = ()  # its functions (the sweep holds their configuration to the deployment's)
    stack_id: str | None = None  # its stack: a deployment event re-records its baselines only if the stack confirms
    alert_path_setting: str = ""  # GUARDIAN_ALERT_PATH as set (the sweep's): see alert_path
    lake: bool = False  # the sweep holds every CloudTrail Lake event data store to its baseline (the stack sets it)
    approvers: tuple[Exemption, ...] = ()  # who may approve a trail's configuration, and register a self-test
    sentinel_trail: str | None = None  # the guardian's own sentinel trail: the only one a self-test stops
    log_readers: tuple[str, ...] = ()  # roles that must keep reading (and decrypting) the trails' log files
    cdk_qualifier: str = "hnb659fds"  # whose CDK execution role a stack must not lend (guardian.flows.stack_roles)
    mode: str = "heal"  # or "observe": alert what an undo would do, change nothing (guardian.model.mode)
    security_hub: bool = True  # copy each alert to Security Hub where it is enabled (GUARDIAN_SECURITY_HUB=off: never)
    ocsf: bool = False  # each alert also an OCSF Detection Finding in its bucket (guardian.flows.ocsf_findings)
    own_events: tuple[str, str] | None = None  # (bus ARN, detail-type): each alert mailed also put there
    control_tower_account: str | None = None  # Control Tower aware: its management account (GUARDIAN_CONTROL_TOWER)
    control_tower_detect: bool = False  # GUARDIAN_CONTROL_TOWER=detect: the sweep looks for it (flows.control_tower)
    security_lake: str | None = (
        None  # the custom source the sweep writes OCSF findings to, or "remediation" (see there)
    )

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
    def sentinel(self) -> Sentinel | None:
        """The guardian's own sentinel trail, whose floor is management write events (guardian.model.floor)."""
        from guardian.model.floor import sentinel  # noqa: PLC0415 - only where a trail's baseline is read

        return sentinel(self.sentinel_trail, self.topic_region, self.account_id)

    @property
    def control_tower(self) -> ControlTower | None:
        """The landing zone Control Tower runs, where the deployment says so (guardian.model.control_tower)."""
        if self.control_tower_account is None:
            return None
        from guardian.model.control_tower import ControlTower  # noqa: PLC0415 - only where Control Tower runs

        return ControlTower(self.control_tower_account, self.topic_arn.split(":")[1])

    @property
    def policy(self) -> PolicyContext:
        return PolicyContext(
            account_id=self.account_id,
            self_role_arn=self.self_role_arn,
            exempt_principals=self.exempt_principals,
            other_guardian_roles=self.other_guardian_roles,
            trail_accounts=self.trail_accounts,
            self_functions=self.self_functions,
            control_tower=self.control_tower,
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
            alert_group_minutes=read.integer(environ, "GUARDIAN_ALERT_GROUP_MINUTES", 0, low=0, high=1440),
            own_rules=read.own_rules(environ),
            central_topic_arn=read.central_topic(environ),
            trail_accounts=read.accounts(environ),
            signing_key_arn=read.key_arn(environ.get("GUARDIAN_SIGNING_KEY_ARN", "")),
            self_functions=read.listed(environ, "GUARDIAN_SELF_FUNCTIONS"),
            forwarder_rules=read.listed(environ, "GUARDIAN_FORWARDER_RULES"),
            own_functions=read.listed(environ, "GUARDIAN_OWN_FUNCTIONS"),
            stack_id=environ.get("GUARDIAN_STACK_ID", "").strip() or None,
            alert_path_setting=_alert_path_setting(environ),
            lake=environ.get("GUARDIAN_LAKE", "").strip() == "1",
            approvers=read.exempt_principals(environ.get("GUARDIAN_APPROVERS", ""), "GUARDIAN_APPROVERS"),
            sentinel_trail=environ.get("GUARDIAN_SENTINEL_TRAIL", "").strip() or None,
            log_readers=_log_readers(environ),
            cdk_qualifier=read.qualifier(environ),
            mode=_mode(environ),
            security_hub=_security_hub(environ),
            ocsf=environ.get("GUARDIAN_OCSF", "").strip() == "1",
            own_events=_own_events(environ),
            control_tower_account=None if _ct_detect(environ) else read.account(environ, "GUARDIAN_CONTROL_TOWER"),
            control_tower_detect=_ct_detect(environ),
            security_lake=_security_lake(environ),
        )

    @cached_property
    def alert_path(self) -> AlertPath:
        """What the sweep checks an alert goes through, read on first use (validated by :meth:`from_env`)."""
        from guardian.model.alert_path_config import alert_path  # noqa: PLC0415 - the sweep's setting

        return alert_path(self.alert_path_setting)

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


def _mode(environ: Mapping[str, str]) -> str:
    """GUARDIAN_MODE: heal (unset) or observe. Compared as text: the mode module stays off the heal path."""
    text = environ.get("GUARDIAN_MODE", "").strip().lower() or "heal"
    if text not in ("heal", "observe"):
        raise ConfigError(f"GUARDIAN_MODE must be observe or heal, got {environ.get('GUARDIAN_MODE')!r}")
    return text


def _security_hub(environ: Mapping[str, str]) -> bool:
    """GUARDIAN_SECURITY_HUB: auto (unset: findings where Security Hub is enabled) or off."""
    text = environ.get("GUARDIAN_SECURITY_HUB", "").strip().lower() or "auto"
    if text not in ("auto", "off"):
        raise ConfigError(f"GUARDIAN_SECURITY_HUB must be auto or off, got {environ.get('GUARDIAN_SECURITY_HUB')!r}")
    return text == "auto"


def _own_events(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """GUARDIAN_OWN_EVENTS (a bus ARN) and its detail-type, read where set: their reader stays off the cold start."""
    if not environ.get("GUARDIAN_OWN_EVENTS", "").strip() and not environ.get("GUARDIAN_OWN_EVENTS_DETAIL_TYPE"):
        return None
    from guardian.model.own_events import own_events_config  # noqa: PLC0415 - where the setting is on

    return own_events_config(environ)


def _security_lake(environ: Mapping[str, str]) -> str | None:
    """GUARDIAN_SECURITY_LAKE as set: read (and checked, a failure named) where it is used, by the sweep: the
    remediation function carries it for the sweep (guardian.flows.lake_delivery) and never reads it on a cold start."""
    return environ.get("GUARDIAN_SECURITY_LAKE", "").strip() or None


def _ct_detect(environ: Mapping[str, str]) -> bool:
    """``controlTower`` auto without managementAccountId: the sweep detects the landing zone, says so."""
    return environ.get("GUARDIAN_CONTROL_TOWER", "").strip() == "detect"


def _alert_path_setting(environ: Mapping[str, str]) -> str:
    """GUARDIAN_ALERT_PATH, checked now where it is set: its reader is compiled only there (the sweep's function),
    never on the heal path's cold start."""
    text = environ.get("GUARDIAN_ALERT_PATH", "")
    if text.strip():
        from guardian.model.alert_path_config import alert_path  # noqa: PLC0415 - the sweep's setting

        alert_path(text)  # raises ConfigError, naming the variable
    return text
