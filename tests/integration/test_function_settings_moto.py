"""The sweep holds what reaches the guardian's functions and where their results go (moto): each function's
resource-based policy (only the principals its stack granted), its event invoke config, no function URL; and the
guardian's KMS aliases, in its home Region and a forwarder's. Each change put back, one CRITICAL alert."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from guardian.entrypoints import runtime, sweep
from guardian.flows.function_settings import grant
from tests.integration.conftest import Account, subject_and_message
from tests.support import fits

FUNCTION = "CloudTrailGuardian-remediation"
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/CloudTrailGuardian-tamper"
DEPLOYED = {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 21600}
A = "[CRITICAL] 123456789012 "


def statements(name: str = FUNCTION) -> dict[str, dict[str, Any]]:
    try:
        policy = json.loads(boto3.client("lambda").get_policy(FunctionName=name)["Policy"])
    except ClientError:
        return {}
    return {s["Sid"]: s for s in policy["Statement"]}


@pytest.fixture
def deployed(account: Account, monkeypatch: pytest.MonkeyPatch) -> Account:
    """The remediation function as its stack makes it: invoked by its rule, retried twice, no URL."""
    role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    aws_lambda = boto3.client("lambda")
    aws_lambda.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.13",
        Role=role,
        Handler="guardian.entrypoints.handler.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    aws_lambda.add_permission(
        FunctionName=FUNCTION,
        StatementId="TamperRuleAllowEventRule",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=RULE_ARN,
    )
    aws_lambda.put_function_event_invoke_config(
        FunctionName=FUNCTION, MaximumRetryAttempts=2, MaximumEventAgeInSeconds=21600
    )
    monkeypatch.setenv("GUARDIAN_OWN_FUNCTIONS", json.dumps([FUNCTION]))
    runtime.reset()
    assert account.sweep()["guardian_functions"] == {FUNCTION: "baseline_recorded"}
    return account


def restored(account: Account, fields: str, taken: list[str]) -> None:
    assert account.sweep()["guardian_functions"] == {FUNCTION: "healed"}
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert fits(subject, f"{A}Guardian function ", FUNCTION, f" changed ({fields}) — restored by sweep")
    assert message["action"]["taken"] == taken
    assert account.sweep()["guardian_functions"] == {FUNCTION: "in_baseline"}


def test_intact_settings_are_left_alone(deployed: Account) -> None:
    assert deployed.sweep()["guardian_functions"] == {FUNCTION: "in_baseline"}
    assert deployed.alerts() == []


@pytest.mark.threat("function-settings")
def test_a_permission_added_to_a_function_is_removed(deployed: Account) -> None:
    """Another account allowed to invoke the remediation function could feed it events of its making."""
    before = statements()
    boto3.client("lambda").add_permission(
        FunctionName=FUNCTION, StatementId="mallory", Action="lambda:InvokeFunction", Principal="444455556666"
    )
    restored(deployed, "Permissions", ["RemovePermission"])
    assert statements() == before


@pytest.mark.threat("function-settings")
def test_a_permission_removed_from_a_function_is_granted_again(deployed: Account) -> None:
    """Without its rule's permission, EventBridge can no longer invoke the function: every heal silently lost."""
    before = statements()
    boto3.client("lambda").remove_permission(FunctionName=FUNCTION, StatementId="TamperRuleAllowEventRule")
    restored(deployed, "Permissions", ["AddPermission"])
    assert statements() == before


@pytest.mark.threat("function-settings")
def test_a_permission_redirected_to_another_source_is_put_back(deployed: Account) -> None:
    aws_lambda = boto3.client("lambda")
    aws_lambda.remove_permission(FunctionName=FUNCTION, StatementId="TamperRuleAllowEventRule")
    aws_lambda.add_permission(
        FunctionName=FUNCTION,
        StatementId="TamperRuleAllowEventRule",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn="arn:aws:events:us-east-1:123456789012:rule/mallory",
    )
    restored(deployed, "Permissions", ["RemovePermission", "AddPermission"])
    condition = statements()["TamperRuleAllowEventRule"]["Condition"]
    assert condition == {"ArnLike": {"AWS:SourceArn": RULE_ARN}}


