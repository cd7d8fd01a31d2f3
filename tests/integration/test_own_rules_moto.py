"""The sweep keeps the guardian's own EventBridge rules as deployed (moto), in its home Region and every forwarder's:
a disabled rule is enabled again, a changed pattern and removed, added or retargeted targets are put back, a deleted
rule is alerted; each with one CRITICAL alert. Only a deployment CloudFormation confirms re-records a rule."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from guardian.entrypoints import runtime, sweep
from tests.integration.conftest import Account, subject_and_message
from tests.support import fits

RULE = "CloudTrailGuardian-tamper"
HOME = f"us-east-1:{RULE}"
FORWARDER = "CloudTrailGuardian-forward"
PATTERN = {"source": ["aws.cloudtrail"], "detail": {"eventName": ["StopLogging", "DeleteTrail"]}}
DEPLOYMENT = {"source": "aws.cloudformation", "detail-type": "CloudFormation Stack Status Change"}


def rule_with_target(region: str, name: str) -> str:
    events, sqs = boto3.client("events", region_name=region), boto3.client("sqs", region_name=region)
    events.put_rule(Name=name, EventPattern=json.dumps(PATTERN))
    queue = sqs.create_queue(QueueName=f"stand-in-{name}")["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "Target0", "Arn": arn, "RetryPolicy": {"MaximumRetryAttempts": 185}}])
    return arn


@pytest.fixture
def guarded(account: Account, monkeypatch: pytest.MonkeyPatch) -> str:
    arn = rule_with_target("us-east-1", RULE)
    monkeypatch.setenv("GUARDIAN_OWN_RULES", json.dumps([RULE]))
    runtime.reset()
    summary = account.sweep()  # first sight of the intact rule: its definition and targets become the baseline
    assert summary["guardian_rules"] == {HOME: "baseline_recorded"}
    return arn


def stored(account: Account, region: str = "us-east-1", name: str = RULE) -> dict[str, Any]:
    key = f"baselines/guardian-rules/{region}/{name}.json"
    document: dict[str, Any] = json.loads(boto3.client("s3").get_object(Bucket=account.bucket, Key=key)["Body"].read())
    return document


@pytest.mark.threat("own-rules")
def test_a_disabled_rule_is_enabled_again_and_alerted(account: Account, guarded: str) -> None:
    boto3.client("events").disable_rule(Name=RULE)
    summary = account.sweep()
    assert summary["guardian_rules"] == {HOME: "healed"}
    assert boto3.client("events").describe_rule(Name=RULE)["State"] == "ENABLED"
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert fits(subject, "[CRITICAL] 123456789012 Guardian rule ", RULE, " disabled — restored by sweep")
    assert message["action"]["taken"] == ["EnableRule"]


@pytest.mark.threat("own-rules")
def test_removed_targets_are_put_back_as_they_were(account: Account, guarded: str) -> None:
    events = boto3.client("events")
    events.remove_targets(Rule=RULE, Ids=["Target0"])
    events.disable_rule(Name=RULE)
    assert account.sweep()["guardian_rules"] == {HOME: "healed"}
    [target] = events.list_targets_by_rule(Rule=RULE)["Targets"]
    assert (target["Id"], target["Arn"], target["RetryPolicy"]) == ("Target0", guarded, {"MaximumRetryAttempts": 185})
    subject, message = subject_and_message(account.alerts()[0])
    assert fits(
        subject, "[CRITICAL] 123456789012 Guardian rule ", RULE, " disabled, targets changed — restored by sweep"
    )
    assert message["action"]["taken"] == ["EnableRule", "PutTargets"]


def test_a_target_pointed_elsewhere_under_the_same_id_is_put_back(account: Account, guarded: str) -> None:
    """The insider's quiet move: the rule still has its Target0, but it now feeds their own function."""
    events = boto3.client("events")
    elsewhere = "arn:aws:lambda:us-east-1:123456789012:function:swallow-everything"
    events.put_targets(Rule=RULE, Targets=[{"Id": "Target0", "Arn": elsewhere}])
    assert account.sweep()["guardian_rules"] == {HOME: "healed"}
    [target] = events.list_targets_by_rule(Rule=RULE)["Targets"]
    assert (target["Arn"], target["RetryPolicy"]) == (guarded, {"MaximumRetryAttempts": 185})
    subject, message = subject_and_message(account.alerts()[0])
    assert fits(subject, "[CRITICAL] 123456789012 Guardian rule ", RULE, " targets changed — restored by sweep")
    assert message["action"]["taken"] == ["PutTargets"]
    [change] = message["changes"]
    assert (change["field"], change["before"], change["after"]) == ("targets", [guarded], [elsewhere])


