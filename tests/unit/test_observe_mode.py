"""Observe mode's pieces that need no AWS: the mode and its tag (stricter only), the function's setting, the plan's
per-thread recording, the observed alert and record, and the console's reading of the deployed mode."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from guardian.flows.observe import observed, tag_ignored
from guardian.model.alert import alert_document
from guardian.model.config import Config
from guardian.model.config_values import ConfigError
from guardian.model.decide import PolicyContext, decide
from guardian.model.events import parse_event
from guardian.model.evidence import evidence_record
from guardian.model.mode import Mode, PlannedCall, allowed_in_observe, effective, ignored_tag, tag_mode
from guardian.model.results import Result
from guardian.model.rules import Outcome, Severity
from guardian.ports.invocation import Invocation
from guardian.ports.plan import CallPlan
from guardian_console.deployed import Deployed
from guardian_console.status import function_modes, mode_health
from tests.support import ACCOUNT, load_event

TAG = "cloudtrail-guardian:mode"
ENV = {
    "GUARDIAN_TOPIC_ARN": f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts",
    "GUARDIAN_EVIDENCE_BUCKET": "guardian-evidence",
}
CONTEXT = PolicyContext(account_id=ACCOUNT, self_role_arn=None, exempt_principals=())
START = PlannedCall("cloudtrail", "StartLogging", "us-east-1", {"Name": "management-trail"})


def run(plan: CallPlan | None) -> Invocation:
    return Invocation(lambda: datetime(2026, 11, 20, tzinfo=UTC), lambda _: None, plan=plan)


def test_a_tag_can_make_the_guardian_stricter_never_weaker() -> None:
    assert effective(Mode.OBSERVE, [(TAG, "heal")]) is Mode.HEAL
    assert effective(Mode.HEAL, [(TAG, "observe")]) is Mode.HEAL
    assert effective("observe", [(TAG, "HEAL ")]) is Mode.HEAL
    assert effective(Mode.OBSERVE, [("owner", "heal")]) is Mode.OBSERVE
    assert tag_mode([(TAG, "off")]) is None
    assert ignored_tag(Mode.HEAL, [(TAG, "observe")])
    assert not ignored_tag(Mode.OBSERVE, [(TAG, "observe")])


def test_observe_makes_reads_and_the_guardians_own_writes_only() -> None:
    assert allowed_in_observe("cloudtrail", "GetTrailStatus", {}, "ev")
    assert allowed_in_observe("s3", "PutObject", {"Bucket": "ev"}, "ev")
    assert not allowed_in_observe("s3", "PutObject", {"Bucket": "trail-logs"}, "ev")
    assert not allowed_in_observe("s3", "PutBucketPolicy", {"Bucket": "ev"}, "ev")
    assert allowed_in_observe("sns", "Publish", {}, "ev")
    assert allowed_in_observe("dynamodb", "PutItem", {}, "ev")
    for write in ("StartLogging", "UpdateTrail", "PutEventSelectors", "CreateTrail", "AddTags"):
        assert not allowed_in_observe("cloudtrail", write, {}, "ev")
    for write in ("EnableKey", "CancelKeyDeletion", "PutKeyPolicy"):
        assert not allowed_in_observe("kms", write, {}, "ev")


def test_the_function_reads_its_mode_lazily_and_names_the_variable_when_wrong() -> None:
    assert Config.from_env(ENV).mode == "heal"
    assert Config.from_env({**ENV, "GUARDIAN_MODE": " Observe"}).mode == "observe"
    with pytest.raises(ConfigError, match="GUARDIAN_MODE must be observe or heal"):
        Config.from_env({**ENV, "GUARDIAN_MODE": "dry-run"})


def test_each_thread_records_its_own_calls_and_healing_lets_them_through() -> None:
    plan = CallPlan()
    assert plan.intercept(START)
    other: list[tuple[PlannedCall, ...]] = []
    worker = threading.Thread(target=lambda: other.append(plan.take()))
    worker.start()
    worker.join()
    assert other == [()]
    assert plan.pending
    with plan.healing():
        assert not plan.intercept(START)
        assert not plan.recording
    assert plan.take() == (START,)
    assert plan.take() == ()


def healed_result() -> Result:
    event = parse_event(load_event("stop_logging"))
    decision = decide(event, CONTEXT)
    return Result(event, decision, Outcome.HEAL_FAILED, Severity.CRITICAL, diagnosis="still not logging")


def test_an_observed_undo_is_reported_with_its_calls_and_nothing_taken() -> None:
    plan = CallPlan()
    plan.intercept(START)
    result = observed(healed_result(), run(plan))
    assert (result.outcome, result.severity, result.planned, result.actions) == (
        Outcome.OBSERVED,
        Severity.HIGH,  # the row's, as a heal would have had it: the verification's failure is the plan's
        (START,),
        (),
    )
    alert = alert_document(result, evidence_bucket="b", evidence_key="k", function_name="f")
    assert alert["outcome"] == "observed"
    assert alert["action"]["planned"] == [
        {
            "service": "cloudtrail",
            "operation": "StartLogging",
            "region": "us-east-1",
            "parameters": {"Name": "management-trail"},
        }
    ]
    assert "heal would have called cloudtrail:StartLogging." in alert["summary"]
    record = evidence_record(
        result,
        written_at=datetime(2026, 11, 20, tzinfo=UTC),
        topic_arn="t",
        alert_subject="s",
        function_name="f",
        request_id="r",
        boto3_version="1",
        botocore_version="1",
    )
    assert record["planned"] == alert["action"]["planned"]
    assert record["outcome"] == "observed"


def test_heal_or_nothing_recorded_leaves_the_result_as_it_is() -> None:
    result = healed_result()
    assert observed(result, run(None)) is result
    assert observed(result, run(CallPlan())) is result


@pytest.mark.threat("observe-tag")
def test_an_add_tags_setting_mode_observe_under_heal_is_alerted_high_as_ignored() -> None:
    raw = load_event("add_tags")
    raw["detail"]["requestParameters"]["tagsList"] = [{"key": TAG, "value": "observe"}]
    event = parse_event(raw)
    decision = decide(event, CONTEXT)
    heal, watch = Config.from_env(ENV), Config.from_env({**ENV, "GUARDIAN_MODE": "observe"})
    assert tag_ignored(event, decision, heal).severity is Severity.HIGH
    assert "is ignored" in tag_ignored(event, decision, heal).reason
    assert tag_ignored(event, decision, watch) == decision
    other = replace(event, request_parameters={"tagsList": [{"key": "owner", "value": "x"}]})
    assert tag_ignored(other, decision, heal) == decision


DEPLOYED = Deployed(
    stack="CloudTrailGuardian",
    account=ACCOUNT,
    region="us-east-1",
    evidence_bucket="evidence",
    topic_arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts",
    remediation_function="CloudTrailGuardian-remediation",
    sweep_function="CloudTrailGuardian-sweep",
    dead_letter_queue="https://sqs/dlq",
    signing_key=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k",
    regions=("us-east-1",),
)


class Session:
    def __init__(self) -> None:
        self.lambda_ = boto3.client("lambda", region_name="us-east-1")
        self.stub = Stubber(self.lambda_)

    def client(self, service: str, **_: Any) -> Any:
        assert service == "lambda"
        return self.lambda_


def test_the_console_reads_each_functions_mode_and_flags_a_disagreement() -> None:
    session = Session()
    session.stub.add_response(
        "get_function_configuration",
        {"Environment": {"Variables": {"GUARDIAN_MODE": "observe"}}},
        {"FunctionName": "CloudTrailGuardian-remediation"},
    )
    session.stub.add_response(
        "get_function_configuration", {"Environment": {"Variables": {}}}, {"FunctionName": "CloudTrailGuardian-sweep"}
    )
    with session.stub:
        modes = function_modes(session, DEPLOYED)
    assert modes == {"remediation": "observe", "sweep": "heal"}
    assert mode_health(modes).problem is not None
    assert mode_health({"remediation": "observe", "sweep": "observe"}).state.startswith("observe")
    assert mode_health({"remediation": "heal", "sweep": "heal"}) == mode_health({"sweep": "heal"})
