"""Every template the two-account, three-Region app synthesizes deploys into moto's CloudFormation (the bootstrap
version parameter and the asset zips seeded as `cdk bootstrap` and `cdk deploy` would); what each created is listed
in the test output (`pytest -s`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from app import build_app
from simulation.deploy import BOOTSTRAP_QUALIFIER, zip_directory
from simulation.moto_server import kms_key_specs
from tests.infra.test_multi_account import CONTEXT

pytestmark = [pytest.mark.synth, pytest.mark.filterwarnings("ignore:Tried to parse")]


def seed(outdir: Path, artifact_id: str, region: str) -> None:
    """What bootstrap and the CLI's asset publishing leave before CloudFormation runs."""
    boto3.client("ssm", region_name=region).put_parameter(
        Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version", Value="30", Type="String", Overwrite=True
    )
    manifest = outdir / f"{artifact_id}.assets.json"
    if not manifest.exists():
        return
    for asset in json.loads(manifest.read_text())["files"].values():
        for destination in asset["destinations"].values():
            bucket, key = destination["bucketName"], destination["objectKey"]
            s3 = boto3.client("s3", region_name=destination.get("region", region))
            if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
                location = destination.get("region", region)
                if location == "us-east-1":
                    s3.create_bucket(Bucket=bucket)
                else:
                    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": location})
            source = outdir / asset["source"]["path"]
            body = zip_directory(source) if asset["source"].get("packaging") == "zip" else source.read_bytes()
            s3.put_object(Bucket=bucket, Key=key, Body=body)


def test_every_synthesized_template_deploys_into_moto_cloudformation(tmp_path: Path) -> None:
    assembly = build_app(CONTEXT).synth(force=True)
    outdir = Path(assembly.directory)
    stacks: list[Any] = list(assembly.stacks)
    assert len(stacks) == 7  # 2 guardians, 4 forwarders, the central alerts stack
    with mock_aws(), kms_key_specs():
        for stack in stacks:
            region = stack.environment.region
            seed(outdir, stack.id, region)
            cfn = boto3.client("cloudformation", region_name=region)
            cfn.create_stack(
                StackName=stack.stack_name,
                TemplateBody=json.dumps(stack.template),
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            )
            [created] = cfn.describe_stacks(StackName=stack.stack_name)["Stacks"]
            assert created["StackStatus"] == "CREATE_COMPLETE", created.get("StackStatusReason")
            resources = cfn.list_stack_resources(StackName=stack.stack_name)["StackResourceSummaries"]
            listed = sorted(f"{r['ResourceType']} {r['LogicalResourceId']}" for r in resources if r.get("ResourceType"))
            print(f"\n{stack.id} ({stack.environment.account}/{region}): {len(listed)} resources created")
            print("\n".join(f"  {line}" for line in listed))
            assert listed
