"""The ``ocsf``, ``ownEvents`` and ``ownEventsDetailType`` settings: validated; off by default, with no grant and no
variable; on, the remediation role may write ``ocsf/detection-finding/*`` and put events on the one bus named, and
every call the handler then makes is granted; none of the guardian's own rules matches its own event (no loop)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from aws_cdk import App, Stack

from guardian.entrypoints import handler, runtime
from guardian.model.event_pattern import matches
from infra.errors import SettingsError
from infra.own_events import bus_arn
from infra.settings import GuardianSettings
from tests.infra.conftest import synth_template
from tests.infra.test_iam_covers_calls import granted, recorded, uncovered  # noqa: F401 - recorded is a fixture
from tests.support import load_event

pytestmark = pytest.mark.synth
BUS = "arn:aws:events:us-east-1:210987654321:event-bus/security-router"
ON = {"ocsf": "true", "ownEvents": BUS, "ownEventsDetailType": "Audit Tamper"}


def settings(**context: Any) -> GuardianSettings:
    return GuardianSettings.from_context(context.get)


def test_the_settings_default_off_and_are_checked() -> None:
    off = settings()
    assert (off.ocsf, off.own_events, off.own_events_detail_type) == (False, None, "CloudTrail Guardian Alert")
    assert settings(ownEvents="true").own_events == "default"
    assert settings(ownEvents=True).own_events == "default"
    assert settings(ownEvents="false").own_events is None
    assert settings(**ON).own_events == BUS
    assert settings(ocsf=True).ocsf is True
    assert settings(ownEvents="dedicated").own_events == "dedicated"
    with pytest.raises(SettingsError, match="ownEvents must be true, false, dedicated or an event bus ARN"):
        settings(ownEvents="arn:aws:sns:us-east-1:210987654321:topic")
    with pytest.raises(SettingsError, match="ownEventsDetailType must be 1 to 128 printable characters"):
        settings(ownEventsDetailType="x" * 129)
    with pytest.raises(SettingsError, match="ocsf must be true or false"):
        settings(ocsf="maybe")


def test_true_is_the_home_regions_default_bus() -> None:
    stack = Stack(App(), "S", env={"account": "123456789012", "region": "eu-west-1"})
    assert stack.resolve(bus_arn(stack, "default")) == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":events:eu-west-1:123456789012:event-bus/default"]]
    }
    assert bus_arn(stack, BUS) == BUS


def _statements(template: Any, sids: set[str]) -> dict[str, dict[str, Any]]:
    return {
        s["Sid"]: s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") in sids
    }


SIDS = {"WriteOcsfFindings", "ReadEvidenceDigestsForCopies", "PutOwnEventsOnOneBus"}
VARIABLES = ("GUARDIAN_OCSF", "GUARDIAN_OWN_EVENTS", "GUARDIAN_OWN_EVENTS_DETAIL_TYPE")


def _variables(template: Any) -> dict[str, dict[str, Any]]:
    return {
        name: {k: v for k, v in props["Properties"]["Environment"]["Variables"].items() if k in VARIABLES}
        for name, props in template.find_resources("AWS::Lambda::Function").items()
        if "Environment" in props["Properties"]
    }


def test_off_grants_nothing_and_sets_no_variable(default_synth: tuple[Any, Any]) -> None:
    template, _ = default_synth
    assert _statements(template, SIDS) == {}
    assert all(found == {} for found in _variables(template).values())


@pytest.fixture(scope="module")
def on_synth() -> tuple[Any, Any]:
    return synth_template(ON)


def test_on_both_roles_write_ocsf_objects_and_put_events_on_that_bus_only(on_synth: tuple[Any, Any]) -> None:
    """The remediation function's alerts and the sweep's (guardian.flows.sweep_copies) are copied alike."""
    template, _ = on_synth
    policies = [
        [s for s in p["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") in SIDS]
        for p in template.find_resources("AWS::IAM::Policy").values()
    ]
    roles = {
        json.dumps(p["Properties"]["Roles"])
        for p in template.find_resources("AWS::IAM::Policy").values()
        if any(s.get("Sid") in SIDS for s in p["Properties"]["PolicyDocument"]["Statement"])
    }
    assert len(roles) == 2  # the remediation role and the sweep's, nothing else
    assert sum(len(found) for found in policies) == 2 * len(SIDS)
    found = _statements(template, SIDS)
    assert set(found) == SIDS
    assert found["PutOwnEventsOnOneBus"]["Action"] == "events:PutEvents"
    assert found["PutOwnEventsOnOneBus"]["Resource"] == BUS
    assert found["WriteOcsfFindings"]["Action"] == "s3:PutObject"
    assert json.dumps(found["WriteOcsfFindings"]["Resource"]).endswith('"/ocsf/detection-finding/*"]]}')
    assert found["ReadEvidenceDigestsForCopies"]["Action"] == "s3:GetObject"
    assert json.dumps(found["ReadEvidenceDigestsForCopies"]["Resource"]).endswith('"/evidence/*.json.sig"]]}')
    variables = {name: found for name, found in _variables(template).items() if found}
    [remediation] = [v for n, v in variables.items() if "Remediation" in n]
    [sweep] = [v for n, v in variables.items() if "Sweep" in n]
    assert len(variables) == 2
    assert remediation == {
        "GUARDIAN_OCSF": "1",
        "GUARDIAN_OWN_EVENTS": BUS,
        "GUARDIAN_OWN_EVENTS_DETAIL_TYPE": "Audit Tamper",
    }
    # The sweep's environment is near Lambda's 4 KB: it reads the bus and detail-type from the remediation function's.
    assert sweep == {"GUARDIAN_OCSF": "1", "GUARDIAN_OWN_EVENTS": "remediation"}


def test_own_events_alone_read_the_records_signatures_for_verify_and_write_no_ocsf_object() -> None:
    """Without ``ocsf`` nor Security Hub (whose grant reads them too), an own event carries its record's SHA-256."""
    template, _ = synth_template({"ownEvents": BUS, "securityHub": "off"})
    found = _statements(template, SIDS)
    assert set(found) == {"ReadEvidenceDigestsForCopies", "PutOwnEventsOnOneBus"}
    assert json.dumps(found["ReadEvidenceDigestsForCopies"]["Resource"]).endswith('"/evidence/*.json.sig"]]}')