@pytest.mark.threat("own-rules")
def test_an_added_target_is_removed(account: Account, guarded: str) -> None:
    events = boto3.client("events")
    events.put_targets(Rule=RULE, Targets=[{"Id": "copy", "Arn": "arn:aws:sqs:us-east-1:210987654321:exfil"}])
    assert account.sweep()["guardian_rules"] == {HOME: "healed"}
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=RULE)["Targets"]] == ["Target0"]
    assert subject_and_message(account.alerts()[0])[1]["action"]["taken"] == ["RemoveTargets"]


@pytest.mark.threat("own-rules")
def test_a_narrowed_pattern_is_put_back(account: Account, guarded: str) -> None:
    """A pattern that matches nothing silences the guardian as surely as a disabled rule."""
    events = boto3.client("events")
    events.put_rule(Name=RULE, EventPattern=json.dumps({"source": ["aws.cloudtrail"], "account": ["000000000000"]}))
    assert account.sweep()["guardian_rules"] == {HOME: "healed"}
    assert json.loads(events.describe_rule(Name=RULE)["EventPattern"]) == PATTERN
    subject, message = subject_and_message(account.alerts()[0])
    assert fits(subject, "[CRITICAL] 123456789012 Guardian rule ", RULE, " pattern changed — restored by sweep")
    assert message["action"]["taken"] == ["PutRule"]


def test_an_intact_rule_is_left_alone(account: Account, guarded: str) -> None:
    assert account.sweep()["guardian_rules"] == {HOME: "in_baseline"}
    assert account.alerts() == []


def test_a_deleted_rule_is_alerted_and_fails_the_run(account: Account, guarded: str) -> None:
    events = boto3.client("events")
    events.remove_targets(Rule=RULE, Ids=["Target0"])
    events.delete_rule(Name=RULE)
    with pytest.raises(sweep.SweepFailed, match="deleted"):
        account.sweep()
    subject, message = subject_and_message(account.alerts()[0])
    assert fits(subject, "[CRITICAL] 123456789012 Guardian rule ", RULE, " deleted — NOT restored: redeploy the stack")
    assert "redeploy the stack" in message["reason"]


