"""Every KMS key the protected trails depend on, and who uses each: the trails' own keys (their baselines), each
trail's log group's key (its signed baseline: one approved or recorded, never one merely found on it), the CIS
alarms' log group's key, and each CloudTrail Lake event data store's key (its signed baseline). A key shared by
several is one entry, so the sweep reads it once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from guardian.flows import baselines
from guardian.model.log_group import LogGroupState, group_of
from guardian.model.refs import KeyRef
from guardian.model.rules import Subject
from guardian.model.service_key_policy import ServiceUse, lake_use, log_group_use

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from guardian.model.config import Config
    from guardian.model.trail import TrailState
    from guardian.ports.calls import Everything

LOG = logging.getLogger(__name__)


@dataclass
class Users:
    """Who a key serves: trails whose log files CloudTrail encrypts with it, and the services (CloudWatch Logs for a
    log group, CloudTrail for a Lake store) that write with it; ``serving``: the trails such a log group serves."""

    trails: list[TrailState] = field(default_factory=list)
    services: list[ServiceUse] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # "log group /aws/x", "event data store arn:...", for the alert
    serving: list[TrailState] = field(default_factory=list)

    @property
    def named(self) -> list[TrailState]:
        """The trails an alert about the key is told of (the first names it)."""
        return self.trails + [t for t in self.serving if t not in self.trails]

    def describe(self) -> str:
        names = [f"trail {t.name}" for t in self.trails] + self.labels
        return ", ".join(names)


def key_ref(value: str | None, region: str, account_id: str | None) -> KeyRef | None:
    """A key named by id or key ARN; an alias, or another account's key (its owner guards it), is none here."""
    if not value or "alias/" in value:
        return None
    if value.startswith("arn:"):
        parts = value.split(":")
        if len(parts) < 6 or not parts[5].startswith("key/") or (account_id and parts[4] != account_id):
            return None
        return KeyRef(key_id=parts[5].removeprefix("key/"), region=parts[3], account_id=parts[4])
    return KeyRef(key_id=value, region=region, account_id=account_id)


def keys_in_use(
    aws: Everything, config: Config, protected: Sequence[TrailState], stores: Iterable[tuple[str, str]] = ()
) -> dict[KeyRef, Users]:
    """Every key the protected trails, their log groups, the CIS alarms' log group and the Lake stores (``stores``:
    (store ARN, its baseline's KmsKeyId)) depend on, each once."""
    account = config.account_id
    using: dict[KeyRef, Users] = {}
    for trail in protected:  # a trail's key lives in its home Region (as guardian.flows.key.key_of reads it)
        key = KeyRef(trail.kms_key_id.rsplit("/", 1)[-1], trail.home_region, account) if trail.kms_key_id else None
        if key is not None:
            using.setdefault(key, Users()).trails.append(trail)
    groups: dict[tuple[str, str], list[TrailState]] = {}
    for trail in protected:
        group = group_of(trail.cloudwatch_logs_group_arn)
        if group is not None:
            groups.setdefault(group, []).append(trail)
    for (region, name), trails in sorted(groups.items()):
        guarded = baselines.load_resource(aws, Subject.LOG_GROUP, name, region)
        state = guarded.baseline if guarded is not None else None
        kms = state.kms_key_id if isinstance(state, LogGroupState) else None
        _add(using, key_ref(kms, region, account), log_group_use(region, account, name), f"log group {name}", trails)
    cis = config.alert_path.log_group
    if cis and (config.topic_region, cis) not in groups:  # the CIS alarms read a log group of their own
        live = aws.log_group_state(config.topic_region, cis)
        use = log_group_use(config.topic_region, account, cis)
        _add(using, key_ref(live.kms_key_id, config.topic_region, account), use, f"log group {cis} (CIS alarms)", [])
    for arn, kms in stores:
        region = arn.split(":")[3] if arn.count(":") >= 5 else config.topic_region
        _add(using, key_ref(kms, region, account), lake_use(arn), f"event data store {arn}", [])
    return using


def _add(using: dict[KeyRef, Users], key: KeyRef | None, use: ServiceUse, label: str, trails: list[TrailState]) -> None:
    if key is None:
        return
    users = using.setdefault(key, Users())
    users.services.append(use)
    users.labels.append(label)
    users.serving.extend(t for t in trails if t not in users.serving)
