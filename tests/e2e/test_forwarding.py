"""End to end over HTTP: a StopLogging made in another Region reaches the home Region through the forwarder stack
(both CLI-synthesized templates deployed into moto_server on 127.0.0.1) and heals the trail in its own Region."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from guardian.entrypoints import handler
from simulation import deploy, scenario
from simulation.moto_server import ACCOUNT, local_aws
from tests.support import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.synth, pytest.mark.filterwarnings("ignore:Tried to parse")]
HOME, OTHER = "us-east-1", "us-west-2"


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("npx") is None or not (REPO_ROOT / "node_modules" / ".bin" / "cdk").exists():
        pytest.skip("the pinned CDK CLI is not installed: run `make setup`")
    return deploy.synth(tmp_path_factory.mktemp("cdk.out"), f"regions={HOME},{OTHER}", f"homeRegion={HOME}").parent


def test_an_event_from_another_region_is_forwarded_and_heals_the_trail_in_its_region(outdir: Path) -> None:
    with local_aws() as aws:
        deployment = deploy.deploy(aws, outdir / "CloudTrailGuardian.template.json")
        created = deploy.deploy_forwarder(aws, outdir / f"CloudTrailGuardian-forwarder-{OTHER}.template.json", OTHER)
        print("\n".join(f"created in {OTHER}: {status} {type_} {lid}" for type_, lid, status in created))
        assert {"AWS::Events::Rule", "AWS::SQS::Queue", "AWS::IAM::Role"} <= {t for t, _, _ in created}
        assert json.loads(deployment.sweep_environment["GUARDIAN_SWEEP_REGIONS"]) == [HOME, OTHER]

        s3 = aws.client("s3", OTHER)
        s3.create_bucket(Bucket="west-logs", CreateBucketConfiguration={"LocationConstraint": OTHER})
        cloudtrail = aws.client("cloudtrail", OTHER)
        cloudtrail.create_trail(Name="audit-west", S3BucketName="west-logs")
        cloudtrail.start_logging(Name="audit-west")
        cloudtrail.stop_logging(Name="audit-west")  # the attacker, in us-west-2; AWS puts this on us-west-2's bus:
        record = {
            "eventVersion": "1.11",
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory", "accountId": ACCOUNT},
            "eventTime": "2026-11-24T10:00:00Z",
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging",
            "awsRegion": OTHER,
            "requestParameters": {"name": "audit-west"},
            "eventID": str(uuid.uuid4()),
            "eventType": "AwsApiCall",
            "recipientAccountId": ACCOUNT,
        }
        aws.client("events", OTHER).put_events(
            Entries=[
                {"Source": "aws.cloudtrail", "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps(record)}
            ]
        )
        # The forwarder sent it to us-east-1's bus, where the guardian's rule invoked the function.
        [(function_arn, event)] = aws.invocations
        assert function_arn.endswith(f":function:{deployment.outputs['RemediationFunctionName']}")
        assert event["detail"] == record  # the record arrives unchanged
        with scenario.function_environment(aws, deployment.function_environment):
            handler.reset()
            result = handler.lambda_handler(event, scenario.LambdaContext("fn", str(uuid.uuid4())))
            handler.reset()
        assert result["outcome"] == "healed"
        assert cloudtrail.get_trail_status(Name="audit-west")["IsLogging"] is True  # healed in its own Region
