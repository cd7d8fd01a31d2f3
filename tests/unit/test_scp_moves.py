"""The "+ SCP" column of docs/threat-model.md, for the moves test_scp.py's lists do not cover: each is denied to an
insider with PowerUser by the rendered policies (tests/scp_eval.py's evaluator), and never to break-glass."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scp_eval import Request, denied_by, rendered

ACCOUNT = "111122223333"
TAG = {"cloudtrail-guardian": "CloudTrailGuardian"}
POWER_USER = f"arn:aws:iam::{ACCOUNT}:role/PowerUser"
BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin"
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-audit"
STORE = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:eventdatastore/0a1b"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:CloudTrailGuardian-AlertsTopicD5F3A3B2-0A1B2C3D4E5F"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:CloudTrailGuardian-sweep"
STACK = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/CloudTrailGuardian/0a1b2c3d"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/CloudTrailGuardian-SweepRole8A7451E2-ABC"
EVIDENCE = "arn:aws:s3:::cloudtrailguardian-evidencebucketc67ff768-abc"
# (row of the threat model, action, resource, the resource's tags)
MOVES: list[tuple[str, str, str, dict[str, str]]] = [
    ("trail-tamper", "cloudtrail:DeleteTrail", TRAIL, {}),
    ("trail-tamper", "cloudtrail:RemoveTags", TRAIL, {}),
    ("lake", "cloudtrail:StopEventDataStoreIngestion", STORE, {}),
    ("lake", "cloudtrail:DeleteEventDataStore", STORE, {}),
    ("topic-policy", "sns:SetTopicAttributes", TOPIC, TAG),
    ("alerts-key", "kms:DisableKey", KEY, TAG),
    ("alerts-key", "kms:ScheduleKeyDeletion", KEY, TAG),
    ("own-functions", "lambda:UpdateFunctionCode", FUNCTION, TAG),
    ("own-functions", "lambda:UpdateFunctionConfiguration", FUNCTION, TAG),
    ("own-functions", "lambda:DeleteFunction", FUNCTION, TAG),
    ("delete-stack", "cloudformation:DeleteStack", STACK, TAG),
    ("evidence-broken", "s3:PutBucketPolicy", EVIDENCE, {}),
    ("evidence-broken", "s3:PutEncryptionConfiguration", EVIDENCE, {}),
    ("own-roles", "iam:PutRolePolicy", ROLE, TAG),
    ("own-roles", "iam:DeleteRole", ROLE, TAG),
    ("own-roles", "iam:DetachRolePolicy", ROLE, TAG),  # the sweep's managed policy taken off its role
    # the sweep's customer managed policy (untagged: CloudFormation cannot tag one), by its name
    ("own-roles", "iam:CreatePolicyVersion", "arn:aws:iam::111122223333:policy/CloudTrailGuardian-sweep-checks-x", {}),
    ("own-roles", "iam:SetDefaultPolicyVersion", "arn:aws:iam::111122223333:policy/CloudTrailGuardian-sweep-x", {}),
]


@pytest.fixture(scope="module")
def statements() -> list[dict[str, Any]]:
    return rendered()


@pytest.mark.threat("trail-tamper", "lake", "topic-policy", "alerts-key", "own-functions", "delete-stack")
@pytest.mark.threat("evidence-broken", "own-roles")
@pytest.mark.parametrize(("row", "action", "resource", "tags"), MOVES, ids=[f"{m[0]}:{m[1]}" for m in MOVES])
@pytest.mark.threat("topic-policy-refuses-guardian")
def test_what_the_threat_model_says_the_scp_denies_is_denied(
    statements: list[dict[str, Any]], row: str, action: str, resource: str, tags: dict[str, str]
) -> None:
    insider = Request(action, resource=resource, principal=POWER_USER, resource_tags=tags)
    assert denied_by(statements, insider), (row, action)
    assert denied_by(statements, Request(action, resource=resource, principal=BREAK_GLASS, resource_tags=tags)) == []
