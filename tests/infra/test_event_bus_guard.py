"""Review finding 5: a customer managed key on the default event bus can silence every rule of the guardian (the key
encrypts the rules' patterns and targets; disabled, or its policy denying EventBridge, nothing matches). The call
that sets it, UpdateEventBus, is alerted CRITICAL straight from EventBridge to the topic and the security account,
like every self-protection guard; CloudFormation's is confirmed against the guardian's stack (it has no such
change to make). Proved with moto's EventBridge matcher on real-shaped records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.guarded import moto_matches
from tests.infra.conftest import synth_template

pytestmark = pytest.mark.synth
SECURITY = "444455556666"
RULE = "CloudTrailGuardian-guard-bus"


def record(name: str, params: dict[str, Any] | None, *, via_stack: bool = False) -> dict[str, Any]:
    """An "AWS API Call via CloudTrail" event of EventBridge's API, as the insider (or CloudFormation) makes it."""
    detail: dict[str, Any] = {
        "eventVersion": "1.11",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/PowerUser/mallory"},
        "eventTime": "2026-01-01T00:00:00Z",
        "eventSource": "events.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "cloudformation.amazonaws.com" if via_stack else "203.0.113.66",
        "userAgent": "aws-cli/2",
        "requestParameters": params,
        "responseElements": None,
        "eventID": "8c5a7f5e-0000-4000-8000-000000000000",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "123456789012",
    }
    return {
        "version": "0",
        "id": "0f0e0d0c-0000-4000-8000-000000000000",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ON_THE_DEFAULT_BUS = [
    record("UpdateEventBus", {"name": "default", "kmsKeyIdentifier": KEY}),
    record("UpdateEventBus", {"kmsKeyIdentifier": KEY}),  # no name: the default bus
    record("PutPermission", {"action": "events:PutEvents", "principal": "*", "statementId": "all"}),
    record("PutPermission", {"eventBusName": "default", "policy": "{}"}),
]


@pytest.fixture(scope="module")
def rules() -> dict[str, dict[str, Any]]:
    central = f"arn:aws:sns:us-east-1:{SECURITY}:central-alerts"
    template, _ = synth_template({"securityAccount": SECURITY, "centralTopicArn": central})
    return {
        str(r["Properties"]["Name"]): r["Properties"]
        for r in template.find_resources("AWS::Events::Rule").values()
        if isinstance(r["Properties"].get("Name"), str)
    }


@pytest.mark.threat("event-bus-key")
@pytest.mark.parametrize("event", ON_THE_DEFAULT_BUS, ids=lambda e: json.dumps(e["detail"]["requestParameters"]))
def test_a_key_or_a_policy_set_on_the_default_bus_is_alerted_critical_to_the_topic_and_the_security_account(
    rules: dict[str, dict[str, Any]], event: dict[str, Any]
) -> None:
    guard = rules[RULE]
    assert moto_matches(guard["EventPattern"], event)
    assert len(json.dumps(guard["EventPattern"], separators=(",", ":"))) <= 2048
    [topic] = [t for t in guard["Targets"] if "InputTransformer" in t]
    assert '"severity":"CRITICAL"' in topic["InputTransformer"]["InputTemplate"].replace(" ", "")
    # the security account's bus too: the link sends every guard on, out of this account's insiders' reach
    assert any(SECURITY in json.dumps(t["Arn"]) for t in guard["Targets"]), guard["Targets"]
    # CloudFormation's call, for a stack of the insider's: confirmed against the guardian's stack, not dropped
    via_stack = record(event["detail"]["eventName"], event["detail"]["requestParameters"], via_stack=True)
    assert not moto_matches(guard["EventPattern"], via_stack)
    assert moto_matches(rules["CloudTrailGuardian-guard-cfn-bus"]["EventPattern"], via_stack)


@pytest.mark.threat("event-bus-key")
def test_another_bus_of_the_account_is_not_the_guardians(rules: dict[str, dict[str, Any]]) -> None:
    other = record("UpdateEventBus", {"name": "orders", "kmsKeyIdentifier": KEY})
    assert not moto_matches(rules[RULE]["EventPattern"], other)
    assert not moto_matches(rules[RULE]["EventPattern"], record("PutRule", {"name": "default"}))
