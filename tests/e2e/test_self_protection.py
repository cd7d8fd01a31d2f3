"""End to end over HTTP: a change to the guardian's own resources reaches the alerts topic straight from
EventBridge, with no function running (moto_server on 127.0.0.1, the CLI-synthesized template deployed in it)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from guardian.entrypoints import handler, runtime
from simulation import deploy, scenario
from simulation.moto_server import ACCOUNT, REGION, LocalAws, local_aws

pytestmark = [pytest.mark.e2e, pytest.mark.synth, pytest.mark.filterwarnings("ignore:Tried to parse")]


def api_call(
    source: str, name: str, request: dict[str, Any], actor_arn: str, *, source_ip: str = "203.0.113.66"
) -> dict[str, Any]:
    """The PutEvents entry AWS's default bus receives for a CloudTrail-recorded call."""
    record = {
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "arn": actor_arn, "accountId": ACCOUNT, "userName": "mallory"},
        "eventTime": "2026-11-24T10:00:00Z",
        "eventSource": f"{source}.amazonaws.com",
        "eventName": name,
        "awsRegion": REGION,
        "sourceIPAddress": source_ip,
        "userAgent": "aws-cli/2.22.0",
        "requestParameters": request,
        "responseElements": None,
        "eventID": str(uuid.uuid4()),
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }
    return {"Source": f"aws.{source}", "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps(record)}


def inbox(aws: LocalAws, topic_arn: str) -> str:
    return scenario.subscribe_security_team(aws, topic_arn)


@pytest.mark.threat("own-rules", "cfn-deploy")
def test_a_change_to_the_guardians_own_rule_reaches_the_topic_without_any_function(template: Path) -> None:
    with local_aws() as aws:
        deployment = deploy.deploy(aws, template)
        queue_url = inbox(aws, deployment.outputs["AlertsTopicArn"])
        rule_name = deployment.outputs["TamperRuleName"]
        events = aws.client("events")
        events.disable_rule(Name=rule_name)  # the attacker's call; AWS records it and delivers this event:
        mallory = f"arn:aws:iam::{ACCOUNT}:user/mallory"
        events.put_events(Entries=[api_call("events", "DisableRule", {"name": rule_name}, mallory)])
        [notification] = scenario.drain(aws, queue_url)
        body = json.loads(notification["Message"])
        assert body["subject"] == (
            f"[CRITICAL] 123456789012 CloudTrail Guardian's own EventBridge rule changed: DisableRule by {mallory}"
        )
        assert (body["schema"], body["severity"], body["resource_kind"]) == (
            "cloudtrail-guardian/self-protection-alert",
            "CRITICAL",
            "EventBridge rule",
        )
        assert body["cloudtrail_record"]["requestParameters"] == {"name": rule_name}
        assert aws.invocations == []  # no function ran: the rule targets the topic itself

        # A role merely named like the CDK's deployment roles is nobody special: alerted like anyone.
        lookalike = f"arn:aws:sts::{ACCOUNT}:assumed-role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-{REGION}/session"
        events.put_events(Entries=[api_call("events", "PutRule", {"name": rule_name}, lookalike)])
        [alert] = scenario.drain(aws, queue_url)
        assert json.loads(alert["Message"])["subject"].startswith(
            "[CRITICAL] 123456789012 CloudTrail Guardian's own EventBridge rule"
        )
        # What CloudFormation itself does is not sent to the topic change by change: it goes to the remediation
        # function, which asks the guardian's stack whether it was deploying that rule then
        # (test_another_stacks_subscription_to_the_alerts_topic_is_critical)...
        via_cfn = api_call(
            "events", "PutRule", {"name": rule_name}, lookalike, source_ip="cloudformation.amazonaws.com"
        )
        events.put_events(Entries=[via_cfn])
        [(function, marked)] = aws.invocations
        assert function.endswith(f":function:{deployment.outputs['RemediationFunctionName']}")
        assert marked["guardian"] == "stack-call"
        # ...and a change to someone else's rule is not the guard's: the watch rule eventbridge-security-rule-changed
        # sends it to the function, which reads that rule (tests/integration/test_watch_eventbridge_moto.py).
        events.put_events(Entries=[api_call("events", "DisableRule", {"name": "marketing-nightly"}, mallory)])
        assert scenario.drain(aws, queue_url) == []
        assert [e["detail"]["requestParameters"] for _, e in aws.invocations[1:]] == [{"name": "marketing-nightly"}]
        # The deployment itself is: a MEDIUM alert (mailed) that names the change set and who made it...
        deployer = f"arn:aws:sts::{ACCOUNT}:assumed-role/cdk-hnb659fds-deploy-role-{ACCOUNT}-{REGION}/cli"
        change_set = {"stackName": "CloudTrailGuardian", "changeSetName": "cdk-deploy-change-set"}
        events.put_events(Entries=[api_call("cloudformation", "ExecuteChangeSet", change_set, deployer)])
        [deployed] = scenario.drain(aws, queue_url)
        body = json.loads(deployed["Message"])
        assert body["subject"] == (
            f"[MEDIUM] 123456789012 CloudTrail Guardian deployed: ExecuteChangeSet cdk-deploy-change-set by {deployer}"
        )
        assert body["severity"] == "MEDIUM"
        # ...and a change set of the insider's on the guardian's stack is seen when created, whoever executes it later
        # by its ARN alone (ExecuteChangeSet need not name the stack).
        theirs = {"stackName": "CloudTrailGuardian", "changeSetName": "x"}
        events.put_events(Entries=[api_call("cloudformation", "CreateChangeSet", theirs, mallory)])
        [created] = scenario.drain(aws, queue_url)
        assert json.loads(created["Message"])["subject"].startswith(
            f"[MEDIUM] 123456789012 CloudTrail Guardian deployed: CreateChangeSet x by {mallory}"
        )


@pytest.mark.threat("own-functions")
def test_deleting_the_guardians_function_is_alerted_by_name_or_arn(template: Path) -> None:
    with local_aws() as aws:
        deployment = deploy.deploy(aws, template)
        queue_url = inbox(aws, deployment.outputs["AlertsTopicArn"])
        name = deployment.outputs["RemediationFunctionName"]
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        mallory = f"arn:aws:iam::{ACCOUNT}:user/mallory"
        aws.client("events").put_events(
            Entries=[
                api_call("lambda", "DeleteFunction20150331", {"functionName": name}, mallory),
                api_call("lambda", "UpdateFunctionConfiguration20150331v2", {"functionName": arn}, mallory),
            ]
        )
        subjects = sorted(json.loads(n["Message"])["subject"] for n in scenario.drain(aws, queue_url))
        prefix = "[CRITICAL] 123456789012 CloudTrail Guardian's own function changed:"
        assert subjects == [
            f"{prefix} DeleteFunction20150331 by {mallory}",
            f"{prefix} UpdateFunctionConfiguration20150331v2 by {mallory}",
        ]


@pytest.mark.threat("cfn-other-stack")
def test_another_stacks_subscription_to_the_alerts_topic_is_critical(template: Path) -> None:
    """Issue 20, move 1: the insider's own stack adds a subscription to the alerts topic (every alert, to them).
    CloudFormation makes the call (CloudTrail records sourceIPAddress cloudformation.amazonaws.com), so the
    self-protection rule leaves it to the -guard-cfn-sns rule, whose target (the remediation function) asks the
    guardian's stack: it was not deploying then, so the change is CRITICAL. (moto's CloudFormation does not model
    AWS::SNS::Subscription: the subscription is made as CloudFormation makes it, and the record EventBridge
    receives is delivered by hand.)"""
    with local_aws() as aws:
        deployment = deploy.deploy(aws, template)
        topic_arn = deployment.outputs["AlertsTopicArn"]
        queue_url = inbox(aws, topic_arn)
        sqs = aws.client("sqs")
        tap = sqs.create_queue(QueueName="mallory-tap")["QueueUrl"]
        tap_arn = sqs.get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        aws.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=tap_arn)
        exec_role = (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-{REGION}/AWSCloudFormation"
        )
        entry = api_call(
            "sns",
            "Subscribe",
            {"topicArn": topic_arn, "protocol": "sqs", "endpoint": tap_arn},
            exec_role,
            source_ip="cloudformation.amazonaws.com",
        )
        record = json.loads(entry["Detail"])
        record["eventTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        aws.client("events").put_events(Entries=[{**entry, "Detail": json.dumps(record)}])
        assert scenario.drain(aws, queue_url) == []  # nothing straight to the topic: CloudFormation's call...
        [(function, event)] = aws.invocations  # ...goes to the remediation function, as EventBridge invokes it
        assert function.endswith(f":function:{deployment.outputs['RemediationFunctionName']}")
        with scenario.function_environment(aws, deployment.function_environment):
            runtime.reset()
            answer = handler.lambda_handler(event, scenario.LambdaContext("remediation", str(uuid.uuid4())))
            runtime.reset()
        assert answer["stack_change"] == "alerted"
        [alert] = scenario.drain(aws, queue_url)
        body = json.loads(alert["Message"])
        assert body["severity"] == "CRITICAL"
        assert alert["Subject"].startswith("[CRITICAL] 123456789012 Guardian changed by a stack not its own: Subscribe")
