"""The CDK execution role borrowed through another stack, and the guardian's tag given to a principal (moto).

The insider review's move: with ``cloudformation:*`` and no ``iam:PassRole``, update another CDK app's stack (deployed
with the CDK execution role) without ``roleARN``: CloudFormation reuses the stack's role, and through it creates a
role carrying the guardian's tag that trusts the insider. The ``-guard-cfn-exec-borrowed`` rule sends the role-less
call to the remediation function, which reads the stack's role and alerts HIGH; CloudFormation's CreateRole with the
tag (``-guard-cfn-iam-tag``) is CRITICAL unless the guardian's own stack was making that role. Every alert reaches the
security account's topic too."""

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

ACCOUNT = "123456789012"
EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-us-east-1"
INSIDER = f"arn:aws:sts::{ACCOUNT}:assumed-role/PowerUser/mallory"
TEMPLATE = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "app-queue"}}}})


@pytest.fixture
def central(account: Account, monkeypatch: pytest.MonkeyPatch) -> str:
    """The security account's topic (centralTopicArn), with a queue to read what reaches it."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="central-alerts")["TopicArn"]
    url = sqs.create_queue(QueueName="security-account")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    monkeypatch.setenv("GUARDIAN_CENTRAL_TOPIC_ARN", topic)
    guardian = boto3.client("cloudformation").create_stack(StackName="CloudTrailGuardian", TemplateBody=TEMPLATE)
    monkeypatch.setenv("GUARDIAN_STACK_ID", guardian["StackId"])
    runtime.reset()
    account.alerts()
    return str(url)


def central_alerts(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def stack_operation(name: str, stack: str, **request: str) -> dict[str, Any]:
    """What the ``-guard-cfn-exec-borrowed`` rule delivers: the insider's own call, with no roleARN."""
    record = {
        "eventVersion": "1.11",
        "userIdentity": {"type": "AssumedRole", "arn": INSIDER},
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "cloudformation.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.66",
        "requestParameters": {"stackName": stack, **request},
        "eventID": str(uuid.uuid4()),
        "recipientAccountId": ACCOUNT,
    }
    return {"guardian": "stack-call", "check": "stack-role", "detail": record}


def other_app(role: str | None = EXEC_ROLE, name: str = "other-cdk-app") -> str:
    extra = {"RoleARN": role} if role else {}
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=TEMPLATE, **extra)  # type: ignore[arg-type]
    return name


@pytest.mark.threat("exec-role-borrowed")
def test_another_apps_stack_updated_without_a_role_lends_the_execution_role_high(
    account: Account, central: str
) -> None:
    stack = other_app()
    # The update itself is not replayed: moto's UpdateStack without RoleARN forgets the stack's role; AWS keeps it.
    answer = handler.lambda_handler(stack_operation("UpdateStack", stack, templateURL="https://x"), None)
    assert answer["stack_role"] == "alerted"
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject.startswith(f"[HIGH] {ACCOUNT} Stack run with the CDK execution role: UpdateStack {stack} by arn")
    assert len(subject) < 100  # who is named in full in the body
    assert message["severity"] == "HIGH"
    assert EXEC_ROLE in json.dumps(message)
    assert INSIDER in json.dumps(message)
    [copy] = central_alerts(central)  # the security account's copy
    assert copy["Subject"] == subject


