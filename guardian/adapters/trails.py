"""A trail's whole configuration, read and put back in its home Region (implements
:class:`guardian.ports.calls.TrailCalls`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.ports.errors import error_code

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider
    from guardian.model.trail import TrailState


class TrailAdapter:
    _clients: ClientProvider
    _bucket: str  # the evidence bucket
    _topic_region: str  # the guardian's own Region

    # -- trail configuration (baselines, restore, sweep) -------------------------------------------------------

    def list_trails(self, region: str) -> list[dict[str, Any]]:
        """Trails whose home is this Region (shadow copies of trails homed elsewhere are left out)."""
        trails = self._clients.cloudtrail(region).describe_trails(includeShadowTrails=False).get("trailList", [])
        return [dict(t) for t in trails if t.get("HomeRegion", region) == region]

    def trail_state(self, region: str, name: str) -> TrailState | None:
        """Everything the baseline covers, read live; None if the trail does not exist."""
        from guardian.model.trail import state_from_aws  # noqa: PLC0415 - sweep and restore only, not the heal path

        cloudtrail = self._clients.cloudtrail(region)
        try:
            described = cloudtrail.describe_trails(trailNameList=[name], includeShadowTrails=False)["trailList"]
        except ClientError as exc:
            if error_code(exc) == "TrailNotFoundException":
                return None
            raise
        trail: dict[str, Any] | None = next((dict(t) for t in described if t.get("Name") == name), None)
        if trail is None:
            return None
        arn = str(trail["TrailARN"])
        status = cloudtrail.get_trail_status(Name=arn)
        selectors = cloudtrail.get_event_selectors(TrailName=arn)
        try:
            insights = cloudtrail.get_insight_selectors(TrailName=arn).get("InsightSelectors", [])
        except ClientError as exc:
            if error_code(exc) != "InsightNotEnabledException":
                raise
            insights = []
        tag_lists = cloudtrail.list_tags(ResourceIdList=[arn]).get("ResourceTagList", [])
        tags = [
            {"Key": t["Key"], "Value": t.get("Value", "")} for entry in tag_lists for t in entry.get("TagsList", [])
        ]
        insight_types = [i["InsightType"] for i in insights if "InsightType" in i]
        return state_from_aws(trail, dict(status), dict(selectors), insight_types, tags)

    def lookup_event(self, region: str, event_id: str) -> dict[str, Any] | None:
        """CloudTrail's record of one event (LookupEvents by event id, in the Region that recorded it)."""
        response = self._clients.cloudtrail(region).lookup_events(
            LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": event_id}], MaxResults=1
        )
        for found in response.get("Events", []):
            record = json.loads(found.get("CloudTrailEvent") or "null")
            return dict(record) if isinstance(record, dict) else None
        return None

    def create_trail(self, state: TrailState) -> None:
        self._clients.cloudtrail(state.home_region).create_trail(**_trail_settings(state, create=True))

    def update_trail(self, state: TrailState, *, clear_prefix: bool) -> None:
        settings = _trail_settings(state, create=False)
        if clear_prefix:
            settings["S3KeyPrefix"] = ""
        self._clients.cloudtrail(state.home_region).update_trail(**settings)

    def put_event_selectors(self, state: TrailState) -> None:
        cloudtrail = self._clients.cloudtrail(state.home_region)
        from guardian.model.selectors import DEFAULT_SELECTORS  # noqa: PLC0415 - sweep and restore only

        # Selectors are passed back exactly as CloudTrail returned them when the baseline was recorded.
        if state.advanced_event_selectors is not None:
            advanced: list[Any] = [dict(s) for s in state.advanced_event_selectors]
            cloudtrail.put_event_selectors(TrailName=state.name, AdvancedEventSelectors=advanced)
        else:
            classic: list[Any] = [dict(s) for s in state.event_selectors or DEFAULT_SELECTORS]
            cloudtrail.put_event_selectors(TrailName=state.name, EventSelectors=classic)

    def put_insight_selectors(self, state: TrailState) -> None:
        insights: list[Any] = [{"InsightType": t} for t in state.insight_types]
        self._clients.cloudtrail(state.home_region).put_insight_selectors(
            TrailName=state.name, InsightSelectors=insights
        )

    def add_tags(self, state: TrailState, tags: list[tuple[str, str]]) -> None:
        self._clients.cloudtrail(state.home_region).add_tags(
            ResourceId=state.arn, TagsList=[{"Key": k, "Value": v} for k, v in tags]
        )

    def start_trail(self, state: TrailState) -> None:
        self._clients.cloudtrail(state.home_region).start_logging(Name=state.arn)


def _topic_name(state: TrailState) -> str | None:
    """The trail's SNS topic as CloudTrail takes it: the name when the topic is in the trail's own account and
    Region (accepted everywhere), else the ARN."""
    if state.sns_topic_arn is None:
        return None
    parts = state.sns_topic_arn.split(":")
    trail_parts = state.arn.split(":")
    if len(parts) == 6 and len(trail_parts) >= 5 and parts[3:5] == trail_parts[3:5]:
        return parts[5]
    return state.sns_topic_arn


def _trail_settings(state: TrailState, *, create: bool) -> dict[str, Any]:
    """CreateTrail/UpdateTrail parameters for a state; absent attachments are simply not passed."""
    settings: dict[str, Any] = {
        "Name": state.name,
        "S3BucketName": state.s3_bucket,
        "IncludeGlobalServiceEvents": state.include_global_service_events,
        "IsMultiRegionTrail": state.multi_region,
        "EnableLogFileValidation": state.log_file_validation,
    }
    optional = {
        "S3KeyPrefix": state.s3_prefix,
        "SnsTopicName": _topic_name(state),
        "CloudWatchLogsLogGroupArn": state.cloudwatch_logs_group_arn,
        "CloudWatchLogsRoleArn": state.cloudwatch_logs_role_arn,
        "KmsKeyId": state.kms_key_id,
    }
    settings.update({k: v for k, v in optional.items() if v is not None})
    if state.organization:
        settings["IsOrganizationTrail"] = True
    if create and state.tags:
        settings["TagsList"] = [{"Key": k, "Value": v} for k, v in state.tags]
    return settings
