"""CloudFormation as a caller, in the template: CloudFormation's own calls on the guardian's resources are no longer
dropped but go to the remediation function to be confirmed, and another stack given the CDK execution role is alerted.
Proved with moto's EventBridge matcher on the synthesized patterns (their intrinsic functions resolved)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from guardian.model.config_values import own_rules
from guardian.model.event_pattern import matches
from guardian.model.stack_changes import STACK_CALL as GUARDIAN_STACK_CALL
from guardian.model.stack_roles import STACK_ROLE as GUARDIAN_STACK_ROLE
from infra.self_protection import CFN_SUFFIXES, WATCH_SUFFIXES
from infra.stack_callers import STACK_CALL, STACK_ROLE

ACCOUNT, REGION = "123456789012", "us-east-1"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/CloudTrailGuardian/0f6e2a40-0000-4000-8000-000000000000"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::StackName": "CloudTrailGuardian",
    "AWS::StackId": STACK_ID,
    "AWS::URLSuffix": "amazonaws.com",
}


def resolved(value: Any) -> Any:
    """Ref and Fn::GetAtt as stand-in physical names (``ref:<id>``, ``arn:<id>``), Fn::Join joined."""
    if isinstance(value, list):
        return [resolved(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return PSEUDO.get(value["Ref"], f"ref:{value['Ref']}")
    if set(value) == {"Fn::GetAtt"}:
        return f"arn:{value['Fn::GetAtt'][0]}"
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolved(p)) for p in parts)
    return {k: resolved(v) for k, v in value.items()}


def rules(template: Any) -> dict[str, dict[str, Any]]:
    found = template.find_resources("AWS::Events::Rule").values()
    return {r["Properties"]["Name"]: r["Properties"] for r in found if "-guard-" in r["Properties"]["Name"]}


def matcher(props: dict[str, Any]) -> EventPattern:
    return EventPattern.load(json.dumps(resolved(props["EventPattern"])))


def api_call(
    source: str, name: str, request: dict[str, Any], *, source_ip: str, **extra: Any
) -> Any:  # moto's event type
    return {
        "source": f"aws.{source}",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventSource": f"{source}.amazonaws.com",
            "eventName": name,
            "sourceIPAddress": source_ip,
            "requestParameters": request,
            "userIdentity": {"arn": f"arn:aws:iam::{ACCOUNT}:user/mallory"},
            **extra,
        },
    }


def test_cloudformations_calls_on_the_guardian_go_to_a_function_to_be_confirmed(default_synth: Any) -> None:
    template, _ = default_synth
    found = rules(template)
    [(function_id, _)] = [
        (k, v)
        for k, v in template.find_resources("AWS::Lambda::Function").items()
        if v["Properties"].get("FunctionName") == "CloudTrailGuardian-remediation"
    ]
    [(queue_id, _)] = list(template.find_resources("AWS::SQS::Queue").items())
    for suffix in WATCH_SUFFIXES:
        if suffix == "deployment":
            continue
        direct, confirming = (
            found[f"CloudTrailGuardian-guard-{suffix}"],
            found[f"CloudTrailGuardian-guard-cfn-{suffix}"],
        )
        # the same calls on the same resources, CloudFormation's only
        assert (
            direct["EventPattern"]["detail"] | {"sourceIPAddress": ["cloudformation.amazonaws.com"]}
            == (confirming["EventPattern"]["detail"])
        )
        [target] = confirming["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}  # not the sweep: no dead man's switch fed
        # marked, so that the handler confirms it and never takes it for tampering to heal
        assert target["InputTransformer"]["InputPathsMap"] == {"detail": "$.detail"}
        assert json.loads(target["InputTransformer"]["InputTemplate"].replace("<detail>", "{}")) == {
            "guardian": STACK_CALL,
            "detail": {},
        }
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 185
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    stack_guards = {"cfn-exec-role", "cfn-exec-borrowed", "cfn-iam-tag"}
    assert {f"cfn-{s}" for s in WATCH_SUFFIXES if s != "deployment"} | stack_guards == set(CFN_SUFFIXES)

    # Proved with EventBridge's matcher: an insider's stack subscribing to the alerts topic is no longer dropped.
    [topic_id] = template.find_resources("AWS::SNS::Topic")
    subscribe = {"topicArn": f"ref:{topic_id}", "protocol": "sqs", "endpoint": "arn:aws:sqs:us-east-1:1:mallory"}
    by_stack = api_call("sns", "Subscribe", subscribe, source_ip="cloudformation.amazonaws.com")
    by_hand = api_call("sns", "Subscribe", subscribe, source_ip="203.0.113.66")
    matched = {name for name, props in found.items() if matcher(props).matches_event(by_stack)}
    assert matched == {"CloudTrailGuardian-guard-cfn-sns"}
    assert {name for name, props in found.items() if matcher(props).matches_event(by_hand)} == {
        "CloudTrailGuardian-guard-sns"
    }
    bucket_id = next(k for k in template.find_resources("AWS::S3::Bucket") if "EvidenceBucket" in k)
    policy = api_call(
        "s3", "PutBucketPolicy", {"bucketName": f"ref:{bucket_id}"}, source_ip=by_stack["detail"]["sourceIPAddress"]
    )
    assert {name for name, props in found.items() if matcher(props).matches_event(policy)} == {
        "CloudTrailGuardian-guard-cfn-s3"
    }


def test_the_remediation_function_may_read_the_guardians_stack_and_knows_it(default_synth: Any) -> None:
    template, _ = default_synth
    [statement] = [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "ConfirmAStackChange"
    ]
    assert statement["Action"] == ["cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents"]
    assert statement["Resource"] == {"Ref": "AWS::StackId"}  # its own stack only
    [function] = [
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == "CloudTrailGuardian-remediation"
    ]
    assert function["Environment"]["Variables"]["GUARDIAN_STACK_ID"] == {"Ref": "AWS::StackId"}
    assert STACK_CALL == GUARDIAN_STACK_CALL  # the mark infra puts on, as the handler reads it


@pytest.mark.threat("cfn-exec-role")
def test_another_stack_given_the_cdk_execution_role_is_alerted_high(default_synth: Any) -> None:
    template, _ = default_synth
    rule = rules(template)["CloudTrailGuardian-guard-cfn-exec-role"]
    [target] = rule["Targets"]
    assert "Ref" in target["Arn"]  # the topic, no function on the path
    assert '"severity":"HIGH"' in target["InputTransformer"]["InputTemplate"]
    pattern = matcher(rule)
    role = f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-{REGION}"
    deployer = {"source_ip": "203.0.113.66"}
    for name in ("CreateStack", "CreateChangeSet", "UpdateStack", "DeleteStack"):
        theirs = api_call("cloudformation", name, {"stackName": "innocent-looking", "roleARN": role}, **deployer)
        assert pattern.matches_event(theirs), name
    west = role.replace(REGION, "eu-west-1")  # the execution role of another Region of the account, too
    assert pattern.matches_event(
        api_call("cloudformation", "CreateStack", {"stackName": "x", "roleARN": west}, **deployer)
    )
    for own in ("CloudTrailGuardian", STACK_ID):  # the guardian's own deployment is the deployment alert's
        ours = api_call("cloudformation", "CreateChangeSet", {"stackName": own, "roleARN": role}, **deployer)
        assert not pattern.matches_event(ours)
    no_role = api_call("cloudformation", "CreateStack", {"stackName": "innocent-looking"}, **deployer)
    assert not pattern.matches_event(no_role)  # its own permissions: its changes to the guardian are confirmed or not
    other = {"stackName": "x", "roleARN": f"arn:aws:iam::{ACCOUNT}:role/app-deployer"}
    assert not pattern.matches_event(api_call("cloudformation", "CreateStack", other, **deployer))


def test_the_sweep_keeps_every_guard_though_its_environment_names_only_the_first_ones(default_synth: Any) -> None:
    """A function's environment holds 4 KB: the -guard-cfn-* rules are derived by the sweep from the guards."""
    template, _ = default_synth
    [listed] = [
        f["Properties"]["Environment"]["Variables"]["GUARDIAN_OWN_RULES"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == "CloudTrailGuardian-sweep"
    ]
    assert not [name for name in json.loads(listed) if "-guard-cfn-" in name]
    kept = set(own_rules({"GUARDIAN_OWN_RULES": listed}))
    assert set(rules(template)) <= kept  # every guard, the CloudFormation ones too
    assert {n for n in kept if "-guard-" in n} == set(rules(template))  # and no rule that does not exist


def confirming_target(template: Any, rule: dict[str, Any]) -> dict[str, Any]:
    [(function_id, _)] = [
        (k, v)
        for k, v in template.find_resources("AWS::Lambda::Function").items()
        if v["Properties"].get("FunctionName") == "CloudTrailGuardian-remediation"
    ]
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 185
    assert "DeadLetterConfig" in target
    return dict(json.loads(target["InputTransformer"]["InputTemplate"].replace("<detail>", "{}")))


@pytest.mark.threat("exec-role-borrowed")
def test_another_stack_run_without_a_role_goes_to_the_function_that_reads_which_role_it_lends(
    default_synth: Any,
) -> None:
    """The insider review's move: UpdateStack/CreateChangeSet with no roleARN on another CDK app's stack borrows the
    execution role the stack was deployed with; the -guard-cfn-exec-role rule (on roleARN) never sees it."""
    template, _ = default_synth
    found = rules(template)
    rule = found["CloudTrailGuardian-guard-cfn-exec-borrowed"]
    assert confirming_target(template, rule) == {"guardian": STACK_CALL, "check": STACK_ROLE, "detail": {}}
    assert STACK_ROLE == GUARDIAN_STACK_ROLE
    by_insider = {"source_ip": "203.0.113.66"}
    for name in ("UpdateStack", "CreateChangeSet", "DeleteStack", "ContinueUpdateRollback", "RollbackStack"):
        borrowed = api_call("cloudformation", name, {"stackName": "other-cdk-app"}, **by_insider)
        assert {n for n, props in found.items() if matcher(props).matches_event(borrowed)} == {
            "CloudTrailGuardian-guard-cfn-exec-borrowed"
        }, name
    pattern = matcher(rule)
    role = f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-{REGION}"
    given = api_call("cloudformation", "UpdateStack", {"stackName": "x", "roleARN": role}, **by_insider)
    assert not pattern.matches_event(given)  # the -guard-cfn-exec-role rule's: HIGH from EventBridge
    for own in ("CloudTrailGuardian", STACK_ID):  # the guardian's own: the deployment alert's
        assert not pattern.matches_event(api_call("cloudformation", "UpdateStack", {"stackName": own}, **by_insider))
    refused = api_call("cloudformation", "UpdateStack", {"stackName": "x"}, errorCode="AccessDenied", **by_insider)
    assert not pattern.matches_event(refused)  # a refused call changed nothing
    assert not pattern.matches_event(api_call("cloudformation", "CreateStack", {"stackName": "new"}, **by_insider))

    [function] = [
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == "CloudTrailGuardian-remediation"
    ]
    assert function["Environment"]["Variables"]["GUARDIAN_CDK_QUALIFIER"] == "hnb659fds"
    [statement] = [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "ReadWhichRoleAStackLends"
    ]
    assert statement["Action"] == "cloudformation:DescribeStacks"  # nothing else, on this account's stacks here
    assert resolved(statement["Resource"]) == f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/*"


def tagged(name: str, tags: list[dict[str, str]], *, source_ip: str, **request: str) -> Any:
    return api_call("iam", name, {**request, "tags": tags}, source_ip=source_ip)


@pytest.mark.threat("guardian-tag")
def test_the_guardians_tag_given_to_a_principal_is_critical_or_confirmed(default_synth: Any) -> None:
    """CreateRole/CreateUser/TagRole/TagUser with the tag key ``cloudtrail-guardian`` (any case, anywhere in the
    tags array): CRITICAL from EventBridge straight to the topic; by CloudFormation, to the function that confirms
    it against the guardian's own stack. moto's matcher does not look into arrays of objects (EventBridge does):
    the guardian's own matcher, which follows EventBridge's semantics, judges the tags; moto the rest."""
    template, _ = default_synth
    found = rules(template)
    direct, via_stack = found["CloudTrailGuardian-guard-iam-tag"], found["CloudTrailGuardian-guard-cfn-iam-tag"]
    [topic_id] = template.find_resources("AWS::SNS::Topic")
    [target] = direct["Targets"]
    assert target["Arn"] == {"Ref": topic_id}  # no function on the path
    assert '"severity":"CRITICAL"' in target["InputTransformer"]["InputTemplate"]
    assert confirming_target(template, via_stack) == {"guardian": STACK_CALL, "detail": {}}
    theirs = [{"key": "team", "value": "x"}, {"key": "cloudtrail-guardian", "value": "CloudTrailGuardian"}]
    insider, stack = "203.0.113.66", "cloudformation.amazonaws.com"
    cases = [
        tagged("CreateRole", theirs, source_ip=insider, roleName="mallory-guardian"),
        tagged("TagRole", theirs, source_ip=insider, roleName="some-role"),
        tagged("CreateUser", theirs, source_ip=insider, userName="mallory"),
        tagged("TagUser", [{"key": "CloudTrail-Guardian", "value": "x"}], source_ip=insider, userName="mallory"),
    ]
    without_tags = {**direct["EventPattern"], "detail": dict(direct["EventPattern"]["detail"])}
    del without_tags["detail"]["requestParameters"]
    for event in cases:
        assert matches(resolved(direct["EventPattern"]), event), event["detail"]["eventName"]
        assert not matches(resolved(via_stack["EventPattern"]), event)
        assert matcher({"EventPattern": without_tags}).matches_event(event)  # the rest of it, by moto's matcher
    by_stack = tagged("CreateRole", theirs, source_ip=stack, roleName="innocent-role")
    assert matches(resolved(via_stack["EventPattern"]), by_stack)
    assert not matches(resolved(direct["EventPattern"]), by_stack)
    for pattern in (direct, via_stack):
        other_tags = tagged("CreateRole", [{"key": "team", "value": "cloudtrail-guardian"}], source_ip=insider)
        assert not matches(resolved(pattern["EventPattern"]), other_tags)
        assert not matches(
            resolved(pattern["EventPattern"]), api_call("iam", "CreateRole", {"roleName": "r"}, source_ip=insider)
        )
