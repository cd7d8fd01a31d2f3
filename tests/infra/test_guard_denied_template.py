"""Refused calls on the guardian, in the template: the guards (straight to the topic and the security account, CRITICAL)
match successful calls only; the calls AWS refused go to the remediation function (rules ``<stack>-guard-denied`` and
``-guard-denied-access``), which alerts them MEDIUM, grouped per principal and capped. Proved with moto's EventBridge
matcher on the synthesized patterns (their intrinsic functions resolved)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guardian.flows.guard_denied import handle_guard_denied  # noqa: F401 - the flow the marker reaches
from guardian.model.subjects import GUARD_DENIED as GUARDIAN_GUARD_DENIED
from infra.self_protection import DENIED_SPLIT, DENIED_SUFFIXES
from infra.stack_callers import GUARD_DENIED
from tests.infra.test_stack_callers_template import api_call, matcher, rules

DENIED = {f"CloudTrailGuardian-guard-{s}" for s in DENIED_SUFFIXES}
OUT = "203.0.113.66"
Call = tuple[str, str, dict[str, Any]]  # source, eventName, requestParameters


def test_the_marker_and_the_split_are_the_functions() -> None:
    assert GUARD_DENIED == GUARDIAN_GUARD_DENIED
    assert tuple(DENIED_SPLIT) == DENIED_SUFFIXES


@pytest.mark.threat("alert-flood")
def test_guards_match_successful_calls_only_and_refused_ones_go_to_the_function(default_synth: Any) -> None:
    template, _ = default_synth
    found = rules(template)
    assert set(found) >= DENIED
    for name, props in found.items():
        expected = [{"exists": name in DENIED}]
        assert props["EventPattern"]["detail"]["errorCode"] == expected, name
    [function_id] = [
        k
        for k, v in template.find_resources("AWS::Lambda::Function").items()
        if v["Properties"].get("FunctionName") == "CloudTrailGuardian-remediation"
    ]
    [queue_id] = list(template.find_resources("AWS::SQS::Queue"))
    for name in DENIED:
        [target] = found[name]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
        assert target["InputTransformer"]["InputPathsMap"] == {"detail": "$.detail"}
        assert json.loads(target["InputTransformer"]["InputTemplate"].replace("<detail>", "{}")) == {
            "guardian": GUARD_DENIED,
            "detail": {},
        }
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}


@pytest.mark.threat("alert-flood")
def test_a_refused_call_matches_guard_denied_and_no_guard(default_synth: Any) -> None:
    template, _ = default_synth
    found = rules(template)

    def matched(event: Any) -> set[str]:
        return {name for name, props in found.items() if matcher(props).matches_event(event)}

    denied: dict[str, Any] = {"errorCode": "AccessDenied", "errorMessage": "not authorized"}
    delete: Call = ("lambda", "DeleteFunction20150331", {"functionName": "CloudTrailGuardian-remediation"})
    assert matched(api_call(*delete, source_ip=OUT, **denied)) == {"CloudTrailGuardian-guard-denied"}
    assert matched(api_call(*delete, source_ip=OUT)) == {"CloudTrailGuardian-guard-lambda"}
    by_stack = "cloudformation.amazonaws.com"
    assert matched(api_call(*delete, source_ip=by_stack, **denied)) == {"CloudTrailGuardian-guard-denied"}
    assert matched(api_call(*delete, source_ip=by_stack)) == {"CloudTrailGuardian-guard-cfn-lambda"}

    [topic_id] = template.find_resources("AWS::SNS::Topic")
    subscribe: Call = (
        "sns",
        "Subscribe",
        {"topicArn": f"ref:{topic_id}", "protocol": "email", "endpoint": "m@x.example"},
    )
    assert matched(api_call(*subscribe, source_ip=OUT, **denied)) == {"CloudTrailGuardian-guard-denied"}
    assert matched(api_call(*subscribe, source_ip=OUT)) == {"CloudTrailGuardian-guard-sns"}

    disable: Call = ("events", "DisableRule", {"name": "CloudTrailGuardian-zzz"})
    assert matched(api_call(*disable, source_ip=OUT, errorCode="ResourceNotFoundException")) == {
        "CloudTrailGuardian-guard-denied"
    }

    bucket_id = next(k for k in template.find_resources("AWS::S3::Bucket") if "EvidenceBucket" in k)
    policy: Call = ("s3", "PutBucketPolicy", {"bucketName": f"ref:{bucket_id}"})
    assert matched(api_call(*policy, source_ip=OUT, **denied)) == {"CloudTrailGuardian-guard-denied-access"}
    assert matched(api_call(*policy, source_ip=OUT)) == {"CloudTrailGuardian-guard-s3"}

    # someone else's resources, refused: not the guardian's business
    other: Call = ("lambda", "DeleteFunction20150331", {"functionName": "payments"})
    assert matched(api_call(*other, source_ip=OUT, **denied)) == set()
    # a refused read of the guardian's function is no attempt to change it
    read: Call = ("lambda", "GetFunction20150331v2", {"functionName": "CloudTrailGuardian-remediation"})
    assert matched(api_call(*read, source_ip=OUT, **denied)) == set()
