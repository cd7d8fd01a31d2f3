"""A trail's approved configuration (its baseline), and what a change to it does: weaken or strengthen.

Pure: no boto3, no environment. The comparison works on the live state, never on a request's parameters (the
console sends every field, the CLI only the changed ones, and oversized requests are omitted).

What counts as weakening, field by field (docs/operations.md has the same table):
- logging, multi-Region, global service events, log file validation, organization trail: on → off weakens.
- KMS key, SNS topic, CloudWatch Logs group and role: removed or replaced weakens; added strengthens.
- S3 bucket or key prefix: any change weakens (the logs would go elsewhere).
- event selectors: weakens unless the new selectors cover at least what the baseline covered (management read and
  write events, fewer or equal excluded event sources, every data resource); advanced selectors: unless every
  baseline selector is still present; a switch between classic and advanced selectors weakens.
- insight selectors: removing an insight type weakens; adding one strengthens.
- tags: removing or changing a tag weakens; adding one strengthens.
Anything that strengthens is kept and becomes the new baseline; anything that weakens is put back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from guardian.model.changes import Change, Effect
from guardian.model.selectors import canonical, compare_selectors

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from guardian.model.refs import TrailRef


@dataclass(frozen=True)
class TrailState:
    """Everything about a trail that the guardian protects, as read from AWS."""

    name: str
    arn: str
    home_region: str
    logging: bool
    s3_bucket: str
    s3_prefix: str | None = None
    sns_topic_arn: str | None = None
    include_global_service_events: bool = True
    multi_region: bool = False
    log_file_validation: bool = False
    kms_key_id: str | None = None
    cloudwatch_logs_group_arn: str | None = None
    cloudwatch_logs_role_arn: str | None = None
    organization: bool = False
    event_selectors: tuple[Mapping[str, Any], ...] | None = None
    advanced_event_selectors: tuple[Mapping[str, Any], ...] | None = None
    insight_types: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    # Read with the state, never part of the baseline: CloudTrail's last S3 delivery error (logs not arriving).
    delivery_error: str | None = field(default=None, compare=False)
    # Read with the state, never part of the baseline: when CloudTrail last delivered a digest file (its log files
    # are validated against them, guardian.flows.log_files).
    digest_delivered_at: datetime | None = field(default=None, compare=False)
    # Read with the state, never part of the baseline: CloudTrail's StopLoggingTime (a stop the event path may still
    # be healing: guardian.flows.sweep_trails).
    stopped_at: datetime | None = field(default=None, compare=False)

    def ref(self, account_id: str | None) -> TrailRef:
        """The trail as the calls that name it take it: by its ARN, in its home Region."""
        from guardian.model.refs import TrailRef  # noqa: PLC0415 - the restore path only

        return TrailRef(name=self.name, region=self.home_region, account_id=account_id, given=self.arn, arn=self.arn)

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.compare}
        data["event_selectors"] = None if self.event_selectors is None else [dict(s) for s in self.event_selectors]
        data["advanced_event_selectors"] = (
            None if self.advanced_event_selectors is None else [dict(s) for s in self.advanced_event_selectors]
        )
        data["insight_types"] = list(self.insight_types)
        data["tags"] = [{"Key": k, "Value": v} for k, v in self.tags]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrailState:
        known = {f.name for f in fields(cls) if f.compare}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("event_selectors", "advanced_event_selectors"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        values["insight_types"] = tuple(values.get("insight_types") or ())
        values["tags"] = tuple((t["Key"], t["Value"]) for t in values.get("tags") or ())
        return cls(**values)


def state_from_aws(
    trail: Mapping[str, Any],
    status: Mapping[str, Any],
    selectors: Mapping[str, Any],
    insight_types: Sequence[str],
    tags: Sequence[Mapping[str, str]],
) -> TrailState:
    """Build the state from DescribeTrails, GetTrailStatus, GetEventSelectors, GetInsightSelectors, ListTags."""
    classic = selectors.get("EventSelectors")
    advanced = selectors.get("AdvancedEventSelectors")
    return TrailState(
        name=trail["Name"],
        arn=trail["TrailARN"],
        home_region=trail["HomeRegion"],
        logging=bool(status.get("IsLogging")),
        s3_bucket=trail["S3BucketName"],
        s3_prefix=trail.get("S3KeyPrefix") or None,
        sns_topic_arn=trail.get("SnsTopicARN") or None,
        include_global_service_events=bool(trail.get("IncludeGlobalServiceEvents", True)),
        multi_region=bool(trail.get("IsMultiRegionTrail")),
        log_file_validation=bool(trail.get("LogFileValidationEnabled")),
        kms_key_id=trail.get("KmsKeyId") or None,
        cloudwatch_logs_group_arn=trail.get("CloudWatchLogsLogGroupArn") or None,
        cloudwatch_logs_role_arn=trail.get("CloudWatchLogsRoleArn") or None,
        organization=bool(trail.get("IsOrganizationTrail")),
        event_selectors=tuple(canonical(s) for s in classic) if classic else None,
        advanced_event_selectors=tuple(canonical(s) for s in advanced) if advanced else None,
        insight_types=tuple(sorted(set(insight_types))),
        tags=tuple(sorted((t["Key"], t.get("Value", "")) for t in tags)),
        delivery_error=status.get("LatestDeliveryError") or None,
        digest_delivered_at=_time(status.get("LatestDigestDeliveryTime")),
        stopped_at=_time(status.get("StopLoggingTime")),
    )


def _time(value: Any) -> datetime | None:
    """A time GetTrailStatus gives (botocore parses it into a datetime), or None."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_SWITCHES = ("logging", "multi_region", "include_global_service_events", "log_file_validation", "organization")
