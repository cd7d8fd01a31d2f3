"""``guardian approve`` and ``guardian selftest`` end to end (issue 8): the synthesized template deployed into
moto_server on 127.0.0.1, its functions run from the deployed asset in their own processes (the simulation's Lambda),
StopLogging delivered to the tamper rule as CloudTrail would, and the console run as a user runs it, with an
approver's credentials, a non-approver's, and forged requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from guardian.model.operator_requests import REQUEST_KEY
from guardian_console import operator
from guardian_console.deployed import Deployed
from simulation import deploy
from simulation.cloudtrail_events import recording_calls
from simulation.lambda_runner import Runs, running_functions
from simulation.moto_server import LocalAws, local_aws
from tests.e2e.conftest import OPERATOR, Console, console_at, today

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.synth,
    pytest.mark.filterwarnings("ignore:Tried to parse"),
]

TRAIL, BUCKET, NEW_BUCKET = "org-audit", "org-audit-logs", "org-archive-logs"


@dataclass(frozen=True)
class Operated:
    aws: LocalAws
    deployment: deploy.Deployment
    runs: Runs
    keys: dict[str, dict[str, str]]  # user name: access key id and secret

    @property
    def sentinel(self) -> str:
        return self.deployment.outputs["SentinelTrailName"]

    def deployed(self) -> Deployed:
        o = self.deployment.outputs
        return Deployed(
            "CloudTrailGuardian",
            "123456789012",
            "us-east-1",
            o["EvidenceBucketName"],
            o["AlertsTopicArn"],
            o["RemediationFunctionName"],
            o["SweepFunctionName"],
            o["DeadLetterQueueUrl"],
            o["SigningKeyArn"],
            ("us-east-1",),
            self.sentinel,
        )


def _logging_bucket(aws: LocalAws, name: str) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": ["s3:GetBucketAcl", "s3:PutObject"],
                "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
            }
        ],
    }
    aws.client("s3").create_bucket(Bucket=name)
    aws.client("s3").put_bucket_policy(Bucket=name, Policy=json.dumps(policy))


@pytest.fixture(scope="module")
def operated(template: Path) -> Iterator[Operated]:
    """One deployment with a protected trail, swept once (baselines recorded); an approver and a non-approver."""
    with (
        local_aws() as aws,
        running_functions(aws.endpoint, events=True) as runs,
        recording_calls(),
    ):
        deployment = deploy.deploy(aws, template)
        iam = aws.client("iam")
        keys = {}
        for user in (OPERATOR, "mallory"):
            iam.create_user(UserName=user)
            key = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
        _logging_bucket(aws, BUCKET)
        _logging_bucket(aws, NEW_BUCKET)
        cloudtrail = aws.client("cloudtrail")
        cloudtrail.create_trail(Name=TRAIL, S3BucketName=BUCKET, IsMultiRegionTrail=True)
        cloudtrail.start_logging(Name=TRAIL)
        sweep = aws.client("lambda").invoke(FunctionName=deployment.outputs["SweepFunctionName"], Payload=b"{}")
        assert "FunctionError" not in sweep, sweep["Payload"].read()
        yield Operated(aws, deployment, runs, keys)


def as_user(operated: Operated, user: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Console:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", operated.keys[user]["id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", operated.keys[user]["secret"])
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return console_at(operated.aws.endpoint, monkeypatch, capsys)


@pytest.fixture
def approver(operated: Operated, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Console:
    return as_user(operated, OPERATOR, monkeypatch, capsys)


@pytest.fixture
def mallory(operated: Operated, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Console:
    return as_user(operated, "mallory", monkeypatch, capsys)


def _record(operated: Operated, key: str) -> dict[str, Any]:
    bucket = operated.deployment.outputs["EvidenceBucketName"]
    found: dict[str, Any] = json.loads(operated.aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    return found


def _records(operated: Operated, event: str) -> list[dict[str, Any]]:
    bucket = operated.deployment.outputs["EvidenceBucketName"]
    listed = operated.aws.client("s3").list_objects_v2(Bucket=bucket, Prefix="evidence/").get("Contents", [])
    records = [_record(operated, item["Key"]) for item in listed if not item["Key"].endswith(".sig")]
    return [r for r in records if r["what"]["event_name"] == event]


def _logging(operated: Operated, name: str) -> bool:
    return bool(operated.aws.client("cloudtrail").get_trail_status(Name=name)["IsLogging"])


def _leftovers(operated: Operated) -> tuple[list[str], list[str]]:
    queues = operated.aws.client("sqs").list_queues().get("QueueUrls", [])
    topic = operated.deployment.outputs["AlertsTopicArn"]
    subscriptions = operated.aws.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    return [q for q in queues if "guardian-selftest" in q], [
        s["Endpoint"] for s in subscriptions if "selftest" in s["Endpoint"]
    ]


# -- selftest ----------------------------------------------------------------------------------------------------


def test_the_self_test_passes_with_its_times_and_leaves_nothing_behind(operated: Operated, approver: Console) -> None:
    status, out, err = approver("selftest", "--timeout", "60", "--json")
    assert (status, err) == (0, "")
    outcome = json.loads(out)
    assert outcome["passed"] is True, outcome
    assert outcome["stage"] == "healed and alerted"
    assert outcome["alert_subject"].startswith("[SELF-TEST] [INFO] CloudTrail logging stopped")
    timings = outcome["timings"]
    for name in ("delivery_seconds", "heal_seconds", "blind_window_seconds", "alert_received_seconds"):
        assert isinstance(timings[name], int | float), name
        assert timings[name] >= 0, name
    assert timings["delivery_seconds"] <= timings["alert_received_seconds"]
    assert outcome["restarted_by_console"] is False
    assert _logging(operated, operated.sentinel)
    assert _leftovers(operated) == ([], [])
    assert len(outcome["cleaned_up"]) == 2
    record = _record(operated, outcome["evidence_key"])  # the self-test's evidence says so
    assert record["purpose"]["kind"] == "selftest"
    assert record["purpose"]["id"] == outcome["id"]
    assert record["purpose"]["by"].endswith(f":user/{OPERATOR}")
    assert (record["severity"], record["outcome"]) == ("INFO", "healed")


def test_the_self_test_prints_pass_and_each_time(approver: Console) -> None:
    status, out, _ = approver("selftest", "--timeout", "60")
    assert status == 0
    assert out.startswith("PASS: the guardian healed the sentinel")
    for label in ("delivery", "heal", "blind window", "alert received", "evidence", "removed"):
        assert f"\n  {label}" in out, label


def test_a_stop_of_the_sentinel_without_a_self_test_alarms_as_tampering(operated: Operated) -> None:
    """Only a registered self-test, by the same caller, is marked: mallory's StopLogging of the sentinel is not."""
    key = operated.keys["mallory"]
    cloudtrail = operated.aws.client("cloudtrail", aws_access_key_id=key["id"], aws_secret_access_key=key["secret"])
    before = len(_records(operated, "StopLogging"))
    cloudtrail.stop_logging(Name=operated.sentinel)
    operated.runs.wait()
    records = _records(operated, "StopLogging")
    assert len(records) == before + 1
    newest = max(records, key=lambda r: r["written_at"])
    assert newest["purpose"] is None
    assert newest["who"]["arn"].endswith(":user/mallory")
    assert newest["severity"] == "HIGH"
    assert _logging(operated, operated.sentinel)


