"""The guardian's side of ``approve`` and ``selftest`` against moto: each refusal, named, with nothing written; and
a self-test marker only the guardian could have signed. STS's answer is given (moto in-process has no endpoint to
send a proof to; the whole exchange over HTTP is tested in tests/e2e/test_operator.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from guardian.adapters.clients import Boto3Clients
from guardian.adapters.full import FullAdapter
from guardian.flows import operator
from guardian.flows.selftest import marked
from guardian.model.caller_proof import REQUEST_HEADER, request_digest
from guardian.model.config import Config
from guardian.model.events import parse_event
from guardian.model.operator_requests import REQUEST_KEY, selftest_key
from guardian.model.results import Result
from guardian.model.rules import Outcome, Severity
from guardian.ports.invocation import Invocation
from tests.support import signing_key

ACCOUNT, SENTINEL, TRAIL = "123456789012", "CloudTrailGuardian-sentinel", "org-audit"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


class Adapter(FullAdapter):
    """STS's answer, given: the caller is whoever the test says."""

    caller = ALICE

    def caller_identity(self, url: str, headers: dict[str, str], body: str) -> bytes:
        return f"<R><Arn>{self.caller}</Arn><Account>{self.caller.split(':')[4]}</Account></R>".encode()


@pytest.fixture
def account() -> Iterator[tuple[Adapter, Config]]:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="evidence", ObjectLockEnabledForBucket=True)
        s3.create_bucket(Bucket="org-audit-logs")
        topic = boto3.client("sns").create_topic(Name="alerts")["TopicArn"]
        key = signing_key()
        config = Config.from_env(
            {
                "GUARDIAN_TOPIC_ARN": topic,
                "GUARDIAN_EVIDENCE_BUCKET": "evidence",
                "GUARDIAN_SIGNING_KEY_ARN": key,
                "GUARDIAN_APPROVERS": json.dumps([ALICE]),
                "GUARDIAN_SENTINEL_TRAIL": SENTINEL,
                "GUARDIAN_SWEEP_REGIONS": '["us-east-1"]',
            }
        )
        ct = boto3.client("cloudtrail")
        for name in (SENTINEL, TRAIL):
            ct.create_trail(Name=name, S3BucketName="org-audit-logs")
            ct.start_logging(Name=name)
        aws = Adapter(
            Boto3Clients(boto3.session.Session()),
            topic_arn=topic,
            topic_region="us-east-1",
            evidence_bucket="evidence",
            signing_key=key,
        )
        yield aws, config


def run() -> Invocation:
    return Invocation(lambda: datetime.now(UTC), lambda _s: None, "test")


def payload(action: str = "approve", trail: str = TRAIL, **changes: str) -> dict[str, Any]:
    """A request with a proof in the shape the console makes (its signature is STS's business)."""
    body = {
        "action": action,
        "id": "6f0c3a1e-1b2c-4d5e-8f90-123456789abc",
        "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "account": ACCOUNT,
        "region": "us-east-1",
        "trail": trail,
        "reason": "CHG-1234",
        **changes,
    }
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20261127/us-east-1/sts/aws4_request, "
        f"SignedHeaders=content-type;host;x-amz-date;{REQUEST_HEADER}, Signature={'0' * 64}",
        "X-Amz-Date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        REQUEST_HEADER: request_digest(body),
    }
    url = "https://sts.us-east-1.amazonaws.com/"
    return {
        REQUEST_KEY: body,
        "proof": {"url": url, "body": "Action=GetCallerIdentity&Version=2011-06-15", "headers": headers},
    }


def baseline_versions() -> int:
    listed = boto3.client("s3").list_object_versions(Bucket="evidence", Prefix="baselines/")
    return len(listed.get("Versions", []))


@pytest.mark.parametrize(
    ("prepare", "refused"),
    [
        (lambda ct: None, None),
        (lambda ct: ct.stop_logging(Name=TRAIL), "is below the floor|cannot be approved as it is: logging is off"),
        (
            lambda ct: ct.put_event_selectors(
                TrailName=TRAIL, EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}]
            ),
            "management events \\(read and write\\) are not recorded",
        ),
        (lambda ct: ct.delete_trail(Name=TRAIL), f"no trail named {TRAIL} in us-east-1"),
        (lambda ct: boto3.client("s3").delete_bucket(Bucket="org-audit-logs"), "bucket org-audit-logs does not exist"),
    ],
)
@pytest.mark.threat("forged-operator")
def test_an_approval_is_served_or_refused_with_the_reason_and_nothing_written(
    account: tuple[Adapter, Config], prepare: Any, refused: str | None
) -> None:
    aws, config = account
    prepare(boto3.client("cloudtrail"))
    answer = operator.serve(payload(), aws, config, run())
    if refused is None:
        assert answer["ok"] is True
        assert answer["approved"]["baseline"] == f"baselines/us-east-1/{TRAIL}.json"
        assert baseline_versions() == 2  # the trail's and its bucket's
        return
    assert answer["ok"] is False
    assert re.search(refused, answer["refused"]), answer
    assert baseline_versions() == 0


