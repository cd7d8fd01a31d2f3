"""The sweep keeps the guardian's own functions as deployed and the path an alert takes in working order (moto):
each finding one CRITICAL alert; what cannot be put back from here fails the run and asks for a redeployment."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from guardian.adapters.own import OwnAdapter
from guardian.entrypoints import runtime, sweep
from guardian.model.subjects import SUBJECT_MAX
from tests.integration.conftest import Account, subject_and_message
from tests.support import fits

FUNCTION = "CloudTrailGuardian-remediation"
ALARM = "CloudTrailGuardian-sweep-errors"
EMAIL = "secops@example.com"
A = "[CRITICAL] 123456789012 "  # the severity, then the account (moto's, which has no alias)


def names(subject: str, head: str, tail: str) -> bool:
    """The subject starts and ends as expected (the middle may be shortened, never the verdict)."""
    return len(subject) <= SUBJECT_MAX and subject.startswith(head) and subject.endswith(tail)


def function(name: str = FUNCTION, **environment: str) -> None:
    role = boto3.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="guardian.entrypoints.handler.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        Environment={"Variables": {"GUARDIAN_TOPIC_ARN": "t", **environment}},
    )


@pytest.fixture
def functions(account: Account, monkeypatch: pytest.MonkeyPatch) -> Account:
    function()
    monkeypatch.setenv("GUARDIAN_OWN_FUNCTIONS", json.dumps([FUNCTION]))
    runtime.reset()
    assert account.sweep()["guardian_functions"] == {FUNCTION: "baseline_recorded"}
    return account


def test_an_intact_function_is_left_alone(functions: Account) -> None:
    assert functions.sweep()["guardian_functions"] == {FUNCTION: "in_baseline"}
    assert functions.alerts() == []


@pytest.mark.threat("own-functions")
def test_a_function_throttled_to_zero_gets_its_concurrency_back(functions: Account) -> None:
    """A reserved concurrency of 0 switches the guardian off without changing a line of it."""
    boto3.client("lambda").put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=0)
    assert functions.sweep()["guardian_functions"] == {FUNCTION: "healed"}
    assert "ReservedConcurrentExecutions" not in boto3.client("lambda").get_function_concurrency(FunctionName=FUNCTION)
    subject, message = subject_and_message(functions.alerts()[0])
    assert fits(subject, f"{A}Guardian function ", FUNCTION, " changed (ReservedConcurrency) — restored by sweep")
    assert message["action"]["taken"] == ["PutFunctionConcurrency"]


@pytest.mark.threat("own-functions")
def test_a_changed_environment_cannot_be_put_back_and_fails_the_run(functions: Account) -> None:
    """Pointing the function at another topic is a configuration change only the stack may make."""
    boto3.client("lambda").update_function_configuration(
        FunctionName=FUNCTION, Environment={"Variables": {"GUARDIAN_TOPIC_ARN": "arn:aws:sns:us-east-1:1:elsewhere"}}
    )
    with pytest.raises(sweep.SweepFailed, match="heal_failed"):
        functions.sweep()
    subject, message = subject_and_message(functions.alerts()[0])
    assert fits(subject, f"{A}Guardian function ", FUNCTION, " changed (Environment) — NOT restored: redeploy")
    assert "outside its stack's deployment" in message["reason"]


@pytest.mark.threat("own-functions")
def test_a_deleted_function_is_alerted(functions: Account) -> None:
    boto3.client("lambda").delete_function(FunctionName=FUNCTION)
    with pytest.raises(sweep.SweepFailed, match="deleted"):
        functions.sweep()
    subject = subject_and_message(functions.alerts()[0])[0]
    assert fits(subject, f"{A}Guardian function ", FUNCTION, " changed (exists) — NOT restored: redeploy")


def alert_path(account: Account, monkeypatch: pytest.MonkeyPatch, **path: Any) -> None:
    monkeypatch.setenv("GUARDIAN_ALERT_PATH", json.dumps(path))
    runtime.reset()


@pytest.fixture
def subscribed(account: Account, monkeypatch: pytest.MonkeyPatch) -> str:
    arn: str = boto3.client("sns").subscribe(TopicArn=account.topic_arn, Protocol="email-json", Endpoint=EMAIL)[
        "SubscriptionArn"
    ]
    alert_path(account, monkeypatch, emails=[EMAIL])
    assert account.sweep()["alert_path"] == {f"subscription {EMAIL}": "in_baseline", "policies": "baseline_recorded"}
    return arn


@pytest.mark.threat("subscription")
def test_a_filter_policy_on_the_teams_subscription_is_removed(account: Account, subscribed: str) -> None:
    """A filter policy nobody notices drops every alert it does not match: silence that looks like a quiet day."""
    sns = boto3.client("sns")
    sns.set_subscription_attributes(
        SubscriptionArn=subscribed, AttributeName="FilterPolicy", AttributeValue='{"severity": ["NONE"]}'
    )
    assert account.sweep()["alert_path"][f"subscription {EMAIL}"] == "healed"
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscribed)["Attributes"]
    assert attributes.get("FilterPolicy") in (None, "", "{}")
    subject, message = subject_and_message(account.alerts()[0])
    assert subject == A + "Alert path: subscr…@example.com changed (filter_policy) — restored by sweep"
    assert message["action"]["taken"] == ["SetSubscriptionAttributes"]


MEDIUM_AND_UP = '{"severity": ["MEDIUM", "HIGH", "CRITICAL", {"exists": false}]}'


@pytest.fixture
def filtered(account: Account, monkeypatch: pytest.MonkeyPatch) -> str:
    """The address as the stack subscribes it: MEDIUM and up, on the message body."""
    attributes = {"FilterPolicy": MEDIUM_AND_UP, "FilterPolicyScope": "MessageBody"}
    sns = boto3.client("sns")
    arn: str = sns.subscribe(TopicArn=account.topic_arn, Protocol="email-json", Endpoint=EMAIL, Attributes=attributes)[
        "SubscriptionArn"
    ]
    alert_path(account, monkeypatch, emails=[EMAIL], filters={EMAIL: MEDIUM_AND_UP})
    assert account.sweep()["alert_path"][f"subscription {EMAIL}"] == "in_baseline"
    return arn


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FilterPolicy", '{"severity": ["CRITICAL"]}'),  # stricter: HIGH alerts would never arrive
        ("FilterPolicy", "{}"),  # looser: every INFO confirmation mailed again
        ("FilterPolicyScope", "MessageAttributes"),  # an alarm has no attributes: SNS would drop every one
    ],
)
def test_a_subscription_is_held_to_the_filter_it_was_deployed_with(
    account: Account, filtered: str, name: str, value: str
) -> None:
    sns = boto3.client("sns")
    sns.set_subscription_attributes(SubscriptionArn=filtered, AttributeName=name, AttributeValue=value)
    assert account.sweep()["alert_path"][f"subscription {EMAIL}"] == "healed"
    attributes = sns.get_subscription_attributes(SubscriptionArn=filtered)["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == json.loads(MEDIUM_AND_UP)
    assert attributes["FilterPolicyScope"] == "MessageBody"
    subject, message = subject_and_message(account.alerts()[0])
    assert subject == A + "Alert path: subscr…@example.com changed (filter_policy) — restored by sweep"
    [change] = message["changes"]
    assert change["before"] == MEDIUM_AND_UP


@pytest.mark.threat("subscription")
def test_an_unsubscribed_address_comes_back_with_its_filter(account: Account, filtered: str) -> None:
    sns = boto3.client("sns")
    sns.unsubscribe(SubscriptionArn=filtered)
    assert account.sweep()["alert_path"][f"subscription {EMAIL}"] == "healed"
    [again] = [
        s
        for s in sns.list_subscriptions_by_topic(TopicArn=account.topic_arn)["Subscriptions"]
        if s["Endpoint"] == EMAIL
    ]
    attributes = sns.get_subscription_attributes(SubscriptionArn=again["SubscriptionArn"])["Attributes"]
    assert (json.loads(attributes["FilterPolicy"]), attributes["FilterPolicyScope"]) == (
        json.loads(MEDIUM_AND_UP),
        "MessageBody",
    )


@pytest.mark.threat("subscription")
def test_an_unsubscribed_address_is_subscribed_again(account: Account, subscribed: str) -> None:
    sns = boto3.client("sns")
    sns.unsubscribe(SubscriptionArn=subscribed)
    assert account.sweep()["alert_path"][f"subscription {EMAIL}"] == "healed"
    endpoints = [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=account.topic_arn)["Subscriptions"]]
    assert EMAIL in endpoints
    subject, message = subject_and_message(account.alerts()[0])
    assert subject == A + "Alert path: subscri…ps@example.com changed (subscribed) — restored by sweep"
    assert "must be confirmed" in message["reason"]


@pytest.mark.threat("dead-mans-switch")
def test_an_alarm_with_its_actions_disabled_is_enabled_again(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=ALARM,
        MetricName="Errors",
        Namespace="AWS/Lambda",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[account.topic_arn],
    )
    alert_path(account, monkeypatch, alarms=[ALARM, "CloudTrailGuardian-sweep-silent"])
    cloudwatch.disable_alarm_actions(AlarmNames=[ALARM])
    with pytest.raises(sweep.SweepFailed, match="deleted"):  # the second alarm was never there
        account.sweep()
    assert cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["ActionsEnabled"] is True
    deleted, enabled = sorted((subject_and_message(n)[0] for n in account.alerts()), key=lambda s: "restored by" in s)
    assert fits(
        enabled,
        f"{A}Alert path: ",
        "alarm CloudTrailGuardian-sweep-errors",
        " changed (actions_enabled) — restored by sweep",
    )
    assert fits(
        deleted,
        f"{A}Alert path: ",
        "alarm CloudTrailGuardian-sweep-silent",
        " changed (exists) — NOT restored: redeploy",
    )


@pytest.mark.threat("alerts-key")
def test_a_disabled_alerts_key_is_enabled_first(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the topic's key disabled no alert can be published, this one included: the key comes back first."""
    kms = boto3.client("kms")
    key = kms.create_key()["KeyMetadata"]
    alert_path(account, monkeypatch, keys=[key["Arn"]])
    kms.disable_key(KeyId=key["KeyId"])
    assert account.sweep()["alert_path"][f"key {key['KeyId']}"] == "healed"
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    subject, message = subject_and_message(account.alerts()[0])
    assert names(
        subject,
        "[CRITICAL] 123456789012 Alert path: key ",
        f"{key['KeyId'][-12:]} changed (key_state) — restored by sweep",
    )
    assert message["action"]["taken"] == ["EnableKey"]


