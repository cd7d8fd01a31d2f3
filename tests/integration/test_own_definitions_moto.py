"""The guardian's alarms, CIS metric filters, webhook secrets and Lake stores are held by the sweep to what was
deployed (moto): what differs is put back, or alerted CRITICAL every sweep until approved (issue 20, #5 #6 #7 #9)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from guardian.entrypoints import runtime
from tests.integration.conftest import Account, subject_and_message

ALARM = "CloudTrailGuardian-sweep-errors"


def alert_path(monkeypatch: pytest.MonkeyPatch, **path: Any) -> None:
    monkeypatch.setenv("GUARDIAN_ALERT_PATH", json.dumps(path))
    runtime.reset()


def put_alarm(topic: str, **changed: Any) -> None:
    boto3.client("cloudwatch").put_metric_alarm(
        **{
            "AlarmName": ALARM,
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [topic],
            **changed,
        }
    )


@pytest.mark.parametrize(
    ("redefined", "fields"),
    [
        ({"AlarmActions": []}, "AlarmActions"),  # alerted once by self-protection, then mute for good
        ({"Threshold": 1000000}, "Threshold"),
    ],
)
@pytest.mark.threat("alarm-redefined")
def test_a_redefined_alarm_is_put_back_as_deployed_and_alerted_critical(
    account: Account, monkeypatch: pytest.MonkeyPatch, redefined: dict[str, Any], fields: str
) -> None:
    put_alarm(account.topic_arn)
    alert_path(monkeypatch, alarms=[ALARM])
    assert account.sweep()["alert_path"]["policies"] == "baseline_recorded"
    put_alarm(account.topic_arn, **redefined)
    assert account.sweep()["alert_path"][f"alarm definition {ALARM}"] == "healed"
    [alarm] = boto3.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    assert alarm["AlarmActions"] == [account.topic_arn]
    assert alarm["Threshold"] == 1
    subject, message = subject_and_message(account.alerts()[0])
    assert subject.startswith("[CRITICAL] 123456789012 Alert path: ")
    assert f"({fields})" in subject
    assert subject.endswith("restored by sweep")
    assert message["action"]["taken"] == ["PutMetricAlarm"]
    assert account.sweep()["alert_path"][f"alarm definition {ALARM}"] == "in_baseline"  # stays put back


GROUP = "/aws/cloudtrail/CloudTrailGuardian-sentinel"
FILTER = "CloudTrailGuardian-cis-4-5-cloudtrail-changes"
PATTERN = "{ ($.eventName = CreateTrail) || ($.eventName = StopLogging) }"


def put_filter(pattern: str = PATTERN) -> None:
    boto3.client("logs").put_metric_filter(
        logGroupName=GROUP,
        filterName=FILTER,
        filterPattern=pattern,
        metricTransformations=[
            {"metricName": "cloudtrail-changes", "metricNamespace": "CloudTrailGuardian/CIS", "metricValue": "1"}
        ],
    )


@pytest.fixture
def cis(account: Account, monkeypatch: pytest.MonkeyPatch) -> Account:
    boto3.client("logs").create_log_group(logGroupName=GROUP)
    put_filter()
    alert_path(monkeypatch, logGroup=GROUP, metricFilters="CloudTrailGuardian-cis-")
    assert account.sweep()["alert_path"]["policies"] == "baseline_recorded"
    return account


def live_filter() -> list[dict[str, Any]]:
    found = boto3.client("logs").describe_metric_filters(logGroupName=GROUP)["metricFilters"]
    return [{"name": f["filterName"], "pattern": f["filterPattern"]} for f in found]


@pytest.mark.threat("cis-filters")
def test_a_deleted_cis_metric_filter_is_put_back_as_deployed(cis: Account) -> None:
    """DeleteMetricFilter mutes its CIS alarm for good (no data is "nothing happened")."""
    boto3.client("logs").delete_metric_filter(logGroupName=GROUP, filterName=FILTER)
    assert cis.sweep()["alert_path"][f"metric filter {FILTER}"] == "healed"
    assert live_filter() == [{"name": FILTER, "pattern": PATTERN}]
    subject, message = subject_and_message(cis.alerts()[0])
    assert subject.startswith("[CRITICAL] 123456789012 Alert path: ")
    assert subject.endswith("restored by sweep")
    assert message["action"]["taken"] == ["PutMetricFilter"]


@pytest.mark.threat("cis-filters")
def test_a_cis_metric_filter_redefined_to_never_match_is_put_back(cis: Account) -> None:
    # PutMetricFilter replaces a filter of the same name in AWS; moto adds a second one, so replace it by hand.
    boto3.client("logs").delete_metric_filter(logGroupName=GROUP, filterName=FILTER)
    put_filter('{ $.eventName = "NeverCalled" }')
    assert cis.sweep()["alert_path"][f"metric filter {FILTER}"] == "healed"
    assert live_filter()[-1] == {"name": FILTER, "pattern": PATTERN}  # (moto keeps the replaced one before it)
    subject, _ = subject_and_message(cis.alerts()[0])
    assert "(filterPattern)" in subject
    assert cis.sweep()["alert_path"][f"metric filter {FILTER}"] == "in_baseline"


SECRET = "CloudTrailGuardian/webhook/soc"
TEAMS = "https://hooks.slack.com/services/T000/B000/TEAM"


@pytest.fixture
def webhook(account: Account, monkeypatch: pytest.MonkeyPatch) -> tuple[Account, str, str]:
    sm = boto3.client("secretsmanager")
    made = sm.create_secret(Name=SECRET, SecretString=TEAMS)
    alert_path(monkeypatch, secrets=[{"arn": made["ARN"], "version": None}])
    assert account.sweep()["alert_path"][f"webhook secret {SECRET}"] == "baseline_recorded"
    return account, made["ARN"], made["VersionId"]


def current_value(arn: str) -> str:
    """What AWS returns without a stage (moto keeps its own default version: ask for AWSCURRENT by name)."""
    found = boto3.client("secretsmanager").get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    return str(found["SecretString"])


@pytest.mark.threat("webhook-secret")
def test_a_swapped_webhook_secret_is_put_back_and_alerted_critical_naming_it(
    webhook: tuple[Account, str, str],
) -> None:
    """PutSecretValue with the insider's URL: every chat alert would go to the insider."""
    account, arn, _ = webhook
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString="https://evil.example/hook")
    assert account.sweep()["alert_path"][f"webhook secret {SECRET}"] == "healed"
    assert current_value(arn) == TEAMS
    subject, message = subject_and_message(account.alerts()[0])
    assert subject.startswith("[CRITICAL] 123456789012 Alert path: ")
    assert "(version)" in subject
    assert SECRET in message["reason"]
    assert "https://evil.example" not in json.dumps(message)  # version ids only, never a URL
    assert TEAMS not in json.dumps(message)
    assert message["action"]["taken"] == ["UpdateSecretVersionStage"]
    assert account.sweep()["alert_path"][f"webhook secret {SECRET}"] == "in_baseline"


