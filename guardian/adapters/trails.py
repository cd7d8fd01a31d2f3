"""A trail's whole configuration, read and put back in its home Region (implements
:class:`guardian.ports.calls.TrailCalls`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.ports.errors import error_code

TAGS_PER_CALL = 20  # ListTags takes at most 20 ARNs

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

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
        try:
            described = self._clients.cloudtrail(region).describe_trails(
                trailNameList=[name], includeShadowTrails=False
            )["trailList"]
        except ClientError as exc:
            if error_code(exc) == "TrailNotFoundException":
                return None
            raise
        trail: dict[str, Any] | None = next((dict(t) for t in described if t.get("Name") == name), None)
        if trail is None:
            return None
        arn = str(trail["TrailARN"])
        return self.trail_state_of(region, trail, lambda: self.trail_tags(region, [arn]).get(arn, ()))

    def trail_tags(self, region: str, arns: Sequence[str]) -> dict[str, tuple[tuple[str, str], ...]]:
        """Each trail's tags, :data:`TAGS_PER_CALL` trails to a ListTags call."""
        cloudtrail = self._clients.cloudtrail(region)
        found: dict[str, tuple[tuple[str, str], ...]] = {}
        unique = list(dict.fromkeys(arns))
        for start in range(0, len(unique), TAGS_PER_CALL):
            batch = unique[start : start + TAGS_PER_CALL]
            for entry in cloudtrail.list_tags(ResourceIdList=batch).get("ResourceTagList", []):
                tags = ((t["Key"], t.get("Value", "")) for t in entry.get("TagsList", []))
                found[str(entry.get("ResourceId", ""))] = tuple(sorted(tags))
        return found

    def trail_state_of(
        self, region: str, described: Mapping[str, Any], tags: Callable[[], Sequence[tuple[str, str]]]
    ) -> TrailState:
        """The state of a trail DescribeTrails returned: its status read, and its event and insight selectors only
        where DescribeTrails says it has some (``HasCustomEventSelectors``, ``HasInsightSelectors``; a trail
        without custom selectors logs every management event, :data:`~guardian.model.selectors.DEFAULT_SELECTORS`).
        A DescribeTrails answer without those flags is read in full. ``tags`` is asked for last, so the Region's
        ListTags can be on its way while the status is read."""
        from guardian.model.trail import state_from_aws  # noqa: PLC0415 - sweep and restore only, not the heal path

        cloudtrail = self._clients.cloudtrail(region)
        arn = str(described["TrailARN"])
        status = cloudtrail.get_trail_status(Name=arn)
        selectors: dict[str, Any] = {}
        if described.get("HasCustomEventSelectors", True):
            selectors = dict(cloudtrail.get_event_selectors(TrailName=arn))
        insights: list[Any] = []
        if described.get("HasInsightSelectors", True):
            try:
                insights = list(cloudtrail.get_insight_selectors(TrailName=arn).get("InsightSelectors", []))
            except ClientError as exc:
                if error_code(exc) != "InsightNotEnabledException":
                    raise
        insight_types = [i["InsightType"] for i in insights if "InsightType" in i]
        tag_list = [{"Key": k, "Value": v} for k, v in tags()]
        return state_from_aws(described, dict(status), selectors, insight_types, tag_list)

    def lookup_event(self, region: str, event_id: str) -> dict[str, Any] | None:
        """CloudTrail's record of one event (LookupEvents by event id, in the Region that recorded it)."""
        response = self._clients.cloudtrail(region).lookup_events(
            LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": event_id}], MaxResults=1
        )
        for found in response.get("Events", []):
            record = json.loads(found.get("CloudTrailEvent") or "null")
            return dict(record) if isinstance(record, dict) else None
        return None

    def lookup_page(
        self,
        region: str,
        start: datetime,
        end: datetime,
        token: str | None,
        *,
        only: tuple[str, str] | None = None,
        quick: bool = False,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page (50 events at most) of the Region's management events in [start, end], newest first; ``only``
        those with one attribute (LookupEvents takes one). ``quick``: one attempt, short timeouts (an alert waits)."""
        request: dict[str, Any] = {"StartTime": start, "EndTime": end, "MaxResults": 50}
        if only is not None:
            request["LookupAttributes"] = [{"AttributeKey": only[0], "AttributeValue": only[1]}]
        if token is not None:
            request["NextToken"] = token
        client = self._clients.cloudtrail_lookup(region) if quick else self._clients.cloudtrail(region)
        response = client.lookup_events(**request)
        return [dict(e) for e in response.get("Events", [])], response.get("NextToken") or None

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
