"""Deployment options from CDK context (``cdk.json`` or ``-c key=value``), validated with errors that name the key."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from infra.context_keys import check_keys
from infra.errors import SettingsError
from infra.own_events import detail_type_setting, own_events_setting
from infra.principals import APPROVER_KINDS, account_id, located, principal_list, resource_arn, role_arns, role_name
from infra.recipients import Recipient, recipients
from infra.regions import check_one_partition, check_region
from infra.security_lake import security_lake_setting
from infra.webhooks import Webhook, webhooks
from watch_rules.compile import Compiled, compile_rules
from watch_rules.schema import RulesError
from watch_rules.schema import load as load_rules

# CloudWatch Logs accepts only these retention periods; under a week is too short to investigate an incident.
ALL_LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# On every resource and role of the guardian's stacks, its value the stack name: the service control policies
# (scripts/render_scp.py) know the guardian by it, in both deployment styles.
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # where cdk.json is: relative paths in context start here
DEFAULT_WATCH_RULES = "rules/watch.json"
GUARDIAN_TAG = "cloudtrail-guardian"
LOG_RETENTION_DAYS = tuple(d for d in ALL_LOG_RETENTION_DAYS if d >= 7)


@dataclass(frozen=True)
class GuardianSettings:
    alert_emails: tuple[Recipient, ...] = ()  # each with its minimum severity (default MEDIUM)
    evidence_retention_mode: str = "GOVERNANCE"
    evidence_retention_days: int = 365
    log_retention_days: int = 365
    exempt_principals: tuple[str | dict[str, str], ...] = ()  # ARN globs, or {"principal": ..., "until": ...}
    approvers: tuple[str | dict[str, str], ...] = ()  # who may `guardian approve` and `guardian selftest` (same form)
    stack_name: str = "CloudTrailGuardian"
    regions: tuple[str, ...] = ()  # empty: the stack's own Region
    sweep_minutes: int = 5
    protect_trails: tuple[str, ...] = ()
    protect_tag: str = ""
    repeat_threshold: int = 3
    repeat_window_minutes: int = 10
    alert_group_minutes: int = 5  # repeats of an alert within this window go in one digest alert; 0: off
    remediation_concurrency: int = 50  # the remediation function's reserved concurrency; 0: unreserved
    sentinel_trail: bool = True
    sentinel_retention_days: int = 90
    sentinel_read_events: bool = False  # the sentinel records write management events; true: reads too (paid)
    home_region: str | None = None  # where the guardian runs; other `regions` get a forwarder
    account: str | None = None  # the account to deploy to (from `environments`); None: the CLI's credentials
    organization_management: bool = False  # the management or delegated administrator account
    management_account_id: str | None = None  # in a delegated administrator: the account owning organization trails
    central_topic_arn: str | None = None  # a security account's topic: every alert is published there too
    central_topic_key_arn: str | None = None  # that topic's KMS key (publishers need it)
    break_glass_role: str | None = None  # a role name that may write to the evidence bucket (and that the SCP exempts)
    accept_unseen_iam_events: bool = False  # deploy although IAM changes to the guardian's roles would go unseen
    security_account: str | None = None  # self-protection events and the sweep's heartbeat go to its event bus too
    watch_rules: str | None = DEFAULT_WATCH_RULES  # the watch rules file; None: no watch rules
    cis_alarms: bool = False  # the CIS "Monitoring" metric filters and alarms
    cis_log_group: str | None = None  # the log group they read; None: the sentinel trail's, sent to CloudWatch Logs
    webhooks: tuple[Webhook, ...] = ()  # chat webhooks (Slack, Teams, HTTPS), each with its minimum severity
    log_readers: tuple[str, ...] = ()  # IAM role ARNs that must keep reading and decrypting the trails' log files
    mode: str = "heal"  # or "observe": alert and keep evidence of what a heal would do, change nothing
    security_hub: str = "auto"  # or "off": each alert copied to Security Hub as a finding where it is enabled
    ocsf: bool = False  # each alert also an OCSF Detection Finding in the evidence bucket (infra.own_events)
    own_events: str | None = None  # "default" or a bus ARN: each alert mailed also put on that bus
    own_events_detail_type: str = "CloudTrail Guardian Alert"  # their detail-type (infra.own_events)
    control_tower: str = "off"  # or "auto": Control Tower's own changes to its trail are deployments (LOW, kept)
    security_lake: dict[str, str] | None = None  # a Security Lake custom source the sweep writes the OCSF findings to
    console_readers: tuple[str, ...] = ()  # role ARNs of securityAccount the console read role trusts; (): the account

    def watch(self) -> Compiled | None:
        """The watch rules, compiled (a problem is a SettingsError naming the rule and the field)."""
        if self.watch_rules is None:
            return None
        try:
            return compile_rules(load_rules(PROJECT_ROOT / self.watch_rules))
        except RulesError as exc:
            raise SettingsError(f"watchRules: {exc}") from None

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> GuardianSettings:
        """``get`` is ``app.node.try_get_context``: values from ``-c`` arrive as strings, from cdk.json as JSON."""
        mode = str(get("evidenceRetentionMode") or "GOVERNANCE").upper()
        if mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise SettingsError(f"evidenceRetentionMode must be GOVERNANCE or COMPLIANCE, got {mode!r}")
        log_days = _int(get("logRetentionDays"), "logRetentionDays", 365, low=1, high=3653)
        if log_days not in LOG_RETENTION_DAYS:
            raise SettingsError(f"logRetentionDays must be one of {LOG_RETENTION_DAYS}, got {log_days}")
        stack_name = str(get("stackName") or "CloudTrailGuardian")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", stack_name):
            raise SettingsError(f"stackName must be a CloudFormation stack name, got {stack_name!r}")
        settings = cls(
            alert_emails=recipients(_list(get("alertEmails"), "alertEmails")),
            evidence_retention_mode=mode,
            evidence_retention_days=_int(get("evidenceRetentionDays"), "evidenceRetentionDays", 365, low=1, high=36500),
            log_retention_days=log_days,
            exempt_principals=principal_list(get("exemptPrincipals"), "exemptPrincipals"),
            approvers=principal_list(get("approvers"), "approvers", APPROVER_KINDS, role_paths=False),
            stack_name=stack_name,
            regions=_regions(get("regions")),
            sweep_minutes=_int(get("sweepMinutes"), "sweepMinutes", 5, low=1, high=1440),
            protect_trails=_list(get("protectTrails"), "protectTrails"),
            protect_tag=_tag(get("protectTag")),
            repeat_threshold=_int(get("repeatThreshold"), "repeatThreshold", 3, low=2, high=1000),
            repeat_window_minutes=_int(get("repeatWindowMinutes"), "repeatWindowMinutes", 10, low=1, high=1440),
            alert_group_minutes=_int(get("alertGroupMinutes"), "alertGroupMinutes", 5, low=0, high=1440),
            remediation_concurrency=_concurrency(get("remediationConcurrency")),
            sentinel_trail=_bool(get("sentinelTrail"), "sentinelTrail", default=True),
            sentinel_retention_days=_int(get("sentinelRetentionDays"), "sentinelRetentionDays", 90, low=1, high=3650),
            sentinel_read_events=_bool(get("sentinelReadEvents"), "sentinelReadEvents", default=False),
            home_region=_region(get("homeRegion"), "homeRegion"),
            account=_account(get("account"), "account"),
            organization_management=_bool(get("organizationManagement"), "organizationManagement", default=False),
            management_account_id=_account(get("managementAccountId"), "managementAccountId"),
            central_topic_arn=_arn(get("centralTopicArn"), "centralTopicArn", "sns"),
            central_topic_key_arn=_arn(get("centralTopicKeyArn"), "centralTopicKeyArn", "kms"),
            break_glass_role=_role_name(get("breakGlassRole"), "breakGlassRole"),
            accept_unseen_iam_events=_bool(get("acceptUnseenIamEvents"), "acceptUnseenIamEvents", default=False),
            security_account=_account(get("securityAccount"), "securityAccount"),
            watch_rules=_watch_rules(get("watchRules")),
            cis_alarms=_bool(get("cisAlarms"), "cisAlarms", default=False),
            cis_log_group=_log_group(get("cisLogGroup")),
            webhooks=webhooks(get("webhooks")),
            log_readers=_log_readers(get("logReaders")),
            mode=_mode(get("mode")),
            security_hub=_security_hub(get("securityHub")),
            ocsf=_bool(get("ocsf"), "ocsf", default=False),
            own_events=own_events_setting(get("ownEvents")),
            own_events_detail_type=detail_type_setting(get("ownEventsDetailType")),
            control_tower=_control_tower(get("controlTower")),
            security_lake=security_lake_setting(get("securityLake")),
            console_readers=role_arns(_list(get("consoleReaders"), "consoleReaders"), "consoleReaders"),
        )
        if settings.cis_alarms and not settings.cis_log_group and not settings.sentinel_trail:
            raise SettingsError(
                "cisAlarms needs a log group to read: cisLogGroup (one a multi-Region trail of all management "
                "events delivers to), or the sentinel trail (sentinelTrail true), which then delivers to its own"
            )
        settings.watch()  # a rule the compiler cannot express stops the synth here, named
        if settings.security_account and not (
            settings.central_topic_arn and settings.central_topic_arn.split(":")[4] == settings.security_account
        ):
            raise SettingsError(
                "securityAccount needs centralTopicArn, a topic in that account (the centralAlerts stack's output): "
                "its Region is where the guardian's events are sent"
            )
        if settings.console_readers and not all(
            arn.split(":")[4] == settings.security_account for arn in settings.console_readers
        ):
            raise SettingsError(
                "consoleReaders must be roles of securityAccount (the account the console read role trusts), got "
                f"{list(settings.console_readers)}"
            )
        if settings.security_account and settings.security_account == settings.account:
            raise SettingsError("securityAccount must be another account than the one the guardian protects")
        check_one_partition([r for r in (settings.home_region, *settings.regions) if r], "regions and homeRegion")
        if settings.security_lake is not None and not settings.ocsf:  # the findings it writes are ocsf's
            settings = replace(settings, ocsf=True)
        return settings

    @property
    def security_bus_arn(self) -> str | None:
        """The security account's default event bus, in its central topic's Region."""
        if not self.security_account or not self.central_topic_arn:
            return None
        partition, region = self.central_topic_arn.split(":")[1], self.central_topic_arn.split(":")[3]
        return f"arn:{partition}:events:{region}:{self.security_account}:event-bus/default"

    @property
    def trail_accounts(self) -> tuple[str, ...]:
        """Other accounts whose organization trails the guardian heals: the management account, when this is its
        delegated administrator. Member accounts escalate instead."""
        if self.organization_management and self.management_account_id and self.management_account_id != self.account:
            return (self.management_account_id,)
        return ()

    @property
    def control_tower_account(self) -> str | None:
        """What the functions know Control Tower by (GUARDIAN_CONTROL_TOWER): the management account, or, without
        managementAccountId, ``detect`` (the sweep derives and reports it: guardian.flows.control_tower); None: off."""
        if self.control_tower != "auto":
            return None
        return self.management_account_id or "detect"

    def sweep_regions(self, home: str | None) -> tuple[str, ...]:
        """The home Region first, then every other Region of `regions`."""
        return tuple(dict.fromkeys(r for r in (home, *self.regions) if r))

    def forwarded_regions(self, home: str | None) -> tuple[str, ...]:
        return tuple(r for r in self.regions if r != home)


def _list(value: Any, key: str) -> tuple[str, ...]:
    """A JSON list, or a comma-separated string (the form ``-c key=a,b`` gives)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SettingsError(f"{key} is not a valid JSON list: {exc.msg}") from exc
        else:
            value = [part for part in (p.strip() for p in text.split(",")) if part]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SettingsError(f"{key} must be a list of strings or a comma-separated string, got {value!r}")
    return tuple(item.strip() for item in value if item.strip())


