"""CloudFormation as a caller (moto): a change CloudFormation makes to the guardian's own resources reaches the
remediation function (the ``-guard-cfn-*`` rules), which asks the guardian's own stack. Its deployment passes
quietly; another stack's change, or one the stack cannot be asked about, is CRITICAL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from guardian.adapters.full import FullAdapter
from guardian.entrypoints import handler, runtime
from tests.integration.conftest import Account, subject_and_message

GUARDIAN = "CloudTrailGuardian"


def guardian_stack(monkeypatch: pytest.MonkeyPatch) -> str:
    template = {"Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "marker"}}}}
    stack_id: str = boto3.client("cloudformation").create_stack(StackName=GUARDIAN, TemplateBody=json.dumps(template))[
        "StackId"
    ]
    monkeypatch.setenv("GUARDIAN_STACK_ID", stack_id)
    runtime.reset()
    return stack_id


def subscribe_via_cloudformation(topic_arn: str, endpoint: str, at: datetime) -> dict[str, Any]:
    """What the ``-guard-cfn-sns`` rule delivers: CloudFormation's Subscribe, as CloudTrail records it."""
    record = {
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::123456789012:assumed-role/cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1/"
            "AWSCloudFormation",
            "invokedBy": "cloudformation.amazonaws.com",
        },
        "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "sns.amazonaws.com",
        "eventName": "Subscribe",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "cloudformation.amazonaws.com",
        "userAgent": "cloudformation.amazonaws.com",
        "requestParameters": {"topicArn": topic_arn, "protocol": "sqs", "endpoint": endpoint},
        "responseElements": {"subscriptionArn": f"{topic_arn}:{uuid.uuid4()}"},
        "eventID": str(uuid.uuid4()),
        "eventType": "AwsApiCall",
        "recipientAccountId": "123456789012",
    }
    return {"guardian": "stack-call", "detail": record}  # the rule's input: marked, the record whole


def the_insiders_stack_subscribes(topic_arn: str) -> str:
    """The move: a stack of the insider's own adds a subscription to the alerts topic (every alert, to them). moto's
    CloudFormation does not model AWS::SNS::Subscription: the subscription is made as CloudFormation makes it."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="mallory-inbox")["QueueUrl"]
    queue_arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    template = {"Resources": {"Inbox": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "innocent"}}}}
    boto3.client("cloudformation").create_stack(StackName="innocent-looking", TemplateBody=json.dumps(template))
    boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return queue_arn


def critical_subjects(account: Account) -> list[str]:
    return [subject_and_message(n)[0] for n in account.alerts()]


@pytest.mark.threat("cfn-other-stack")
def test_another_stack_subscribing_to_the_alerts_topic_is_critical(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    guardian_stack(monkeypatch)  # the guardian's stack exists, just deployed: it is asked, and says no
    account.alerts()
    endpoint = the_insiders_stack_subscribes(account.topic_arn)
    answer = handler.lambda_handler(subscribe_via_cloudformation(account.topic_arn, endpoint, datetime.now(UTC)), None)
    assert answer["stack_change"] == "alerted"
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject.startswith("[CRITICAL] 123456789012 Guardian changed by a stack not its own: Subscribe on arn:aws")
    assert message["severity"] == "CRITICAL"
    assert "does not confirm it as its deployment" in json.dumps(message)


@pytest.mark.threat("cfn-deploy")
def test_the_guardians_own_deployment_of_that_subscription_is_not_alerted(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack_id = guardian_stack(monkeypatch)
    account.alerts()
    endpoint = "arn:aws:sqs:us-east-1:123456789012:security-team"
    at = datetime.now(UTC).replace(microsecond=0)
    asked: list[tuple[str, datetime]] = []

    def stack_events(self: FullAdapter, stack: str, since: datetime) -> tuple[list[dict[str, Any]], bool]:
        asked.append((stack, since))
        properties = json.dumps({"TopicArn": account.topic_arn, "Protocol": "sqs", "Endpoint": endpoint})
        return [  # newest first, as CloudFormation answers (moto records no resource events)
            {
                "LogicalResourceId": "Team",
                "ResourceType": "AWS::SNS::Subscription",
                "ResourceStatus": "CREATE_COMPLETE",
                "Timestamp": at + timedelta(seconds=2),
                "PhysicalResourceId": f"{account.topic_arn}:1",
            },
            {
                "LogicalResourceId": "Team",
                "ResourceType": "AWS::SNS::Subscription",
                "ResourceStatus": "CREATE_IN_PROGRESS",
                "Timestamp": at - timedelta(seconds=1),
                "PhysicalResourceId": "",
                "ResourceProperties": properties,
            },
        ], True

    monkeypatch.setattr(FullAdapter, "stack_events", stack_events)
    answer = handler.lambda_handler(subscribe_via_cloudformation(account.topic_arn, endpoint, at), None)
    assert answer == {"stack_change": "deployment", "resource": "Team"}
    assert [s for s, _ in asked] == [stack_id]
    assert account.alerts() == []


@pytest.mark.threat("cfn-other-stack")
def test_when_cloudformation_cannot_be_asked_the_change_is_critical(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fail closed: throttling (or any error) while confirming is an unconfirmed change, alerted."""
    guardian_stack(monkeypatch)
    account.alerts()

    def throttled(self: FullAdapter, stack_id: str) -> Any:
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeStacks")

    monkeypatch.setattr(FullAdapter, "stack_status", throttled)
    event = subscribe_via_cloudformation(account.topic_arn, "arn:aws:sqs:us-east-1:123456789012:x", datetime.now(UTC))
    answer = handler.lambda_handler(event, None)
    assert answer["stack_change"] == "alerted"
    assert "Throttling" in answer["why"]
    [subject] = critical_subjects(account)
    assert subject.startswith("[CRITICAL] ")


def test_too_many_stack_events_to_read_is_critical(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    guardian_stack(monkeypatch)
    account.alerts()
    monkeypatch.setattr(FullAdapter, "stack_events", lambda self, stack, since: ([], False))
    event = subscribe_via_cloudformation(account.topic_arn, "arn:aws:sqs:us-east-1:123456789012:x", datetime.now(UTC))
    answer = handler.lambda_handler(event, None)
    assert answer == {
        "stack_change": "alerted",
        "why": "the guardian's stack has too many events to read back to the call",
    }
    assert len(critical_subjects(account)) == 1


def test_without_the_guardians_stack_nothing_confirms(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDIAN_STACK_ID", "arn:aws:cloudformation:us-east-1:123456789012:stack/gone/1")
    runtime.reset()
    account.alerts()
    event = subscribe_via_cloudformation(account.topic_arn, "arn:aws:sqs:us-east-1:123456789012:x", datetime.now(UTC))
    assert handler.lambda_handler(event, None)["why"] == "the guardian's stack does not exist"
    assert len(critical_subjects(account)) == 1