def test_a_deleted_dead_letter_queue_is_alerted_and_fails_the_run(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="CloudTrailGuardian-dead-letters")["QueueUrl"]
    alert_path(account, monkeypatch, queue=queue)
    assert account.sweep()["alert_path"] == {"dead-letter queue": "in_baseline"}
    sqs.delete_queue(QueueUrl=queue)
    with pytest.raises(sweep.SweepFailed, match="deleted"):
        account.sweep()
    subject, _ = subject_and_message(account.alerts()[0])
    assert subject == "[CRITICAL] 123456789012 Alert path: dead-letter queue changed (exists) — NOT restored: redeploy"


def test_a_denied_check_of_the_guardian_is_reported_and_the_trails_are_still_swept(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(self: Any) -> list[dict[str, Any]]:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "ListSubscriptionsByTopic")

    monkeypatch.setattr(OwnAdapter, "subscriptions", denied)
    alert_path(account, monkeypatch, emails=[EMAIL])
    account.ct().stop_logging(Name="org-audit")
    with pytest.raises(sweep.SweepFailed, match="AccessDenied"):
        account.sweep()
    assert account.ct().get_trail_status(Name="org-audit")["IsLogging"] is True


@pytest.mark.threat("topic-policy")
def test_a_topic_policy_that_drops_alerts_is_put_back(account: Account, subscribed: str) -> None:
    """A Deny of sns:Publish for everyone but the insider: every alert, self-protection's included, is refused."""
    sns = boto3.client("sns")
    deployed = sns.get_topic_attributes(TopicArn=account.topic_arn)["Attributes"]["Policy"]
    silencing = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": account.topic_arn}],
    }
    sns.set_topic_attributes(TopicArn=account.topic_arn, AttributeName="Policy", AttributeValue=json.dumps(silencing))
    summary = account.sweep()
    assert summary["alert_path"]["topic policy"] == "healed"
    assert json.loads(sns.get_topic_attributes(TopicArn=account.topic_arn)["Attributes"]["Policy"]) == json.loads(
        deployed
    )
    subject, message = subject_and_message(account.alerts()[0])
    assert names(
        subject, "[CRITICAL] 123456789012 Alert path: topic policy changed (topic_policy)", " — restored by sweep"
    )
    assert message["action"]["taken"] == ["SetTopicAttributes"]


def test_a_changed_key_policy_on_the_alert_path_is_put_back(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    kms = boto3.client("kms")
    key = kms.create_key()["KeyMetadata"]
    alert_path(account, monkeypatch, keys=[key["Arn"]])
    deployed = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    assert account.sweep()["alert_path"]["policies"] == "baseline_recorded"
    locked = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {"Effect": "Deny", "Principal": "*", "Action": "kms:GenerateDataKey*", "Resource": "*"},
        ],
    }
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(locked))
    assert account.sweep()["alert_path"][f"key policy {key['KeyId']}"] == "healed"
    assert json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]) == json.loads(deployed)
    assert subject_and_message(account.alerts()[0])[1]["action"]["taken"] == ["PutKeyPolicy"]
