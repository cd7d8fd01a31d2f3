"""The guarded set, computed (issue 20): every resource of every stack the app makes (home with its options,
forwarder, central alerts, the StackSet at home and elsewhere) has an event guard proved with moto's EventBridge
matcher (by the insider, and by CloudFormation for a stack of theirs), a sweep check, and an SCP statement or a
threat-model row saying why none. What the templates lack today is listed once, in :data:`OPEN`, with why it is
still open: a gap closed and left there fails the suite, and so does a new one."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from app import build_app
from infra.stackset import STACK_ID, build_stackset_app
from tests.guarded import TABLE, Call, Entry, Gap, Instance, dependency_gaps, gaps

pytestmark = [pytest.mark.synth, pytest.mark.filterwarnings("ignore:Tried to parse")]
MEMBER, SECURITY = "111122223333", "999988887777"
# One app with every option that adds resources: CIS alarms, a webhook (its secret, function, queue), the security
# account, a forwarder, the central alerts stack, and the own-events bus (ownEvents dedicated).
CONTEXT: dict[str, Any] = {
    "environments": [
        {
            "account": MEMBER,
            "region": "us-east-1",
            "regions": ["us-east-1", "eu-west-1"],
            "alertEmails": "soc@example.com:HIGH,sec@example.com",
            "centralTopicArn": f"arn:aws:sns:us-east-1:{SECURITY}:central",
            "securityAccount": SECURITY,
            "cisAlarms": True,
            "webhooks": [{"name": "soc", "kind": "slack", "minimumSeverity": "HIGH"}],
            "ownEvents": "dedicated",
        }
    ],
    "centralAlerts": {"account": SECURITY, "region": "us-east-1", "organizationId": "o-abcdefghij"},
}
DATA_EVENTS = "data events: a management trail does not record object deletes (the log files are validated by digests)"
# Every gap of today's templates, (check, resource type or eventSource, eventName or "*"): why it is still open.
OPEN: dict[tuple[str, str, str], str] = {
    # guard-insider
    ("guard-insider", "s3.amazonaws.com", "DeleteObject"): DATA_EVENTS,
    ("guard-insider", "s3.amazonaws.com", "DeleteObjects"): DATA_EVENTS,
    # rules
    ("rules", "s3.amazonaws.com", "DeleteObject"): DATA_EVENTS,
    ("rules", "s3.amazonaws.com", "DeleteObjects"): DATA_EVENTS,
}


@pytest.fixture(scope="session")
def instances(tmp_path_factory: pytest.TempPathFactory) -> list[Instance]:
    """Every stack the app makes, as deployed: one synth of the app, one of the StackSet (home and elsewhere)."""
    assembly = build_app(CONTEXT).synth(force=True)
    home: Instance | None = None
    made: list[Instance] = []
    for stack in sorted(assembly.stacks, key=lambda s: "forwarder" in s.id):
        account, region = stack.environment.account, stack.environment.region
        instance = Instance(
            dict(stack.template), stack.stack_name, account, region, security_account=account == SECURITY
        )
        if "forwarder" in stack.id:
            instance.home = home
        elif not instance.security_account:
            home = instance
        made.append(instance)
    outdir = Path(tmp_path_factory.mktemp("stackset"))
    template = dict(
        build_stackset_app({"stackName": "CloudTrailGuardian"}, str(outdir))
        .synth()
        .get_stack_artifact(STACK_ID)
        .template
    )
    parameters = {"HomeRegion": "us-east-1", "Regions": "us-east-1,eu-west-1", "AlertEmail": "soc@example.com"}
    stackset_home = Instance(template, "StackSet-guardian-0a1b", "123456789012", "us-east-1", parameters)
    stackset_other = Instance(
        template, "StackSet-guardian-0a1b", "123456789012", "eu-west-1", parameters, home=stackset_home
    )
    return [*made, stackset_home, stackset_other]


@pytest.fixture(scope="session")
def found(instances: list[Instance]) -> list[Gap]:
    return gaps(instances) + dependency_gaps(home_of(instances))


def described(listed: list[Gap]) -> str:
    return "\n".join(f"  {g.check} {g.resource_type} {g.event_name} ({g.where})" for g in listed)


def test_the_app_makes_what_this_test_walks(instances: list[Instance]) -> None:
    kinds = [("home" if i.home is None else "forwarder", i.security_account) for i in instances]
    assert kinds.count(("home", False)) == 2  # the app's guardian, the StackSet at home
    assert kinds.count(("forwarder", False)) == 2
    assert kinds.count(("home", True)) == 1  # the central alerts stack
    types = {r["Type"] for i in instances for r in i.resources().values()}
    assert {"AWS::SecretsManager::Secret", "AWS::Logs::MetricFilter", "AWS::Lambda::EventInvokeConfig"} <= types
    assert "AWS::Events::EventBus" in types  # ownEvents dedicated


@pytest.mark.threat("forwarding-rule", "own-roles", "scp-omissions", "function-settings", "key-aliases")
def test_every_resource_has_a_guard_a_sweep_check_and_an_scp_line(found: list[Gap]) -> None:
    """Everything the templates create is in the table and guarded, unless OPEN says why it is still open."""
    new = [g for g in found if g.key not in OPEN]
    assert not new, (
        "not guarded, swept and denied (add it to tests/guarded.py's TABLE, or close the gap):\n" + described(new)
    )


@pytest.mark.threat("own-roles")
def test_every_managed_policy_is_named_under_the_stack_prefix(instances: list[Instance]) -> None:
    """CloudFormation cannot tag a managed policy: the IAM guard and the SCP know the sweep's by its name only, so
    none may be left to a generated name (as CDK's own overflow of the sweep role's policy was)."""
    named = []
    for instance in instances:
        for lid, resource in instance.resources().items():
            if resource["Type"] == "AWS::IAM::ManagedPolicy" and not instance.security_account:
                assert "ManagedPolicyName" in resource["Properties"], f"{instance.stack_name}/{lid}"
                named.append(str(instance.resolve(resource["Properties"]["ManagedPolicyName"])))
    assert named
    assert all(name.startswith("CloudTrailGuardian-sweep-") for name in named), named


def test_every_open_gap_is_still_open(found: list[Gap]) -> None:
    """A gap closed must leave OPEN: the list only shrinks."""
    keys = {g.key for g in found}
    closed = sorted(k for k in OPEN if k not in keys)
    assert not closed, f"closed: remove from OPEN in {__file__}:\n" + "\n".join(f"  {k}: {OPEN[k]}" for k in closed)


def test_every_entry_names_calls_a_sweep_check_and_an_scp_line() -> None:
    for kind, entry in TABLE.items():
        assert entry.calls or entry.sweep == entry.scp, f"{kind}: no calls to prove and no shared reason"
        assert entry.scp, kind


def with_resource(instance: Instance, lid: str, resource: dict[str, Any]) -> Instance:
    template = copy.deepcopy(instance.template)
    template["Resources"][lid] = resource
    return Instance(template, instance.stack_name, instance.account, instance.region, dict(instance.parameters))


def home_of(instances: list[Instance]) -> Instance:
    """The app's guardian in its home Region (its tamper rule judges a trail's dependencies)."""
    return next(i for i in instances if i.home is None and not i.security_account)


def test_a_bare_rule_added_to_the_template_is_reported(instances: list[Instance]) -> None:
    bare = {
        "Type": "AWS::Events::Rule",
        "Properties": {"Name": "an-unguarded-rule", "ScheduleExpression": "rate(1 hour)"},
    }
    reported = gaps([with_resource(home_of(instances), "Bare", bare)])
    assert {(g.check, g.event_name) for g in reported if g.where.endswith("/Bare")} >= {
        ("guard-insider", "DisableRule"),
        ("guard-insider", "RemoveTargets"),
    }


def test_a_subscription_to_a_topic_of_its_own_is_reported(instances: list[Instance]) -> None:
    home = home_of(instances)
    topic = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "extra"}}
    subscription = {
        "Type": "AWS::SNS::Subscription",
        "Properties": {"TopicArn": {"Ref": "Extra"}, "Protocol": "email", "Endpoint": "x@example.com"},
    }
    reported = gaps([with_resource(with_resource(home, "Extra", topic), "ExtraSubscription", subscription)])
    assert ("guard-insider", "Unsubscribe") in {(g.check, g.event_name) for g in reported if "Extra" in g.where}


def test_a_type_not_in_the_table_and_an_entry_without_a_check_are_reported(instances: list[Instance]) -> None:
    home = home_of(instances)
    url = {"Type": "AWS::Lambda::Url", "Properties": {"TargetFunctionArn": "x", "AuthType": "NONE"}}
    assert Gap("type", "AWS::Lambda::Url", "*") in {
        Gap(g.check, g.resource_type, g.event_name) for g in gaps([with_resource(home, "Url", url)])
    }
    entry = TABLE["AWS::Events::Rule"]
    table = {**TABLE, "AWS::Events::Rule": Entry(entry.calls, "guardian.flows.own_rules:no_such_check", entry.scp)}
    assert ("sweep", "AWS::Events::Rule", "*") in {g.key for g in gaps([home], table)}
    missing = Entry(
        (*entry.calls, Call("events.amazonaws.com", "TagResource", "resourceARN", "arn")), entry.sweep, entry.scp
    )
    assert ("scp", "AWS::Events::Rule", "TagResource") in {
        g.key for g in gaps([home], {**TABLE, "AWS::Events::Rule": missing})
    }


def test_a_guard_taken_out_of_the_template_is_reported(instances: list[Instance]) -> None:
    """The SNS guard removed: every call on the alerts topic is reported, the proof is the matcher's, not a list."""
    home = home_of(instances)
    template = copy.deepcopy(home.template)
    [guard] = [
        lid for lid, r in template["Resources"].items() if r["Properties"].get("Name", "").endswith("-guard-sns")
    ]
    del template["Resources"][guard]
    reported = gaps([Instance(template, home.stack_name, home.account, home.region)])
    assert ("guard-insider", "AWS::SNS::Topic", "DeleteTopic") in {g.key for g in reported}
    assert ("guard-insider", "AWS::SNS::Topic", "DeleteTopic") not in {g.key for g in gaps([home])}
