"""Every AWS call each function really makes is allowed to its role in the template.

moto does not enforce IAM, so a missing grant would pass every other test and fail in AWS. Here the functions run
their scenarios against moto with every request recorded, and each recorded operation must be granted, by action
and by nothing broader than this stack's roles give, to the function that made it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

import boto3
import pytest
from moto import mock_aws

from guardian.adapters.clients import CLIENT_CONFIG, Boto3Clients
from guardian.entrypoints import handler, runtime, sweep
from simulation.moto_server import create_activity_table
from tests.infra.test_template import logical_id
from tests.support import ACCOUNT, load_event, signing_key

pytestmark = pytest.mark.synth
# Operations whose IAM action has another name (S3 authorises several operations with one action).
IAM_ACTION = {
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
    "s3:ListObjectVersions": "s3:ListBucketVersions",
    "s3:GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "s3:PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "s3:DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "s3:PutObjectLockConfiguration": "s3:PutBucketObjectLockConfiguration",
}
PREFIX = {"cloudwatchlogs": "logs", "eventbridge": "events", "configservice": "config"}
GROUP = "/aws/cloudtrail/management"


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    calls: set[str] = set()
    original = Boto3Clients._client

    def recording(self: Boto3Clients, service: str, region: str | None, config: Any = CLIENT_CONFIG) -> Any:
        client = original(self, service, region, config)
        if not getattr(client, "_recorded", False):
            service = client.meta.service_model.service_id.lower().replace(" ", "")
            prefix = PREFIX.get(service, service)
            client.meta.events.register(
                "before-call.*.*",
                lambda model, **_: calls.add(IAM_ACTION.get(f"{prefix}:{model.name}", f"{prefix}:{model.name}")),
            )
            client._recorded = True
        return client

    monkeypatch.setattr(Boto3Clients, "_client", recording)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="evidence-iam", ObjectLockEnabledForBucket=True)
        s3.create_bucket(Bucket="trail-logs-iam")
        topic = boto3.client("sns").create_topic(Name="alerts")["TopicArn"]
        create_activity_table("activity")
        for name, value in {
            "GUARDIAN_TOPIC_ARN": topic,
            "GUARDIAN_EVIDENCE_BUCKET": "evidence-iam",
            "GUARDIAN_ACTIVITY_TABLE": "activity",
            "GUARDIAN_VERIFY_DELAY_SECONDS": "0",
            "GUARDIAN_EXEMPT_PRINCIPALS": json.dumps(["glob:arn:aws:iam::*:role/ci-*"]),
            "GUARDIAN_SIGNING_KEY_ARN": signing_key(),
        }.items():
            monkeypatch.setenv(name, value)
        runtime.reset()
        ct = boto3.client("cloudtrail")
        ct.create_trail(
            Name="management-trail",
            S3BucketName="trail-logs-iam",
            EnableLogFileValidation=True,
            TagsList=[{"Key": "owner", "Value": "security"}],
        )
        ct.put_insight_selectors(TrailName="management-trail", InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])
        ct.start_logging(Name="management-trail")
        yield calls


def with_storage(ct: Any) -> None:
    """The trail also delivers to a log group, and its bucket blocks public access."""
    boto3.client("s3").put_public_access_block(
        Bucket="trail-logs-iam",
        PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True},
    )
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=365)
    ct.update_trail(
        Name="management-trail",
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{GROUP}:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs",
    )


def tamper_with_storage() -> None:
    """Weaken the trail's bucket (lifecycle, ACL, public access block) and delete its log group."""
    s3 = boto3.client("s3")
    s3.put_bucket_lifecycle_configuration(
        Bucket="trail-logs-iam",
        LifecycleConfiguration={"Rules": [{"ID": "x", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]},
    )
    s3.put_bucket_acl(Bucket="trail-logs-iam", ACL="public-read")
    s3.delete_public_access_block(Bucket="trail-logs-iam")
    boto3.client("logs").delete_log_group(logGroupName=GROUP)


def storage_event(source: str, name: str, event_id: str, request: dict[str, Any]) -> dict[str, Any]:
    event = load_event("stop_logging")
    event["detail"].update(eventSource=source, eventName=name, eventID=event_id, requestParameters=request)
    return event


def remediation_scenarios(ct: Any) -> None:
    with_storage(ct)
    sweep.lambda_handler({}, None)  # baselines, so that restores have something to restore from
    runtime.reset()
    tamper_with_storage()
    for name in ("PutBucketLifecycle", "PutBucketAcl", "DeleteBucketPublicAccessBlock"):
        handler.lambda_handler(storage_event("s3.amazonaws.com", name, name, {"bucketName": "trail-logs-iam"}), None)
    handler.lambda_handler(storage_event("logs.amazonaws.com", "DeleteLogGroup", "lg", {"logGroupName": GROUP}), None)
    ct.stop_logging(Name="management-trail")
    for minute in (1, 2, 3):  # heal three times: repeated tampering queries the activity table
        event = load_event("stop_logging")
        event["detail"]["eventID"], event["detail"]["eventTime"] = f"iam-{minute}", f"2026-11-20T10:0{minute}:00Z"
        handler.lambda_handler(event, None)
    handler.lambda_handler(event, None)  # duplicate: reads the evidence tag
    ct.update_trail(Name="management-trail", EnableLogFileValidation=False)
    handler.lambda_handler(load_event("update_trail"), None)
    ct.put_event_selectors(TrailName="management-trail", EventSelectors=[{"ReadWriteType": "ReadOnly"}])
    handler.lambda_handler(load_event("put_event_selectors"), None)
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    ct.update_trail(Name="management-trail", KmsKeyId=key_id)
    sweep.lambda_handler({}, None)  # the key becomes part of the baseline
    boto3.client("kms").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    key_event = load_event("stop_logging")
    key_event["detail"].update(
        eventSource="kms.amazonaws.com",
        eventName="ScheduleKeyDeletion",
        eventID="iam-key",
        requestParameters={"keyId": key_id},
    )
    handler.lambda_handler(key_event, None)
    ct.delete_trail(Name="management-trail")
    handler.lambda_handler(load_event("delete_trail"), None)
    handler.lambda_handler(load_event("stop_logging_exempt_ci"), None)
    ghost = load_event("stop_logging")
    ghost["detail"]["requestParameters"]["name"] = "ghost"
    with pytest.raises(Exception, match="ghost"):
        handler.lambda_handler(ghost, None)  # a failed heal: DescribeTrails explains it


def granted(template: Any, role: str) -> list[str]:
    role_id = logical_id(template, "AWS::IAM::Role", containing=role)
    actions: list[str] = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):  # inline, and the sweep's named managed policy
        for policy in template.find_resources(kind).values():
            if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                    value = statement["Action"]
                    actions += value if isinstance(value, list) else [value]
    return actions