_ATTACHMENTS = ("kms_key_id", "sns_topic_arn", "cloudwatch_logs_group_arn", "cloudwatch_logs_role_arn")
_DESTINATION = ("s3_bucket", "s3_prefix")


def compare(baseline: TrailState, current: TrailState) -> tuple[Change, ...]:
    """Every difference, each marked weakened or strengthened (see the module docstring for the rules)."""
    changes: list[Change] = []
    for name in _SWITCHES:
        before, after = getattr(baseline, name), getattr(current, name)
        if before != after:
            changes.append(Change(name, before, after, Effect.STRENGTHENED if after else Effect.WEAKENED))
    for name in _ATTACHMENTS:
        before, after = getattr(baseline, name), getattr(current, name)
        if before != after:
            changes.append(Change(name, before, after, Effect.STRENGTHENED if before is None else Effect.WEAKENED))
    for name in _DESTINATION:
        before, after = getattr(baseline, name), getattr(current, name)
        if before != after:
            changes.append(Change(name, before, after, Effect.WEAKENED))
    selectors = compare_selectors(
        baseline.event_selectors,
        baseline.advanced_event_selectors,
        current.event_selectors,
        current.advanced_event_selectors,
    )
    if selectors:
        changes.append(selectors)
    if baseline.insight_types != current.insight_types:
        dropped = set(baseline.insight_types) - set(current.insight_types)
        changes.append(
            Change(
                "insight_types",
                baseline.insight_types,
                current.insight_types,
                Effect.WEAKENED if dropped else Effect.STRENGTHENED,
            )
        )
    if baseline.tags != current.tags:
        lost = set(baseline.tags) - set(current.tags)
        changes.append(Change("tags", baseline.tags, current.tags, Effect.WEAKENED if lost else Effect.STRENGTHENED))
    return tuple(changes)


def target_state(baseline: TrailState, current: TrailState, changes: Sequence[Change]) -> TrailState:
    """What the trail must become: baseline values where a change weakened it, the live value where it
    strengthened it. Removed tags come back; added tags stay. This is also the next baseline."""
    values: dict[str, Any] = {}
    for change in changes:
        if change.effect is Effect.WEAKENED:
            values[change.field] = getattr(baseline, change.field)
            if change.field in ("event_selectors", "advanced_event_selectors"):
                values["event_selectors"] = baseline.event_selectors
                values["advanced_event_selectors"] = baseline.advanced_event_selectors
    if any(c.field == "tags" for c in changes):
        merged = dict(current.tags)
        merged.update(dict(baseline.tags))
        values["tags"] = tuple(sorted(merged.items()))
    if any(c.field == "insight_types" for c in changes):
        values["insight_types"] = tuple(sorted(set(baseline.insight_types) | set(current.insight_types)))
    return replace(current, **values)
