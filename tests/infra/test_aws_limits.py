"""Every synthesized template within AWS's documented limits that moto does not enforce: moto deploys a template that
AWS refuses (an event pattern of 2,508 characters did). The limits, with their sources, are in docs/limits.md.

Each template is resolved as deployed (tests.guarded.Instance: CloudFormation's intrinsics under long, realistic
names) before it is measured, so a pattern's tokens count at the length of what they stand for."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, cast

import aws_cdk as cdk
import pytest

from app import build_app
from tests.guarded import Instance
from tests.infra.conftest import CHANNELS_CONTEXT

pytestmark = pytest.mark.synth

# The limits (docs/limits.md, "AWS's limits the templates are held to").
EVENT_PATTERN = 2048  # characters, EventBridge's default quota
TARGETS_PER_RULE = 5
LAMBDA_ENVIRONMENT = 4096  # bytes, every key and value together
ROLE_INLINE_POLICIES = 10240  # characters (no whitespace), every inline policy of a role together
KEY_POLICY = 32768  # bytes
RESOURCES_PER_STACK = 500
TEMPLATE_BODY = 1_000_000  # bytes, a template body read from S3 (the CDK CLI uploads it there)
ALARM_NAME = 255
SNS_FILTER_ATTRIBUTES = 5
SNS_FILTER_COMBINATIONS = 150
ALARM = "AWS::CloudWatch::Alarm"

ALL_REGIONS = (
    "us-east-1,us-east-2,us-west-1,us-west-2,ca-central-1,eu-west-1,eu-west-2,eu-west-3,eu-central-1,eu-north-1,"
    "ap-south-1,ap-northeast-1,ap-northeast-2,ap-northeast-3,ap-southeast-1,ap-southeast-2,sa-east-1"
)
SECURITY = "444455556666"
# Every option on, 17 Regions, a long stack name: what makes the patterns, environments and policies largest.
EVERYTHING: dict[str, Any] = {
    **CHANNELS_CONTEXT,
    "stackName": "CloudTrailGuardianProductionAudit",
    "regions": ALL_REGIONS,
    "homeRegion": "ap-southeast-2",
    "exemptPrincipals": '["arn:aws:iam::123456789012:role/terraform-ci", "glob:arn:aws:iam::*:role/ci-*"]',
    "approvers": '["arn:aws:iam::123456789012:role/SecurityLead"]',
    "logReaders": '["arn:aws:iam::123456789012:role/SecurityAudit"]',
    "protectTag": "guardian:protect=true",
    "securityAccount": SECURITY,
    "centralTopicArn": f"arn:aws:sns:ap-southeast-2:{SECURITY}:central-alerts",
    "centralTopicKeyArn": f"arn:aws:kms:ap-southeast-2:{SECURITY}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "ocsf": "true",
    "ownEvents": f"arn:aws:events:ap-southeast-2:{SECURITY}:event-bus/{'guardian-alert-router-' * 11}",
    "ownEventsDetailType": "Guardian Alert " * 8,
    "securityLake": {
        "location": "s3://aws-security-data-lake-ap-southeast-2-x7k3m9p2q4r6s8t0/ext/cloudtrail-guardian-audit/1.0/",
        "roleArn": "arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-cloudtrail-guardian-ap-southeast-2",
        "externalId": "cloudtrail-guardian-" + "7f3a9c2e" * 4,
    },
}
CONFIGURATIONS = {"default": {}, "channels": CHANNELS_CONTEXT, "everything-17-regions": EVERYTHING}


def instances(app: cdk.App) -> Iterator[Instance]:
    assembly = app.synth()  # an app synthesized before (a session's shared synth) gives the same assembly again
    for stack in assembly.stacks:
        account = stack.environment.account
        yield Instance(
            stack.template,
            stack.stack_name,
            account if account.isdigit() else "123456789012",
            stack.environment.region if "-" in stack.environment.region else "ap-southeast-2",
        )


# The configurations tests/infra/conftest.py synthesizes once per session anyway: their apps, not a synth more.
SHARED = {"default": "default_synth", "channels": "channels_synth"}


@pytest.fixture(scope="module", params=sorted(CONFIGURATIONS))
def deployed(request: pytest.FixtureRequest) -> list[Instance]:
    shared = SHARED.get(request.param)
    if shared is None:
        return list(instances(build_app(CONFIGURATIONS[request.param])))
    _, stack = request.getfixturevalue(shared)
    return list(instances(cast(cdk.App, stack.node.root)))


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def of_type(instance: Instance, kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in instance.resources().items() if r["Type"] == kind}


def test_the_everything_configuration_makes_every_stack_it_should(deployed: list[Instance]) -> None:
    assert deployed  # a configuration that made no stack would pass every limit below


def test_the_doc_table_states_the_limits_measured_here() -> None:
    """docs/limits.md's table gives, for each limit, the value these tests hold the templates to."""
    from tests.support import REPO_ROOT  # noqa: PLC0415

    page = (REPO_ROOT / "docs" / "limits.md").read_text().split("## AWS's limits the templates are held to")[1]
    rows = {line.split("|")[1].strip(): line.split("|")[2] for line in page.splitlines() if line.startswith("| ")}
    expected = {
        "EventBridge event pattern": f"{EVENT_PATTERN:,} characters",
        "targets per EventBridge rule": str(TARGETS_PER_RULE),
        "Lambda environment variables": f"{LAMBDA_ENVIRONMENT // 1024} KB",
        "a role's inline policies": f"{ROLE_INLINE_POLICIES:,} characters",
        "KMS key policy": f"{KEY_POLICY // 1024} KB",
        "resources per stack; template body": f"{RESOURCES_PER_STACK}; {TEMPLATE_BODY // 1_000_000} MB",
        "alarm name": f"{ALARM_NAME} characters",
        "SNS filter policy": f"{SNS_FILTER_ATTRIBUTES} attribute names, {SNS_FILTER_COMBINATIONS} combinations",
    }
    for limit, value in expected.items():
        assert value in rows[limit], f"{limit}: the page says {rows[limit].strip()!r}, the tests hold {value!r}"


