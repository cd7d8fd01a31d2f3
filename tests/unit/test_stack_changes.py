"""Which of CloudFormation's calls the guardian's own stack confirms as its deployment (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guardian.model.stack_changes import confirmed_by, stack_call

TOPIC = "arn:aws:sns:us-east-1:123456789012:CloudTrailGuardian-alerts"
SECURITY = "security@example.com"
AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def record(name: str, source: str, request: dict[str, Any], at: datetime = AT) -> dict[str, Any]:
    return {
        "eventTime": at.isoformat().replace("+00:00", "Z"),
        "eventSource": source,
        "eventName": name,
        "sourceIPAddress": "cloudformation.amazonaws.com",
        "userIdentity": {"arn": "arn:aws:sts::123456789012:assumed-role/cdk-x-cfn-exec-role/AWSCloudFormation"},
        "requestParameters": request,
        "eventID": "e-1",
    }


def stack_event(logical: str, kind: str, status: str, at: datetime, physical: str = "", **props: Any) -> dict[str, Any]:
    return {
        "LogicalResourceId": logical,
        "ResourceType": kind,
        "ResourceStatus": status,
        "Timestamp": at,
        "PhysicalResourceId": physical,
        "ResourceProperties": json.dumps(props) if props else None,
    }


def subscription_events(start: datetime, end: datetime | None, endpoint: str = SECURITY) -> list[dict[str, Any]]:
    found = [
        stack_event("Sub", "AWS::SNS::Subscription", "CREATE_IN_PROGRESS", start, TopicArn=TOPIC, Endpoint=endpoint)
    ]
    if end is not None:
        found.append(stack_event("Sub", "AWS::SNS::Subscription", "CREATE_COMPLETE", end, f"{TOPIC}:abc"))
    return found


SUBSCRIBE = record("Subscribe", "sns.amazonaws.com", {"topicArn": TOPIC, "protocol": "email", "endpoint": SECURITY})


def test_a_subscription_the_guardians_stack_was_creating_then_is_its_deployment() -> None:
    call = stack_call(SUBSCRIBE)
    assert call is not None
    events = subscription_events(AT - timedelta(seconds=5), AT + timedelta(seconds=3))
    assert confirmed_by(call, events) == "Sub"
    assert confirmed_by(call, subscription_events(AT - timedelta(seconds=5), None)) == "Sub"  # still in progress


@pytest.mark.parametrize(
    "events",
    [
        # the guardian's stack created that subscription an hour earlier: finished long before the call
        subscription_events(AT - timedelta(hours=1), AT - timedelta(minutes=59)),
        # it began after the call
        subscription_events(AT + timedelta(minutes=10), AT + timedelta(minutes=11)),
        # the guardian's subscription is another address: the call added the insider's
        subscription_events(AT - timedelta(seconds=5), AT + timedelta(seconds=3), endpoint="mallory@example.net"),
        # the stack was working on the topic itself, not on a subscription
        [
            stack_event("Topic", "AWS::SNS::Topic", "UPDATE_IN_PROGRESS", AT - timedelta(seconds=5), TOPIC),
            stack_event("Topic", "AWS::SNS::Topic", "UPDATE_COMPLETE", AT + timedelta(seconds=5), TOPIC),
        ],
        # only the stack's own events (as moto records them)
        [stack_event("CloudTrailGuardian", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", AT, "stack-id")],
        [],
    ],
    ids=["finished-before", "began-after", "other-endpoint", "topic-not-subscription", "stack-only", "none"],
)
def test_a_subscription_the_guardians_stack_was_not_making_then_is_not_confirmed(events: list[dict[str, Any]]) -> None:
    call = stack_call(SUBSCRIBE)
    assert call is not None
    assert confirmed_by(call, events) is None


def test_a_bucket_policy_is_matched_by_its_bucket_and_a_function_by_any_form_of_its_name() -> None:
    bucket = record("PutBucketPolicy", "s3.amazonaws.com", {"bucketName": "guardian-evidence"})
    events = [
        stack_event("Policy", "AWS::S3::BucketPolicy", "UPDATE_IN_PROGRESS", AT, "gen-id", Bucket="guardian-evidence"),
        stack_event("Policy", "AWS::S3::BucketPolicy", "UPDATE_COMPLETE", AT + timedelta(seconds=2), "gen-id"),
    ]
    call = stack_call(bucket)
    assert call is not None
    assert confirmed_by(call, events) == "Policy"
    # the same bucket, but the stack event is of another service: not a confirmation
    lambda_events = [{**e, "ResourceType": "AWS::Lambda::Function"} for e in events]
    assert confirmed_by(call, lambda_events) is None
    arn = "arn:aws:lambda:us-east-1:123456789012:function:CloudTrailGuardian-sweep:live"
    function = record("UpdateFunctionConfiguration20150331v2", "lambda.amazonaws.com", {"functionName": arn})
    events = [
        stack_event("Fn", "AWS::Lambda::Function", "UPDATE_IN_PROGRESS", AT, "CloudTrailGuardian-sweep"),
        stack_event("Fn", "AWS::Lambda::Function", "UPDATE_COMPLETE", AT + timedelta(seconds=9)),
    ]
    call = stack_call(function)
    assert call is not None
    assert confirmed_by(call, events) == "Fn"


def test_a_new_version_of_the_sweeps_managed_policy_is_matched_by_its_arn_and_only_by_that_policy() -> None:
    """CloudFormation updates a managed policy with CreatePolicyVersion (policyArn): the guardian's deployment of its
    sweep's policy is confirmed, as it would not be when the record names no field the confirmation reads."""
    arn = "arn:aws:iam::123456789012:policy/CloudTrailGuardian-sweep-checks-us-east-1"
    version = record("CreatePolicyVersion", "iam.amazonaws.com", {"policyArn": arn, "setAsDefault": True})
    events = [
        stack_event("Checks", "AWS::IAM::ManagedPolicy", "UPDATE_IN_PROGRESS", AT - timedelta(seconds=2), arn),
        stack_event("Checks", "AWS::IAM::ManagedPolicy", "UPDATE_COMPLETE", AT + timedelta(seconds=3), arn),
    ]
    call = stack_call(version)
    assert call is not None
    assert confirmed_by(call, events) == "Checks"
    # a role of the guardian's stack naming that ARN in its properties does not confirm a new version of the policy
    attached = json.dumps({"ManagedPolicyArns": [arn]})
    role = [
        {**e, "ResourceType": "AWS::IAM::Role", "PhysicalResourceId": "r", "ResourceProperties": attached}
        for e in events
    ]
    assert confirmed_by(call, role) is None
    assert confirmed_by(call, [{**e, "PhysicalResourceId": arn.replace("checks", "other")} for e in events]) is None