def uncovered(calls: set[str], allowed: list[str]) -> set[str]:
    return {call for call in calls if not any(fnmatchcase(call, pattern) for pattern in allowed)}


def test_the_remediation_role_allows_every_call_the_handler_makes(recorded: set[str], default_synth: Any) -> None:
    template, _ = default_synth
    remediation_scenarios(boto3.client("cloudtrail"))
    handler_calls = set(recorded)
    assert {
        "cloudtrail:StartLogging",
        "cloudtrail:CreateTrail",
        "s3:GetObject",
        "dynamodb:Query",
        "s3:GetObjectTagging",
        "cloudtrail:DescribeTrails",
        "s3:PutLifecycleConfiguration",
        "s3:PutBucketAcl",
        "s3:PutBucketPublicAccessBlock",
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
    } <= handler_calls  # the scenarios did run
    # The first sweep ran in this process too; what only the sweep does is checked against the sweep's role below.
    sweep_only = {"cloudwatch:PutMetricData", "events:DescribeEventBus"}  # and its read of the default buses
    sweep_only.add("logs:DescribeAccountPolicies")  # account log policies reaching a trail's log group
    sweep_only |= {"events:ListRules", "events:ListEventBuses"}  # the inventory of rules routing security
    assert uncovered(handler_calls - sweep_only, granted(template, "RemediationRole")) == set()


