"""The security account's chain-heads function as synthesized (issue 22): its rule takes the heads of the admitted
guardian accounts only, its role may read and write its table and publish to the central topic and nothing else, its
table outlives the stack with point-in-time recovery, its dead-letter queue alarms, cdk-nag finds nothing to say,
and the security account's template stays within AWS's limits. The central stack is synthesized alone here, the
guardians' stacks need not be built."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from moto.events.models import EventPattern

from infra.central_alerts import CentralAlertsSettings, CentralAlertsStack
from infra.chain_heads import HEAD_SOURCE, MAX_LISTED_ACCOUNTS, chain_head_pattern
from infra.security_account import Admission
from tests.guarded import Instance
from tests.infra import test_aws_limits as limits

pytestmark = pytest.mark.synth
MEMBER, OTHER, SECURITY = "111122223333", "444455556666", "999988887777"


def central(admitted: Sequence[Admission]) -> dict[str, Any]:
    app = cdk.App()
    settings = CentralAlertsSettings(SECURITY, "us-east-1", "o-abcdefghij")
    stack = CentralAlertsStack(app, "CloudTrailGuardian-CentralAlerts", settings=settings, guardians={MEMBER: 30},
                               admitted=admitted)  # fmt: skip
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))  # as app.py: an unacknowledged finding fails
    return dict(Template.from_stack(stack).to_json())


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return central(((("CloudTrailGuardian",), (MEMBER,)),))


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind and "ChainHeads" in lid}


def head_event(account: str, **fields: Any) -> Any:
    return {
        "version": "0",
        "id": "1",
        "time": "2026-12-06T12:00:00Z",
        "region": "us-east-1",
        "account": account,
        "resources": [],
        "source": HEAD_SOURCE,
        "detail-type": "Guardian Evidence Chain Head",
        "detail": {"account": MEMBER, "region": "us-east-1", "head": {}},
        **fields,
    }


@pytest.mark.threat("evidence-chain-shorten")
def test_the_heads_of_admitted_guardians_reach_the_function_and_no_one_elses(template: dict[str, Any]) -> None:
    [rule] = of_type(template, "AWS::Events::Rule").values()
    pattern = EventPattern.load(json.dumps(rule["Properties"]["EventPattern"]))
    assert pattern.matches_event(head_event(MEMBER))
    assert not pattern.matches_event(head_event(OTHER))  # a head from an account not admitted, whatever its detail
    assert not pattern.matches_event(head_event(SECURITY))  # anyone in the security account could put one
    assert not pattern.matches_event(head_event(MEMBER, source="aws.events"))
    [target] = rule["Properties"]["Targets"]
    [function_id] = of_type(template, "AWS::Lambda::Function")
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert "DeadLetterConfig" in target


def pattern_of(accounts: Sequence[str] | None) -> dict[str, Any]:
    stack = cdk.Stack()
    events.Rule(stack, "Rule", event_pattern=chain_head_pattern(SECURITY, accounts))
    [rule] = Template.from_stack(stack).find_resources("AWS::Events::Rule").values()
    return dict(rule["Properties"]["EventPattern"])


def test_a_whole_organization_admitted_leaves_out_only_the_security_account() -> None:
    for accounts in (None, [f"{n:012d}" for n in range(MAX_LISTED_ACCOUNTS + 1)]):
        pattern = EventPattern.load(json.dumps(pattern_of(accounts)))
        assert pattern.matches_event(head_event(OTHER))
        assert not pattern.matches_event(head_event(SECURITY))
    listed = pattern_of([f"{n:012d}" for n in range(MAX_LISTED_ACCOUNTS)])
    assert len(listed["account"]) == MAX_LISTED_ACCOUNTS
    assert len(json.dumps(listed, separators=(",", ":"))) <= limits.EVENT_PATTERN


def test_the_function_may_keep_heads_and_publish_and_nothing_more(template: dict[str, Any]) -> None:
    [function] = of_type(template, "AWS::Lambda::Function").values()
    assert function["Properties"]["Handler"] == "guardian.entrypoints.chain_heads.lambda_handler"
    variables = function["Properties"]["Environment"]["Variables"]
    [table_id] = of_type(template, "AWS::DynamoDB::Table")
    assert variables == {
        "GUARDIAN_HEADS_TABLE": {"Ref": table_id},
        "GUARDIAN_CENTRAL_TOPIC_ARN": {"Ref": "TopicBFC7AF6E"},
    }
    [policy] = of_type(template, "AWS::IAM::Policy").values()
    statements = {
        json.dumps(s["Action"] if isinstance(s["Action"], list) else [s["Action"]]): s["Resource"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    assert statements.pop('["dynamodb:GetItem", "dynamodb:PutItem"]') == [{"Fn::GetAtt": [table_id, "Arn"]}]
    assert statements.pop('["sns:Publish"]') == {"Ref": "TopicBFC7AF6E"}
    assert statements.pop('["kms:Decrypt", "kms:GenerateDataKey*"]') == {"Fn::GetAtt": ["Key961B73FD", "Arn"]}
    assert statements.pop('["sqs:SendMessage"]')["Fn::GetAtt"][0].startswith("WatchChainHeadsDeadLetters")
    assert statements.pop('["logs:CreateLogStream", "logs:PutLogEvents"]')["Fn::GetAtt"][0].startswith(
        "WatchChainHeadsFunctionLogs"
    )
    assert statements == {}
    [table] = of_type(template, "AWS::DynamoDB::Table").values()
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["Properties"]["KeySchema"] == [{"AttributeName": "origin", "KeyType": "HASH"}]
    assert table["Properties"]["TableName"] == "cloudtrail-guardian-chain-heads"  # as guardian_console reads it
    [alarm] = of_type(template, "AWS::CloudWatch::Alarm").values()
    assert alarm["Properties"]["AlarmName"] == "cloudtrail-guardian-chain-heads-dead-letters"
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": "TopicBFC7AF6E"}]


def test_no_admitted_guardian_means_no_chain_heads_function() -> None:
    assert not any("ChainHeads" in lid for lid in central(())["Resources"])


LIMITS: list[Callable[[list[Instance]], None]] = [
    limits.test_event_patterns_fit_eventbridge,
    limits.test_rules_have_at_most_five_targets,
    limits.test_function_environments_fit_lambda,
    limits.test_each_roles_inline_policies_fit_iam,
    limits.test_key_policies_fit_kms,
    limits.test_stacks_fit_cloudformation,
    limits.test_alarm_names_fit_cloudwatch,
    limits.test_managed_and_trust_policies_fit_iam,
]


@pytest.mark.parametrize("check", LIMITS, ids=[c.__name__ for c in LIMITS])
def test_the_security_accounts_template_fits_aws(check: Callable[[list[Instance]], None]) -> None:
    admitted: Sequence[Admission] = (
        (("CloudTrailGuardianProductionAudit",), tuple(f"{n:012d}" for n in range(1, MAX_LISTED_ACCOUNTS + 1))),
    )
    instance = Instance(central(admitted), "CloudTrailGuardian-CentralAlerts", SECURITY, "us-east-1")
    check([instance])
    if check is limits.test_stacks_fit_cloudformation:
        assert limits.misnamed([instance])[1] == []  # names and strings (the whole app measures more of them)
