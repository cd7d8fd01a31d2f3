"""Review finding 5, the SCP's side: nobody but the deployers (break-glass among them) and the guardian's own roles
may change the default event bus (UpdateEventBus, denied in scp-protect-the-alert-path.json): a key of theirs on it
can silence every rule of the guardian."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scp_eval import Request, denied_by, rendered
from tests.unit.test_scp import ACCOUNT, BREAK_GLASS, POWER_USER, TAG

BUS = f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/default"


@pytest.fixture(scope="module")
def statements() -> list[dict[str, Any]]:
    return rendered()


@pytest.mark.threat("event-bus-key")
def test_the_default_bus_is_changed_by_deployers_and_the_guardian_only(statements: list[dict[str, Any]]) -> None:
    assert denied_by(statements, Request("events:UpdateEventBus", principal=POWER_USER, resource=BUS))
    assert denied_by(statements, Request("events:UpdateEventBus", principal=BREAK_GLASS, resource=BUS)) == []
    guardian = Request("events:UpdateEventBus", principal=POWER_USER, resource=BUS, principal_tags=TAG)
    assert denied_by(statements, guardian) == []
    # another bus of the account is not the guardian's
    other = Request("events:UpdateEventBus", principal=POWER_USER, resource=BUS.replace("/default", "/orders"))
    assert denied_by(statements, other) == []