def test_a_self_test_by_someone_not_an_approver_is_refused_and_alerted(operated: Operated, mallory: Console) -> None:
    status, out, _ = mallory("selftest", "--timeout", "10", "--json")
    assert status == 1
    outcome = json.loads(out)
    assert outcome["stage"] == "registration"
    assert "is not one of this deployment's approvers" in outcome["message"]
    assert _logging(operated, operated.sentinel)  # never stopped
    assert _leftovers(operated) == ([], [])
    refused = [  # STS proved who asked: the refusal names them (issue 22)
        r for r in _records(operated, "OperatorRequestRefused") if str(r["who"]["arn"]).endswith(":user/mallory")
    ]
    assert any("selftest trail" in r["decision"]["reason"] for r in refused)
    assert all(r["severity"] == "HIGH" for r in refused)


def test_a_self_test_whose_event_never_arrives_fails_at_the_event_and_restarts_the_sentinel(
    operated: Operated, approver: Console
) -> None:
    events = operated.aws.client("events")
    rule = operated.deployment.outputs["TamperRuleName"]
    events.disable_rule(Name=rule)
    try:
        status, out, _ = approver("selftest", "--timeout", "3", "--json")
    finally:
        events.enable_rule(Name=rule)
    assert status == 1
    outcome = json.loads(out)
    assert outcome["stage"] == "event"
    assert outcome["message"].startswith("the event never arrived")
    assert outcome["restarted_by_console"] is True
    assert _logging(operated, operated.sentinel)
    assert _leftovers(operated) == ([], [])


