"""The sweep holds the guardian's own buckets (the evidence bucket, its access-logs bucket) as deployed (moto):
their policy, versioning, Object Lock, encryption, public access block and lifecycle, recorded signed; what differs
is put back with one CRITICAL alert naming the bucket and what changed."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from guardian.adapters.storage import StorageAdapter
from guardian.entrypoints import runtime, sweep
from tests.integration.conftest import BLOCK_ALL, Account, subject_and_message
from tests.support import fits

LOGS = "guardian-access-logs-123456789012"
A = "[CRITICAL] 123456789012 "  # the severity, then the account (moto's, which has no alias)
LOCKED = "guardian-locked-123456789012"  # moto refuses PutObjectLockConfiguration on a bucket holding objects


def deployed_policy(bucket: str) -> dict[str, Any]:
    """A Deny of object writes, as the stack deploys (moto enforces bucket policies: its own caller is not denied)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyTheGuardianWritesEvidenceAndBaselines",
                "Effect": "Deny",
                "Principal": {"AWS": "arn:aws:iam::123456789012:role/PowerUser"},
                "Action": ["s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


@pytest.fixture
def own(account: Account, monkeypatch: pytest.MonkeyPatch) -> Account:
    s3 = boto3.client("s3")
    s3.put_bucket_policy(Bucket=account.bucket, Policy=json.dumps(deployed_policy(account.bucket)))
    s3.create_bucket(Bucket=LOCKED, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=LOCKED,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}},
        },
    )
    s3.create_bucket(Bucket=LOGS)
    s3.put_bucket_versioning(Bucket=LOGS, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket=LOGS, PublicAccessBlockConfiguration=BLOCK_ALL)
    monkeypatch.setenv("GUARDIAN_ALERT_PATH", json.dumps({"buckets": [account.bucket, LOGS, LOCKED]}))
    runtime.reset()
    assert account.sweep()["alert_path"] == {
        f"guardian bucket {account.bucket}": "baseline_recorded",
        f"guardian bucket {LOGS}": "baseline_recorded",
        f"guardian bucket {LOCKED}": "baseline_recorded",
    }
    account.alerts()
    return account


def test_a_clean_sweep_changes_nothing_and_alerts_nobody(own: Account) -> None:
    assert set(own.sweep()["alert_path"].values()) == {"in_baseline"}
    assert own.alerts() == []


@pytest.mark.threat("own-buckets")
def test_the_evidence_bucket_policy_replaced_is_put_back_with_a_critical_alert(own: Account) -> None:
    """An insider's (or their stack's) policy without the write Deny reopens pre-claimed keys and forged records."""
    s3 = boto3.client("s3")
    opened = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*",
              "Resource": f"arn:aws:s3:::{own.bucket}/*"}]}  # fmt: skip
    s3.put_bucket_policy(Bucket=own.bucket, Policy=json.dumps(opened))
    assert own.sweep()["alert_path"][f"guardian bucket {own.bucket}"] == "healed"
    assert json.loads(s3.get_bucket_policy(Bucket=own.bucket)["Policy"]) == deployed_policy(own.bucket)
    [alert] = own.alerts()
    subject, message = subject_and_message(alert)
    assert fits(subject, f"{A}Alert path: ", f"guardian bucket {own.bucket}", " changed (policy) — restored by sweep")
    assert f"bucket {own.bucket} was changed (policy)" in message["reason"]
    assert message["action"]["taken"] == ["PutBucketPolicy"]


@pytest.mark.threat("own-buckets")
def test_the_evidence_bucket_policy_deleted_is_put_back(own: Account) -> None:
    boto3.client("s3").delete_bucket_policy(Bucket=own.bucket)
    assert own.sweep()["alert_path"][f"guardian bucket {own.bucket}"] == "healed"
    assert json.loads(boto3.client("s3").get_bucket_policy(Bucket=own.bucket)["Policy"]) == deployed_policy(own.bucket)
    assert len(own.alerts()) == 1