@pytest.mark.threat("own-event-forged")
def test_none_of_the_guardians_rules_matches_its_own_event(on_synth: tuple[Any, Any]) -> None:
    """Its own event goes to the bus its rules read: were one to match it, each alert would make another, and a
    forged one (anyone may put it) would make the guardian act."""
    template, _ = on_synth
    own = {
        "version": "0",
        "id": "e",
        "detail-type": "Audit Tamper",
        "source": "cloudtrail-guardian",
        "account": "123456789012",
        "time": "2026-11-20T10:00:05Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(json.dumps(load_event("stop_logging")["detail"])),  # even a CloudTrail-like detail
    }
    patterns = [
        rule["Properties"]["EventPattern"]
        for rule in template.find_resources("AWS::Events::Rule").values()
        if "EventPattern" in rule["Properties"]
    ]
    assert len(patterns) > 10
    assert [p for p in patterns if matches(p, own)] == []


def test_every_call_the_copies_make_is_granted(
    recorded: set[str],  # noqa: F811 - the fixture
    on_synth: tuple[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template, _ = on_synth
    monkeypatch.setenv("GUARDIAN_OCSF", "1")
    monkeypatch.setenv("GUARDIAN_OWN_EVENTS", "arn:aws:events:us-east-1:123456789012:event-bus/default")
    runtime.reset()
    boto3.client("cloudtrail").stop_logging(Name="management-trail")
    recorded.clear()
    assert handler.lambda_handler(load_event("stop_logging"), None)["steps_failed"] == []
    assert {"s3:PutObject", "events:PutEvents"} <= recorded
    assert uncovered(recorded, granted(template, "RemediationRole")) == set()


def _resolved(value: Any, roles: dict[str, str]) -> Any:
    """A template value with the few tokens the bus policy holds made concrete (as CloudFormation would)."""
    if isinstance(value, list):
        return [_resolved(v, roles) for v in value]
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return roles[value["Fn::GetAtt"][0]]
        if "Fn::Join" in value:
            return value["Fn::Join"][0].join(str(_resolved(v, roles)) for v in value["Fn::Join"][1])
        if "Ref" in value:
            return {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT}[value["Ref"]]
        return {k: _resolved(v, roles) for k, v in value.items()}
    return value


ACCOUNT = "123456789012"


@pytest.mark.threat("own-event-forged")
def test_a_dedicated_bus_refuses_every_principal_but_the_guardians_two_roles() -> None:
    """``ownEvents`` ``dedicated``: the stack's own bus, whose policy denies PutEvents to anyone else (the insider's
    forged event is refused by EventBridge; its account's IAM cannot grant past a resource policy's Deny)."""
    from guardian.model.iam_eval import Request, denied  # noqa: PLC0415

    template, _ = synth_template({"ownEvents": "dedicated", "securityHub": "off"})
    [(bus_id, bus)] = template.find_resources("AWS::Events::EventBus").items()
    assert bus["Properties"]["Name"] == "CloudTrailGuardian-events"
    roles = {lid: f"arn:aws:iam::{ACCOUNT}:role/{lid}" for lid in template.find_resources("AWS::IAM::Role")}
    policy = _resolved(bus["Properties"]["Policy"], roles)
    [statement] = policy["Statement"]
    arn = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/CloudTrailGuardian-events"
    guardian = list(statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])
    assert sorted(r.rsplit("/", 1)[1].startswith(("Remediation", "Sweep")) for r in guardian) == [True, True]

    def put_by(principal: str) -> Request:
        return Request(principal, "events:PutEvents", arn, {"aws:principalarn": (principal,)})

    assert all(not denied(policy["Statement"], put_by(role)) for role in guardian)
    for insider in (f"arn:aws:iam::{ACCOUNT}:role/PowerUser", f"arn:aws:iam::{ACCOUNT}:root"):
        assert denied(policy["Statement"], put_by(insider))
    found = _statements(template, SIDS)
    assert found["PutOwnEventsOnOneBus"]["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    found_here = sorted((json.dumps(v) for v in _variables(template).values() if v), key=len)
    assert found_here == [
        json.dumps({"GUARDIAN_OWN_EVENTS": "remediation"}),  # the sweep's: the remediation function's bus
        json.dumps({"GUARDIAN_OWN_EVENTS": {"Fn::GetAtt": [bus_id, "Arn"]}}),
    ]