# -- approve -----------------------------------------------------------------------------------------------------


def test_an_approved_change_becomes_the_baseline_and_the_sweep_keeps_it(operated: Operated, approver: Console) -> None:
    cloudtrail = operated.aws.client("cloudtrail")
    cloudtrail.update_trail(Name=TRAIL, S3BucketName=NEW_BUCKET)  # a change the sweep would put back
    status, out, err = approver("approve", "--trail", TRAIL, "--reason", "CHG-1234: the new archive bucket", "--json")
    assert (status, err) == (0, "")
    answer = json.loads(out)
    assert answer["ok"] is True
    assert answer["by"].endswith(f":user/{OPERATOR}")
    approved = answer["approved"]
    assert approved["baseline"] == f"baselines/us-east-1/{TRAIL}.json"
    assert approved["changes"] == ["s3_bucket"]
    assert f"bucket:{NEW_BUCKET}" in approved["resources"]
    record = _record(operated, approved["evidence_key"])
    assert record["purpose"] == {
        "kind": "approval",
        "id": approved["evidence_key"].rsplit("approve-", 1)[1].removesuffix(".json"),
        "by": answer["by"],
        "reason": "CHG-1234: the new archive bucket",
    }
    assert (record["detected_by"], record["severity"]) == ("operator", "MEDIUM")
    assert [c["field"] for c in record["changes"]] == ["s3_bucket"]
    sweep = operated.aws.client("lambda").invoke(
        FunctionName=operated.deployment.outputs["SweepFunctionName"], Payload=b"{}"
    )
    summary = json.loads(sweep["Payload"].read())
    assert "FunctionError" not in sweep, summary
    trail = cloudtrail.describe_trails(trailNameList=[TRAIL])["trailList"]
    assert next(t for t in trail if t["Name"] == TRAIL)["S3BucketName"] == NEW_BUCKET  # kept, not put back


def test_approve_refuses_a_trail_that_does_not_exist(approver: Console) -> None:
    status, out, err = approver("approve", "--trail", "no-such-trail", "--reason", "x")
    assert (status, out) == (2, "")
    assert err.strip() == (
        "guardian: error: no trail named no-such-trail in us-east-1 "
        "(check the name, and pass the trail's --trail-region)"
    )


def test_approve_refuses_a_trail_that_is_not_logging(operated: Operated, approver: Console) -> None:
    cloudtrail = operated.aws.client("cloudtrail")
    cloudtrail.create_trail(Name="quiet-trail", S3BucketName=BUCKET)
    status, _, err = approver("approve", "--trail", "quiet-trail", "--reason", "x")
    cloudtrail.delete_trail(Name="quiet-trail")
    assert status == 2
    assert "trail quiet-trail is not logging: a trail that does not log is never approved" in err


def test_approve_by_someone_not_an_approver_is_refused_alerted_and_writes_nothing(
    operated: Operated, mallory: Console
) -> None:
    s3 = operated.aws.client("s3")
    bucket = operated.deployment.outputs["EvidenceBucketName"]
    key = f"baselines/us-east-1/{TRAIL}.json"
    before = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    status, _, err = mallory("approve", "--trail", TRAIL, "--reason", "trust me")
    assert status == 2
    assert "the guardian refused the approval" in err
    assert "arn:aws:iam::123456789012:user/mallory is not one of this deployment's approvers" in err
    assert s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"] == before
    refused = _records(operated, "OperatorRequestRefused")
    assert any("approve trail org-audit" in r["decision"]["reason"] for r in refused)


def _invoke(operated: Operated, payload: dict[str, Any]) -> dict[str, Any]:
    response = operated.aws.client("lambda").invoke(
        FunctionName=operated.deployment.outputs["SweepFunctionName"], Payload=json.dumps(payload).encode()
    )
    answer: dict[str, Any] = json.loads(response["Payload"].read())
    return answer


def _refused(operated: Operated, payload: dict[str, Any]) -> dict[str, Any]:
    """A request no approver proved: the function raises (a function error, so the dead man's switch never counts
    it as a sweep) with the refusal as its message."""
    answer = _invoke(operated, payload)
    assert answer["errorType"] == "NotASweep", answer
    refusal: dict[str, Any] = json.loads(answer["errorMessage"])
    return refusal