@pytest.mark.threat("own-buckets")
def test_versioning_suspended_is_put_back(own: Account) -> None:
    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=LOGS, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_public_access_block(Bucket=LOGS)
    assert own.sweep()["alert_path"][f"guardian bucket {LOGS}"] == "healed"
    assert s3.get_bucket_versioning(Bucket=LOGS)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=LOGS)["PublicAccessBlockConfiguration"] == BLOCK_ALL
    [alert] = own.alerts()
    _, message = subject_and_message(alert)
    assert "(versioning, public_access_block)" in message["reason"]


@pytest.mark.threat("own-buckets")
def test_object_lock_retention_shortened_is_put_back(own: Account) -> None:
    s3 = boto3.client("s3")
    s3.put_object_lock_configuration(
        Bucket=LOCKED,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    assert own.sweep()["alert_path"][f"guardian bucket {LOCKED}"] == "healed"
    rule = s3.get_object_lock_configuration(Bucket=LOCKED)["ObjectLockConfiguration"]["Rule"]
    assert rule["DefaultRetention"]["Days"] == 365
    assert len(own.alerts()) == 1


@pytest.mark.threat("own-buckets")
def test_a_policy_refusing_the_sweep_is_a_critical_finding_and_fails_the_run(
    own: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy denying the sweep's role makes PutBucketPolicy fail: the alert names the refused call."""
    boto3.client("s3").delete_bucket_policy(Bucket=own.bucket)
    original = StorageAdapter.put_bucket_policy

    def refused(self: StorageAdapter, state: Any) -> None:
        if state.name == own.bucket:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "PutBucketPolicy")
        original(self, state)

    monkeypatch.setattr(StorageAdapter, "put_bucket_policy", refused)
    with pytest.raises(sweep.SweepFailed, match="heal_failed"):
        own.sweep()
    [alert] = own.alerts()
    subject, message = subject_and_message(alert)
    assert subject.startswith("[CRITICAL]")
    assert "PutBucketPolicy refused: AccessDenied" in message["reason"]
    assert "redeploy" in message["reason"]


@pytest.mark.threat("own-buckets")
def test_the_dead_letter_queue_policy_replaced_is_put_back(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """A queue policy that refuses EventBridge loses every event the guardian could not handle."""
    sqs, kms = boto3.client("sqs"), boto3.client("kms")
    queue = sqs.create_queue(QueueName="CloudTrailGuardian-dead-letters")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    allow = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage"}
    deployed = {"Version": "2012-10-17", "Statement": [{**allow, "Resource": arn}]}
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": json.dumps(deployed)})
    key = kms.create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("GUARDIAN_ALERT_PATH", json.dumps({"keys": [key], "queue": queue}))
    runtime.reset()
    assert account.sweep()["alert_path"]["policies"] == "baseline_recorded"
    refused = {"Version": "2012-10-17", "Statement": [{**allow, "Effect": "Deny", "Resource": arn}]}
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": json.dumps(refused)})
    assert account.sweep()["alert_path"]["queue policy"] == "healed"
    policy = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])["Attributes"]["Policy"]
    assert json.loads(policy) == deployed
    [alert] = account.alerts()
    _, message = subject_and_message(alert)
    assert message["action"]["taken"] == ["SetQueueAttributes"]


@pytest.mark.threat("own-buckets")
def test_a_policy_refusing_the_sweeps_reads_is_a_critical_finding(
    own: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bucket policy denying the sweep GetBucketPolicy hides every change: the check that cannot run is alerted."""
    original = StorageAdapter.bucket_state

    def refused(self: StorageAdapter, name: str, region: str | None = None) -> Any:
        if name == own.bucket:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "GetBucketPolicy")
        return original(self, name, region)

    monkeypatch.setattr(StorageAdapter, "bucket_state", refused)
    with pytest.raises(sweep.SweepFailed, match="AccessDenied"):
        own.sweep()
    [alert] = own.alerts()
    subject, message = subject_and_message(alert)
    assert subject.startswith("[CRITICAL]")
    assert "could not be checked (AccessDenied" in message["reason"]