def test_a_rule_broken_before_its_first_baseline_is_alerted_not_recorded(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule_with_target("us-east-1", RULE)
    boto3.client("events").disable_rule(Name=RULE)
    monkeypatch.setenv("GUARDIAN_OWN_RULES", json.dumps([RULE]))
    runtime.reset()
    with pytest.raises(sweep.SweepFailed, match="heal_failed"):
        account.sweep()
    subject, message = subject_and_message(account.alerts()[0])
    assert fits(subject, "[CRITICAL] 123456789012 Guardian rule ", RULE, " disabled — NOT restored: redeploy the stack")
    assert "before its baseline was recorded" in message["reason"]
    with pytest.raises(Exception, match="NoSuchKey"):
        stored(account)


def stack(monkeypatch: pytest.MonkeyPatch) -> str:
    template = {"Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "marker"}}}}
    stack_id: str = boto3.client("cloudformation").create_stack(
        StackName="CloudTrailGuardian", TemplateBody=json.dumps(template)
    )["StackId"]
    monkeypatch.setenv("GUARDIAN_STACK_ID", stack_id)
    runtime.reset()
    return stack_id


@pytest.mark.threat("cfn-deploy")
def test_a_deployment_cloudformation_confirms_records_the_rule_again(
    account: Account, guarded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack(monkeypatch)
    events = boto3.client("events")
    events.put_targets(Rule=RULE, Targets=[{"Id": "Target1", "Arn": guarded}])
    summary = sweep.lambda_handler(DEPLOYMENT, None)
    assert summary["guardian_rules"] == {HOME: "baseline_recorded"}
    assert stored(account)["recorded_by"] == "deployment"
    events.remove_targets(Rule=RULE, Ids=["Target1"])
    assert account.sweep()["guardian_rules"] == {HOME: "healed"}  # Target1 is part of the baseline now
    assert {t["Id"] for t in events.list_targets_by_rule(Rule=RULE)["Targets"]} == {"Target0", "Target1"}


@pytest.mark.parametrize("with_stack", [False, True], ids=["no-stack", "stack-deployed-long-ago"])
@pytest.mark.threat("forged-deployment")
def test_a_forged_deployment_event_records_nothing_and_is_alerted(
    account: Account, guarded: str, monkeypatch: pytest.MonkeyPatch, with_stack: bool
) -> None:
    """Whoever may invoke the sweep can send it a deployment event; CloudFormation has the last word."""
    if with_stack:
        stack(monkeypatch)
        monkeypatch.setattr("guardian.flows.own_functions.RECENT", __import__("datetime").timedelta(0))
    else:
        monkeypatch.setenv("GUARDIAN_STACK_ID", "arn:aws:cloudformation:us-east-1:123456789012:stack/gone/1")
        runtime.reset()
    events = boto3.client("events")
    events.put_targets(Rule=RULE, Targets=[{"Id": "Target0", "Arn": "arn:aws:sqs:us-east-1:123456789012:mine"}])
    before = stored(account)
    summary = sweep.lambda_handler(DEPLOYMENT, None)
    assert summary["guardian_rules"] == {HOME: "healed"}  # held to the old baseline, not re-recorded
    assert stored(account) == before
    assert events.list_targets_by_rule(Rule=RULE)["Targets"][0]["Arn"] == guarded
    subjects = [subject_and_message(n)[0] for n in account.alerts()]
    assert "[CRITICAL] 123456789012 Guardian deployment event not confirmed by CloudFormation — forged?" in subjects
    assert any(
        fits(s, "[CRITICAL] 123456789012 Guardian rule ", RULE, " targets changed — restored by sweep")
        for s in subjects
    )


def test_forwarder_rules_are_kept_in_every_other_region(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """The forwarders carry events from the other Regions; a forwarder disabled there blinds the guardian there."""
    rule_with_target("us-west-2", FORWARDER)
    boto3.client("sqs", region_name="us-west-2").create_queue(QueueName=f"{FORWARDER}-dead-letters")  # its queue
    monkeypatch.setenv("GUARDIAN_FORWARDER_RULES", json.dumps([FORWARDER]))
    runtime.reset()
    assert account.sweep()["guardian_rules"] == {f"us-west-2:{FORWARDER}": "baseline_recorded"}
    west = boto3.client("events", region_name="us-west-2")
    west.disable_rule(Name=FORWARDER)
    assert account.sweep()["guardian_rules"] == {f"us-west-2:{FORWARDER}": "healed"}
    assert west.describe_rule(Name=FORWARDER)["State"] == "ENABLED"
    subject, message = subject_and_message(account.alerts()[0])
    assert fits(subject, "[CRITICAL] 123456789012 Guardian rule ", FORWARDER, " disabled — restored by sweep")
    assert message["event"]["region"] == "us-west-2"
    assert stored(account, "us-west-2", FORWARDER)["region"] == "us-west-2"
