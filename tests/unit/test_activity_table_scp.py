"""Issue 21, H43: nobody but the deployers and the guardian's own roles writes the activity table
(``<stackName>-activity``: the alert ledger, repeat counts, alert groups and the write-quota turns). A turn forged
there delays a heal up to its budget; the SCP closes it. Known by its name, not its tag: DynamoDB's tag conditions
can be off for an account, and then a tag condition matches nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scp_eval import Request, denied_by, rendered
from tests.unit.test_scp import ACCOUNT, BREAK_GLASS, POWER_USER, TAG

SID = "DenyWritesToTheGuardiansTables"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/CloudTrailGuardian-activity"
# Each write API and the IAM actions that authorise it (TransactWriteItems has none of its own: each item's action;
# PartiQL's statements: by their verb).
WRITES: dict[str, tuple[str, ...]] = {
    "PutItem": ("dynamodb:PutItem",),
    "UpdateItem": ("dynamodb:UpdateItem",),
    "DeleteItem": ("dynamodb:DeleteItem",),
    "BatchWriteItem": ("dynamodb:BatchWriteItem",),
    "TransactWriteItems": ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
    "ExecuteStatement": ("dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"),
    "BatchExecuteStatement": ("dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"),
    "ExecuteTransaction": ("dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"),
    "DeleteTable": ("dynamodb:DeleteTable",),
    "UpdateTable": ("dynamodb:UpdateTable",),
    "UpdateTimeToLive": ("dynamodb:UpdateTimeToLive",),
    # a resource policy denying the guardian's roles would stop its writes
    "PutResourcePolicy": ("dynamodb:PutResourcePolicy",),
    "DeleteResourcePolicy": ("dynamodb:DeleteResourcePolicy",),
}
ACTIONS = sorted({a for actions in WRITES.values() for a in actions})
GUARDIAN_ROLES = (
    f"arn:aws:iam::{ACCOUNT}:role/CloudTrailGuardian-RemediationServiceRole-XYZ",
    f"arn:aws:iam::{ACCOUNT}:role/StackSet-guardian-0a1b-SweepServiceRole-XYZ",
)
DEPLOYERS = (
    f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-us-east-1",
    f"arn:aws:iam::{ACCOUNT}:role/stacksets-exec-0123456789abcdef",
    BREAK_GLASS,
)


@pytest.fixture(scope="module")
def statements() -> list[dict[str, Any]]:
    return rendered()


@pytest.mark.threat("activity-table")
@pytest.mark.parametrize("api", sorted(WRITES))
def test_an_insiders_writes_to_the_activity_table_are_denied(statements: list[dict[str, Any]], api: str) -> None:
    for action in WRITES[api]:
        for resource in (TABLE, f"{TABLE}/index/any"):
            assert denied_by(statements, Request(action, resource, POWER_USER)) == [SID], (api, action)
        # a role named like the guardian's is nobody special; its tag is what counts, and only deployers give it
        impostor = Request(action, TABLE, f"arn:aws:iam::{ACCOUNT}:role/CloudTrailGuardian-RemediationRole-fake")
        assert denied_by(statements, impostor) == [SID]


@pytest.mark.threat("activity-table")
@pytest.mark.parametrize("action", ACTIONS)
def test_the_guardians_roles_and_the_deployers_still_write_it_and_other_tables_are_not_touched(
    statements: list[dict[str, Any]], action: str
) -> None:
    for role in GUARDIAN_ROLES:
        function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:CloudTrailGuardian-remediation"
        own = Request(action, TABLE, role, principal_tags=TAG, source_function=function)
        assert denied_by(statements, own) == []
    for deployer in DEPLOYERS:
        assert denied_by(statements, Request(action, TABLE, deployer)) == []
    for other in ("my-app-orders", "CloudTrailGuardianX-activity", "cloudtrail-guardian-chain-heads"):
        table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{other}"
        assert denied_by(statements, Request(action, table, POWER_USER)) == []
    # a principal tagged for another guardian stack is not this one's
    other_stack = Request(action, TABLE, POWER_USER, principal_tags={"cloudtrail-guardian": "Other"})
    assert denied_by(statements, other_stack) == [SID]


def test_reading_the_activity_table_is_left_alone(statements: list[dict[str, Any]]) -> None:
    for action in ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable"):
        assert denied_by(statements, Request(action, TABLE, POWER_USER)) == []
