"""What the templates give the guardian to hold its own alarms, CIS metric filters, chat webhook secrets, Lake
stores and forwarding rules (issue 20, moves #5 #6 #7 #9): the sweep is told each of them and granted its calls,
and a self-protection rule matches (moto's EventBridge matcher, on real-shaped events) every call that changes one."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import boto3
import pytest

from app import build_app
from guardian.entrypoints import runtime, sweep
from guardian.model.config_values import own_rules
from infra.cis_alarms import alarm_names
from infra.stack import GuardianStack
from tests.guarded import CW, EVENTS, LOGS, SM, Call, Instance, api_event, guard_rules, moto_matches
from tests.infra.test_iam_covers_calls import recorded

__all__ = ["recorded"]  # the fixture: every AWS call made, by IAM action

pytestmark = pytest.mark.synth
MEMBER, SECURITY = "111122223333", "999988887777"
VERSION = "a1b2c3d4-0000-4000-8000-000000000001"
CONTEXT: dict[str, Any] = {
    "environments": [
        {
            "account": MEMBER,
            "region": "us-east-1",
            "securityAccount": SECURITY,
            "centralTopicArn": f"arn:aws:sns:us-east-1:{SECURITY}:central",
            "cisAlarms": True,
            "webhooks": [
                {"name": "soc", "kind": "slack", "secretVersion": VERSION},
                {
                    "name": "ops",
                    "kind": "teams",
                    "secretArn": f"arn:aws:secretsmanager:us-east-1:{MEMBER}:secret:ops-AbCdEf",
                },
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def home() -> Instance:
    app = build_app(CONTEXT)
    [stack] = [c for c in app.node.children if isinstance(c, GuardianStack)]
    template = json.loads(json.dumps(app.synth().get_stack_by_name(stack.stack_name).template))
    return Instance(template, stack.stack_name, MEMBER, "us-east-1")


def of_type(home: Instance, kind: str) -> dict[str, dict[str, Any]]:
    return {lid: home.resolve(r["Properties"]) for lid, r in home.resources().items() if r["Type"] == kind}


def sweep_env(home: Instance) -> dict[str, str]:
    [env] = [
        p["Environment"]["Variables"]
        for p in of_type(home, "AWS::Lambda::Function").values()
        if p.get("FunctionName") == "CloudTrailGuardian-sweep"
    ]
    return dict(env)


def guarded(home: Instance, call: Call, value: str) -> list[str]:
    """The self-protection rules (by the insider: anyone but CloudFormation) that match the call naming ``value``."""
    event = api_event(home, call, value, "insider")
    return [name for name, pattern, _ in guard_rules(home) if "-guard-" in name and moto_matches(pattern, event)]


@pytest.mark.threat("forwarding-rule")
def test_every_rule_of_the_template_is_swept_and_guarded(home: Instance) -> None:
    """The forwarding rule of the alarms to the security account included (it was neither)."""
    names = {str(p["Name"]) for p in of_type(home, "AWS::Events::Rule").values()}
    assert "CloudTrailGuardian-alarms-to-security" in names
    assert names <= set(own_rules(sweep_env(home)))  # as the sweep reads them (the -guard-cfn-* rules derived)
    for name in names - {"CloudTrailGuardian-guard-events"}:  # that one is watched by guard-events-watch
        for event_name in ("DisableRule", "DeleteRule", "PutTargets", "RemoveTargets", "PutRule"):
            assert guarded(home, Call(EVENTS, event_name, "name"), name), (name, event_name)


def test_the_cis_metric_filters_are_named_swept_and_guarded(home: Instance) -> None:
    filters = of_type(home, "AWS::Logs::MetricFilter").values()
    assert sorted(str(f["FilterName"]) for f in filters) == sorted(alarm_names("CloudTrailGuardian"))
    [group] = {str(f["LogGroupName"]) for f in filters}
    path = json.loads(sweep_env(home)["GUARDIAN_ALERT_PATH"])
    assert (path["logGroup"], path["metricFilters"]) == (group, "CloudTrailGuardian-cis-")
    for event_name in ("DeleteMetricFilter", "PutMetricFilter"):
        assert guarded(home, Call(LOGS, event_name, "logGroupName"), group) == ["CloudTrailGuardian-guard-logs"]


def test_the_webhook_secrets_are_swept_and_guarded_by_every_name_cloudtrail_records(home: Instance) -> None:
    path = json.loads(sweep_env(home)["GUARDIAN_ALERT_PATH"])
    made = f"arn:aws:secretsmanager:us-east-1:{MEMBER}:secret:CloudTrailGuardian/webhook/soc-AbCdEf"
    given = f"arn:aws:secretsmanager:us-east-1:{MEMBER}:secret:ops-AbCdEf"
    assert path["secrets"] == [{"arn": made, "version": VERSION}, {"arn": given}]
    names = [made, made[:-7], "CloudTrailGuardian/webhook/soc", given, given[:-7], "ops"]
    for event_name in ("PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage", "DeleteSecret",
                       "RotateSecret", "PutResourcePolicy"):  # fmt: skip
        for name in names:
            assert guarded(home, Call(SM, event_name, "secretId"), name) == ["CloudTrailGuardian-guard-secretsmanager"]
    assert not guarded(home, Call(SM, "PutSecretValue", "secretId"), "someone-elses-secret")
    notifier = [
        p["Environment"]["Variables"]
        for p in of_type(home, "AWS::Lambda::Function").values()
        if p.get("FunctionName") == "CloudTrailGuardian-notify-soc"
    ]
    assert notifier[0]["GUARDIAN_WEBHOOK_VERSION"] == VERSION


def test_an_alarm_redefined_is_guarded(home: Instance) -> None:
    for name in ("CloudTrailGuardian-sweep-errors", alarm_names("CloudTrailGuardian")[0]):
        assert guarded(home, Call(CW, "PutMetricAlarm", "alarmName"), name) == ["CloudTrailGuardian-guard-cloudwatch"]


def granted(home: Instance, role: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    policies = {**of_type(home, "AWS::IAM::Policy"), **of_type(home, "AWS::IAM::ManagedPolicy")}  # the sweep's checks
    for policy in policies.values():
        if not any(role in str(r) for r in policy.get("Roles", [])):
            continue
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                found.setdefault(action, []).extend(str(r) for r in resources)
    return found


def test_the_sweep_and_the_remediation_may_make_the_calls_that_put_these_back(home: Instance) -> None:
    sweep, remediation = granted(home, "SweepRole"), granted(home, "RemediationRole")
    stores = f"arn:aws:cloudtrail:*:{MEMBER}:eventdatastore/*"
    assert sweep["cloudwatch:PutMetricAlarm"] == [f"arn:aws:cloudwatch:us-east-1:{MEMBER}:alarm:CloudTrailGuardian-*"]
    [group_arn] = sweep["logs:PutMetricFilter"]
    assert group_arn.startswith(f"arn:aws:logs:us-east-1:{MEMBER}:log-group:")
    for action in ("DescribeSecret", "UpdateSecretVersionStage", "RestoreSecret"):
        assert len(sweep[f"secretsmanager:{action}"]) == 2
    assert "secretsmanager:GetSecretValue" not in sweep  # by version id only: the sweep never reads a URL
    assert sweep["cloudtrail:UpdateEventDataStore"] == [stores]
    assert sweep["cloudtrail:ListEventDataStores"] == ["*"]
    assert stores in remediation["cloudtrail:UpdateEventDataStore"]
    assert sweep_env(home)["GUARDIAN_LAKE"] == "1"


def test_the_tamper_rule_sends_lake_settings_and_log_group_filters_to_the_function(home: Instance) -> None:
    [(_, pattern, _)] = [r for r in guard_rules(home) if r[0] == "CloudTrailGuardian-tamper"]
    for source, name, field in (
        ("cloudtrail.amazonaws.com", "UpdateEventDataStore", "eventDataStore"),
        (LOGS, "DeleteMetricFilter", "logGroupName"),
        (LOGS, "PutMetricFilter", "logGroupName"),
        (LOGS, "DeleteSubscriptionFilter", "logGroupName"),
        (LOGS, "PutSubscriptionFilter", "logGroupName"),
    ):
        assert moto_matches(pattern, api_event(home, Call(source, name, field), "x", "insider")), name


def test_the_sweep_role_allows_every_call_of_these_checks(
    home: Instance, recorded: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run against moto (every request recorded): an alarm redefined, a CIS filter deleted, a webhook's secret
    swapped, each put back; every call made must be granted to the sweep's role in this template."""
    cloudwatch, logs, sm = boto3.client("cloudwatch"), boto3.client("logs"), boto3.client("secretsmanager")
    topic = boto3.client("sns").list_topics()["Topics"][0]["TopicArn"]
    alarm: Any = {
        "AlarmName": "CloudTrailGuardian-sweep-errors",
        "MetricName": "Errors",
        "Namespace": "AWS/Lambda",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "AlarmActions": [topic],
    }
    cloudwatch.put_metric_alarm(**alarm)
    logs.create_log_group(logGroupName="/cis")
    name = "CloudTrailGuardian-cis-4-3-root-account-usage"
    transform: Any = [{"metricName": "root", "metricNamespace": "CIS", "metricValue": "1"}]
    logs.put_metric_filter(
        logGroupName="/cis", filterName=name, filterPattern="{ $.x = 1 }", metricTransformations=transform
    )
    secret = sm.create_secret(Name="CloudTrailGuardian/webhook/soc", SecretString="https://hooks.example/a")["ARN"]
    path = {"alarms": [alarm["AlarmName"]], "logGroup": "/cis", "metricFilters": "CloudTrailGuardian-cis-",
            "secrets": [{"arn": secret}]}  # fmt: skip
    monkeypatch.setenv("GUARDIAN_ALERT_PATH", json.dumps(path))
    runtime.reset()
    sweep.lambda_handler({}, None)  # first seen: recorded
    cloudwatch.put_metric_alarm(**{**alarm, "AlarmActions": []})
    logs.delete_metric_filter(logGroupName="/cis", filterName=name)
    sm.put_secret_value(SecretId=secret, SecretString="https://evil.example/b")
    summary = sweep.lambda_handler({}, None)
    put_back = ("alarm definition CloudTrailGuardian-sweep-errors", f"metric filter {name}", "webhook secret "
                "CloudTrailGuardian/webhook/soc")  # fmt: skip
    assert [summary["alert_path"][what] for what in put_back] == ["healed"] * 3
    assert {"cloudwatch:PutMetricAlarm", "logs:PutMetricFilter", "secretsmanager:UpdateSecretVersionStage"} <= recorded
    allowed = list(granted(home, "SweepRole"))
    assert {call for call in recorded if not any(fnmatchcase(call, pattern) for pattern in allowed)} == set()
