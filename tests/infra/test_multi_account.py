"""Two accounts by three Regions from context `environments`: a guardian per account in its home Region, a forwarder
in each other Region, per-account options, organization mode and central alerts (template assertions)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from app import build_app
from infra.central_alerts import CentralAlertsStack
from infra.errors import SettingsError
from infra.forwarder import ForwarderStack
from infra.settings import environments
from infra.stack import GuardianStack
from tests.infra.test_template import grants, logical_id
from tests.support import named_by

pytestmark = pytest.mark.synth
ONE, TWO, MANAGEMENT = "111111111111", "222222222222", "999999999999"
CENTRAL_TOPIC = "arn:aws:sns:eu-west-1:333333333333:guardian-central"
CENTRAL_KEY = "arn:aws:kms:eu-west-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CONTEXT: dict[str, Any] = {
    "alertEmails": "soc@example.com",
    "centralTopicArn": CENTRAL_TOPIC,
    "centralTopicKeyArn": CENTRAL_KEY,
    "environments": [
        {
            "account": ONE,
            "region": "eu-west-1",
            "regions": ["eu-west-1", "us-east-1", "eu-central-1"],
            "alertEmails": "team-one@example.com",
        },
        {
            "account": TWO,
            "region": "us-east-1",
            "regions": "us-east-1,us-west-2,eu-west-1",
            "organizationManagement": True,
            "managementAccountId": MANAGEMENT,
        },
    ],
    "centralAlerts": {"account": "333333333333", "region": "eu-west-1", "organizationId": "o-abcd123456"},
}


@pytest.fixture(scope="module")
def app() -> cdk.App:
    built = build_app(CONTEXT)
    built.synth(force=True)  # cdk-nag runs: every stack passes AwsSolutions
    return built


def stacks(app: cdk.App, kind: type[cdk.Stack]) -> dict[str, Any]:
    return {c.node.id: c for c in app.node.children if isinstance(c, kind)}


def env_of(stack: cdk.Stack) -> tuple[str, str]:
    return stack.account, stack.region


def test_one_guardian_per_account_in_its_home_region_and_a_forwarder_elsewhere(app: cdk.App) -> None:
    guardians = stacks(app, GuardianStack)
    assert {sid: env_of(s) for sid, s in guardians.items()} == {
        f"CloudTrailGuardian-{ONE}-eu-west-1": (ONE, "eu-west-1"),
        f"CloudTrailGuardian-{TWO}-us-east-1": (TWO, "us-east-1"),
    }
    forwarders = stacks(app, ForwarderStack)
    assert sorted(env_of(s) for s in forwarders.values()) == sorted(
        [(ONE, "us-east-1"), (ONE, "eu-central-1"), (TWO, "us-west-2"), (TWO, "eu-west-1")]
    )
    every = [*guardians.values(), *forwarders.values(), *stacks(app, CentralAlertsStack).values()]
    assert all(s.termination_protection for s in every)
    assert {s.stack_name for s in guardians.values()} == {"CloudTrailGuardian"}  # the same name in each account


@pytest.mark.parametrize(("account", "home"), [(ONE, "eu-west-1"), (TWO, "us-east-1")])
def test_forwarders_send_every_event_the_home_rules_use_to_the_home_bus(app: cdk.App, account: str, home: str) -> None:
    for forwarder in stacks(app, ForwarderStack).values():
        if forwarder.account != account:
            continue
        template = Template.from_stack(forwarder)
        rules = {
            r["Properties"]["Name"]: r["Properties"] for r in template.find_resources("AWS::Events::Rule").values()
        }
        watched = {f"CloudTrailGuardian-forward-watch-{n}" for n in (1, 2, 3, 4, 5)}  # the default pack: 5 patterns
        assert set(rules) == {"CloudTrailGuardian-forward", "CloudTrailGuardian-forward-guard", *watched}
        for name in watched:
            to_home = [t for t in rules[name]["Targets"] if "event-bus/default" in json.dumps(t["Arn"])]
            assert to_home, name
        guard = rules["CloudTrailGuardian-forward-guard"]["EventPattern"]["detail"]
        names = ["CloudTrailGuardian-forward", *sorted(watched)]
        assert {"requestParameters": {"name": names}} in guard["$or"]  # watched in its Region
        props = rules["CloudTrailGuardian-forward"]
        pattern = props["EventPattern"]
        assert {"aws.cloudtrail", "aws.kms", "aws.s3", "aws.logs", "aws.iam", "aws.lambda", "aws.events"} <= set(
            pattern["source"]
        )
        assert all(
            named_by(pattern["detail"]["eventName"], n)
            for n in ("StopLogging", "DeleteTrail", "PutBucketLifecycle", "DisableRule")
        )
        [target] = props["Targets"]
        # The forwarder's own account (AWS::AccountId), the home Region's default bus.
        home_bus = {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    f":events:{home}:",
                    {"Ref": "AWS::AccountId"},
                    ":event-bus/default",
                ],
            ]
        }
        assert target["Arn"] == home_bus
        assert "DeadLetterConfig" in target
        [guard_target] = rules["CloudTrailGuardian-forward-guard"]["Targets"]  # its guard's alerts go home too
        assert guard_target["Arn"] == home_bus
        # Nothing with a monthly fee (issue 23): no key, no alarm, no topic; the home sweep reads the queue's depth.
        for kind in ("AWS::KMS::Key", "AWS::CloudWatch::Alarm", "AWS::SNS::Topic", "AWS::SNS::Subscription"):
            assert template.find_resources(kind) == {}, kind
        [queue] = template.find_resources("AWS::SQS::Queue").values()
        assert queue["Properties"]["QueueName"] == "CloudTrailGuardian-forward-dead-letters"
        [role] = template.find_resources("AWS::IAM::Role").values()
        assert role["Properties"]["RoleName"] == f"CloudTrailGuardian-forward-{forwarder.region}"
        # Its role may only put events on the home bus.
        [policy] = template.find_resources("AWS::IAM::Policy").values()
        [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
        assert (statement["Action"], statement["Resource"]) == ("events:PutEvents", home_bus)


def guardian_template(app: cdk.App, account: str) -> Template:
    [stack] = [s for s in stacks(app, GuardianStack).values() if s.account == account]
    return Template.from_stack(stack)


def function_env(template: Template, containing: str) -> dict[str, Any]:
    fid = logical_id(template, "AWS::Lambda::Function", containing=containing)
    env: dict[str, Any] = template.find_resources("AWS::Lambda::Function")[fid]["Properties"]["Environment"][
        "Variables"
    ]
    return env


def test_each_guardian_has_its_home_rules_sweep_regions_self_protection_and_alarms(app: cdk.App) -> None:
    for account, regions in (
        (ONE, ["eu-west-1", "us-east-1", "eu-central-1"]),
        (TWO, ["us-east-1", "us-west-2", "eu-west-1"]),
    ):
        template = guardian_template(app, account)
        names = {r["Properties"]["Name"] for r in template.find_resources("AWS::Events::Rule").values()}
        assert {"CloudTrailGuardian-tamper", "CloudTrailGuardian-guard-lambda", "CloudTrailGuardian-guard-iam"} <= names
        assert json.loads(function_env(template, "SweepFunction")["GUARDIAN_SWEEP_REGIONS"]) == regions
        alarms = template.find_resources("AWS::CloudWatch::Alarm").values()
        assert any(a["Properties"]["TreatMissingData"] == "breaching" for a in alarms)


def test_per_account_options_override_the_global_ones(app: cdk.App) -> None:
    def emails(account: str) -> set[str]:
        subs = guardian_template(app, account).find_resources("AWS::SNS::Subscription").values()
        return {s["Properties"]["Endpoint"] for s in subs}

    assert emails(ONE) == {"team-one@example.com"}
    assert emails(TWO) == {"soc@example.com"}


def test_organization_mode_heals_the_management_accounts_trails_from_its_delegated_administrator(
    app: cdk.App,
) -> None:
    delegated = guardian_template(app, TWO)
    assert json.loads(function_env(delegated, "RemediationFunction")["GUARDIAN_TRAIL_ACCOUNTS"]) == [MANAGEMENT]
    management_trails = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":cloudtrail:*:{MANAGEMENT}:trail/*"]]}
    assert management_trails in grants(delegated)["cloudtrail:StartLogging"]
    assert "organizations:DescribeOrganization" in grants(delegated)
    member = guardian_template(app, ONE)
    assert "GUARDIAN_TRAIL_ACCOUNTS" not in function_env(member, "RemediationFunction")  # a member escalates


def test_every_guardian_also_publishes_to_the_central_topic(app: cdk.App) -> None:
    for account in (ONE, TWO):
        template = guardian_template(app, account)
        for function in ("RemediationFunction", "SweepFunction"):
            assert function_env(template, function)["GUARDIAN_CENTRAL_TOPIC_ARN"] == CENTRAL_TOPIC
        assert CENTRAL_TOPIC in grants(template)["sns:Publish"]
        assert CENTRAL_KEY in grants(template)["kms:GenerateDataKey*"]


def test_the_central_topic_admits_the_organization_only(app: cdk.App) -> None:
    [central] = stacks(app, CentralAlertsStack).values()
    assert env_of(central) == ("333333333333", "eu-west-1")
    template = Template.from_stack(central)
    [policy] = template.find_resources("AWS::SNS::TopicPolicy").values()
    [publish] = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "GuardiansOfTheOrganizationMayPublish"
    ]
    assert publish["Condition"] == {  # the guardians' own roles only: of their accounts, tagged with the stack name
        "StringEquals": {
            "aws:PrincipalOrgID": "o-abcd123456",
            "aws:PrincipalAccount": [ONE, TWO],
            "aws:PrincipalTag/cloudtrail-guardian": "CloudTrailGuardian",
        }
    }
    assert set(template.find_outputs("*")) == {"CentralTopicArn", "CentralTopicKeyArn"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([{"account": ONE}], r"environments\[0\] needs both account and region"),
        ([{"account": "12", "region": "eu-west-1"}], "account must be a 12-digit AWS account id"),
        ([{"account": ONE, "region": "eu-west-1"}, {"account": ONE, "region": "eu-west-1"}], "same account and Region"),
        (
            [{"account": ONE, "region": "eu-west-1", "sweepMinutes": "0"}],
            r"environments\[0\] \(111111111111/eu-west-1\): sweepMinutes",
        ),
        ("[oops", "environments is not a valid JSON list"),
    ],
)
def test_bad_environments_name_the_entry(value: Any, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        environments({"environments": value}.get)