@pytest.mark.threat("webhook-secret")
def test_a_deleted_webhook_secret_is_restored(webhook: tuple[Account, str, str]) -> None:
    account, arn, _ = webhook
    boto3.client("secretsmanager").delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    assert account.sweep()["alert_path"][f"webhook secret {SECRET}"] == "healed"
    assert current_value(arn) == TEAMS
    _, message = subject_and_message(account.alerts()[0])
    assert message["action"]["taken"] == ["RestoreSecret"]


def test_the_approved_version_is_the_one_the_settings_pin(
    webhook: tuple[Account, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new URL is approved by setting the webhook's secretVersion and deploying: the sweep then holds that one."""
    account, arn, _ = webhook
    new = boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=TEAMS + "2")["VersionId"]
    alert_path(monkeypatch, secrets=[{"arn": arn, "version": new}])
    assert account.sweep()["alert_path"][f"webhook secret {SECRET}"] == "in_baseline"
    assert account.alerts() == []


def test_a_clean_sweep_of_these_checks_costs_one_read_each(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """The request budget, counted: the alarms' definitions are one DescribeAlarms (beside the one that checks their
    actions), the CIS filters one DescribeMetricFilters, each webhook secret one DescribeSecret; nothing is written."""
    from collections import Counter  # noqa: PLC0415

    from guardian.adapters.clients import CLIENT_CONFIG, Boto3Clients  # noqa: PLC0415

    put_alarm(account.topic_arn)
    boto3.client("logs").create_log_group(logGroupName=GROUP)
    put_filter()
    arn = boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=TEAMS)["ARN"]
    alert_path(
        monkeypatch, alarms=[ALARM], logGroup=GROUP, metricFilters="CloudTrailGuardian-cis-", secrets=[{"arn": arn}]
    )
    account.sweep()  # records the baselines
    sent: Counter[str] = Counter()
    original = Boto3Clients._client

    def counting(self: Boto3Clients, service: str, region: str | None, config: Any = CLIENT_CONFIG) -> Any:
        client = original(self, service, region, config)
        if not getattr(client, "_counted", False):
            client.meta.events.register("before-call.*.*", lambda model, **_: sent.update([model.name]))
            client._counted = True
        return client

    monkeypatch.setattr(Boto3Clients, "_client", counting)
    runtime.reset()
    summary = account.sweep()
    assert set(summary["alert_path"].values()) == {"in_baseline"}
    assert {f"alarm definition {ALARM}", f"metric filter {FILTER}", f"webhook secret {SECRET}"} <= set(
        summary["alert_path"]
    )
    assert (sent["DescribeAlarms"], sent["DescribeMetricFilters"], sent["DescribeSecret"]) == (2, 1, 1)
    assert not {"PutMetricAlarm", "PutMetricFilter", "UpdateSecretVersionStage", "GetSecretValue"} & set(sent)