def _regions(value: Any) -> tuple[str, ...]:
    regions = _list(value, "regions")
    return tuple(dict.fromkeys(check_region(r, "regions") for r in regions))


def _matching(value: Any, key: str, pattern: str, what: str) -> str | None:
    """An optional text option that must match ``pattern``; the error says what it must be."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not re.fullmatch(pattern, text):
        raise SettingsError(f"{key} must be {what}, got {text!r}")
    return text


def _region(value: Any, key: str) -> str | None:
    text = _matching(value, key, r"[a-z]{2,5}(-[a-z]+)+-\d+", "a Region name such as eu-west-1")
    return None if text is None else check_region(text, key)


def _role_name(value: Any, key: str) -> str | None:
    return role_name(value, key)  # a name, or a role ARN at path / (infra/principals.py)


def _account(value: Any, key: str) -> str | None:
    return account_id(value, key)


def _arn(value: Any, key: str, service: str) -> str | None:
    return resource_arn(value, key, service)


# Every option GuardianSettings.from_context reads (a test keeps this list and the reads the same), and the options
# app.py reads beside them: the list of guardians, and the central alerts helper stack.
OPTIONS = (
    "alertEmails",
    "evidenceRetentionMode",
    "evidenceRetentionDays",
    "logRetentionDays",
    "exemptPrincipals",
    "approvers",
    "stackName",
    "regions",
    "sweepMinutes",
    "protectTrails",
    "protectTag",
    "repeatThreshold",
    "repeatWindowMinutes",
    "alertGroupMinutes",
    "remediationConcurrency",
    "sentinelTrail",
    "sentinelRetentionDays",
    "sentinelReadEvents",
    "homeRegion",
    "account",
    "organizationManagement",
    "managementAccountId",
    "centralTopicArn",
    "centralTopicKeyArn",
    "breakGlassRole",
    "acceptUnseenIamEvents",
    "securityAccount",
    "watchRules",
    "cisAlarms",
    "cisLogGroup",
    "webhooks",
    "logReaders",
    "mode",
    "securityHub",
    "ocsf",
    "ownEvents",
    "ownEventsDetailType",
    "controlTower",
    "consoleReaders",
    "securityLake",
)
APP_OPTIONS = ("environments", "centralAlerts")


def environments(get: Callable[[str], Any]) -> tuple[GuardianSettings, ...]:
    """Context `environments`: one guardian per entry, `{"account": ..., "region": ..., <any option>}`; an entry's
    options override the global ones. Empty: one guardian, where the CLI's credentials point."""
    value = get("environments")
    if not value:
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"environments is not a valid JSON list: {exc.msg}") from exc
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise SettingsError('environments must be a list of {"account": "123456789012", "region": "eu-west-1", ...}')
    _mode(get("mode"))  # a top-level mistake is reported as one, not against the first entry
    found: list[GuardianSettings] = []
    for index, entry in enumerate(value):
        check_keys(entry, (*OPTIONS, "account", "region"), where=f"environments[{index}]")
        if "account" not in entry or "region" not in entry:
            raise SettingsError(f"environments[{index}] needs both account and region, got {sorted(entry)}")
        if "environments" in entry:
            raise SettingsError(f"environments[{index}] cannot itself hold environments")
        merged = {**{k: v for k, v in entry.items() if k not in ("account", "region")}, "homeRegion": entry["region"]}

        read: list[str] = []  # the keys in the order read; a key not in the entry comes from the top level
        top = {key for key in OPTIONS if key not in merged and key != "account"}

        def lookup(
            key: str, merged: dict[str, Any] = merged, entry: dict[str, Any] = entry, read: list[str] = read
        ) -> Any:
            read.append(key)
            if key == "account":
                return entry["account"]
            return merged[key] if key in merged else get(key)

        try:
            found.append(GuardianSettings.from_context(lookup))
        except SettingsError as exc:
            last = read[-1] if read else None
            raise SettingsError(located(str(exc), index=index, entry=entry, read_last=last, from_top=top)) from exc
    keys = [(e.account, e.home_region) for e in found]
    if len(set(keys)) != len(keys):
        raise SettingsError("environments lists the same account and Region twice")
    return tuple(found)


