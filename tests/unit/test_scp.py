"""The service control policy in infra/policies is a valid IAM policy document: its structure, actions that exist,
nothing allowed, and within the SCP size limit once rendered."""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType
from typing import Any

import botocore.session
import pytest

from tests.support import REPO_ROOT

# IAM action names that differ from the API operation they authorise.
IAM_NAMES = {
    "s3:PutBucketObjectLockConfiguration": "PutObjectLockConfiguration",
    "s3:PutLifecycleConfiguration": "PutBucketLifecycleConfiguration",
}
SERVICES = {
    "events": "events",
    "cloudformation": "cloudformation",
    "cloudtrail": "cloudtrail",
    "iam": "iam",
    "kms": "kms",
    "lambda": "lambda",
    "s3": "s3",
    "sns": "sns",
}


def render_scp() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_scp", REPO_ROOT / "scripts" / "render_scp.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["render_scp"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    rendered: dict[str, Any] = json.loads(render_scp().render("BreakGlassAdmin", "CloudTrailGuardian", "hnb659fds"))
    return rendered


def test_it_is_an_iam_policy_document_that_only_denies(policy: dict[str, Any]) -> None:
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids))
    for statement in policy["Statement"]:
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert statement["Effect"] == "Deny"  # no Allow at all, so no wildcard allow
        assert statement["Action"]
        assert statement["Resource"]
        assert "aws:PrincipalArn" in json.dumps(statement["Condition"])  # the break-glass role is always exempt


def test_every_action_exists(policy: dict[str, Any]) -> None:
    session = botocore.session.get_session()
    operations: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        for action in statement["Action"]:
            prefix, name = action.split(":")
            assert "*" not in name, action
            assert prefix in SERVICES, action
            service = prefix
            if service not in operations:
                operations[service] = set(session.get_service_model(service).operation_names)
            assert IAM_NAMES.get(action, name) in operations[service], f"{action} is not an action of {service}"


def test_what_it_protects_and_who_may_still_act(policy: dict[str, Any]) -> None:
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    stop = by_sid["DenyStoppingOrDeletingAuditLogs"]
    assert {"cloudtrail:StopLogging", "cloudtrail:DeleteTrail"} <= set(stop["Action"])
    # Stopping or deleting: only the break-glass role, not even the guardian (it never needs to).
    assert stop["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlassAdmin"}}
    weaken = by_sid["DenyWeakeningTrails"]
    assert {"cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors"} <= set(weaken["Action"])
    # The guardian's own roles restore trails with UpdateTrail and PutEventSelectors: they stay allowed.
    assert "arn:aws:iam::*:role/CloudTrailGuardian-*" in weaken["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    guardian = by_sid["DenyChangesToTheGuardian"]
    assert "arn:aws:lambda:*:*:function:CloudTrailGuardian-*" in guardian["Resource"]
    assert "arn:aws:s3:::cloudtrailguardian-*" in guardian["Resource"]
    assert "arn:aws:iam::*:role/cdk-hnb659fds-deploy-role-*" in guardian["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    key = by_sid["DenyChangesToTheGuardiansKey"]
    assert key["Condition"]["ForAnyValue:StringLike"] == {"kms:ResourceAliases": "alias/CloudTrailGuardian-*"}


def test_rendering_checks_its_inputs_and_the_size_limit() -> None:
    module = render_scp()
    assert len(module.render("BreakGlassAdmin")) <= module.SCP_MAX_CHARACTERS
    with pytest.raises(ValueError, match="not an IAM role name"):
        module.render("Break Glass")
    with pytest.raises(ValueError, match="not a CloudFormation stack name"):
        module.render("BreakGlassAdmin", stack_name="1bad")
    assert module.main(["--break-glass-role", "x y"]) == 2
