"""The service control policies fit both deployment styles (issue 13, item 8): every call either function's role
may make is left alone when made from the guardian's own functions, in a `cdk deploy` stack and in a StackSets
stack instance (generated names: StackSet-<set>-<id>-...); and the policies know every resource of both by its tag,
its fixed name or its name prefix."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from infra.stackset import STACK_ID, build_stackset_app
from tests.infra.conftest import synth_template
from tests.scp_eval import Request, denied_by, rendered

pytestmark = pytest.mark.synth
ACCOUNT = "111122223333"
STACK = "CloudTrailGuardian"
# Resources the guardian's calls touch: a trail's, untagged, and the guardian's own, tagged; S3 by bucket name.
RESOURCES: tuple[tuple[str, dict[str, str]], ...] = (
    (f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-audit", {}),
    ("arn:aws:s3:::org-audit-logs", {}),
    ("arn:aws:s3:::cloudtrailguardian-sentinelbucket-1a2b", {}),  # the sentinel's bucket: a trail bucket it heals
    (f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{STACK}-tamper", {"cloudtrail-guardian": STACK}),
    (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{STACK}-remediation", {"cloudtrail-guardian": STACK}),
    (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0a1b", {"cloudtrail-guardian": STACK}),
    (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{STACK}-activity", {"cloudtrail-guardian": STACK}),
)


def stackset_template(outdir: Path) -> dict[str, Any]:
    document: dict[str, Any] = (
        build_stackset_app({"stackName": STACK}, str(outdir)).synth().get_stack_artifact(STACK_ID).template
    )
    return document


@pytest.fixture(scope="module", params=["cdk-deploy", "stacksets"])
def style(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    if request.param == "cdk-deploy":
        return f"{STACK}-", synth_template({})[0].to_json()
    return "StackSet-guardian-0a1b2c3d-", stackset_template(tmp_path_factory.mktemp("stackset"))


def roles(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}


def granted(template: dict[str, Any], role_id: str) -> set[str]:
    actions: set[str] = set()
    for policy in template["Resources"].values():
        if policy["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                value = statement["Action"]
                actions |= set(value if isinstance(value, list) else [value])
    return actions


def test_no_call_of_the_guardians_functions_is_denied(style: tuple[str, dict[str, Any]]) -> None:
    prefix, template = style
    statements = rendered()
    functions = {
        r["Properties"]["Role"]["Fn::GetAtt"][0]: r["Properties"]["FunctionName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    }
    assert sorted(functions.values()) == [f"{STACK}-remediation", f"{STACK}-sweep"]  # fixed in both styles
    checked = 0
    for role_id, function in functions.items():
        tags = {t["Key"]: t["Value"] for t in roles(template)[role_id]["Properties"].get("Tags", [])}
        assert tags.get("cloudtrail-guardian") == STACK, f"{role_id} is not tagged: the policies would not know it"
        principal = f"arn:aws:iam::{ACCOUNT}:role/{prefix}{role_id}-XYZ"
        source = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function}"
        for action in granted(template, role_id):
            for resource, resource_tags in RESOURCES:
                call = Request(action, resource, principal, tags, resource_tags, source_function=source)
                assert denied_by(statements, call) == [], (function, action, resource)
                checked += 1
    assert checked > 300


def test_every_resource_the_policies_protect_is_known_to_them(style: tuple[str, dict[str, Any]]) -> None:
    """Tagged where the policies go by tag; named under the prefix where they go by name (S3)."""
    _, template = style
    tagged_types = {
        "AWS::Lambda::Function",
        "AWS::Events::Rule",
        "AWS::SNS::Topic",
        "AWS::IAM::Role",
        "AWS::KMS::Key",
        "AWS::CloudWatch::Alarm",
        "AWS::SQS::Queue",
    }
    for lid, resource in template["Resources"].items():
        if resource["Type"] in tagged_types:
            tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
            assert tags.get("cloudtrail-guardian") == STACK, lid
    buckets = [
        r["Properties"].get("BucketName") for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"
    ]
    for name in buckets:  # unnamed: CloudFormation names it <stack name>-<logical id>-..., under the prefix too
        if name is not None:
            assert fnmatchcase(str(name["Fn::Join"][1][0]) if isinstance(name, dict) else name, "cloudtrailguardian-*")


@pytest.mark.threat("activity-table")
def test_the_activity_table_is_named_where_the_scp_denies_writes(style: tuple[str, dict[str, Any]]) -> None:
    """By its name (DynamoDB's tag conditions can be off for an account), fixed in both styles; and the guardian's
    roles that write it (remediation, sweep) carry the tag the SCP exempts (checked above for every granted call)."""
    _, template = style
    tables = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert [t.get("TableName") for t in tables] == [f"{STACK}-activity"]
    [statement] = [s for s in rendered() if s["Sid"] == "DenyWritesToTheGuardiansTables"]
    assert fnmatchcase(f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{STACK}-activity", statement["Resource"])
    writers = {lid for lid in roles(template) if {"dynamodb:PutItem", "dynamodb:UpdateItem"} <= granted(template, lid)}
    assert len(writers) == 2, writers