def test_event_patterns_fit_eventbridge(deployed: list[Instance]) -> None:
    too_long = {
        f"{i.stack_name}/{r['Properties'].get('Name', lid)}": len(compact(i.resolve(r["Properties"]["EventPattern"])))
        for i in deployed
        for lid, r in of_type(i, "AWS::Events::Rule").items()
        if "EventPattern" in r["Properties"]
    }
    assert too_long  # the guard rules are measured
    assert {name: size for name, size in too_long.items() if size > EVENT_PATTERN} == {}


def test_rules_have_at_most_five_targets(deployed: list[Instance]) -> None:
    crowded = {
        lid: len(r["Properties"].get("Targets", []))
        for i in deployed
        for lid, r in of_type(i, "AWS::Events::Rule").items()
        if len(r["Properties"].get("Targets", [])) > TARGETS_PER_RULE
    }
    assert crowded == {}


def test_function_environments_fit_lambda(deployed: list[Instance]) -> None:
    sizes = {}
    for i in deployed:
        for lid, r in of_type(i, "AWS::Lambda::Function").items():
            variables = i.resolve(r["Properties"].get("Environment", {}).get("Variables", {}))
            sizes[f"{i.stack_name}/{lid}"] = sum(len(k.encode()) + len(str(v).encode()) for k, v in variables.items())
    assert sizes
    assert {name: size for name, size in sizes.items() if size > LAMBDA_ENVIRONMENT} == {}


def test_each_roles_inline_policies_fit_iam(deployed: list[Instance]) -> None:
    per_role: dict[str, int] = {}
    for i in deployed:
        for lid, r in of_type(i, "AWS::IAM::Role").items():
            for policy in r["Properties"].get("Policies", []):
                per_role[f"{i.stack_name}/{lid}"] = per_role.get(f"{i.stack_name}/{lid}", 0) + len(
                    compact(i.resolve(policy["PolicyDocument"]))
                )
        for r in of_type(i, "AWS::IAM::Policy").values():
            size = len(compact(i.resolve(r["Properties"]["PolicyDocument"])))
            for role in r["Properties"].get("Roles", []):
                name = f"{i.stack_name}/{role.get('Ref', role) if isinstance(role, dict) else role}"
                per_role[name] = per_role.get(name, 0) + size
    assert per_role
    assert {role: size for role, size in per_role.items() if size > ROLE_INLINE_POLICIES} == {}


def test_key_policies_fit_kms(deployed: list[Instance]) -> None:
    sizes = {
        f"{i.stack_name}/{lid}": len(compact(i.resolve(r["Properties"]["KeyPolicy"])).encode())
        for i in deployed
        for lid, r in of_type(i, "AWS::KMS::Key").items()
    }
    assert {key: size for key, size in sizes.items() if size > KEY_POLICY} == {}


def test_stacks_fit_cloudformation(deployed: list[Instance]) -> None:
    for i in deployed:
        assert len(i.template["Resources"]) <= RESOURCES_PER_STACK, i.stack_name
        assert len(json.dumps(i.template).encode()) <= TEMPLATE_BODY, i.stack_name


