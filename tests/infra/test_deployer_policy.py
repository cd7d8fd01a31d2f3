"""The deployer's least-privilege policy (infra/policies/deployer.json, docs/first-day.md): exactly the CDK bootstrap
roles and the bootstrap version parameter that the synthesized cloud assembly names, with the stack's qualifier; and
every resource type of the template within what the bootstrap's execution role deploys (issue 23)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aws_cdk import DefaultStackSynthesizer

from tests.support import REPO_ROOT

POLICY = REPO_ROOT / "infra" / "policies" / "deployer.json"
BOOTSTRAP = REPO_ROOT / "node_modules" / "aws-cdk" / "lib" / "api" / "bootstrap" / "bootstrap-template.yaml"
ACCOUNT = "${aws:PrincipalAccount}"


def as_policy_resource(arn: str) -> str:
    """An ARN as the assembly writes it (CloudFormation's pseudo parameters), as the policy names it: the caller's
    account, any Region, the commercial partition."""
    return arn.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", "*")


def assembly_roles_and_parameters(stack: Any) -> tuple[set[str], set[str], Any]:
    """The roles the CLI assumes to deploy ``stack`` (deploy, lookup, and each asset's publishing role) and the
    bootstrap version parameters it reads, from the cloud assembly."""
    assembly = stack.node.root.synth()
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    roles = {artifact.assume_role_arn, artifact.lookup_role.arn}
    parameters = {
        artifact.bootstrap_stack_version_ssm_parameter,
        artifact.lookup_role.bootstrap_stack_version_ssm_parameter,
    }
    manifest = json.loads((Path(assembly.directory) / "manifest.json").read_text())
    for dependency in artifact.dependencies:
        entry = manifest["artifacts"][dependency.id]
        if entry["type"] != "cdk:asset-manifest":
            continue
        assets = json.loads((Path(assembly.directory) / entry["properties"]["file"]).read_text())
        for kind in ("files", "dockerImages"):
            for asset in assets.get(kind, {}).values():
                roles |= {d["assumeRoleArn"] for d in asset["destinations"].values()}
        parameters.add(entry["properties"]["bootstrapStackVersionSsmParameter"])
    assert any("file-publishing" in role for role in roles)  # the functions' code is a file asset
    return roles, {p for p in parameters if p}, artifact


def statements() -> dict[str, dict[str, Any]]:
    policy = json.loads(POLICY.read_text())
    assert policy["Version"] == "2012-10-17"
    return {s["Sid"]: s for s in policy["Statement"]}


def listed(value: str | list[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def test_the_deployer_may_assume_exactly_the_bootstrap_roles_the_assembly_names(default_synth: Any) -> None:
    _, stack = default_synth
    roles, parameters, _ = assembly_roles_and_parameters(stack)
    found = statements()
    assert set(found) == {"AssumeTheCdkBootstrapRoles", "ReadTheBootstrapVersion"}
    for statement in found.values():
        assert statement["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "Condition", "Principal"} & set(statement)
    assume = found["AssumeTheCdkBootstrapRoles"]
    assert listed(assume["Action"]) == {"sts:AssumeRole"}
    assert listed(assume["Resource"]) == {as_policy_resource(r) for r in roles}
    read = found["ReadTheBootstrapVersion"]
    assert listed(read["Action"]) == {"ssm:GetParameter", "ssm:GetParameters"}
    assert listed(read["Resource"]) == {f"arn:aws:ssm:*:{ACCOUNT}:parameter{p}" for p in parameters}
    assert not any("image-publishing" in r for r in roles)  # no container image: that role is not granted


def test_the_policy_names_the_qualifier_the_stack_uses(default_synth: Any) -> None:
    _, stack = default_synth
    qualifier = stack.synthesizer.bootstrap_qualifier or DefaultStackSynthesizer.DEFAULT_QUALIFIER
    found = statements()
    for resource in listed(found["AssumeTheCdkBootstrapRoles"]["Resource"]):
        assert re.fullmatch(
            rf"arn:aws:iam::\$\{{aws:PrincipalAccount\}}:role/cdk-{qualifier}-[a-z-]+-role-\S+", resource
        )
    assert listed(found["ReadTheBootstrapVersion"]["Resource"]) == {
        f"arn:aws:ssm:*:{ACCOUNT}:parameter/cdk-bootstrap/{qualifier}/version"
    }
    assert qualifier in (REPO_ROOT / "docs" / "first-day.md").read_text()


def bootstrap_resource(name: str) -> str:
    """One resource's block of the bootstrap template the pinned CLI deploys (YAML, read as text: no YAML parser)."""
    text = BOOTSTRAP.read_text()
    return re.split(r"\n  [A-Za-z]+:\n", text.split(f"\n  {name}:\n", 1)[1], maxsplit=1)[0]


def test_the_bootstrap_of_the_pinned_cli_is_recent_enough_and_its_execution_role_deploys_any_type(
    default_synth: Any,
) -> None:
    _, stack = default_synth
    _, _, artifact = assembly_roles_and_parameters(stack)
    version = int(re.findall(r"Value: '(\d+)'", bootstrap_resource("CdkBootstrapVersion"))[0])
    assert artifact.requires_bootstrap_stack_version <= version
    assert artifact.lookup_role.requires_bootstrap_stack_version <= version
    execution = bootstrap_resource("CloudFormationExecutionRole")
    assert "cdk-${Qualifier}-cfn-exec-role-${AWS::AccountId}-${AWS::Region}" in execution
    assert ":iam::aws:policy/AdministratorAccess" in execution  # the default, unless the user narrows it
    assert as_policy_resource(artifact.cloud_formation_execution_role_arn).startswith(
        f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-"
    )


# CloudFormation's service segment of a resource type (AWS::<Service>::...) as docs/first-day.md names it.
SERVICE_NAMES = {
    "CloudTrail": "CloudTrail",
    "CloudWatch": "CloudWatch",
    "DynamoDB": "DynamoDB",
    "Events": "EventBridge",
    "IAM": "IAM",
    "KMS": "KMS",
    "Lambda": "Lambda",
    "Logs": "CloudWatch Logs",
    "S3": "S3",
    "SNS": "SNS",
    "SQS": "SQS",
    "SecretsManager": "Secrets Manager",
}


def test_every_resource_type_is_of_a_service_the_page_lists_for_a_narrower_execution_policy(
    default_synth: Any, channels_synth: Any
) -> None:
    """The execution role must be able to create every type; a narrower one than AdministratorAccess must cover the
    services the page lists (the default deployment, and webhooks, CIS alarms)."""
    types = {
        resource["Type"]
        for template, _ in (default_synth, channels_synth)
        for resource in template.to_json()["Resources"].values()
    }
    assert all(t.startswith("AWS::") for t in types), "a custom resource would need its own function and role"
    services = {t.split("::")[1] for t in types if t != "AWS::CDK::Metadata"}
    assert services <= set(SERVICE_NAMES), services - set(SERVICE_NAMES)
    text = " ".join((REPO_ROOT / "docs" / "first-day.md").read_text().split())
    listed_on_page = text.split("from these services: ")[1].split(".")[0]
    for service in services:
        assert SERVICE_NAMES[service] in listed_on_page, service
    assert services == set(SERVICE_NAMES)  # nothing listed that the template does not use