def _signed(operated: Operated, user: str, **changes: str) -> dict[str, Any]:
    import boto3  # noqa: PLC0415

    key = operated.keys[user]
    session = boto3.session.Session(
        aws_access_key_id=key["id"], aws_secret_access_key=key["secret"], region_name="us-east-1"
    )
    body = operator.request(
        "approve",
        operated.deployed(),
        trail=TRAIL,
        region="us-east-1",
        reason="replayed",
        now=datetime.now(UTC),
    )
    payload = {REQUEST_KEY: body, "proof": operator.proof(session, "us-east-1", body)}
    payload[REQUEST_KEY] = {**body, **changes}
    return payload


def test_a_replayed_approval_is_served_once(operated: Operated, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", operated.aws.endpoint)
    payload = _signed(operated, OPERATOR)
    first, second = _invoke(operated, payload), _invoke(operated, payload)
    assert first["ok"] is True
    assert second["ok"] is False
    assert "was served already" in second["refused"]


def test_a_proof_moved_to_another_request_is_refused(operated: Operated, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", operated.aws.endpoint)
    answer = _refused(operated, _signed(operated, OPERATOR, trail=operated.sentinel))
    assert answer == {"ok": False, "id": answer["id"], "refused": "the proof was signed for another request"}


def test_a_request_without_a_proof_is_refused(operated: Operated, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", operated.aws.endpoint)
    payload = _signed(operated, OPERATOR)
    del payload["proof"]
    answer = _refused(operated, payload)
    assert answer["ok"] is False
    assert answer["refused"].startswith("the request carries no proof of who sent it")


def test_a_malformed_request_is_refused_and_names_the_fields(operated: Operated) -> None:
    answer = _refused(operated, {REQUEST_KEY: {"action": "delete-everything"}})
    assert answer == {
        "ok": False,
        "refused": f"malformed request: {REQUEST_KEY} needs text fields: account, at, id, reason, region, trail",
    }


# -- the report ----------------------------------------------------------------------------------------------------


def test_the_report_counts_self_tests_and_approvals_apart(operated: Operated, approver: Console) -> None:
    assert approver("selftest", "--timeout", "60")[0] == 0
    assert approver("approve", "--trail", TRAIL, "--reason", "quarterly review")[0] == 0
    status, out, _ = approver("report", "--from", today(), "--to", today(), "--format", "json")
    assert status == 0
    report = json.loads(out)
    rows, summary = report["rows"], report["summary"]
    tests = [r for r in rows if r["purpose"] == "selftest"]
    approvals = [r for r in rows if r["purpose"] == "approval"]
    assert tests
    assert approvals
    assert summary["self_tests"]["run"] == len(tests)
    assert summary["self_tests"]["passed"] == sum(r["outcome"] == "healed" for r in tests)
    assert summary["approvals"] == len(approvals)
    assert summary["incidents"] == len(rows) - len(tests) - len(approvals)
    assert sum(summary["by_outcome"].values()) == summary["incidents"]
    assert all(r["detected_by"] == "operator" for r in approvals)
    status, out, _ = approver("incidents", "--since", "1d")
    assert "StopLogging (selftest)" in out


def test_the_self_test_marker_is_signed_and_short_lived(operated: Operated, approver: Console) -> None:
    """The marker the self-test registered is signed and short-lived: until five minutes after registration."""
    assert approver("selftest", "--timeout", "60")[0] == 0
    bucket = operated.deployment.outputs["EvidenceBucketName"]
    key = f"selftests/us-east-1/{operated.sentinel}.json"
    marker = json.loads(operated.aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    registered = datetime.fromisoformat(marker["registered_at"].replace("Z", "+00:00"))
    until = datetime.fromisoformat(marker["until"].replace("Z", "+00:00"))
    assert until - registered == timedelta(minutes=5)
    assert marker["signature"]["algorithm"] == "RSASSA_PKCS1_V1_5_SHA_256"


def test_approve_and_selftest_name_a_bad_option_in_one_line(approver: Console) -> None:
    status, out, err = approver("approve", "--trail", TRAIL, "--trail-region", "eu-west-1", "--reason", "x")
    assert (status, out) == (2, "")
    assert err.strip() == (
        "guardian: error: eu-west-1 is not a Region this guardian covers (us-east-1) "
        "(pass --trail-region with a covered Region, or add it to regions in cdk.json and deploy)"
    )
    status, out, err = approver("approve", "--trail", TRAIL, "--reason", "   ")
    assert (status, err.strip()) == (
        2,
        'guardian: error: an approval needs a reason (pass --reason "why this configuration is right")',
    )
    status, out, err = approver("selftest", "--timeout", "0")
    assert (status, err.strip()) == (2, "guardian: error: --timeout must be more than 0 seconds, not 0.0")
