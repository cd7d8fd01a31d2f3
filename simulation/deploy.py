"""Synthesize the app with the real CDK CLI and create the template in moto's CloudFormation.

Creating the stack proves the template is deployable as far as moto models CloudFormation. What moto does not
model is reported, never hidden: resource types it skips, and the bucket's Object Lock configuration, which its
CloudFormation drops and which is then applied through the S3 API from the template's own values.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation.moto_server import ACCOUNT, REGION, LocalAws

ROOT = Path(__file__).resolve().parent.parent
STACK = "CloudTrailGuardian"
BOOTSTRAP_QUALIFIER = "hnb659fds"


@dataclass(frozen=True)
class Deployment:
    outputs: dict[str, str]
    function_environment: dict[str, str]
    resources: list[tuple[str, str, str]]  # (type, logical id, status)
    not_modelled: list[str]  # template resource types moto's CloudFormation skipped
    applied_by_api: list[str]  # what the simulation applied itself because moto dropped it
    rule_pattern: str
    sweep_environment: dict[str, str]


def synth(outdir: Path, *context: str) -> Path:
    """``npx cdk synth`` with the pinned CLI (cdk-nag runs as part of it). Returns the template path."""
    env = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"}
    args = ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(outdir)]
    for item in context:
        args += ["-c", item]
    run = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"cdk synth failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}")
    return outdir / f"{STACK}.template.json"


def zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory))
    return buffer.getvalue()


def bootstrap(aws: LocalAws, region: str) -> None:
    """What `cdk bootstrap` leaves in a Region that the templates check: the bootstrap version parameter."""
    ssm = aws.client("ssm", region)
    ssm.put_parameter(Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version", Value="30", Type="String", Overwrite=True)


def publish_assets(aws: LocalAws, outdir: Path) -> None:
    """Do what `cdk bootstrap` + `cdk deploy` do before CloudFormation: the version parameter and asset zips."""
    bootstrap(aws, REGION)
    bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{ACCOUNT}-{REGION}"
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    manifest = json.loads((outdir / f"{STACK}.assets.json").read_text())
    for asset_hash, asset in manifest["files"].items():
        if asset["source"].get("packaging") == "zip":
            s3.put_object(Bucket=bucket, Key=f"{asset_hash}.zip", Body=zip_directory(outdir / asset["source"]["path"]))


def deploy(aws: LocalAws, template_path: Path) -> Deployment:
    outdir = template_path.parent
    publish_assets(aws, outdir)
    template = json.loads(template_path.read_text())
    body, secrets = create_secrets(aws, template)
    cfn = aws.client("cloudformation")
    cfn.create_stack(
        StackName=STACK, TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
    )
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack creation failed: {stack['StackStatus']} {stack.get('StackStatusReason')}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    summaries = cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    created = [
        (r["ResourceType"], r["LogicalResourceId"], r["ResourceStatus"]) for r in summaries if r.get("ResourceType")
    ]
    created_ids = {logical_id for _, logical_id, _ in created}
    not_modelled = sorted(
        {
            r["Type"]
            for lid, r in template["Resources"].items()
            if lid not in created_ids and r["Type"] != "AWS::CDK::Metadata"
        }
    )
    applied = secrets + apply_object_lock(aws, template, outputs["EvidenceBucketName"])
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries if r.get("PhysicalResourceId")}
    applied += create_alarms(aws, template, physical)
    applied += create_trails(aws, template, physical)
    function = aws.client("lambda").get_function_configuration(FunctionName=outputs["RemediationFunctionName"])
    rule = aws.client("events").describe_rule(Name=outputs["TamperRuleName"])
    sweep = aws.client("lambda").get_function_configuration(FunctionName=outputs["SweepFunctionName"])
    return Deployment(
        outputs,
        dict(function["Environment"]["Variables"]),
        created,
        not_modelled,
        applied,
        rule["EventPattern"],
        dict(sweep["Environment"]["Variables"]),  # Lake too: the simulation lists no event data store
    )


def deploy_forwarder(aws: LocalAws, template_path: Path, region: str) -> list[tuple[str, str, str]]:
    """Create a forwarder stack (no assets) in its Region; returns what CloudFormation created."""
    bootstrap(aws, region)
    cfn = aws.client("cloudformation", region)
    name = f"{STACK}-forwarder"
    cfn.create_stack(StackName=name, TemplateBody=template_path.read_text(), Capabilities=["CAPABILITY_IAM"])
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"forwarder creation failed: {stack['StackStatus']} {stack.get('StackStatusReason')}")
    summaries = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return [
        (r["ResourceType"], r["LogicalResourceId"], r["ResourceStatus"]) for r in summaries if r.get("ResourceType")
    ]


def create_secrets(aws: LocalAws, template: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """moto's CloudFormation does not model AWS::SecretsManager::Secret (a Ref to one is empty, and IAM then refuses
    the policy that names it): each is created through the Secrets Manager API, and the template refers to its ARN."""
    made: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::SecretsManager::Secret":
            properties = resource["Properties"]
            made[logical_id] = aws.client("secretsmanager").create_secret(
                Name=properties["Name"],
                Description=properties.get("Description", ""),
                Tags=properties.get("Tags", []),  # the guardian's tag, as CloudFormation applies it (the SCP's key)
            )["ARN"]
    if not made:
        return template, []

    def swap(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in made:
                return made[value["Ref"]]
            return {k: swap(v) for k, v in value.items()}
        return [swap(v) for v in value] if isinstance(value, list) else value

    body = swap({**template, "Resources": {k: v for k, v in template["Resources"].items() if k not in made}})
    return body, [f"{len(made)} secret(s) created through the Secrets Manager API (moto's CloudFormation lacks them)"]


def apply_object_lock(aws: LocalAws, template: dict[str, Any], bucket: str) -> list[str]:
    """Apply the evidence bucket's versioning and Object Lock from the template if moto dropped them."""
    s3 = aws.client("s3")
    [props] = [  # the evidence bucket's (the sentinel's bucket is locked too)
        r["Properties"]
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::S3::Bucket" and r["Properties"].get("ObjectLockEnabled") and "Evidence" in logical_id
    ]
    applied = []
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != props["VersioningConfiguration"]["Status"]:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=props["VersioningConfiguration"])
        applied.append(
            "versioning on the evidence bucket (moto's CloudFormation does not apply VersioningConfiguration)"
        )
    try:
        s3.get_object_lock_configuration(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=props["ObjectLockConfiguration"])
        rule = props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
        applied.append(
            f"Object Lock default retention {rule['Mode']} {rule['Days']} days on the evidence bucket "
            "(moto's CloudFormation does not apply ObjectLockConfiguration)"
        )
    return applied


