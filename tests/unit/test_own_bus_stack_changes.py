"""The own-events bus's policy set by CloudFormation (``ownEvents`` dedicated): the guardian's own deployment, when its
stack was making or updating that bus; never when it was working on something else of EventBridge's (pure)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from guardian.model.stack_changes import confirmed_by, stack_call
from tests.unit.test_stack_changes import AT, record, stack_event

BUS = "CloudTrailGuardian-events"
EVENTS = "events.amazonaws.com"


def bus_events(kind: str = "AWS::Events::EventBus", physical: str = BUS) -> list[dict[str, object]]:
    return [
        stack_event("OwnEventsBus", kind, "UPDATE_IN_PROGRESS", AT - timedelta(seconds=5), physical),
        stack_event("OwnEventsBus", kind, "UPDATE_COMPLETE", AT + timedelta(seconds=3), physical),
    ]


@pytest.mark.threat("own-events-bus-opened")
@pytest.mark.parametrize(
    ("name", "request_parameters"),
    [
        ("PutPermission", {"eventBusName": BUS, "policy": "{}"}),
        ("RemovePermission", {"eventBusName": BUS, "statementId": "s"}),
        ("DeleteEventBus", {"name": BUS}),
        ("UpdateEventBus", {"name": BUS, "description": "d"}),
    ],
)
def test_the_bus_policy_set_while_the_stack_updates_the_bus_is_its_deployment(
    name: str, request_parameters: dict[str, object]
) -> None:
    call = stack_call(record(name, EVENTS, request_parameters))
    assert call is not None  # eventBusName names it: without it, nothing could confirm a PutPermission
    assert confirmed_by(call, bus_events()) == "OwnEventsBus"
    # a rule of the guardian's being updated then does not make the bus's policy change its deployment
    rule = bus_events("AWS::Events::Rule", f"{BUS}|{BUS}")
    assert confirmed_by(call, rule) is None
    assert confirmed_by(call, bus_events(physical="another-bus")) is None
