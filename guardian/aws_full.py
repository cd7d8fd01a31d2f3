"""Every AWS call beyond the heal path: trail configuration, baselines, a trail's key, bucket and log group,
CloudTrail Lake, the guardian's own rules, activity counts and metrics. The sweep and every restore use it; a
StopLogging heal never loads it (see :meth:`guardian.aws.AwsAdapter.full`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.aws import AwsAdapter, _code

if TYPE_CHECKING:
    from guardian.baseline import TrailState
    from guardian.bucket import BucketState
    from guardian.events import KeyRef, ResourceRef
    from guardian.log_group import LogGroupState


class FullAdapter(AwsAdapter):
    """The heal-path calls, and all the others."""

    def full(self) -> FullAdapter:
        return self

    # -- trail configuration (baselines, restore, sweep) -------------------------------------------------------

    def list_trails(self, region: str) -> list[dict[str, Any]]:
        """Trails whose home is this Region (shadow copies of trails homed elsewhere are left out)."""
        trails = self._clients.cloudtrail(region).describe_trails(includeShadowTrails=False).get("trailList", [])
        return [dict(t) for t in trails if t.get("HomeRegion", region) == region]

    def trail_state(self, region: str, name: str) -> TrailState | None:
        """Everything the baseline covers, read live; None if the trail does not exist."""
        from guardian.baseline import state_from_aws  # noqa: PLC0415 - sweep and restore only, not the heal path

        cloudtrail = self._clients.cloudtrail(region)
        try:
            described = cloudtrail.describe_trails(trailNameList=[name], includeShadowTrails=False)["trailList"]
        except ClientError as exc:
            if _code(exc) == "TrailNotFoundException":
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
            if _code(exc) != "InsightNotEnabledException":
                raise
            insights = []
        tag_lists = cloudtrail.list_tags(ResourceIdList=[arn]).get("ResourceTagList", [])
        tags = [
            {"Key": t["Key"], "Value": t.get("Value", "")} for entry in tag_lists for t in entry.get("TagsList", [])
        ]
        insight_types = [i["InsightType"] for i in insights if "InsightType" in i]
        return state_from_aws(trail, dict(status), dict(selectors), insight_types, tags)

    def create_trail(self, state: TrailState) -> None:
        self._clients.cloudtrail(state.home_region).create_trail(**_trail_settings(state, create=True))

    def update_trail(self, state: TrailState, *, clear_prefix: bool) -> None:
        settings = _trail_settings(state, create=False)
        if clear_prefix:
            settings["S3KeyPrefix"] = ""
        self._clients.cloudtrail(state.home_region).update_trail(**settings)

    def put_event_selectors(self, state: TrailState) -> None:
        cloudtrail = self._clients.cloudtrail(state.home_region)
        from guardian.baseline import DEFAULT_SELECTORS  # noqa: PLC0415 - sweep and restore only

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

    # -- baselines -----------------------------------------------------------------------------------------------

    def read_json(self, key: str) -> dict[str, Any] | None:
        try:
            body = self._clients.s3().get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        document: dict[str, Any] = json.loads(body)
        return document

    def write_json(self, key: str, document: dict[str, Any]) -> None:
        """A new version of ``key`` (the bucket is versioned: earlier versions stay, under Object Lock)."""
        body = json.dumps(document, ensure_ascii=False, indent=1, default=str).encode()
        self._clients.s3().put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self._clients.s3().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return keys

    # -- a trail's KMS key (ids, not ARNs: the key's Region picks the client) -------------------------------------

    def key_state(self, key: KeyRef) -> str:
        return str(self._clients.kms(key.region).describe_key(KeyId=key.key_id)["KeyMetadata"]["KeyState"])

    def enable_key(self, key: KeyRef) -> None:
        self._clients.kms(key.region).enable_key(KeyId=key.key_id)

    def cancel_key_deletion(self, key: KeyRef) -> None:
        self._clients.kms(key.region).cancel_key_deletion(KeyId=key.key_id)

    # -- a trail's S3 bucket (in the bucket's own Region) ------------------------------------------------------

    def bucket_state(self, name: str, region: str | None = None) -> BucketState:
        """The bucket's protected settings, read live; ``exists`` False if it is gone."""
        from guardian.bucket import BucketState, canonical, canonical_policy  # noqa: PLC0415 - not the heal path

        try:
            location = self._clients.s3(region).get_bucket_location(Bucket=name).get("LocationConstraint")
        except ClientError as exc:
            if _code(exc) in ("NoSuchBucket", "404"):
                return BucketState(name, region or "", exists=False)
            raise
        home = _bucket_region(location)
        s3 = self._clients.s3(home)
        policy = _unless(lambda: s3.get_bucket_policy(Bucket=name)["Policy"], "NoSuchBucketPolicy")
        rules = _unless(
            lambda: s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"], "NoSuchLifecycleConfiguration"
        )
        block = _unless(
            lambda: s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"],
            "NoSuchPublicAccessBlockConfiguration",
        )
        acl = s3.get_bucket_acl(Bucket=name)
        return BucketState(
            name=name,
            region=home,
            policy=canonical_policy(policy),
            lifecycle_rules=tuple(canonical(r) for r in rules) if rules else None,
            versioning=s3.get_bucket_versioning(Bucket=name).get("Status"),
            public_access_block=canonical(block) if block else None,
            acl_grants=tuple(canonical(g) for g in acl.get("Grants", [])),
            acl_owner=canonical(acl["Owner"]) if acl.get("Owner") else None,
        )

    def create_bucket(self, state: BucketState) -> None:
        s3 = self._clients.s3(state.region)
        if state.region == "us-east-1":
            s3.create_bucket(Bucket=state.name)
        else:
            s3.create_bucket(
                Bucket=state.name,
                CreateBucketConfiguration={"LocationConstraint": state.region},  # type: ignore[typeddict-item]
            )

    def put_bucket_policy(self, state: BucketState) -> None:
        s3 = self._clients.s3(state.region)
        if state.policy is None:
            s3.delete_bucket_policy(Bucket=state.name)
        else:
            s3.put_bucket_policy(Bucket=state.name, Policy=state.policy)

    def put_bucket_lifecycle(self, state: BucketState) -> None:
        s3 = self._clients.s3(state.region)
        if state.lifecycle_rules is None:
            s3.delete_bucket_lifecycle(Bucket=state.name)
        else:
            rules: list[Any] = [dict(r) for r in state.lifecycle_rules]
            s3.put_bucket_lifecycle_configuration(Bucket=state.name, LifecycleConfiguration={"Rules": rules})

    def put_bucket_versioning(self, state: BucketState) -> None:
        status: Any = state.versioning or "Suspended"
        self._clients.s3(state.region).put_bucket_versioning(
            Bucket=state.name, VersioningConfiguration={"Status": status}
        )

    def put_public_access_block(self, state: BucketState) -> None:
        s3 = self._clients.s3(state.region)
        if state.public_access_block is None:
            s3.delete_public_access_block(Bucket=state.name)
        else:
            block: Any = dict(state.public_access_block)
            s3.put_public_access_block(Bucket=state.name, PublicAccessBlockConfiguration=block)

    def put_bucket_acl(self, state: BucketState) -> None:
        policy: Any = {"Grants": [dict(g) for g in state.acl_grants]}
        if state.acl_owner:
            policy["Owner"] = dict(state.acl_owner)
        self._clients.s3(state.region).put_bucket_acl(Bucket=state.name, AccessControlPolicy=policy)

    # -- a trail's CloudWatch Logs group ---------------------------------------------------------------------------

    def log_group_state(self, region: str, name: str) -> LogGroupState:
        from guardian.log_group import LogGroupState  # noqa: PLC0415 - not the heal path

        paginator = self._clients.logs(region).get_paginator("describe_log_groups")
        for page in paginator.paginate(logGroupNamePrefix=name):
            for group in page.get("logGroups", []):
                if group.get("logGroupName") == name:
                    return LogGroupState(
                        name, region, True, group.get("retentionInDays"), group.get("kmsKeyId") or None
                    )
        return LogGroupState(name, region, exists=False)

    def create_log_group(self, state: LogGroupState) -> None:
        logs = self._clients.logs(state.region)
        if state.kms_key_id:
            logs.create_log_group(logGroupName=state.name, kmsKeyId=state.kms_key_id)
        else:
            logs.create_log_group(logGroupName=state.name)

    def put_retention(self, state: LogGroupState) -> None:
        logs = self._clients.logs(state.region)
        if state.retention_days is None:
            logs.delete_retention_policy(logGroupName=state.name)
        else:
            logs.put_retention_policy(logGroupName=state.name, retentionInDays=state.retention_days)

    def associate_log_key(self, state: LogGroupState) -> None:
        assert state.kms_key_id is not None
        self._clients.logs(state.region).associate_kms_key(logGroupName=state.name, kmsKeyId=state.kms_key_id)

    # -- CloudTrail Lake event data stores --------------------------------------------------------------------------

    def data_store_status(self, store: ResourceRef) -> str:
        assert store.region is not None
        response = self._clients.cloudtrail(store.region).get_event_data_store(EventDataStore=store.name)
        return str(response.get("Status", ""))

    def start_ingestion(self, store: ResourceRef) -> None:
        assert store.region is not None
        self._clients.cloudtrail(store.region).start_event_data_store_ingestion(EventDataStore=store.name)

    def restore_data_store(self, store: ResourceRef) -> None:
        assert store.region is not None
        self._clients.cloudtrail(store.region).restore_event_data_store(EventDataStore=store.name)

    # -- the guardian's own EventBridge rules (in its own Region, that of its topic) ----------------------------------

    def rule_state(self, name: str) -> str | None:
        """ENABLED or DISABLED; None if the rule does not exist."""
        try:
            return str(self._clients.events(self._topic_region).describe_rule(Name=name)["State"])
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise

    def rule_targets(self, name: str) -> list[dict[str, Any]]:
        events = self._clients.events(self._topic_region)
        targets: list[dict[str, Any]] = []
        for page in events.get_paginator("list_targets_by_rule").paginate(Rule=name):
            targets += [dict(t) for t in page.get("Targets", [])]
        return targets

    def enable_rule(self, name: str) -> None:
        self._clients.events(self._topic_region).enable_rule(Name=name)

    def put_targets(self, name: str, targets: list[dict[str, Any]]) -> None:
        response = self._clients.events(self._topic_region).put_targets(Rule=name, Targets=targets)  # type: ignore[arg-type]
        if response.get("FailedEntryCount"):
            failed = response.get("FailedEntries", [])
            raise ClientError(
                {"Error": {"Code": "PutTargetsFailed", "Message": json.dumps(failed, default=str)}}, "PutTargets"
            )

    # -- activity (repeated tampering) ---------------------------------------------------------------------------

    def record_activity(self, table: str, principal: str, key: str, expires_at: int, summary: str) -> bool:
        """Record one counted event; False if it was already recorded (a duplicate delivery)."""
        try:
            self._clients.dynamodb().put_item(
                TableName=table,
                Item={
                    "principal": {"S": principal},
                    "at": {"S": key},
                    "expires_at": {"N": str(expires_at)},
                    "summary": {"S": summary},
                },
                ConditionExpression="attribute_not_exists(principal)",
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def count_activity(self, table: str, principal: str, since: str, until: str) -> int:
        """Events recorded for ``principal`` with keys in [since, until]."""
        paginator = self._clients.dynamodb().get_paginator("query")
        total = 0
        for page in paginator.paginate(
            TableName=table,
            KeyConditionExpression="principal = :p AND #at BETWEEN :since AND :until",
            ExpressionAttributeNames={"#at": "at"},
            ExpressionAttributeValues={":p": {"S": principal}, ":since": {"S": since}, ":until": {"S": until}},
            Select="COUNT",
        ):
            total += int(page.get("Count", 0))
        return total

    def put_metrics(self, namespace: str, values: dict[str, float]) -> None:
        self._clients.cloudwatch().put_metric_data(
            Namespace=namespace,
            MetricData=[{"MetricName": name, "Value": value, "Unit": "Count"} for name, value in values.items()],
        )


def _unless(read: Callable[[], Any], absent: str) -> Any:
    """The value ``read`` returns, or None when AWS answers with error code ``absent`` (nothing configured)."""
    try:
        return read()
    except ClientError as exc:
        if _code(exc) == absent:
            return None
        raise


def _bucket_region(location: str | None) -> str:
    """GetBucketLocation answers None for us-east-1 and "EU" for the oldest eu-west-1 buckets."""
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location or "us-east-1")


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