def test_a_trail_in_a_region_not_covered_or_not_its_home_is_refused(account: tuple[Adapter, Config]) -> None:
    aws, config = account
    answer = operator.serve(payload(region="eu-west-1"), aws, config, run())
    assert answer["refused"] == "eu-west-1 is not a Region this guardian covers (us-east-1)"
    protected_elsewhere = Config(**{**config.__dict__, "protect_trails": (SENTINEL,)})
    answer = operator.serve(payload(), aws, protected_elsewhere, run())
    assert answer["refused"] == f"trail {TRAIL} is not protected by this guardian: it holds no baseline for it"


def test_a_disabled_kms_key_is_refused(account: tuple[Adapter, Config]) -> None:
    aws, config = account
    key = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    boto3.client("cloudtrail").update_trail(Name=TRAIL, KmsKeyId=key)
    boto3.client("kms").disable_key(KeyId=key)
    answer = operator.serve(payload(), aws, config, run())
    assert answer["refused"].startswith(f"the trail's KMS key {key} is Disabled")


@pytest.mark.threat("forged-operator")
def test_a_caller_not_an_approver_or_of_another_account_is_refused_and_alerted(account: tuple[Adapter, Config]) -> None:
    aws, config = account
    aws.caller = f"arn:aws:iam::{ACCOUNT}:user/mallory"
    answer = operator.serve(payload(), aws, config, run())
    assert answer["refused"] == f"arn:aws:iam::{ACCOUNT}:user/mallory is not one of this deployment's approvers"
    listed = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="evidence").get("Contents", [])]
    keys = [k for k in listed if not k.endswith(".sig")]  # each record has its signature beside it
    assert keys == [f"evidence/{datetime.now(UTC):%Y/%m/%d}/approve-6f0c3a1e-1b2c-4d5e-8f90-123456789abc.json"]
    record = json.loads(boto3.client("s3").get_object(Bucket="evidence", Key=keys[0])["Body"].read())
    assert (record["severity"], record["what"]["event_name"]) == ("HIGH", "OperatorRequestRefused")
    aws.caller = "arn:aws:iam::999999999999:user/alice"
    answer = operator.serve(payload(), aws, config, run())
    assert answer["refused"] == f"arn:aws:iam::999999999999:user/alice is not of this account ({ACCOUNT})"
    nobody = Config(**{**config.__dict__, "approvers": ()})
    aws.caller = ALICE
    answer = operator.serve(payload(), aws, nobody, run())
    assert "this deployment names no approvers (set approvers in cdk.json and deploy)" in answer["refused"]


def test_a_self_test_is_registered_only_for_the_sentinel_while_it_logs(account: tuple[Adapter, Config]) -> None:
    aws, config = account
    assert operator.serve(payload("selftest", TRAIL), aws, config, run())["refused"] == (
        f"a self-test stops only the sentinel trail {SENTINEL} (us-east-1)"
    )
    no_sentinel = Config(**{**config.__dict__, "sentinel_trail": None})
    assert "has no sentinel trail" in operator.serve(payload("selftest", SENTINEL), aws, no_sentinel, run())["refused"]
    boto3.client("cloudtrail").stop_logging(Name=SENTINEL)
    assert "is not logging" in operator.serve(payload("selftest", SENTINEL), aws, config, run())["refused"]
    boto3.client("cloudtrail").start_logging(Name=SENTINEL)
    answer = operator.serve(payload("selftest", SENTINEL), aws, config, run())
    assert answer["selftest"]["key"] == selftest_key("us-east-1", SENTINEL)