def _security_hub(value: Any) -> str:
    """``auto`` (the default: each alert is copied as a finding where Security Hub is enabled) or ``off``."""
    text = value.strip().lower() or "auto" if isinstance(value, str) else "auto" if value is None else value
    if text not in ("auto", "off"):
        raise SettingsError(f'securityHub must be "auto" or "off", got {value!r}')
    return str(text)


def _control_tower(value: Any) -> str:
    """``off`` (the default) or ``auto``: Control Tower's own roles changing its trail are deployments."""
    text = value.strip().lower() or "off" if isinstance(value, str) else "off" if value is None else value
    if text not in ("auto", "off"):
        raise SettingsError(f'controlTower must be "auto" or "off", got {value!r}')
    return str(text)


def _mode(value: Any) -> str:
    """``heal`` (the default) or ``observe``: in observe the guardian alerts what it would undo and changes nothing
    (a pilot: docs/deploy-and-configure.md, "Rolling out")."""
    if value is None or value == "":
        return "heal"
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in ("heal", "observe"):
        raise SettingsError(f'mode must be "observe" or "heal", got {value!r}')
    return str(text)


def _log_readers(value: Any) -> tuple[str, ...]:
    """IAM role ARNs, exactly (no wildcard: a policy is judged against each one); a typo would otherwise go
    unnoticed until the readers were locked out of the logs."""
    return role_arns(_list(value, "logReaders"), "logReaders")