def test_a_record_without_time_or_name_cannot_be_confirmed() -> None:
    assert stack_call({**SUBSCRIBE, "eventTime": "yesterday"}) is None
    assert stack_call({**SUBSCRIBE, "requestParameters": None}) is None


def test_a_rule_is_matched_by_name_whatever_bus_prefix_its_physical_id_has() -> None:
    rule = record("PutTargets", "events.amazonaws.com", {"rule": "CloudTrailGuardian-tamper"})
    events = [
        stack_event("Tamper", "AWS::Events::Rule", "UPDATE_IN_PROGRESS", AT, "default|CloudTrailGuardian-tamper"),
        stack_event("Tamper", "AWS::Events::Rule", "UPDATE_COMPLETE", AT + timedelta(seconds=4)),
    ]
    call = stack_call(rule)
    assert call is not None
    assert confirmed_by(call, events) == "Tamper"
    assert confirmed_by(call, [{**e, "PhysicalResourceId": "default|marketing"} for e in events]) is None


@pytest.mark.threat("cfn-other-stack")
def test_another_stacks_topic_policy_is_not_confirmed_by_the_guardians_subscription_or_after_it_completed() -> None:
    """The insider's stack times a topic policy into the guardian's deployment (insider review, issue 20): only the
    guardian's topic or topic policy confirms SetTopicAttributes, and only while CloudFormation works on it."""
    policy = record("SetTopicAttributes", "sns.amazonaws.com", {"topicArn": TOPIC, "attributeName": "Policy"})
    call = stack_call(policy)
    assert call is not None
    assert confirmed_by(call, subscription_events(AT - timedelta(seconds=5), None)) is None  # a subscription, still
    started, done = AT - timedelta(minutes=3), AT - timedelta(seconds=110)
    own_policy = [
        stack_event("Policy", "AWS::SNS::TopicPolicy", "UPDATE_IN_PROGRESS", started, Topics=[TOPIC]),
        stack_event("Policy", "AWS::SNS::TopicPolicy", "UPDATE_COMPLETE", done, "policy-id", Topics=[TOPIC]),
    ]
    assert confirmed_by(call, own_policy) is None  # 110 s after the guardian's own policy was done
    in_time = record("SetTopicAttributes", "sns.amazonaws.com", {"topicArn": TOPIC}, at=done - timedelta(seconds=1))
    confirmed = stack_call(in_time)
    assert confirmed is not None
    assert confirmed_by(confirmed, own_policy) == "Policy"