@pytest.mark.threat("function-settings")
def test_an_event_invoke_config_changed_is_put_back(deployed: Account) -> None:
    """No retries and a minute's age: a throttled heal is dropped instead of retried."""
    aws_lambda = boto3.client("lambda")
    aws_lambda.update_function_event_invoke_config(
        FunctionName=FUNCTION, MaximumRetryAttempts=0, MaximumEventAgeInSeconds=60
    )
    restored(deployed, "EventInvokeConfig", ["PutFunctionEventInvokeConfig"])
    found = aws_lambda.get_function_event_invoke_config(FunctionName=FUNCTION)
    assert {k: found[k] for k in DEPLOYED} == DEPLOYED  # type: ignore[literal-required]


@pytest.mark.threat("function-settings")
def test_an_event_invoke_config_deleted_is_put_back(deployed: Account) -> None:
    boto3.client("lambda").delete_function_event_invoke_config(FunctionName=FUNCTION)
    restored(deployed, "EventInvokeConfig", ["PutFunctionEventInvokeConfig"])
    found = boto3.client("lambda").get_function_event_invoke_config(FunctionName=FUNCTION)
    assert found["MaximumRetryAttempts"] == 2


@pytest.mark.threat("function-settings")
def test_a_function_url_is_deleted(deployed: Account) -> None:
    """A URL with AuthType NONE lets anyone on the internet invoke the function (junk keeps the switch green)."""
    aws_lambda = boto3.client("lambda")
    aws_lambda.create_function_url_config(FunctionName=FUNCTION, AuthType="NONE")
    restored(deployed, "FunctionUrl", ["DeleteFunctionUrlConfig"])
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        aws_lambda.get_function_url_config(FunctionName=FUNCTION)


def test_a_snapshot_from_before_the_settings_were_held_records_them_and_removes_nothing(deployed: Account) -> None:
    """An upgrade's first sweep must not take the deployed permissions away for want of them in an older snapshot."""
    s3 = boto3.client("s3")
    key = f"baselines/guardian-functions/{FUNCTION}.json"
    for version in s3.list_object_versions(Bucket=deployed.bucket, Prefix=key)["Versions"]:
        s3.delete_object(Bucket=deployed.bucket, Key=key, VersionId=version["VersionId"])
    with pytest.MonkeyPatch.context() as older:  # the snapshot as the guardian recorded it before
        older.setattr("guardian.flows.own_functions.settings_snapshot", lambda aws, name: {})
        assert deployed.sweep()["guardian_functions"] == {FUNCTION: "baseline_recorded"}
    assert deployed.sweep()["guardian_functions"] == {FUNCTION: "in_baseline"}
    assert "TamperRuleAllowEventRule" in statements()
    boto3.client("lambda").create_function_url_config(FunctionName=FUNCTION, AuthType="NONE")
    assert deployed.sweep()["guardian_functions"] == {FUNCTION: "healed"}  # held from then on


def test_only_the_grants_a_stack_makes_can_be_made_again() -> None:
    by_rule = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Condition": {"ArnLike": {"AWS:SourceArn": RULE_ARN}},
    }
    assert grant(by_rule) == {
        "Action": "lambda:InvokeFunction",
        "Principal": "events.amazonaws.com",
        "SourceArn": RULE_ARN,
    }
    by_org = {**by_rule, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}
    assert grant(by_org) is None
    assert grant({**by_rule, "Effect": "Deny"}) is None


# ---- the guardian's KMS aliases ---------------------------------------------------------------------------------

ALERTS, SIGNING, FORWARDER = (
    "alias/CloudTrailGuardian-alerts",
    "alias/CloudTrailGuardian-signing",
    "alias/CloudTrailGuardian-forwarder-alerts",
)


