"""End to end over HTTP (moto_server, the CLI-synthesized template deployed in it): the CDK execution role borrowed
through another CDK app's stack. The insider updates that stack without ``roleARN``; EventBridge's
``-guard-cfn-exec-borrowed`` rule invokes the remediation function, which reads the stack's role and alerts HIGH.
(The tag guards match ``requestParameters.tags.key`` inside an array of objects, which EventBridge does and moto's
matcher does not: they are proved in tests/infra/test_stack_callers_template.py and tests/integration.)"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from guardian.entrypoints import handler, runtime
from simulation import deploy, scenario
from simulation.moto_server import ACCOUNT, REGION, local_aws

pytestmark = [pytest.mark.e2e, pytest.mark.synth, pytest.mark.filterwarnings("ignore:Tried to parse")]
EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-{REGION}"
INSIDER = f"arn:aws:sts::{ACCOUNT}:assumed-role/PowerUser/mallory"
APP = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "app-queue"}}}})


@pytest.mark.threat("exec-role-borrowed")
def test_another_apps_stack_run_without_a_role_is_alerted_high_through_eventbridge(template: Path) -> None:
    with local_aws() as aws:
        deployment = deploy.deploy(aws, template)
        queue_url = scenario.subscribe_security_team(aws, deployment.outputs["AlertsTopicArn"])
        aws.client("cloudformation").create_stack(StackName="other-cdk-app", TemplateBody=APP, RoleARN=EXEC_ROLE)
        aws.invocations.clear()
        record = {
            "eventVersion": "1.11",
            "userIdentity": {"type": "AssumedRole", "arn": INSIDER, "accountId": ACCOUNT},
            "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "cloudformation.amazonaws.com",
            "eventName": "UpdateStack",
            "awsRegion": REGION,
            "sourceIPAddress": "203.0.113.66",
            "userAgent": "aws-cli/2.22.0",
            "requestParameters": {"stackName": "other-cdk-app", "templateURL": "https://example.com/t.json"},
            "responseElements": {"stackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/other-cdk-app/1"},
            "eventID": str(uuid.uuid4()),
            "eventType": "AwsApiCall",
            "recipientAccountId": ACCOUNT,
        }
        entry = {
            "Source": "aws.cloudformation",
            "DetailType": "AWS API Call via CloudTrail",
            "Detail": json.dumps(record),
        }
        aws.client("events").put_events(Entries=[entry])
        assert scenario.drain(aws, queue_url) == []  # no roleARN: the -guard-cfn-exec-role rule cannot see it...
        [(function, event)] = aws.invocations  # ...the function is asked which role the stack lends
        assert function.endswith(f":function:{deployment.outputs['RemediationFunctionName']}")
        assert event["check"] == "stack-role"
        with scenario.function_environment(aws, deployment.function_environment):
            runtime.reset()
            answer = handler.lambda_handler(event, scenario.LambdaContext("remediation", str(uuid.uuid4())))
            runtime.reset()
        assert answer["stack_role"] == "alerted"
        [alert] = scenario.drain(aws, queue_url)
        assert alert["Subject"].startswith(
            f"[HIGH] {ACCOUNT} Stack run with the CDK execution role: UpdateStack other-cdk-app by arn"
        )
        assert INSIDER in alert["Message"]