ALARM_FIELDS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "Dimensions",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "Metrics",
)


def create_alarms(aws: LocalAws, template: dict[str, Any], physical: dict[str, str]) -> list[str]:
    """Create the template's alarms through the CloudWatch API: moto's CloudFormation does not model
    AWS::CloudWatch::Alarm, and the sweep checks that every alarm of the guardian exists with its actions on."""
    cloudwatch = aws.client("cloudwatch")
    alarms = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    for properties in alarms:
        request = {k: resolve(properties[k], physical) for k in ALARM_FIELDS if k in properties}
        cloudwatch.put_metric_alarm(**request)
    if not alarms:
        return []
    return [f"{len(alarms)} alarms created through the CloudWatch API (moto's CloudFormation does not model them)"]


def create_subscriptions(aws: LocalAws, template: dict[str, Any]) -> list[str]:
    """Subscribe the template's functions (the webhook notifiers) to the topic, with their filter policies: moto's
    CloudFormation does not model AWS::SNS::Subscription. Called by the act that runs functions (moto can run one
    only in Docker, so a subscription made at deployment would fail each earlier alert's delivery, noisily)."""
    summaries = aws.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries if r.get("PhysicalResourceId")}
    made = 0
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] != "AWS::SNS::Subscription" or properties.get("Protocol") != "lambda":
            continue
        function = physical[properties["Endpoint"]["Fn::GetAtt"][0]]
        attributes = {k: json.dumps(properties[k]) for k in ("FilterPolicy",) if k in properties}
        attributes |= {k: properties[k] for k in ("FilterPolicyScope",) if k in properties}
        aws.client("sns").subscribe(
            TopicArn=physical[properties["TopicArn"]["Ref"]],
            Protocol="lambda",
            Endpoint=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}",
            Attributes=attributes,
        )
        made += 1
    return (
        [f"{made} function subscription(s) made through the SNS API (moto's CloudFormation lacks them)"] if made else []
    )


def create_trails(aws: LocalAws, template: dict[str, Any], physical: dict[str, str]) -> list[str]:
    """Create the template's trails (the sentinel) through the CloudTrail API, logging as the template says: moto's
    CloudFormation does not model AWS::CloudTrail::Trail."""
    cloudtrail = aws.client("cloudtrail")
    trails = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudTrail::Trail"]
    for properties in trails:
        name = properties["TrailName"]
        cloudtrail.create_trail(
            Name=name,
            S3BucketName=resolve(properties["S3BucketName"], physical),
            IsMultiRegionTrail=properties.get("IsMultiRegionTrail", False),
            EnableLogFileValidation=properties.get("EnableLogFileValidation", False),
            IncludeGlobalServiceEvents=properties.get("IncludeGlobalServiceEvents", True),
            TagsList=properties.get("Tags", []),
        )
        if "EventSelectors" in properties:
            cloudtrail.put_event_selectors(TrailName=name, EventSelectors=properties["EventSelectors"])
        if properties.get("IsLogging"):
            cloudtrail.start_logging(Name=name)
    if not trails:
        return []
    names = ", ".join(p["TrailName"] for p in trails)
    return [f"trail {names} created through the CloudTrail API (moto's CloudFormation does not model trails)"]


def resolve(value: Any, physical: dict[str, str]) -> Any:
    """The intrinsic functions the alarms use (Ref, Fn::GetAtt of a queue's name, Fn::Join), resolved."""
    if isinstance(value, list):
        return [resolve(v, physical) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return physical[value["Ref"]]
    if set(value) == {"Fn::GetAtt"}:
        logical_id, attribute = value["Fn::GetAtt"]
        if attribute == "QueueName":
            return physical[logical_id].rstrip("/").rsplit("/", 1)[-1]
        raise ValueError(f"the simulation cannot resolve Fn::GetAtt {logical_id}.{attribute} in an alarm")
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(p, physical)) for p in parts)
    return {k: resolve(v, physical) for k, v in value.items()}