def test_the_remediation_role_allows_every_call_confirming_a_stack_change_makes(
    recorded: set[str], default_synth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CloudFormation subscribed to the topic: the remediation function asks the guardian's stack whether it did."""
    template, _ = default_synth
    marker = {"Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "marker"}}}}
    stack_id = boto3.client("cloudformation").create_stack(
        StackName="CloudTrailGuardian", TemplateBody=json.dumps(marker)
    )
    monkeypatch.setenv("GUARDIAN_STACK_ID", stack_id["StackId"])
    runtime.reset()
    recorded.clear()
    via_stack = {
        "guardian": "stack-call",  # as the -guard-cfn-* rules' input wraps it (infra.stack_callers)
        "detail": {
            "sourceIPAddress": "cloudformation.amazonaws.com",
            "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "sns.amazonaws.com",
            "eventName": "Subscribe",
            "requestParameters": {"topicArn": "arn:aws:sns:us-east-1:123456789012:alerts", "endpoint": "x"},
            "eventID": "5c2a7e0e-0000-4000-8000-000000000001",
        },
    }
    assert handler.lambda_handler(via_stack, None)["stack_change"] == "alerted"
    assert {"cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "sns:Publish"} <= recorded
    assert uncovered(recorded, granted(template, "RemediationRole")) == set()


def test_the_sweep_role_allows_every_call_the_sweep_makes(
    recorded: set[str], default_synth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    template, _ = default_synth
    ct = boto3.client("cloudtrail")
    with_storage(ct)
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    ct.update_trail(Name="management-trail", KmsKeyId=key_id)
    events = boto3.client("events")
    events.put_rule(Name="CloudTrailGuardian-tamper", EventPattern=json.dumps({"source": ["aws.cloudtrail"]}))
    events.put_targets(Rule="CloudTrailGuardian-tamper", Targets=[{"Id": "T", "Arn": "arn:aws:sqs:us-east-1:1:q"}])
    monkeypatch.setenv("GUARDIAN_OWN_RULES", '["CloudTrailGuardian-tamper"]')
    monkeypatch.setenv("GUARDIAN_ALERT_PATH", json.dumps({"buckets": ["evidence-iam"]}))  # its own bucket, held
    runtime.reset()
    sweep.lambda_handler({}, None)  # first seen: records baselines
    opened = {
        "Effect": "Allow",
        "Principal": {"AWS": ACCOUNT},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::evidence-iam/*",
    }
    boto3.client("s3").put_bucket_policy(
        Bucket="evidence-iam", Policy=json.dumps({"Version": "2012-10-17", "Statement": [opened]})
    )
    events.remove_targets(Rule="CloudTrailGuardian-tamper", Ids=["T"])
    events.disable_rule(Name="CloudTrailGuardian-tamper")
    tamper_with_storage()
    boto3.client("kms").disable_key(KeyId=key_id)
    ct.stop_logging(Name="management-trail")
    ct.update_trail(Name="management-trail", EnableLogFileValidation=False)
    ct.remove_tags(
        ResourceId=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/management-trail",
        TagsList=[{"Key": "owner", "Value": "security"}],
    )
    boto3.client("securityhub").enable_security_hub()  # the sweep's alerts become findings too
    sweep.lambda_handler({}, None)  # heals
    ct.delete_trail(Name="management-trail")
    sweep.lambda_handler({}, None)  # recreates
    assert {
        "cloudtrail:CreateTrail",
        "cloudtrail:AddTags",
        "s3:ListBucket",
        "cloudwatch:PutMetricData",
        "kms:EnableKey",
        "s3:PutLifecycleConfiguration",
        "s3:PutBucketAcl",
        "s3:PutBucketPublicAccessBlock",
        "logs:CreateLogGroup",
        "events:EnableRule",
        "events:PutTargets",
        "s3:GetBucketObjectLockConfiguration",
        "s3:DeleteBucketPolicy",
        "events:DescribeEventBus",  # the default bus's key (guardian.flows.bus_keys)
        "securityhub:BatchImportFindings",
        "securityhub:BatchUpdateFindings",
    } <= recorded
    assert uncovered(recorded, granted(template, "SweepRole")) == set()


def guardian_itself(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The guardian's own function, stack, alarm, queue and subscription, and a forwarder rule in another Region,
    configured as the stack configures the sweep."""
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda").create_function(
        FunctionName="CloudTrailGuardian-remediation",
        Runtime="python3.13",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    boto3.client("lambda").put_function_event_invoke_config(
        FunctionName="CloudTrailGuardian-remediation", MaximumRetryAttempts=2
    )
    kms = boto3.client("kms")
    kms.create_alias(AliasName="alias/CloudTrailGuardian-alerts", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    template = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "marker"}}}}
    stack_id = boto3.client("cloudformation").create_stack(
        StackName="CloudTrailGuardian", TemplateBody=json.dumps(template)
    )["StackId"]
    queue = boto3.client("sqs").create_queue(QueueName="CloudTrailGuardian-dead-letters")["QueueUrl"]
    topic = boto3.client("sns").list_topics()["Topics"][0]["TopicArn"]
    boto3.client("sns").subscribe(TopicArn=topic, Protocol="email-json", Endpoint="secops@example.com")
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName="CloudTrailGuardian-sweep-errors",
        MetricName="Errors",
        Namespace="AWS/Lambda",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[topic],
    )
    west = boto3.client("events", region_name="us-west-2")
    west.put_rule(Name="CloudTrailGuardian-forward", EventPattern=json.dumps({"source": ["aws.cloudtrail"]}))
    west.put_targets(Rule="CloudTrailGuardian-forward", Targets=[{"Id": "T", "Arn": "arn:aws:events:us-east-1:1:b"}])
    # its dead-letter queue, whose depth the sweep reads (guardian.flows.forwarder_queues)
    boto3.client("sqs", region_name="us-west-2").create_queue(QueueName="CloudTrailGuardian-forward-dead-letters")
    path = {"emails": ["secops@example.com"], "alarms": ["CloudTrailGuardian-sweep-errors"], "queue": queue}
    for name, value in {
        "GUARDIAN_SWEEP_REGIONS": '["us-east-1", "us-west-2"]',
        "GUARDIAN_FORWARDER_RULES": '["CloudTrailGuardian-forward"]',
        "GUARDIAN_OWN_FUNCTIONS": '["CloudTrailGuardian-remediation"]',
        "GUARDIAN_STACK_ID": stack_id,
        "GUARDIAN_ALERT_PATH": json.dumps({**path, "keys": [signing_key()]}),
    }.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    return {"topic": topic}


def test_the_sweep_role_allows_every_call_its_checks_of_the_guardian_make(
    recorded: set[str], default_synth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    template, _ = default_synth
    found = guardian_itself(monkeypatch)
    sweep.lambda_handler({"source": "aws.cloudformation"}, None)  # a deployment CloudFormation confirms: recorded
    boto3.client("lambda").put_function_concurrency(
        FunctionName="CloudTrailGuardian-remediation", ReservedConcurrentExecutions=0
    )
    sns = boto3.client("sns")
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=found["topic"])["Subscriptions"]
    sns.set_subscription_attributes(  # moto confirms email subscriptions at once
        SubscriptionArn=subscription["SubscriptionArn"], AttributeName="FilterPolicy", AttributeValue='{"x": ["y"]}'
    )
    boto3.client("cloudwatch").disable_alarm_actions(AlarmNames=["CloudTrailGuardian-sweep-errors"])
    west = boto3.client("events", region_name="us-west-2")
    west.put_rule(Name="CloudTrailGuardian-forward", EventPattern=json.dumps({"source": ["nothing"]}))
    aws_lambda = boto3.client("lambda")  # its settings: a permission added, a URL, the invoke config deleted
    aws_lambda.add_permission(
        FunctionName="CloudTrailGuardian-remediation", StatementId="x", Action="lambda:InvokeFunction", Principal="1"
    )
    aws_lambda.create_function_url_config(FunctionName="CloudTrailGuardian-remediation", AuthType="NONE")
    aws_lambda.delete_function_event_invoke_config(FunctionName="CloudTrailGuardian-remediation")
    kms = boto3.client("kms")  # its alias pointed elsewhere
    kms.update_alias(AliasName="alias/CloudTrailGuardian-alerts", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    summary = sweep.lambda_handler({}, None)
    assert summary["guardian_aliases"] == {"alias/CloudTrailGuardian-alerts": "healed"}
    assert summary["guardian_functions"] == {"CloudTrailGuardian-remediation": "healed"}
    assert summary["guardian_rules"] == {"us-west-2:CloudTrailGuardian-forward": "healed"}
    assert summary["alert_path"]["alarm CloudTrailGuardian-sweep-errors"] == "healed"
    assert summary["alert_path"]["subscription secops@example.com"] == "healed"
    assert {
        "cloudformation:DescribeStacks",
        "lambda:GetFunctionConfiguration",
        "lambda:GetFunctionConcurrency",
        "lambda:DeleteFunctionConcurrency",
        "sns:ListSubscriptionsByTopic",
        "sns:GetSubscriptionAttributes",
        "sns:SetSubscriptionAttributes",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:EnableAlarmActions",
        "sqs:GetQueueAttributes",
        "kms:DescribeKey",
        "events:PutRule",
        "lambda:GetPolicy",
        "lambda:RemovePermission",
        "lambda:DeleteFunctionUrlConfig",
        "lambda:PutFunctionEventInvokeConfig",
        "kms:ListAliases",
        "kms:UpdateAlias",
    } <= recorded
    assert uncovered(recorded, granted(template, "SweepRole")) == set()


def test_the_roles_allow_every_call_an_approval_and_a_self_test_make(recorded: set[str], default_synth: Any) -> None:
    """The sweep's role serves ``approve`` and registers a self-test; the remediation role reads the marker."""
    from guardian.adapters.full import FullAdapter  # noqa: PLC0415
    from guardian.flows import operator  # noqa: PLC0415
    from guardian.flows.selftest import marked  # noqa: PLC0415
    from guardian.model.config_values import exempt_principals  # noqa: PLC0415
    from guardian.ports.invocation import Invocation  # noqa: PLC0415
    from tests.integration.test_operator_moto import ALICE, SENTINEL, payload, stop_of_sentinel  # noqa: PLC0415

    template, _ = default_synth
    ct = boto3.client("cloudtrail")
    with_storage(ct)
    ct.create_trail(Name=SENTINEL, S3BucketName="trail-logs-iam")
    ct.start_logging(Name=SENTINEL)
    config = runtime.config()
    config = type(config)(
        **{**config.__dict__, "approvers": ALICE and runtime.config().approvers, "sentinel_trail": SENTINEL}
    )

    config = type(config)(**{**config.__dict__, "approvers": exempt_principals(json.dumps([ALICE]))})

    class Adapter(FullAdapter):
        def caller_identity(self, url: str, headers: dict[str, str], body: str) -> bytes:
            return f"<R><Arn>{ALICE}</Arn><Account>{ACCOUNT}</Account></R>".encode()

    aws = Adapter(
        Boto3Clients(boto3.session.Session()),
        topic_arn=config.topic_arn,
        topic_region="us-east-1",
        evidence_bucket=config.evidence_bucket,
        signing_key=config.signing_key_arn,
    )

    run = Invocation(lambda: datetime.now(UTC), lambda _s: None, "test")
    assert operator.serve(payload(trail="management-trail"), aws, config, run)["ok"] is True
    assert operator.serve(payload("selftest", SENTINEL, id="7f0c3a1e-1b2c"), aws, config, run)["ok"] is True
    served = set(recorded)
    assert {"cloudtrail:DescribeTrails", "s3:PutObject", "kms:Sign", "sns:Publish", "logs:DescribeLogGroups"} <= served
    assert uncovered(served, granted(template, "SweepRole")) == set()
    recorded.clear()
    assert marked(stop_of_sentinel(ALICE), aws, SENTINEL, run).purpose is not None
    assert {"s3:GetObject"} <= recorded
    assert uncovered(recorded, granted(template, "RemediationRole")) == set()