@pytest.mark.threat("exec-role-borrowed")
def test_when_the_stacks_role_cannot_be_read_it_is_high_never_silent(
    account: Account, central: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def throttled(self: FullAdapter, region: str, stack: str) -> Any:
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeStacks")

    monkeypatch.setattr(FullAdapter, "stack_role", throttled)
    answer = handler.lambda_handler(stack_operation("CreateChangeSet", other_app(), changeSetName="c1"), None)
    assert answer["stack_role"] == "alerted: cannot tell"
    assert "Throttling" in answer["why"]
    [notification] = account.alerts()
    assert notification["Subject"].startswith(f"[HIGH] {ACCOUNT} Stack run with the CDK execution role? (cannot tell)")
    assert len(central_alerts(central)) == 1


def test_a_stack_gone_before_it_is_asked_is_high_unless_it_was_deleted(account: Account, central: str) -> None:
    """Deleted at once after the role-less update: the update cannot be judged, so it is alerted. A DeleteStack of a
    stack gone already is only logged: a deletion creates nothing (no principal, no tag)."""
    updated = handler.lambda_handler(stack_operation("UpdateStack", "gone-already"), None)
    assert updated["stack_role"] == "alerted: cannot tell"
    assert len(account.alerts()) == 1
    deleted = handler.lambda_handler(stack_operation("DeleteStack", "gone-already"), None)
    assert deleted == {"stack_role": "deleted", "stack": "gone-already"}
    assert account.alerts() == []


def test_a_stack_with_another_role_or_none_records_nothing(account: Account, central: str) -> None:
    for stack in (other_app(f"arn:aws:iam::{ACCOUNT}:role/app-deployer", "app-a"), other_app(None, "app-b")):
        answer = handler.lambda_handler(stack_operation("UpdateStack", stack), None)
        assert answer == {"stack_role": "not the execution role", "stack": stack}
    other_qualifier = f"arn:aws:iam::{ACCOUNT}:role/cdk-other123-cfn-exec-role-{ACCOUNT}-us-east-1"
    answer = handler.lambda_handler(stack_operation("UpdateStack", other_app(other_qualifier, "app-c")), None)
    assert answer["stack_role"] == "not the execution role"  # another qualifier's role: not this account's CDK's
    assert account.alerts() == []
    assert central_alerts(central) == []


def create_role_via_cloudformation(role: str, at: datetime) -> dict[str, Any]:
    """What the ``-guard-cfn-iam-tag`` rule delivers: CloudFormation's CreateRole carrying the guardian's tag."""
    record = {
        "eventVersion": "1.11",
        "userIdentity": {"type": "AssumedRole", "arn": f"{EXEC_ROLE.replace(':iam:', ':sts:')}/AWSCloudFormation"},
        "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateRole",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "cloudformation.amazonaws.com",
        "requestParameters": {
            "roleName": role,
            "assumeRolePolicyDocument": json.dumps({"Statement": [{"Principal": {"AWS": INSIDER}}]}),
            "tags": [{"key": "cloudtrail-guardian", "value": "CloudTrailGuardian"}],
        },
        "eventID": str(uuid.uuid4()),
        "recipientAccountId": ACCOUNT,
    }
    return {"guardian": "stack-call", "detail": record}


@pytest.mark.threat("guardian-tag")
def test_a_role_given_the_guardians_tag_by_another_stack_is_critical(account: Account, central: str) -> None:
    answer = handler.lambda_handler(create_role_via_cloudformation("innocent-role", datetime.now(UTC)), None)
    assert answer["stack_change"] == "alerted"
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject == f"[CRITICAL] {ACCOUNT} Guardian's tag given by a stack not its own: CreateRole innocent-role"
    assert "cloudtrail-guardian" in message["summary"] or "cloudtrail-guardian" in json.dumps(message)
    [copy] = central_alerts(central)
    assert copy["Subject"] == subject


@pytest.mark.threat("guardian-tag")
def test_the_guardians_own_stack_making_its_role_is_not_alerted(
    account: Account, central: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = datetime.now(UTC).replace(microsecond=0)
    role = "CloudTrailGuardian-RemediationRole-AbC123"

    def stack_events(self: FullAdapter, stack: str, since: datetime) -> tuple[list[dict[str, Any]], bool]:
        made = {"LogicalResourceId": "RemediationRole", "ResourceType": "AWS::IAM::Role", "PhysicalResourceId": role}
        return [
            {**made, "ResourceStatus": "CREATE_COMPLETE", "Timestamp": at + timedelta(seconds=3)},
            {**made, "ResourceStatus": "CREATE_IN_PROGRESS", "Timestamp": at - timedelta(seconds=1)},
        ], True

    monkeypatch.setattr(FullAdapter, "stack_events", stack_events)
    answer = handler.lambda_handler(create_role_via_cloudformation(role, at), None)
    assert answer == {"stack_change": "deployment", "resource": "RemediationRole"}
    assert account.alerts() == []
    # the same tag on a role of another name, at that very time: not the guardian's
    answer = handler.lambda_handler(create_role_via_cloudformation("mallory-admin", at), None)
    assert answer["stack_change"] == "alerted"
    assert len(account.alerts()) == 1


def test_a_forwarders_own_role_is_confirmed_by_its_stack_in_a_region_the_guardian_covers(
    account: Account, central: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forwarders' roles carry the guardian's tag too (IAM records their creation in us-east-1): the forwarder
    stack of that name, in a Region of GUARDIAN_SWEEP_REGIONS (where nobody else can hold the name), confirms it."""
    at = datetime.now(UTC).replace(microsecond=0)
    role = "CloudTrailGuardian-forwarder-ForwarderForwardRole1A2B-XYZ"
    asked: list[tuple[str, str | None]] = []

    def stack_events(
        self: FullAdapter, stack: str, since: datetime, region: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        asked.append((stack, region))
        if (stack, region) != ("CloudTrailGuardian-forwarder", "us-west-2"):
            return [], True
        made = {"LogicalResourceId": "ForwardRole", "ResourceType": "AWS::IAM::Role", "PhysicalResourceId": role}
        return [{**made, "ResourceStatus": "CREATE_IN_PROGRESS", "Timestamp": at - timedelta(seconds=1)}], True

    monkeypatch.setattr(FullAdapter, "stack_events", stack_events)
    answer = handler.lambda_handler(create_role_via_cloudformation(role, at), None)
    assert answer == {"stack_change": "deployment", "resource": "CloudTrailGuardian-forwarder (us-west-2): ForwardRole"}
    assert ("CloudTrailGuardian-forwarder", "us-west-2") in asked
    assert account.alerts() == []
    # a name like a forwarder's that no forwarder stack was making: CRITICAL
    answer = handler.lambda_handler(create_role_via_cloudformation(f"{role}-2", at), None)
    assert answer["stack_change"] == "alerted"
    assert len(account.alerts()) == 1
