"""The sweep validates each protected trail's own log files against CloudTrail's signed digests (issue 20, move 4):
a log or digest file deleted with ``--bypass-governance-retention``, or a digest changed, is alerted CRITICAL,
naming it; an intact chain is not. CloudTrail's delivery and ListPublicKeys are simulated
(:mod:`simulation.cloudtrail_logs`); the trail is moto's, with log file validation on, in a GOVERNANCE-locked bucket.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from guardian.adapters.log_files import LogFileAdapter
from guardian.entrypoints import runtime, sweep
from guardian.flows import log_files
from simulation.cloudtrail_logs import Delivery, cloudtrail_delivery
from tests.support import alert_topic_and_queue, signing_key

TRAIL = "audit"
BUCKET = "audit-logs-locked"
EVIDENCE = "guardian-evidence-123456789012"
STATE = "baselines/log-validation/us-east-1/audit.json"


class Account:
    def __init__(self, queue_url: str, delivery: Delivery) -> None:
        self.queue_url = queue_url
        self.delivery = delivery
        self.s3 = boto3.client("s3")

    def sweep(self) -> dict[str, Any]:
        return sweep.lambda_handler({}, None)

    def alerts(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        found: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for m in messages:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
                found.append(json.loads(json.loads(m["Body"])["Message"]))
        return found

    def delete_for_good(self, key: str) -> None:
        """What the insider does: every version, the lock bypassed."""
        for version in self.s3.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", []):
            self.s3.delete_object(
                Bucket=BUCKET, Key=key, VersionId=version["VersionId"], BypassGovernanceRetention=True
            )

    def log_alerts(self) -> list[dict[str, Any]]:
        return [a for a in self.alerts() if "fail CloudTrail's own validation" in json.dumps(a)]


@contextmanager
def _world(monkeypatch: pytest.MonkeyPatch, *, keyed: bool = False) -> Iterator[Account]:
    """The trail, its bucket and three hours delivered, swept once; ``keyed``: the trail on a KMS key of its own,
    its log files written under it (as CloudTrail does), which the sweep is not granted Decrypt on."""
    monkeypatch.setattr(log_files, "_VALIDATED_AT", {})  # what an earlier test's sweeps validated
    with mock_aws(), cloudtrail_delivery():
        s3, sns, sqs = boto3.client("s3"), boto3.client("sns"), boto3.client("sqs")
        s3.create_bucket(Bucket=EVIDENCE, ObjectLockEnabledForBucket=True)
        topic_arn, queue_url = alert_topic_and_queue(sns, sqs)
        s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        s3.put_object_lock_configuration(
            Bucket=BUCKET,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}},
            },
        )
        key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"] if keyed else None
        cloudtrail = boto3.client("cloudtrail", region_name="us-east-1")
        keyed_trail: Any = {"KmsKeyId": key} if key else {}
        cloudtrail.create_trail(Name=TRAIL, S3BucketName=BUCKET, EnableLogFileValidation=True, **keyed_trail)
        cloudtrail.start_logging(Name=TRAIL)
        monkeypatch.setenv("GUARDIAN_TOPIC_ARN", topic_arn)
        monkeypatch.setenv("GUARDIAN_EVIDENCE_BUCKET", EVIDENCE)
        monkeypatch.setenv("GUARDIAN_SIGNING_KEY_ARN", signing_key())
        monkeypatch.setenv("GUARDIAN_SWEEP_REGIONS", json.dumps(["us-east-1"]))
        monkeypatch.setenv("GUARDIAN_VERIFY_DELAY_SECONDS", "0")
        runtime.reset()
        delivery = Delivery(bucket=BUCKET, trail=TRAIL, kms_key=key)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        for hours in (3, 2, 1):
            delivery.hour(now - timedelta(hours=hours))
        first = Account(queue_url, delivery)
        first.sweep()  # the trail's baseline recorded, as at deployment; the three digests validated
        assert first.log_alerts() == []
        yield first


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with _world(monkeypatch) as found:
        yield found


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    """As on AWS: the sweep's role has no kms:Decrypt, so GetObject of any SSE-KMS object is refused (HeadObject
    is not: it needs no decryption)."""
    original = LogFileAdapter.log_object

    def kms_denied(self: LogFileAdapter, bucket: str, key: str, region: str | None = None) -> Any:
        head = self.log_head(bucket, key, region)
        if head is not None and head["kms_key"]:
            message = f"not authorized to perform: kms:Decrypt on resource: {head['kms_key']}"
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, "GetObject")
        return original(self, bucket, key, region)

    monkeypatch.setattr(LogFileAdapter, "log_object", kms_denied)
    with _world(monkeypatch, keyed=True) as found:
        yield found


def test_an_intact_chain_raises_no_alert_and_new_digests_are_validated_from_where_the_last_sweep_got_to(
    account: Account,
) -> None:
    newest = account.delivery.hour(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    account.sweep()
    assert account.log_alerts() == []
    state = account.s3.get_object(Bucket=EVIDENCE, Key=STATE)["Body"].read()
    assert json.loads(state)["regions"]["us-east-1"]["digest"] == newest  # validated, and remembered (signed)


@pytest.mark.threat("log-files")
def test_a_log_file_deleted_bypassing_governance_retention_is_alerted_critical_naming_it(account: Account) -> None:
    account.delivery.hour(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    victim = account.delivery.logs[-1]
    account.delete_for_good(victim)
    account.sweep()
    [alert] = account.log_alerts()
    assert alert["severity"] == "CRITICAL"
    assert victim in json.dumps(alert)


@pytest.mark.threat("log-files")
def test_a_deleted_digest_is_alerted_as_a_gap_in_the_chain(account: Account) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    gone = account.delivery.hour(now)
    account.delivery.hour(now + timedelta(hours=1))
    account.delete_for_good(gone)
    account.sweep()
    [alert] = account.log_alerts()
    assert alert["severity"] == "CRITICAL"
    assert f"digest file {gone} is missing" in json.dumps(alert)


@pytest.mark.threat("log-files")
def test_an_altered_digest_does_not_verify_and_is_alerted(account: Account) -> None:
    key = account.delivery.hour(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    found = account.s3.get_object(Bucket=BUCKET, Key=key)
    document = json.loads(gzip.decompress(found["Body"].read()))
    document["logFiles"] = document["logFiles"][:1]  # hide the second log file, keep CloudTrail's signature
    account.s3.put_object(
        Bucket=BUCKET, Key=key, Body=gzip.compress(json.dumps(document).encode()), Metadata=found["Metadata"]
    )
    account.sweep()
    [alert] = account.log_alerts()
    assert f"digest file {key} does not verify" in json.dumps(alert)


@pytest.mark.threat("log-files")
def test_the_position_is_signed_so_a_forged_one_cannot_skip_a_deletion(account: Account) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    hidden = account.delivery.hour(now)
    victim = account.delivery.logs[-1]
    account.delete_for_good(victim)
    forged = json.loads(account.s3.get_object(Bucket=EVIDENCE, Key=STATE)["Body"].read())
    forged["regions"]["us-east-1"] = {"digest": hidden, "signature": "00"}
    account.s3.put_object(Bucket=EVIDENCE, Key=STATE, Body=json.dumps(forged).encode())
    account.sweep()
    assert victim in json.dumps(account.log_alerts())


@pytest.mark.threat("log-files")
def test_digests_deleted_as_they_arrive_are_alerted_from_cloudtrails_own_delivery_time(account: Account) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for hours in (0, 1, 2):  # an S3-triggered function of the insider's deletes each digest as CloudTrail writes it
        account.delete_for_good(account.delivery.hour(now + timedelta(hours=hours)))
    account.sweep()
    [alert] = account.log_alerts()
    assert alert["severity"] == "CRITICAL"
    assert "the digest files delivered since were deleted" in json.dumps(alert)


def test_log_files_the_sweep_may_not_decrypt_are_still_checked_to_exist(keyed: Account) -> None:
    keyed.delivery.hour(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    kept, victim = keyed.delivery.logs[-2:]
    keyed.delete_for_good(victim)
    keyed.sweep()
    found = keyed.alerts()
    [alert] = [a for a in found if "fail CloudTrail's own validation" in json.dumps(a)]
    assert f"log file {victim} is missing" in json.dumps(alert)
    assert kept not in json.dumps(found)  # under the trail's own key: unreadable by design, no alert of its own
    assert not [a for a in found if "altered log files" in json.dumps(a)]


def replace(account: Account, key: str, kms_key: str) -> None:
    """What the insider does: a new version of the log file, under a KMS key the readers cannot use."""
    forged = gzip.compress(json.dumps({"Records": []}).encode())
    account.s3.put_object(Bucket=BUCKET, Key=key, Body=forged, ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key)


@pytest.mark.threat("log-files")
def test_a_log_file_replaced_under_a_key_the_sweep_may_not_use_is_alerted_high_naming_it(keyed: Account) -> None:
    keyed.delivery.hour(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    kept, victim = keyed.delivery.logs[-2:]
    insiders = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    replace(keyed, victim, insiders)
    keyed.sweep()
    [alert] = [a for a in keyed.alerts() if "altered log files" in json.dumps(a)]
    assert alert["severity"] == "HIGH"
    text = json.dumps(alert)
    assert victim in text
    assert insiders in text  # the key it is stored under
    assert "AccessDenied" in text  # and the error
    assert kept not in text


@pytest.mark.threat("log-files")
def test_a_log_file_of_a_trail_without_a_key_replaced_under_one_is_alerted_high(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = LogFileAdapter.log_object

    def kms_denied(self: LogFileAdapter, bucket: str, key: str, region: str | None = None) -> Any:
        head = self.log_head(bucket, key, region)
        if head is not None and head["kms_key"]:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "kms:Decrypt"}}, "GetObject")
        return original(self, bucket, key, region)

    monkeypatch.setattr(LogFileAdapter, "log_object", kms_denied)
    account.delivery.hour(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    victim = account.delivery.logs[-1]
    insiders = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    replace(account, victim, insiders)
    account.sweep()
    [alert] = [a for a in account.alerts() if "altered log files" in json.dumps(a)]
    assert alert["severity"] == "HIGH"
    assert victim in json.dumps(alert)
    assert insiders in json.dumps(alert)


def test_a_listing_that_may_have_left_digests_out_raises_no_vanished_alarm(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_files, "LISTED", 1)  # one key per listing: a full page may have left some out
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    Delivery(bucket=BUCKET, trail="zz-other").hour(now + timedelta(hours=2))  # another trail's, in the same folder
    for hours in (0, 1, 2):
        account.delete_for_good(account.delivery.hour(now + timedelta(hours=hours)))
    account.sweep()
    assert account.log_alerts() == []  # not known to be gone: the next sweep lists on
