"""The sweep keeps the guardian's own EventBridge rules working (moto): a disabled rule is enabled again, removed
targets are put back, a deleted rule is alerted; each with one CRITICAL alert."""

from __future__ import annotations

import json

import boto3
import pytest

from guardian.entrypoints import runtime, sweep
from tests.integration.conftest import Account, subject_and_message

RULE = "CloudTrailGuardian-tamper"


@pytest.fixture
def guarded(account: Account, monkeypatch: pytest.MonkeyPatch) -> str:
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.put_rule(Name=RULE, EventPattern=json.dumps({"source": ["aws.cloudtrail"]}))
    queue = sqs.create_queue(QueueName="stand-in-for-the-function")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(
        Rule=RULE,
        Targets=[{"Id": "Target0", "Arn": arn, "RetryPolicy": {"MaximumRetryAttempts": 185}}],
    )
    monkeypatch.setenv("GUARDIAN_OWN_RULES", json.dumps([RULE]))
    runtime.reset()
    summary = account.sweep()  # first sight of the intact rule: its targets become the baseline
    assert summary["guardian_rules"] == {RULE: "baseline_recorded"}
    return arn


def test_a_disabled_rule_is_enabled_again_and_alerted(account: Account, guarded: str) -> None:
    boto3.client("events").disable_rule(Name=RULE)
    summary = account.sweep()
    assert summary["guardian_rules"] == {RULE: "healed"}
    assert boto3.client("events").describe_rule(Name=RULE)["State"] == "ENABLED"
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject == f"[CRITICAL] Guardian rule {RULE} disabled — restored by sweep"
    assert message["action"]["taken"] == ["EnableRule"]


def test_removed_targets_are_put_back_as_they_were(account: Account, guarded: str) -> None:
    events = boto3.client("events")
    events.remove_targets(Rule=RULE, Ids=["Target0"])
    events.disable_rule(Name=RULE)
    assert account.sweep()["guardian_rules"] == {RULE: "healed"}
    [target] = events.list_targets_by_rule(Rule=RULE)["Targets"]
    assert (target["Id"], target["Arn"], target["RetryPolicy"]) == ("Target0", guarded, {"MaximumRetryAttempts": 185})
    subject, message = subject_and_message(account.alerts()[0])
    assert subject == f"[CRITICAL] Guardian rule {RULE} disabled, targets removed — restored by sweep"
    assert message["action"]["taken"] == ["EnableRule", "PutTargets"]


def test_an_intact_rule_is_left_alone(account: Account, guarded: str) -> None:
    assert account.sweep()["guardian_rules"] == {RULE: "in_baseline"}
    assert account.alerts() == []


def test_a_deleted_rule_is_alerted_and_fails_the_run(account: Account, guarded: str) -> None:
    events = boto3.client("events")
    events.remove_targets(Rule=RULE, Ids=["Target0"])
    events.delete_rule(Name=RULE)
    with pytest.raises(sweep.SweepFailed, match="deleted"):
        account.sweep()
    subject, message = subject_and_message(account.alerts()[0])
    assert subject == f"[CRITICAL] Guardian rule {RULE} deleted — NOT restored: redeploy the stack"
    assert "redeploy the stack" in message["reason"]


def test_a_deployment_records_the_targets_again(account: Account, guarded: str) -> None:
    events = boto3.client("events")
    events.put_targets(Rule=RULE, Targets=[{"Id": "Target1", "Arn": guarded}])
    deployment_event = {"source": "aws.cloudformation", "detail-type": "CloudFormation Stack Status Change"}
    summary = sweep.lambda_handler(deployment_event, None)
    assert summary["guardian_rules"] == {RULE: "baseline_recorded"}
    events.remove_targets(Rule=RULE, Ids=["Target1"])
    assert account.sweep()["guardian_rules"] == {RULE: "healed"}  # Target1 is part of the baseline now
    assert {t["Id"] for t in events.list_targets_by_rule(Rule=RULE)["Targets"]} == {"Target0", "Target1"}