def stop_of_sentinel(by: str) -> Result:
    from tests.support import load_event  # noqa: PLC0415

    raw = load_event("stop_logging")
    raw["detail"]["requestParameters"]["name"] = SENTINEL
    raw["detail"]["userIdentity"] = {"type": "IAMUser", "arn": by, "accountId": ACCOUNT}
    raw["detail"]["eventTime"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    event = parse_event(raw)
    from guardian.model.decide import decide  # noqa: PLC0415

    decision = decide(
        event,
        Config.from_env(
            {"GUARDIAN_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t", "GUARDIAN_EVIDENCE_BUCKET": "evidence"}
        ).policy,
    )
    return Result(event, decision, Outcome.HEALED, Severity.HIGH)


@pytest.mark.threat("selftest-marker")
def test_only_a_marker_the_guardian_signed_makes_a_stop_a_self_test(account: tuple[Adapter, Config]) -> None:
    aws, config = account
    forged = {
        "schema": "cloudtrail-guardian/selftest",
        "id": "x",
        "by": ALICE,
        "trail": SENTINEL,
        "region": "us-east-1",
        "reason": "",
        "registered_at": datetime.now(UTC).isoformat(),
        "until": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
    }
    boto3.client("s3").put_object(Bucket="evidence", Key=selftest_key("us-east-1", SENTINEL), Body=json.dumps(forged))
    assert marked(stop_of_sentinel(ALICE), aws, SENTINEL, run()).purpose is None  # written by an insider: not signed
    operator.serve(payload("selftest", SENTINEL), aws, config, run())
    result = marked(stop_of_sentinel(ALICE), aws, SENTINEL, run())
    assert result.purpose is not None
    assert (result.purpose.kind, result.severity) == ("selftest", Severity.INFO)
    assert marked(stop_of_sentinel(f"arn:aws:iam::{ACCOUNT}:user/mallory"), aws, SENTINEL, run()).purpose is None


def test_a_marker_that_cannot_be_read_in_its_seconds_marks_nothing(account: tuple[Adapter, Config]) -> None:
    """The marker is read before the alert, so only in the time the alert can spare (here none): then the stop is
    alerted as tampering, never held back."""
    aws, config = account
    operator.serve(payload("selftest", SENTINEL), aws, config, run())
    no_time = Invocation(lambda: datetime.now(UTC), lambda _s: None, "test", remaining=lambda: 25.0)
    assert marked(stop_of_sentinel(ALICE), aws, SENTINEL, no_time).purpose is None
    assert marked(stop_of_sentinel(ALICE), aws, SENTINEL, run()).purpose is not None


def test_sts_out_of_reach_is_a_failure_not_a_refusal(account: tuple[Adapter, Config]) -> None:
    """No alert names an intruder when STS cannot be reached: the request fails (the console says so) and can be
    sent again."""
    import urllib.error  # noqa: PLC0415

    aws, config = account

    def unreachable(url: str, headers: dict[str, str], body: str) -> bytes:
        raise urllib.error.URLError("timed out")

    aws.caller_identity = unreachable  # type: ignore[method-assign]
    with pytest.raises(urllib.error.URLError):
        operator.serve(payload(), aws, config, run())
    assert boto3.client("s3").list_objects_v2(Bucket="evidence").get("KeyCount") == 0


def _refusal_record() -> dict[str, Any]:
    listed = boto3.client("s3").list_objects_v2(Bucket="evidence").get("Contents", [])
    records = [o["Key"] for o in listed if o["Key"].endswith(".json")]  # a signature beside it, if any, apart
    assert len(records) == 1
    record: dict[str, Any] = json.loads(boto3.client("s3").get_object(Bucket="evidence", Key=records[0])["Body"].read())
    assert record["what"]["event_name"] == "OperatorRequestRefused"
    return record


def test_a_refused_caller_whom_sts_proved_is_named_in_the_record(account: tuple[Adapter, Config]) -> None:
    """Issue 22: STS proved who asked, so the refusal's record says who (``who.arn``), not null."""
    aws, config = account
    mallory = f"arn:aws:iam::{ACCOUNT}:user/mallory"
    aws.caller = mallory
    answer = operator.serve(payload(), aws, config, run())
    assert (answer["ok"], answer["by"]) == (False, mallory)
    record = _refusal_record()
    assert (record["who"]["arn"], record["who"]["type"]) == (mallory, "IAMUser")


def test_a_proof_that_fails_names_nobody(account: tuple[Adapter, Config]) -> None:
    """A proof that does not verify proves no one: the payload's word is never taken for who asked."""
    aws, config = account
    stale = payload()
    stale["proof"]["headers"]["X-Amz-Date"] = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    answer = operator.serve(stale, aws, config, run())
    assert answer["ok"] is False
    assert "by" not in answer
    assert _refusal_record()["who"]["arn"] is None
