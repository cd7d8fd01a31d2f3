"""Issue 24, insider review: the own-events bus (``ownEvents`` dedicated) keeps forged events off it by its policy
alone, so opening that policy (PutPermission, RemovePermission), deleting the bus or re-keying it (UpdateEventBus)
is a change to the guardian: alerted CRITICAL straight from EventBridge to the topic (``<stack>-guard-own-bus``),
CloudFormation's confirmed against the guardian's stack, a refused one grouped MEDIUM. Alert only: redeploying
puts the policy back. Proved with moto's EventBridge matcher on real-shaped records, under a long stack name."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app import build_app
from guardian.model.config_values import own_rules
from infra.self_protection import Guarded, watches
from tests.guarded import Instance, moto_matches
from tests.infra.test_event_bus_guard import record

pytestmark = pytest.mark.synth
STACK = "CloudTrailGuardianProductionAudit"
BUS = f"{STACK}-events"
BUS_ARN = f"arn:aws:events:us-east-1:123456789012:event-bus/{BUS}"
CALLS = [
    record("PutPermission", {"eventBusName": BUS, "action": "events:PutEvents", "principal": "*", "statementId": "x"}),
    record("PutPermission", {"eventBusName": BUS, "policy": '{"Version":"2012-10-17","Statement":[]}'}),
    record("RemovePermission", {"eventBusName": BUS, "statementId": "OnlyTheGuardianPutsEvents"}),
    record("RemovePermission", {"eventBusName": BUS, "removeAllPermissions": True}),
    record("DeleteEventBus", {"name": BUS}),
    record("UpdateEventBus", {"name": BUS, "kmsKeyIdentifier": "arn:aws:kms:us-east-1:123456789012:key/k"}),
    record("UpdateEventBus", {"name": BUS_ARN, "description": "by its ARN"}),
]


@pytest.fixture(scope="module")
def rules() -> dict[str, dict[str, Any]]:
    """The home stack's rules, resolved as deployed (tests.guarded.Instance)."""
    [stack] = [
        s for s in build_app({"ownEvents": "dedicated", "stackName": STACK}).synth().stacks if "forwarder" not in s.id
    ]
    instance = Instance(dict(stack.template), stack.stack_name, "123456789012", "us-east-1")
    found = {}
    for resource in instance.resources().values():
        if resource["Type"] == "AWS::Events::Rule":
            properties = instance.resolve(resource["Properties"])
            found[str(properties["Name"])] = properties
    found["environment"] = next(  # the sweep's, which holds the guardian's rule names
        instance.resolve(r["Properties"]["Environment"]["Variables"])
        for r in instance.resources().values()
        if r["Type"] == "AWS::Lambda::Function"
        and str(instance.resolve(r["Properties"].get("FunctionName", ""))).endswith("-sweep")
    )
    return found


def refused(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "detail": {**event["detail"], "errorCode": "AccessDenied"}}


@pytest.mark.threat("own-events-bus-opened")
@pytest.mark.parametrize(
    "event", CALLS, ids=lambda e: e["detail"]["eventName"] + json.dumps(e["detail"]["requestParameters"])
)
def test_the_own_events_bus_opened_deleted_or_rekeyed_is_alerted_critical(
    rules: dict[str, dict[str, Any]], event: dict[str, Any]
) -> None:
    guard = rules[f"{STACK}-guard-own-bus"]
    assert moto_matches(guard["EventPattern"], event)
    [topic] = [t for t in guard["Targets"] if "InputTransformer" in t]
    assert '"severity":"CRITICAL"' in topic["InputTransformer"]["InputTemplate"].replace(" ", "")
    # CloudFormation's call: not the guard's, confirmed against the guardian's stack (guardian.model.stack_changes)
    detail = event["detail"]
    via_stack = record(detail["eventName"], detail["requestParameters"], via_stack=True)
    assert not moto_matches(guard["EventPattern"], via_stack)
    assert moto_matches(rules[f"{STACK}-guard-cfn-own-bus"]["EventPattern"], via_stack)
    # a call AWS refused (the SCP): to the function, grouped MEDIUM, not mailed CRITICAL
    assert not moto_matches(guard["EventPattern"], refused(event))
    assert moto_matches(rules[f"{STACK}-guard-denied"]["EventPattern"], refused(event))


@pytest.mark.threat("own-events-bus-opened")
def test_another_bus_is_not_the_guardians_and_the_guard_is_made_swept_and_sized(
    rules: dict[str, dict[str, Any]],
) -> None:
    guard = rules[f"{STACK}-guard-own-bus"]["EventPattern"]
    assert not moto_matches(guard, record("PutPermission", {"eventBusName": "orders", "policy": "{}"}))
    assert not moto_matches(guard, record("DeleteEventBus", {"name": f"{BUS}-copy"}))
    assert not moto_matches(guard, record("PutRule", {"name": "route-alerts", "eventBusName": BUS}))  # teams route
    # the sweep holds the guard (and its CloudFormation twin, derived) to its baseline
    swept = own_rules(rules["environment"])
    assert {f"{STACK}-guard-own-bus", f"{STACK}-guard-cfn-own-bus"} <= set(swept)
    for name, rule in rules.items():
        if name != "environment" and "EventPattern" in rule:
            assert len(json.dumps(rule["EventPattern"], separators=(",", ":"))) <= 2048, name


def test_without_a_dedicated_bus_there_is_no_guard_for_it() -> None:
    guarded = Guarded("S", "stack-id", [], ["S-guard-events"], "topic", [], [], "alias/S-", [], [], [])
    assert "own-bus" not in {w.suffix for w in watches(guarded)}
    dedicated = Guarded("S", "stack-id", [], ["S-guard-events"], "topic", [], [], "alias/S-", [], [], [], own_bus="S-x")
    assert "own-bus" in {w.suffix for w in watches(dedicated)}
