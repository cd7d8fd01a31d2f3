"""The service control policies in infra/policies: valid IAM policy documents (structure, actions that exist,
nothing allowed, the SCP size limit once rendered), and what they deny to whom, by an evaluator of their
conditions (tests/scp_eval.py): an insider with PowerUser, a role named like a deployer, the guardian's own roles
used from another function."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from tests.scp_eval import Request, denied_by, policy_files, render_module, rendered

# IAM action names that differ from the API operation they authorise.
IAM_NAMES = {
    "s3:PutBucketObjectLockConfiguration": "PutObjectLockConfiguration",
    "s3:PutLifecycleConfiguration": "PutBucketLifecycleConfiguration",
    "s3:PutEncryptionConfiguration": "PutBucketEncryption",
    "lambda:InvokeFunction": "Invoke",
}
# IAM actions with no API operation of their own (a version's delete is DeleteObject with a VersionId)
PERMISSION_ONLY = {
    "iam:PassRole",
    "sts:TagSession",
    "lambda:InvokeFunctionUrl",
    "s3:DeleteObjectVersion",
    "s3:BypassGovernanceRetention",
    "dynamodb:PartiQLInsert",  # ExecuteStatement, BatchExecuteStatement, ExecuteTransaction: by the statement's verb
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}
SERVICES = (
    "events",
    "cloudformation",
    "cloudtrail",
    "iam",
    "kms",
    "lambda",
    "s3",
    "sns",
    "sts",
    "cloudwatch",
    "sqs",
    "secretsmanager",
    "logs",
    "dynamodb",
)
ACCOUNT = "111122223333"
TAG = {"cloudtrail-guardian": "CloudTrailGuardian"}
POWER_USER = f"arn:aws:iam::{ACCOUNT}:role/PowerUser"
BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin"
GUARDIAN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/StackSet-guardian-0a1b-RemediationRole-XYZ"
GUARDIAN_FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:CloudTrailGuardian-remediation"
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-audit"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:CloudTrailGuardian-AlertsTopicD5F3A3B2-0A1B2C3D4E5F"
STACKSET_TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:StackSet-guardian-0a1b-AlertsTopicD5F3A3B2-0A1B2C3D4E5F"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:CloudTrailGuardian/webhook/soc-AbCdEf"
SWEEP_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/CloudTrailGuardian-sweep-checks-us-east-1"  # infra.sweep_schedule


@pytest.fixture(scope="module")
def statements() -> list[dict[str, Any]]:
    return rendered()


def test_they_are_iam_policy_documents_that_only_deny(statements: list[dict[str, Any]]) -> None:
    assert [p.name for p in policy_files()] == [
        "scp-protect-cloudtrail.json",
        "scp-protect-the-alert-path.json",
        "scp-protect-the-guardian.json",
    ]
    for path in policy_files():
        assert json.loads(path.read_text())["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in statements]
    assert len(sids) == len(set(sids))
    for statement in statements:
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert statement["Effect"] == "Deny"  # no Allow at all, so no wildcard allow
        assert statement["Action"]
        assert statement["Resource"]
        assert statement["Condition"]  # every Deny spares someone: break-glass, the deployers, or the guardian


def test_every_action_exists(statements: list[dict[str, Any]]) -> None:
    session = botocore.session.get_session()
    operations: dict[str, set[str]] = {}
    for statement in statements:
        for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
            if action == "*" or action in PERMISSION_ONLY:
                continue
            prefix, name = action.split(":")
            assert "*" not in name, action
            assert prefix in SERVICES, action
            if prefix not in operations:
                operations[prefix] = set(session.get_service_model(prefix).operation_names)
            assert IAM_NAMES.get(action, name) in operations[prefix], f"{action} is not an action of {prefix}"


def request(action: str, principal: str = POWER_USER, **context: Any) -> Request:
    context.setdefault("resource", TRAIL)
    return Request(action, principal=principal, **context)


# What an insider with PowerUser (and the SCP deployed) can no longer do, issue 13, items 3, 5 and 8.
INSIDER_MOVES = [
    ("cloudtrail:StopLogging", {}),
    ("cloudtrail:UpdateTrail", {}),
    ("cloudtrail:PutEventSelectors", {}),
    ("events:DisableRule", {"resource": "arn:aws:events:us-east-1:1:rule/StackSet-x-Rule", "resource_tags": TAG}),
    ("lambda:PutFunctionConcurrency", {"resource": GUARDIAN_FUNCTION, "resource_tags": TAG}),
    ("sns:Subscribe", {"resource": "arn:aws:sns:us-east-1:1:StackSet-x-Alerts", "resource_tags": TAG}),
    ("kms:PutKeyPolicy", {"resource": "arn:aws:kms:us-east-1:1:key/k", "resource_tags": TAG}),
    ("cloudwatch:DisableAlarmActions", {"resource": "arn:aws:cloudwatch:us-east-1:1:alarm:a", "resource_tags": TAG}),
    ("s3:PutBucketPolicy", {"resource": "arn:aws:s3:::cloudtrailguardian-evidencebucket-abc"}),
    ("iam:PassRole", {"resource": GUARDIAN_ROLE, "resource_tags": TAG}),  # a function of theirs with its role
    ("lambda:InvokeFunction", {"resource": GUARDIAN_FUNCTION}),  # forged events fed to it
    ("iam:TagRole", {"resource": f"arn:aws:iam::{ACCOUNT}:role/mine", "tag_keys": ("cloudtrail-guardian",)}),
    ("sts:TagSession", {"resource": f"arn:aws:iam::{ACCOUNT}:role/mine", "tag_keys": ("cloudtrail-guardian",)}),
    # The key in another case: IAM's aws:PrincipalTag/cloudtrail-guardian would still find it (issue 20, H11).
    *[
        (f"iam:{a}", {"resource": f"arn:aws:iam::{ACCOUNT}:{r}", "tag_keys": ("CloudTrail-Guardian",)})
        for a, r in (("CreateRole", "role/mine"), ("TagRole", "role/mine"), ("CreateUser", "user/me"))
    ],
    ("sts:TagSession", {"resource": f"arn:aws:iam::{ACCOUNT}:role/mine", "tag_keys": ("CLOUDTRAIL-GUARDIAN",)}),
    ("iam:CreateRole", {"resource": f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-mine"}),
    ("iam:UpdateAssumeRolePolicy", {"resource": f"arn:aws:iam::{ACCOUNT}:role/stacksets-exec-0123"}),
    # Issue 20: what the threat model said the SCP denies, and it did not.
    *[(f"sns:{a}", {"resource": f"{TOPIC}:0a1b2c3d-sub"}) for a in ("Unsubscribe", "SetSubscriptionAttributes")],
    ("sns:Unsubscribe", {"resource": f"{STACKSET_TOPIC}:0a1b2c3d-sub"}),
    ("sns:PutDataProtectionPolicy", {"resource": TOPIC, "resource_tags": TAG}),
    *[
        (f"lambda:{a}", {"resource": GUARDIAN_FUNCTION})
        for a in (
            "PutFunctionEventInvokeConfig",
            "UpdateFunctionEventInvokeConfig",
            "DeleteFunctionEventInvokeConfig",
            "CreateFunctionUrlConfig",
            "UpdateFunctionUrlConfig",
            "DeleteFunctionUrlConfig",
        )
    ],
    ("lambda:InvokeFunctionUrl", {"resource": GUARDIAN_FUNCTION}),  # junk through a URL made before the SCP
    # The sweep's customer managed policy rewritten (a new default version) or removed: no tag on it (CloudFormation
    # cannot tag a managed policy), known by its name.
    *[
        (f"iam:{a}", {"resource": SWEEP_POLICY})
        for a in ("CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicyVersion", "DeletePolicy")
    ],
    ("iam:DetachRolePolicy", {"resource": GUARDIAN_ROLE, "resource_tags": TAG}),
    *[
        (f"secretsmanager:{a}", {"resource": SECRET, "resource_tags": TAG})
        for a in (
            "PutSecretValue",
            "UpdateSecret",
            "DeleteSecret",
            "RestoreSecret",
            "PutResourcePolicy",
            "DeleteResourcePolicy",
            "RotateSecret",
            "CancelRotateSecret",
            "UntagResource",
        )
    ],
]


@pytest.mark.parametrize(("action", "context"), INSIDER_MOVES, ids=[f"{m[0]}-{i}" for i, m in enumerate(INSIDER_MOVES)])
@pytest.mark.threat(
    "trail-tamper", "own-rules", "own-functions", "forged-exempt", "run-as-guardian", "deployer-name", "guardian-tag"
)
@pytest.mark.threat(
    "trail-key-swap", "subscription", "scp-omissions", "webhook-secret", "junk-invocations", "central-spoof"
)
def test_an_insider_is_denied(statements: list[dict[str, Any]], action: str, context: dict[str, Any]) -> None:
    assert denied_by(statements, request(action, **context))
    # A role merely named like the guardian or a CDK role is nobody special: issue 13, item 3.
    for impostor in ("role/CloudTrailGuardian-RemediationRole-fake", "role/cdk-hnb659fds-lookup-role-x"):
        assert denied_by(statements, request(action, f"arn:aws:iam::{ACCOUNT}:{impostor}", **context))


@pytest.mark.parametrize(("action", "context"), INSIDER_MOVES, ids=[f"{m[0]}-{i}" for i, m in enumerate(INSIDER_MOVES)])
def test_break_glass_is_never_denied(statements: list[dict[str, Any]], action: str, context: dict[str, Any]) -> None:
    assert denied_by(statements, request(action, BREAK_GLASS, **context)) == []


@pytest.mark.threat("run-as-guardian")
def test_the_guardians_roles_act_only_from_the_guardians_functions(statements: list[dict[str, Any]]) -> None:
    own = {"principal_tags": TAG}
    assert (
        denied_by(
            statements, request("cloudtrail:UpdateTrail", GUARDIAN_ROLE, source_function=GUARDIAN_FUNCTION, **own)
        )
        == []
    )
    elsewhere = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:not-the-guardian"
    assert denied_by(
        statements, request("cloudtrail:UpdateTrail", GUARDIAN_ROLE, source_function=elsewhere, **own)
    ) == ["DenyTheGuardiansRolesOutsideItsFunctions"]
    # Lambda's own calls with the role outside the function's code (its dead-letter queue) carry no source function.
    assert denied_by(statements, request("sqs:SendMessage", GUARDIAN_ROLE, **own)) == []


@pytest.mark.threat("cfn-deploy")
def test_deployers_may_update_the_guardian_in_both_styles(statements: list[dict[str, Any]]) -> None:
    stack = {"resource": f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/CloudTrailGuardian/1", "resource_tags": TAG}
    for deployer in (
        "role/cdk-hnb659fds-deploy-role-111122223333-us-east-1",
        "role/cdk-hnb659fds-cfn-exec-role-111122223333-us-east-1",
        "role/stacksets-exec-0123456789abcdef",
        "role/AWSCloudFormationStackSetExecutionRole",
    ):
        principal = f"arn:aws:iam::{ACCOUNT}:{deployer}"
        assert denied_by(statements, request("cloudformation:ExecuteChangeSet", principal, **stack)) == []
        assert (
            denied_by(
                statements,
                request("lambda:UpdateFunctionCode", principal, resource=GUARDIAN_FUNCTION, resource_tags=TAG),
            )
            == []
        )
        assert denied_by(statements, request("iam:CreatePolicyVersion", principal, resource=SWEEP_POLICY)) == []
        assert denied_by(statements, request("cloudtrail:StopLogging", principal))  # still break-glass only


def test_rendering_checks_its_inputs_and_the_size_limit() -> None:
    assert rendered("A" * 64, "S" + "t" * 63)  # within the limit even with a 64-character role and stack name
    module = render_module()
    with pytest.raises(ValueError, match="not an IAM role name"):
        module.render("Break Glass")
    with pytest.raises(ValueError, match="not a CloudFormation stack name"):
        module.render("BreakGlassAdmin", stack_name="1bad")
    assert module.main(["--break-glass-role", "x y"]) == 2


# Issue 20, move 4 (log files deleted bypassing GOVERNANCE retention) and move 5 (Lake retention cut): denied to
# everyone but break-glass (the Lake's settings: but the deployers and the guardian too). CloudTrail writes its log
# files as a service principal, which no SCP restricts.
LOG_FILE = f"arn:aws:s3:::org-audit-logs/audit/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/12/06/x.json.gz"
DIGEST_FILE = f"arn:aws:s3:::logs/AWSLogs/o-abc/{ACCOUNT}/CloudTrail-Digest/us-east-1/2026/12/06/d.json.gz"
STORE = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:eventdatastore/0a1b"
LOG_FILE_MOVES = [
    ("s3:DeleteObject", LOG_FILE),
    ("s3:DeleteObjectVersion", LOG_FILE),
    ("s3:BypassGovernanceRetention", LOG_FILE),
    ("s3:PutObject", LOG_FILE),  # a log file overwritten
    ("s3:DeleteObjectVersion", DIGEST_FILE),
    ("cloudtrail:UpdateEventDataStore", STORE),
    ("cloudtrail:StopEventDataStoreIngestion", STORE),
    ("cloudtrail:DeleteEventDataStore", STORE),
]


@pytest.mark.parametrize(("action", "resource"), LOG_FILE_MOVES, ids=[f"{a}-{r[-12:]}" for a, r in LOG_FILE_MOVES])
@pytest.mark.threat("log-files", "lake-retention")
def test_trail_log_files_and_lake_settings_are_denied_to_an_insider_not_to_break_glass(
    statements: list[dict[str, Any]], action: str, resource: str
) -> None:
    assert denied_by(statements, request(action, resource=resource))
    assert denied_by(statements, request(action, BREAK_GLASS, resource=resource)) == []


def test_objects_outside_awslogs_are_not_touched_by_the_log_file_statement(statements: list[dict[str, Any]]) -> None:
    for key in ("arn:aws:s3:::my-data/reports/x.csv", "arn:aws:s3:::logs/AWSLogsArchive/x"):
        assert "DenyDeletingOrOverwritingTrailLogFiles" not in denied_by(
            statements, request("s3:DeleteObject", resource=key)
        )


@pytest.mark.threat("scp-omissions")
def test_the_alert_paths_new_denials_spare_deployers_the_guardian_and_other_resources(
    statements: list[dict[str, Any]],
) -> None:
    """The deployers make the event invoke config and the secret; the sweep takes a filter policy off the team's
    subscription (SetSubscriptionAttributes); nobody's own topics, functions or secrets are touched."""
    deployer = f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-111122223333-us-east-1"
    for action, resource in (
        ("lambda:PutFunctionEventInvokeConfig", GUARDIAN_FUNCTION),
        ("secretsmanager:PutSecretValue", SECRET),
        ("sns:Unsubscribe", f"{TOPIC}:sub"),
    ):
        assert denied_by(statements, request(action, deployer, resource=resource, resource_tags=TAG)) == []
    sweep = request(
        "sns:SetSubscriptionAttributes",
        GUARDIAN_ROLE,
        resource=f"{TOPIC}:sub",
        principal_tags=TAG,
        source_function=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:CloudTrailGuardian-sweep",
    )
    assert denied_by(statements, sweep) == []
    for action, resource in (
        ("sns:Unsubscribe", f"arn:aws:sns:us-east-1:{ACCOUNT}:billing-alerts:sub"),
        ("lambda:CreateFunctionUrlConfig", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:my-app"),
        ("secretsmanager:PutSecretValue", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:my-app-AbCdEf"),
        ("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/my-app-reads"),
    ):
        assert denied_by(statements, request(action, resource=resource)) == []


def test_the_sizes_as_aws_counts_them_leave_room() -> None:
    """Each policy within 5,120 characters with the longest names (AWS counts the minified JSON)."""
    for name, policy in render_module().render("A" * 64, "S" + "t" * 63).items():
        assert len(policy) <= 5120, name


@pytest.mark.threat("lake-blocked")
def test_the_lake_sources_provider_role_is_assumed_by_the_guardian_alone() -> None:
    """``securityLake``: the provider role trusts the whole account with an external id anyone may read in the
    remediation function's environment; rendered with its ARN, the SCP denies AssumeRole on it to all but the
    guardian's tagged roles, and touches no other role (without it, no statement)."""
    role = "arn:aws:iam::444455556666:role/AmazonSecurityLake-Provider-cloudtrail-guardian-us-east-1"
    module = render_module()
    with_lake = [
        s
        for text in module.render("BreakGlassAdmin", lake_provider_role=role).values()
        for s in json.loads(text)["Statement"]
    ]
    assume = request("sts:AssumeRole", resource=role)
    assert denied_by(with_lake, assume) == ["DenyActingAsTheGuardiansLakeSource"]
    assert denied_by(rendered(), assume) == []  # not rendered: no statement
    sweep = request("sts:AssumeRole", GUARDIAN_ROLE, resource=role, principal_tags=TAG)
    assert denied_by(with_lake, sweep) == []
    break_glass = request("sts:AssumeRole", BREAK_GLASS, resource=role)
    assert denied_by(with_lake, break_glass) == ["DenyActingAsTheGuardiansLakeSource"]  # nobody needs to act as it
    other = "arn:aws:iam::444455556666:role/AmazonSecurityLake-Provider-other-vendor-us-east-1"
    assert denied_by(with_lake, request("sts:AssumeRole", resource=other)) == []
    with pytest.raises(ValueError, match="not an IAM role ARN"):
        module.render("BreakGlassAdmin", lake_provider_role="AmazonSecurityLake-Provider")
    longest = module.render("A" * 64, "S" + "t" * 63, lake_provider_role="arn:aws:iam::444455556666:role/" + "R" * 64)
    assert all(len(policy) <= 5120 for policy in longest.values())
