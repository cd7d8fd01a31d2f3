"""`securityAccount`: the guardian's self-protection events, its alarms' state changes and its sweep's heartbeat go
to a security account's event bus, out of reach of this account's insiders; the security account publishes them and
raises an alarm when a guardian's heartbeat stops (issue 13, "alerts that reach someone")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from moto.events.models import EventPattern

from app import build_app
from infra.central_alerts import CentralAlertsStack
from infra.stack import GuardianStack
from tests.scp_eval import Request, denied_by, rendered

pytestmark = pytest.mark.synth
MEMBER, SECURITY = "111122223333", "999988887777"
BUS = f"arn:aws:events:us-east-1:{SECURITY}:event-bus/default"
CONTEXT: dict[str, Any] = {
    "environments": [
        {
            "account": MEMBER,
            "region": "us-east-1",
            "centralTopicArn": f"arn:aws:sns:us-east-1:{SECURITY}:central",
            "securityAccount": SECURITY,
            "sweepMinutes": "30",
        }
    ],
    "centralAlerts": {"account": SECURITY, "region": "us-east-1", "organizationId": "o-abcdefghij"},
}


@pytest.fixture(scope="module")
def stacks() -> tuple[dict[str, Any], dict[str, Any]]:
    app = build_app(CONTEXT)
    [guardian] = [c for c in app.node.children if isinstance(c, GuardianStack)]
    [central] = [c for c in app.node.children if isinstance(c, CentralAlertsStack)]
    return dict(Template.from_stack(guardian).to_json()), dict(Template.from_stack(central).to_json())


def rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"].get("Name", lid): r["Properties"]
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::Events::Rule"
    }


@pytest.mark.threat("own-rules")
def test_every_guard_and_the_sweeps_ticks_reach_the_security_bus(stacks: tuple[dict[str, Any], dict[str, Any]]) -> None:
    guardian, _ = stacks
    found = rules(guardian)
    confirming = [n for n in found if n.startswith("CloudTrailGuardian-guard-cfn-") and not n.endswith("-exec-role")]
    # refused calls on the guardian: to the function, MEDIUM and grouped; the central copy is deliver's
    confirming += ["CloudTrailGuardian-guard-denied", "CloudTrailGuardian-guard-denied-access"]
    guards = [name for name in found if name.startswith("CloudTrailGuardian-guard-") and name not in confirming]
    # the 12 self-protection guards (the default event bus's among them), another stack given the CDK execution role,
    # the guardian's tag given to a principal
    assert len(guards) == 14
    assert "CloudTrailGuardian-guard-iam-tag" in guards
    for name in confirming:  # CloudFormation's calls, every deployment's too: the function confirms, then alerts
        assert found[name]["Targets"], name
        assert all(t["Arn"] != BUS for t in found[name]["Targets"]), name
    for name in [*guards, "CloudTrailGuardian-sweep-schedule", "CloudTrailGuardian-alarms-to-security"]:
        [sent] = [t for t in found[name]["Targets"] if t["Arn"] == BUS]
        assert "RoleArn" in sent, name
    assert len(found["CloudTrailGuardian-sweep-schedule"]["Targets"]) == 2  # the sweep, and the heartbeat
    policies = [r["Properties"] for r in guardian["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    [send] = [p for p in policies if "SecurityAccount" in json.dumps(p["Roles"])]
    assert send["PolicyDocument"]["Statement"] == [{"Action": "events:PutEvents", "Effect": "Allow", "Resource": BUS}]


@pytest.mark.threat("forwarding-rule", "dead-mans-switch", "delete-stack")
def test_the_security_account_publishes_what_arrives_and_watches_each_heartbeat(
    stacks: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _, central = stacks
    [bus_policy] = [
        r["Properties"] for r in central["Resources"].values() if r["Type"] == "AWS::Events::EventBusPolicy"
    ]
    assert bus_policy["Statement"]["Condition"] == {  # a guardian's role only: see below
        "StringEquals": {
            "aws:PrincipalOrgID": "o-abcdefghij",
            "aws:PrincipalAccount": MEMBER,
            "aws:PrincipalTag/cloudtrail-guardian": "CloudTrailGuardian",
        }
    }
    found = rules(central)
    assert set(found) == {
        "cloudtrail-guardian-self-protection",
        "cloudtrail-guardian-alarms",
        f"cloudtrail-guardian-heartbeat-{MEMBER}",
        "cloudtrail-guardian-chain-heads",  # the chain heads, kept (tests/infra/test_chain_heads_template.py)
    }
    alarms = [r["Properties"] for r in central["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    [silent] = [a for a in alarms if a["AlarmName"] != "cloudtrail-guardian-chain-heads-dead-letters"]
    assert silent["AlarmName"] == f"cloudtrail-guardian-silent-{MEMBER}"
    [heartbeat_id] = [
        lid
        for lid, r in central["Resources"].items()
        if r["Properties"].get("Name") == f"cloudtrail-guardian-heartbeat-{MEMBER}"
    ]
    assert silent["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": heartbeat_id}}]  # a rule's Ref: its name
    assert (silent["MetricName"], silent["Namespace"], silent["Period"]) == ("Invocations", "AWS/Events", 1800)
    assert (silent["ComparisonOperator"], silent["TreatMissingData"]) == ("LessThanThreshold", "breaching")
    assert silent["AlarmActions"]


def event(account: str, **fields: Any) -> Any:  # moto's EventMessageType
    return {
        "version": "0",
        "id": "1",
        "time": "2026-11-26T00:00:00Z",
        "region": "us-east-1",
        "account": account,
        "resources": [],
        "detail": {},
        **fields,
    }


def test_the_patterns_match_a_guardians_events_and_nothing_of_the_security_accounts_own(
    stacks: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _, central = stacks
    found = {name: EventPattern.load(json.dumps(r["EventPattern"])) for name, r in rules(central).items()}
    disable = event(MEMBER, source="aws.events", **{"detail-type": "AWS API Call via CloudTrail"})
    assert found["cloudtrail-guardian-self-protection"].matches_event(disable)
    own = event(SECURITY, source="aws.events", **{"detail-type": "AWS API Call via CloudTrail"})
    assert not found["cloudtrail-guardian-self-protection"].matches_event(own)
    tick = event(
        MEMBER,
        source="aws.events",
        resources=[f"arn:aws:events:us-east-1:{MEMBER}:rule/CloudTrailGuardian-sweep-schedule"],
        **{"detail-type": "Scheduled Event"},
    )
    heartbeat = found[f"cloudtrail-guardian-heartbeat-{MEMBER}"]
    assert heartbeat.matches_event(tick)
    other_rule = event(
        MEMBER,
        source="aws.events",
        resources=[f"arn:aws:events:us-east-1:{MEMBER}:rule/other"],
        **{"detail-type": "Scheduled Event"},
    )
    assert not heartbeat.matches_event(other_rule)
    other_account = event(
        "444455556666", source="aws.events", resources=tick["resources"], **{"detail-type": "Scheduled Event"}
    )
    assert not heartbeat.matches_event(other_account)
    alarm = event(
        MEMBER,
        source="aws.cloudwatch",
        detail={"alarmName": "CloudTrailGuardian-sweep-silent", "state": {"value": "ALARM"}},
        **{"detail-type": "CloudWatch Alarm State Change"},
    )
    assert found["cloudtrail-guardian-alarms"].matches_event(alarm)
    calm = event(
        MEMBER, source="aws.cloudwatch", detail={"state": {"value": "OK"}}, **{"detail-type": alarm["detail-type"]}
    )
    assert not found["cloudtrail-guardian-alarms"].matches_event(calm)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"securityAccount": SECURITY}, "securityAccount needs centralTopicArn"),
        (
            {"securityAccount": SECURITY, "centralTopicArn": "arn:aws:sns:us-east-1:444455556666:central"},
            "securityAccount needs centralTopicArn, a topic in that account",
        ),
        (
            {
                "securityAccount": MEMBER,
                "centralTopicArn": f"arn:aws:sns:us-east-1:{MEMBER}:central",
                "account": MEMBER,
            },
            "securityAccount must be another account",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused(extra: dict[str, object], message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        build_app(extra)


@pytest.mark.threat("central-spoof")
def test_no_one_else_in_the_organization_can_spoof_or_flood_the_security_account(
    stacks: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """Issue 20, "also found": any account of the organization could put events on the security bus and publish to
    the central topic. Now the bus, the topic and its key admit only principals of a guardian account with the
    guardian's tag, its value the stack name (its roles; the SCP denies anyone else the tag: review 2, finding 4), and
    the rules there take only AWS's own events (PutEvents refuses an ``aws.`` source)."""
    guardian, central = stacks
    only_guardians = {
        "StringEquals": {
            "aws:PrincipalOrgID": "o-abcdefghij",
            "aws:PrincipalAccount": MEMBER,
            "aws:PrincipalTag/cloudtrail-guardian": "CloudTrailGuardian",
        }
    }
    [topic_policy] = [r for r in central["Resources"].values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    [publish] = [
        s
        for s in topic_policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "GuardiansOfTheOrganizationMayPublish"
    ]
    assert publish["Condition"] == only_guardians
    [key] = [r for r in central["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    [encrypt] = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "GuardiansOfTheOrganizationMayEncrypt"
    ]
    assert encrypt["Condition"]["StringEquals"] == only_guardians["StringEquals"]
    # The principals that send there carry the tag: the forwarding role, and the functions' roles.
    senders = [
        r
        for lid, r in guardian["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and ("SecurityAccount" in lid or "Function" in lid or "Sweep" in lid)
    ]
    assert senders
    for role in senders:
        assert {"Key": "cloudtrail-guardian", "Value": "CloudTrailGuardian"} in role["Properties"]["Tags"]
    # What an insider's PutEvents can carry (any source but aws.*) matches no rule of the security account.
    found = {name: EventPattern.load(json.dumps(r["EventPattern"])) for name, r in rules(central).items()}
    for source in ("my.app", "cloudtrail", "aws", "AWS.cloudtrail"):
        spoof = event(MEMBER, source=source, **{"detail-type": "AWS API Call via CloudTrail"})
        assert not any(pattern.matches_event(spoof) for pattern in found.values()), source
    real = event(MEMBER, source="aws.cloudtrail", **{"detail-type": "AWS API Call via CloudTrail"})
    assert found["cloudtrail-guardian-self-protection"].matches_event(real)


def test_the_scp_covers_the_rules_that_send_to_the_security_account(
    stacks: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """The alarm forwarding rule (and every rule that targets the security bus) carries the guardian's tag, so the
    SCP's events statement denies an insider disabling, retargeting or deleting it."""
    guardian, _ = stacks
    statements = rendered()
    for lid, resource in guardian["Resources"].items():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
        assert tags.get("cloudtrail-guardian") == "CloudTrailGuardian", lid
        name = resource["Properties"].get("Name", lid)
        arn = f"arn:aws:events:us-east-1:{MEMBER}:rule/{name}"
        for action in ("events:DisableRule", "events:RemoveTargets", "events:PutRule", "events:DeleteRule"):
            call = Request(action, arn, f"arn:aws:iam::{MEMBER}:role/PowerUser", resource_tags=tags)
            assert denied_by(statements, call) == ["DenyChangesToTheGuardian"], (name, action)


def test_the_heartbeat_follows_a_guardian_under_its_own_stack_name() -> None:
    """A guardian deployed as stackName=AuditGuardian ticks under its own name: its heartbeat alarm must hear it
    (it assumed CloudTrailGuardian: a false alarm), and still nobody else's schedule."""
    app = build_app({**CONTEXT, "stackName": "AuditGuardian"})
    [central] = [c for c in app.node.children if isinstance(c, CentralAlertsStack)]
    found = {
        name: EventPattern.load(json.dumps(r["EventPattern"]))
        for name, r in rules(dict(Template.from_stack(central).to_json())).items()
    }
    heartbeat = found[f"cloudtrail-guardian-heartbeat-{MEMBER}"]

    def tick(rule: str) -> Any:
        resources = [f"arn:aws:events:us-east-1:{MEMBER}:rule/{rule}"]
        return event(MEMBER, source="aws.events", resources=resources, **{"detail-type": "Scheduled Event"})

    assert heartbeat.matches_event(tick("AuditGuardian-sweep-schedule"))
    assert not heartbeat.matches_event(tick("CloudTrailGuardian-sweep-schedule"))
