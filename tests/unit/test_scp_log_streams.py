"""The "+ SCP" column of the `log-streams` row: a log stream deleted, or a data protection policy put, on the
guardian's own log groups (its sentinel trail's) is denied to an insider by DenyWeakeningTheGuardiansLogGroups, never
to the deployers or the guardian; an operator's trail's log group (no guardian tag) is not denied."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scp_eval import Request, denied_by, rendered
from tests.unit.test_scp_own_settings import ACCOUNT, OPERATORS_GROUP, POWER_USER, SENTINEL_GROUP, TAG, spared

STREAM = f"{ACCOUNT}_CloudTrail_us-east-1"


@pytest.fixture(scope="module")
def statements() -> list[dict[str, Any]]:
    return rendered()


@pytest.mark.threat("log-streams")
@pytest.mark.parametrize(
    ("action", "suffix"),
    [("logs:DeleteLogStream", f"log-stream:{STREAM}"), ("logs:PutDataProtectionPolicy", "*")],
)
def test_a_stream_deleted_or_fields_masked_on_the_guardians_log_group_is_denied(
    statements: list[dict[str, Any]], action: str, suffix: str
) -> None:
    mine, theirs = f"{SENTINEL_GROUP}:{suffix}", f"{OPERATORS_GROUP}:{suffix}"
    assert denied_by(statements, Request(action, resource=mine, principal=POWER_USER, resource_tags=TAG)), action
    assert spared(statements, action, mine, TAG)
    assert denied_by(statements, Request(action, resource=theirs, principal=POWER_USER)) == []
