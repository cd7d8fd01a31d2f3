"""The "+ SCP" column of the threat model's rows for the guardian's log groups, its functions' settings and its key
aliases: each move denied to an insider with PowerUser by the rendered policies (tests/scp_eval.py's evaluator),
never to the deployers, break-glass or the guardian's own roles; an operator's trail's log group (no guardian tag,
a name `make scp` does not know) is not denied, as the `log-group` row says."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scp_eval import Request, denied_by, rendered

ACCOUNT = "111122223333"
TAG = {"cloudtrail-guardian": "CloudTrailGuardian"}
POWER_USER = f"arn:aws:iam::{ACCOUNT}:role/PowerUser"
SPARED: tuple[tuple[str, dict[str, str]], ...] = (
    (f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin", {}),
    (f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-us-east-1", {}),
    (f"arn:aws:iam::{ACCOUNT}:role/CloudTrailGuardian-SweepRole8A7451E2-ABC", TAG),  # the guardian puts back
)
SENTINEL_GROUP = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:CloudTrailGuardian-SentinelTrailLogGroupE2CAF3EA-AbC"
OPERATORS_GROUP = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/cloudtrail/org-audit"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:CloudTrailGuardian-remediation"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LOG_GROUP_MOVES = (
    "logs:DeleteLogGroup",
    "logs:DeleteSubscriptionFilter",
    "logs:AssociateKmsKey",  # a key of one's own, disabled later, mutes what the group feeds
    "logs:DisassociateKmsKey",
    "logs:PutRetentionPolicy",
    "logs:UntagResource",  # CloudWatch Logs cannot deny a tag by its key: no tag of the guardian's groups changes
    "logs:UntagLogGroup",
    "logs:TagResource",
)


@pytest.fixture(scope="module")
def statements() -> list[dict[str, Any]]:
    return rendered()


def spared(statements: list[dict[str, Any]], action: str, resource: str, tags: dict[str, str]) -> bool:
    return all(
        denied_by(statements, Request(action, resource=resource, principal=who, principal_tags=own, resource_tags=tags))
        == []
        for who, own in SPARED
    )


@pytest.mark.threat("log-group")
@pytest.mark.parametrize("action", LOG_GROUP_MOVES)
def test_the_guardians_log_groups_are_denied_to_an_insider_and_an_operators_are_not(
    statements: list[dict[str, Any]], action: str
) -> None:
    insider = Request(action, resource=SENTINEL_GROUP, principal=POWER_USER, resource_tags=TAG)
    assert denied_by(statements, insider), action
    assert spared(statements, action, SENTINEL_GROUP, TAG)
    assert denied_by(statements, Request(action, resource=OPERATORS_GROUP, principal=POWER_USER)) == []


@pytest.mark.threat("function-settings", "key-aliases")
@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("lambda:AddPermission", FUNCTION),
        ("lambda:RemovePermission", FUNCTION),
        ("lambda:PutFunctionEventInvokeConfig", FUNCTION),
        ("lambda:UpdateFunctionEventInvokeConfig", FUNCTION),
        ("lambda:CreateFunctionUrlConfig", FUNCTION),
        ("kms:UpdateAlias", KEY),  # authorized on the key it leaves too: the guardian's, tagged
        ("kms:DeleteAlias", KEY),
    ],
)
def test_a_functions_settings_and_the_key_aliases_are_denied_to_an_insider(
    statements: list[dict[str, Any]], action: str, resource: str
) -> None:
    assert denied_by(statements, Request(action, resource=resource, principal=POWER_USER, resource_tags=TAG)), action
    assert spared(statements, action, resource, TAG)