def test_alarm_names_fit_cloudwatch(deployed: list[Instance]) -> None:
    alarms = [(i, r["Properties"].get("AlarmName", "generated")) for i in deployed for r in of_type(i, ALARM).values()]
    names = [i.resolve(name) for i, name in alarms]
    assert [n for n in names if len(n) > ALARM_NAME] == []


def test_subscription_filter_policies_fit_sns(deployed: list[Instance]) -> None:
    for i in deployed:
        for lid, r in of_type(i, "AWS::SNS::Subscription").items():
            policy = r["Properties"].get("FilterPolicy")
            if not policy:
                continue
            scope = r["Properties"].get("FilterPolicyScope", "MessageAttributes")
            leaves = _leaves(policy) if scope == "MessageBody" else dict(policy)
            assert len(leaves) <= SNS_FILTER_ATTRIBUTES, lid
            combinations = 1
            for values in leaves.values():
                combinations *= len(values) if isinstance(values, list) else 1
            assert combinations <= SNS_FILTER_COMBINATIONS, lid


def _leaves(policy: dict[str, Any], path: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in policy.items():
        if isinstance(value, dict):
            found.update(_leaves(value, f"{path}{key}."))
        else:
            found[f"{path}{key}"] = value
    return found


def test_a_pattern_over_the_limit_is_caught() -> None:
    """The measure is the resolved pattern: a rule naming 60 long function ARNs is over, as AWS would say."""
    template: dict[str, Any] = {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "x" * 64}},
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {"EventPattern": {"detail": {"functionName": [{"Fn::GetAtt": ["Fn", "Arn"]}] * 60}}},
            },
        }
    }
    instance = Instance(template, "Stack", "123456789012", "ap-southeast-2")
    pattern = instance.resolve(template["Resources"]["Rule"]["Properties"]["EventPattern"])
    assert len(compact(pattern)) > EVENT_PATTERN


