"""The deployed stack, found from its outputs: the user never types a bucket or function name.

The only module besides :mod:`guardian_console.evidence` that calls AWS (clients passed in).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from guardian.model import signing
from guardian.model.config import Config
from guardian_console.deployed import Deployed
from guardian_console.errors import ConsoleError

DEFAULT_STACK = "CloudTrailGuardian"  # the stack name the app uses (context stackName)


def find(session: Any, stack: str) -> Deployed:
    """Read ``stack``'s outputs and the sweep's Regions with the session's credentials."""
    region = session.region_name
    if not region:
        raise ConsoleError("no AWS Region", "pass --region, or set AWS_REGION to the stack's home Region")
    try:
        account = session.client("sts").get_caller_identity()["Account"]
        stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except NoCredentialsError as exc:
        raise ConsoleError(
            "no AWS credentials found", "pass --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID"
        ) from exc
    except NoRegionError as exc:
        raise ConsoleError("no AWS Region", "pass --region, or set AWS_REGION or AWS_DEFAULT_REGION") from exc
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ValidationError":
            raise ConsoleError(
                f"stack {stack} not found in {region}", "pass --stack with the stackName you deployed, and --region"
            ) from exc
        raise ConsoleError(
            f"cannot read stack {stack}: {code}", "the caller needs cloudformation:DescribeStacks"
        ) from exc
    except BotoCoreError as exc:
        raise ConsoleError(f"cannot reach AWS: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [k for k in _OUTPUTS if k not in outputs]
    if missing:
        raise ConsoleError(
            f"stack {stack} has no output {missing[0]}: not a CloudTrail Guardian stack, or an older one",
            "redeploy it with this version",
        )
    return Deployed(
        stack=stack,
        account=account,
        region=region,
        evidence_bucket=outputs["EvidenceBucketName"],
        topic_arn=outputs["AlertsTopicArn"],
        remediation_function=outputs["RemediationFunctionName"],
        sweep_function=outputs["SweepFunctionName"],
        dead_letter_queue=outputs["DeadLetterQueueUrl"],
        signing_key=outputs["SigningKeyArn"],
        regions=_sweep_regions(session, outputs["SweepFunctionName"], region),
        sentinel_trail=outputs.get("SentinelTrailName"),
    )


_OUTPUTS = (
    "EvidenceBucketName",
    "AlertsTopicArn",
    "RemediationFunctionName",
    "SweepFunctionName",
    "DeadLetterQueueUrl",
    "SigningKeyArn",
)


def _sweep_regions(session: Any, function: str, home: str) -> tuple[str, ...]:
    """The Regions the sweep covers, from its configuration (``GUARDIAN_SWEEP_REGIONS``); the home Region alone if
    the caller may not read it."""
    try:
        config = session.client("lambda").get_function_configuration(FunctionName=function)
    except (ClientError, BotoCoreError):
        return (home,)
    raw = config.get("Environment", {}).get("Variables", {}).get("GUARDIAN_SWEEP_REGIONS")
    try:
        regions = json.loads(raw) if raw else [home]
    except ValueError:
        regions = [home]
    return tuple(str(r) for r in regions) or (home,)


def sweep_config(session: Any, deployed: Deployed) -> Config:
    """The sweep's own configuration, from its function's environment."""
    try:
        found = session.client("lambda").get_function_configuration(FunctionName=deployed.sweep_function)
    except (ClientError, BotoCoreError) as exc:
        raise ConsoleError(
            f"cannot read the sweep function {deployed.sweep_function}: {exc}",
            "the caller needs lambda:GetFunctionConfiguration on it",
        ) from exc
    variables = dict(found.get("Environment", {}).get("Variables", {}))
    variables.setdefault("AWS_REGION", deployed.region)
    return Config.from_env(variables)


def public_key(session: Any, key_arn: str) -> signing.PublicKey:
    try:
        der = session.client("kms", region_name=key_arn.split(":")[3]).get_public_key(KeyId=key_arn)["PublicKey"]
    except (ClientError, BotoCoreError) as exc:
        raise ConsoleError(
            f"cannot read the public key of {key_arn}: {exc}", "the caller needs kms:GetPublicKey"
        ) from exc
    return signing.parse_public_key(bytes(der))