def _log_group(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    if not re.fullmatch(r"[\w\-/.#]{1,512}", text):
        raise SettingsError(f"cisLogGroup must be a CloudWatch Logs group name, got {text!r}")
    return text


def _watch_rules(value: Any) -> str | None:
    """A path (relative to the project, where cdk.json is), or none/off/false for no watch rules."""
    if value is None or value == "":
        return DEFAULT_WATCH_RULES
    if value is False or str(value).strip().lower() in ("none", "off", "false"):
        return None
    return str(value)


def _tag(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if text.startswith("="):
        raise SettingsError(f"protectTag must be 'key' or 'key=value', got {text!r}")
    return text


def _bool(value: Any, key: str, *, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise SettingsError(f"{key} must be true or false, got {value!r}")


def _concurrency(value: Any) -> int:
    """Reserved executions for the remediation function: 0 (unreserved: an account whose concurrency quota cannot
    spare them) or 10 to 900 (fewer would queue a flood's heals; Lambda keeps 100 of the default 1,000 unreserved)."""
    found = _int(value, "remediationConcurrency", 50, low=0, high=900)
    if 0 < found < 10:
        raise SettingsError(f"remediationConcurrency must be 0 (unreserved) or 10 to 900, got {found}")
    return found


def _int(value: Any, key: str, default: int, *, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{key} must be a whole number, got {value!r}") from exc
    if not low <= number <= high:
        raise SettingsError(f"{key} must be between {low} and {high}, got {number}")
    return number
