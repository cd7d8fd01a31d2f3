"""The guardian guards itself: changes to its own functions, rules, topic, roles, key, buckets and stack go straight
from EventBridge to the alerts topic, through an input transformer. No Lambda is on that path, so the alert still
arrives when the guardian's functions are broken, deleted or throttled.

Calls made by the CDK deployment roles (``cdk-<qualifier>-...``: the deploy role and CloudFormation's execution role)
are not alerted, so a ``cdk deploy`` is quiet; anyone else's change is CRITICAL. SNS cannot take a Subject from an
EventBridge target: the subject line is the first field of the JSON body instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct

SCHEMA = "cloudtrail-guardian/self-protection-alert"
SCHEMA_VERSION = "1.0"
LAMBDA_CALLS = (
    "UpdateFunctionCode",
    "UpdateFunctionConfiguration",
    "DeleteFunction",  # also DeleteFunctionConcurrency, DeleteFunctionEventInvokeConfig
    "PutFunctionConcurrency",
    "RemovePermission",
    "PutFunctionEventInvokeConfig",
    "UpdateFunctionEventInvokeConfig",
)
# The calls that change the guardian's resources, by EventBridge source (Lambda names carry API versions: prefixes).
GUARDED_CALLS: dict[str, list[Any]] = {
    "aws.lambda": [{"prefix": name} for name in LAMBDA_CALLS],
    "aws.events": ["DisableRule", "DeleteRule", "RemoveTargets", "PutRule", "PutTargets"],
    "aws.sns": ["DeleteTopic", "Unsubscribe", "SetTopicAttributes", "RemovePermission", "AddPermission"],
    "aws.iam": [
        "PutRolePolicy",
        "DeleteRolePolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "UpdateAssumeRolePolicy",
        "DeleteRole",
        "PutRolePermissionsBoundary",
    ],
    "aws.kms": ["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"],
    "aws.s3": [
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "PutObjectLockConfiguration",
        "PutBucketVersioning",
        "PutBucketLifecycle",
        "DeleteBucketPublicAccessBlock",
        "PutBucketPublicAccessBlock",
        "DeleteBucket",
    ],
    "aws.cloudformation": [
        "DeleteStack",
        "UpdateStack",
        "ExecuteChangeSet",
        "UpdateTerminationProtection",
        "SetStackPolicy",
    ],
}
API_CALL = "AWS API Call via CloudTrail"
F = events.EventField.from_path


@dataclass(frozen=True)
class Watch:
    """One kind of the guardian's own resources: where its changes are recorded and how they name it."""

    kind: str  # for people: "function", "rule", ...
    source: str  # the EventBridge source, e.g. "aws.lambda"
    event_names: Sequence[str | Mapping[str, str]]  # exact names, or {"prefix": ...} (Lambda adds API versions)
    names: Mapping[str, Sequence[Any]]  # requestParameters field → values (or {"prefix": ...}) naming the resource

    @property
    def event_source(self) -> str:
        return self.source.removeprefix("aws.") + ".amazonaws.com"


def watches(
    *,
    stack_name: str,
    function_names: Sequence[str],
    function_arns: Sequence[str],
    rule_names: Sequence[str],
    topic_arn: str,
    role_names: Sequence[str],
    key_id: str,
    key_arn: str,
    bucket_names: Sequence[str],
    stack_id: str,
) -> list[Watch]:
    return [
        Watch(
            "function",
            "aws.lambda",
            GUARDED_CALLS["aws.lambda"],
            {"functionName": [*function_names, *({"prefix": arn} for arn in function_arns)]},
        ),
        Watch(
            "EventBridge rule",
            "aws.events",
            GUARDED_CALLS["aws.events"],
            {"name": list(rule_names), "rule": list(rule_names)},
        ),
        Watch(
            "alerts topic",
            "aws.sns",
            GUARDED_CALLS["aws.sns"],
            {"topicArn": [topic_arn], "subscriptionArn": [{"prefix": f"{topic_arn}:"}]},
        ),
        Watch(
            "IAM role",
            "aws.iam",
            GUARDED_CALLS["aws.iam"],
            {"roleName": list(role_names)},
        ),
        Watch(
            "KMS key",
            "aws.kms",
            GUARDED_CALLS["aws.kms"],
            {"keyId": [key_id, key_arn]},
        ),
        Watch(
            "evidence bucket",
            "aws.s3",
            GUARDED_CALLS["aws.s3"],
            {"bucketName": list(bucket_names)},
        ),
        Watch(
            "stack",
            "aws.cloudformation",
            GUARDED_CALLS["aws.cloudformation"],
            {"stackName": [stack_name, {"prefix": stack_id}]},
        ),
    ]


def pattern(watch: Watch, deployment_role_prefix: str) -> events.EventPattern:
    """The rule pattern: the call, naming one of the guardian's resources, by anyone but the deployment roles."""
    naming = [{"requestParameters": {field: list(values)}} for field, values in watch.names.items()]
    detail: dict[str, Any] = {
        "eventSource": [watch.event_source],
        "eventName": list(watch.event_names),
        "userIdentity": {"arn": [{"anything-but": {"prefix": deployment_role_prefix}}]},
    }
    if len(naming) == 1:
        detail.update(naming[0])
    else:
        detail["$or"] = naming
    return events.EventPattern(source=[watch.source], detail_type=[API_CALL], detail=detail)


def message(kind: str, stack_name: str) -> events.RuleTargetInput:
    """The alert body: a versioned JSON document like the guardian's own alerts, its subject line first."""
    return events.RuleTargetInput.from_object(
        {
            "subject": f"[CRITICAL] CloudTrail Guardian's own {kind} changed: {F('$.detail.eventName')} by "
            f"{F('$.detail.userIdentity.arn')}",
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "severity": "CRITICAL",
            "guardian": stack_name,
            "resource_kind": kind,
            "what": f"{F('$.detail.eventName')}",
            "event_source": f"{F('$.detail.eventSource')}",
            "event_id": f"{F('$.detail.eventID')}",
            "event_time": f"{F('$.detail.eventTime')}",
            "region": f"{F('$.detail.awsRegion')}",
            "account": f"{F('$.detail.recipientAccountId')}",
            "source_ip": f"{F('$.detail.sourceIPAddress')}",
            "cloudtrail_record": F("$.detail"),  # who, from where, what parameters, errorCode if the call failed
            "note": "Sent by EventBridge straight to this topic, with no function on the path, so it arrives even "
            "if the guardian is broken. A change to the guardian by anyone but its deployment: review it now, and "
            "redeploy the stack to put the guardian back.",
        }
    )


class SelfProtection(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        watched: Sequence[Watch],
        stack_name: str,
        deployment_role_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules: list[events.Rule] = []
        for watch in watched:
            rule_id = watch.kind.title().replace(" ", "").replace("Iam", "IAM").replace("Kms", "KMS")
            rule = events.Rule(
                self,
                rule_id,
                rule_name=f"{stack_name}-guard-{watch.source.removeprefix('aws.')}",
                description=f"CloudTrail Guardian self-protection: changes to its own {watch.kind}",
                event_pattern=pattern(watch, deployment_role_prefix),
            )
            rule.add_target(targets.SnsTopic(topic, message=message(watch.kind, stack_name)))
            self.rules.append(rule)


def deployment_role_prefix(qualifier: str) -> str:
    """The assumed-role ARN prefix of the CDK bootstrap roles (deploy and CloudFormation execution)."""
    return f"arn:{Aws.PARTITION}:sts::{Aws.ACCOUNT_ID}:assumed-role/cdk-{qualifier}-"