# Names and strings CloudFormation passes on as they are: (type, property path, most characters, allowed characters).
# A value CloudFormation generates (a property left out) is sized by AWS itself and not checked here.
NAMES: tuple[tuple[str, str, int, str | None], ...] = (
    ("AWS::Lambda::Function", "FunctionName", 64, r"[A-Za-z0-9_-]+"),
    ("AWS::Lambda::Function", "Description", 256, None),
    ("AWS::Events::Rule", "Name", 64, r"[\.\-_A-Za-z0-9]+"),
    ("AWS::Events::Rule", "Description", 512, None),
    ("AWS::SNS::Topic", "TopicName", 256, r"[A-Za-z0-9_-]+(\.fifo)?"),
    ("AWS::SQS::Queue", "QueueName", 80, r"[A-Za-z0-9_-]+(\.fifo)?"),
    ("AWS::IAM::Role", "RoleName", 64, r"[\w+=,.@-]+"),
    ("AWS::IAM::Role", "Description", 1000, None),
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName", 128, r"[\w+=,.@-]+"),
    ("AWS::Logs::LogGroup", "LogGroupName", 512, r"[\.\-_/#A-Za-z0-9]+"),
    ("AWS::Logs::MetricFilter", "FilterName", 512, r"[^:*]+"),
    ("AWS::Logs::MetricFilter", "FilterPattern", 1024, None),
    ("AWS::SecretsManager::Secret", "Name", 512, r"[A-Za-z0-9/_+=.@-]+"),
    ("AWS::KMS::Alias", "AliasName", 256, r"alias/(?!aws/)[a-zA-Z0-9/_-]+"),
    ("AWS::S3::Bucket", "BucketName", 63, r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
    ("AWS::CloudWatch::Alarm", "AlarmDescription", 1024, None),
    ("AWS::KMS::Key", "Description", 8192, None),
)
MANAGED_POLICY = 6144  # characters (no whitespace)
TRUST_POLICY = 2048  # characters (no whitespace), the default quota (adjustable to 4,096)
INPUT_TEMPLATE = 8192  # characters, a target's InputTransformer.InputTemplate (and a constant Input)
INPUT_PATHS = 100  # entries of a target's InputPathsMap
METRIC_NAME = 255
FILTERS_PER_LOG_GROUP = 100
OUTPUTS, PARAMETERS = 200, 200


def misnamed(deployed: list[Instance]) -> tuple[int, list[str]]:
    """(values measured, values AWS would refuse)."""
    measured, wrong = 0, []
    for i in deployed:
        for kind, prop, most, allowed in NAMES:
            for lid, r in of_type(i, kind).items():
                if prop not in r["Properties"]:
                    continue
                value = str(i.resolve(r["Properties"][prop]))
                measured += 1
                if len(value) > most or (allowed and re.fullmatch(allowed, value) is None):
                    wrong.append(f"{i.stack_name}/{lid}.{prop} ({len(value)} > {most}?): {value[:80]}")
    return measured, wrong


def test_names_and_strings_fit_their_services(deployed: list[Instance]) -> None:
    measured, wrong = misnamed(deployed)
    assert measured > 20  # the names are measured, not skipped
    assert wrong == []


def test_managed_and_trust_policies_fit_iam(deployed: list[Instance]) -> None:
    sizes: dict[str, int] = {}
    for i in deployed:
        for lid, r in of_type(i, "AWS::IAM::ManagedPolicy").items():
            assert len(compact(i.resolve(r["Properties"]["PolicyDocument"]))) <= MANAGED_POLICY, lid
        for lid, r in of_type(i, "AWS::IAM::Role").items():
            sizes[f"{i.stack_name}/{lid}"] = len(compact(i.resolve(r["Properties"]["AssumeRolePolicyDocument"])))
    assert sizes
    assert {role: size for role, size in sizes.items() if size > TRUST_POLICY} == {}


def test_rule_targets_inputs_fit_eventbridge(deployed: list[Instance]) -> None:
    measured, wrong = 0, []
    for i in deployed:
        for lid, r in of_type(i, "AWS::Events::Rule").items():
            for target in r["Properties"].get("Targets", []):
                transformer = target.get("InputTransformer", {})
                template = i.resolve(transformer.get("InputTemplate", target.get("Input", "")))
                paths = transformer.get("InputPathsMap", {})
                measured += bool(template)
                if len(str(template)) > INPUT_TEMPLATE or len(paths) > INPUT_PATHS:
                    wrong.append(f"{i.stack_name}/{lid}/{target.get('Id')}: {len(str(template))}, {len(paths)} paths")
    assert measured  # the guards' messages are measured
    assert wrong == []


def test_metric_filters_fit_cloudwatch_logs(deployed: list[Instance]) -> None:
    per_group: dict[str, int] = {}
    for i in deployed:
        for r in of_type(i, "AWS::Logs::MetricFilter").values():
            group = str(i.resolve(r["Properties"]["LogGroupName"]))
            per_group[group] = per_group.get(group, 0) + 1
            for metric in r["Properties"]["MetricTransformations"]:
                assert len(str(i.resolve(metric["MetricName"]))) <= METRIC_NAME
    assert all(n <= FILTERS_PER_LOG_GROUP for n in per_group.values()), per_group


def test_outputs_and_parameters_fit_cloudformation(deployed: list[Instance]) -> None:
    for i in deployed:
        assert len(i.template.get("Outputs", {})) <= OUTPUTS, i.stack_name
        assert len(i.template.get("Parameters", {})) <= PARAMETERS, i.stack_name


def test_a_name_too_long_or_with_a_character_aws_refuses_is_caught() -> None:
    template: dict[str, Any] = {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "f" * 65}},
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "chat webhook"}},
        }
    }
    instance = Instance(template, "Stack", "123456789012", "ap-southeast-2")
    assert [w.split(" ")[0] for w in misnamed([instance])[1]] == ["Stack/Fn.FunctionName", "Stack/Secret.Name"]


def test_what_the_sweep_derives_from_the_compact_alert_path_is_what_the_stack_deploys() -> None:
    """The CIS alarms' names and the addresses' filters, written compactly into the sweep's environment, are
    derived by the sweep exactly as infra makes them."""
    from guardian.model import alert_path_config  # noqa: PLC0415
    from infra.cis_alarms import alarm_names  # noqa: PLC0415
    from infra.recipients import SEVERITIES, severity_filter  # noqa: PLC0415

    assert [f"G-cis-{n}" for n in alert_path_config.CIS_ALARMS] == alarm_names("G")
    assert alert_path_config.SEVERITIES == SEVERITIES
    for minimum in SEVERITIES[1:]:
        assert json.loads(alert_path_config.severity_filter(minimum)) == severity_filter(minimum)


def test_the_sweeps_environment_leaves_room_for_more_recipients(deployed: list[Instance]) -> None:
    """Every option on, 17 Regions: room left for 10 more addresses (about 30 bytes each) and 2 more webhooks."""
    for i in deployed:
        for lid, r in of_type(i, "AWS::Lambda::Function").items():
            variables = i.resolve(r["Properties"].get("Environment", {}).get("Variables", {}))
            size = sum(len(k.encode()) + len(str(v).encode()) for k, v in variables.items())
            assert size <= LAMBDA_ENVIRONMENT - 10 * 30 - 2 * 150, (i.stack_name, lid, size)
