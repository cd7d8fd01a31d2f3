"""Issue 24, insider review, the SCP's side: nobody but the deployers (break-glass among them) and the guardian's own
roles may open, delete or re-key the own-events bus (``<stackName>-events``, ownEvents dedicated): its policy is
what keeps forged events off it. In scp-protect-the-alert-path.json (the guardian's own SCP has no room left)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scp_eval import Request, denied_by, rendered
from tests.unit.test_scp import ACCOUNT, BREAK_GLASS, POWER_USER, TAG

BUS = f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/CloudTrailGuardian-events"
ACTIONS = ("events:PutPermission", "events:RemovePermission", "events:DeleteEventBus", "events:UpdateEventBus")
CDK_EXEC = f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-eu-west-1"


@pytest.fixture(scope="module")
def statements() -> list[dict[str, Any]]:
    return rendered()


@pytest.mark.threat("own-events-bus-opened")
@pytest.mark.parametrize("action", ACTIONS)
def test_the_own_events_bus_is_changed_by_deployers_and_the_guardian_only(
    statements: list[dict[str, Any]], action: str
) -> None:
    assert denied_by(statements, Request(action, principal=POWER_USER, resource=BUS)) == [
        "DenyChangesToTheGuardiansEventBus"
    ]
    for allowed in (
        Request(action, principal=BREAK_GLASS, resource=BUS),
        Request(action, principal=CDK_EXEC, resource=BUS),  # its deployment sets the policy
        Request(action, principal=POWER_USER, resource=BUS, principal_tags=TAG),
    ):
        assert denied_by(statements, allowed) == []
    # another bus of the account is not the guardian's, and the default bus's policy is as before (alerted only)
    assert (
        denied_by(statements, Request(action, principal=POWER_USER, resource=BUS.replace("-events", "-eventsx"))) == []
    )
    if action != "events:UpdateEventBus":
        default = Request(action, principal=POWER_USER, resource=BUS.replace("CloudTrailGuardian-events", "default"))
        assert denied_by(statements, default) == []