@pytest.fixture
def aliased(account: Account, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The stack's two keys' aliases at home, a forwarder's in us-west-2 (with its rule, which the sweep holds)."""
    keys = {}
    for region, alias in (("us-east-1", ALERTS), ("us-east-1", SIGNING), ("us-west-2", FORWARDER)):
        kms = boto3.client("kms", region_name=region)
        keys[alias] = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=keys[alias])
    west = boto3.client("events", region_name="us-west-2")
    west.put_rule(Name="CloudTrailGuardian-forward", EventPattern=json.dumps({"source": ["aws.cloudtrail"]}))
    west.put_targets(Rule="CloudTrailGuardian-forward", Targets=[{"Id": "T", "Arn": "arn:aws:events:us-east-1:1:b"}])
    # The forwarder's dead-letter queue, whose depth the sweep reads in each forwarder Region (flows/forwarder_queues).
    boto3.client("sqs", region_name="us-west-2").create_queue(QueueName="CloudTrailGuardian-forward-dead-letters")
    template = {"Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "marker"}}}}
    stack_id = boto3.client("cloudformation").create_stack(
        StackName="CloudTrailGuardian", TemplateBody=json.dumps(template)
    )["StackId"]
    monkeypatch.setenv("GUARDIAN_STACK_ID", stack_id)
    monkeypatch.setenv("GUARDIAN_FORWARDER_RULES", json.dumps(["CloudTrailGuardian-forward"]))
    runtime.reset()
    assert account.sweep()["guardian_aliases"] == {"aliases": "baseline_recorded"}
    return keys


def targets(region: str) -> dict[str, str]:
    listed = boto3.client("kms", region_name=region).list_aliases()["Aliases"]
    return {a["AliasName"]: a["TargetKeyId"] for a in listed if a["AliasName"].startswith("alias/CloudTrailGuardian-")}


def test_intact_aliases_are_left_alone(account: Account, aliased: dict[str, str]) -> None:
    assert account.sweep()["guardian_aliases"] == {
        ALERTS: "in_baseline",
        SIGNING: "in_baseline",
        f"us-west-2:{FORWARDER}": "in_baseline",
    }
    assert account.alerts() == []


@pytest.mark.threat("key-aliases")
def test_an_alias_pointed_at_another_key_is_put_back(account: Account, aliased: dict[str, str]) -> None:
    """Whoever reads "alias/<stack>-alerts" (a runbook, a console user granting access) would get the insider's key."""
    kms = boto3.client("kms")
    mine = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.update_alias(AliasName=ALERTS, TargetKeyId=mine)
    assert account.sweep()["guardian_aliases"][ALERTS] == "healed"
    assert targets("us-east-1")[ALERTS] == aliased[ALERTS]
    subject, message = subject_and_message(account.alerts()[0])
    assert fits(subject, f"{A}Alert path: ", f"key alias {ALERTS}", " changed (target_key) — restored by sweep")
    assert message["action"]["taken"] == ["UpdateAlias"]


@pytest.mark.threat("key-aliases")
def test_a_deleted_alias_is_made_again_in_a_forwarders_region(account: Account, aliased: dict[str, str]) -> None:
    west = boto3.client("kms", region_name="us-west-2")
    west.delete_alias(AliasName=FORWARDER)
    boto3.client("kms").create_alias(AliasName="alias/CloudTrailGuardian-elsewhere", TargetKeyId=aliased[ALERTS])
    summary = account.sweep()["guardian_aliases"]
    assert summary[f"us-west-2:{FORWARDER}"] == "healed"
    assert "alias/CloudTrailGuardian-elsewhere" not in summary  # not the stack's when recorded: left alone
    assert targets("us-west-2") == {FORWARDER: aliased[FORWARDER]}
    [notification] = account.alerts()
    assert subject_and_message(notification)[1]["action"]["taken"] == ["CreateAlias"]


@pytest.mark.threat("key-aliases")
def test_an_alias_that_cannot_be_put_back_fails_the_run(
    account: Account, aliased: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    kms = boto3.client("kms")
    kms.update_alias(AliasName=SIGNING, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])

    def refused(*_: Any, **__: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, "UpdateAlias")

    monkeypatch.setattr("guardian.adapters.own_settings.OwnSettingsAdapter.point_alias", refused)
    with pytest.raises(sweep.SweepFailed, match="heal_failed"):
        account.sweep()
    subject = subject_and_message(account.alerts()[0])[0]
    assert fits(subject, f"{A}Alert path: ", f"key alias {SIGNING}", " changed (target_key) — NOT restored: redeploy")
