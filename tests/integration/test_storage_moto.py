"""A trail's S3 bucket and CloudWatch Logs group against moto: tampering is put back on the event, and by the sweep
when the event never came. The trail org-audit delivers to org-audit-logs (CloudTrail's policy, versioning on,
public access blocked); its baselines are recorded by the fixture's first sweep."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from guardian.entrypoints import handler
from tests.integration.conftest import (
    BLOCK_ALL,
    TRAIL,
    Account,
    History,
    subject_and_message,
    trail_bucket_policy,
)
from tests.support import ACCOUNT, fits, load_event

BUCKET = "org-audit-logs"
GROUP = "/aws/cloudtrail/org-audit"
MALLORY = f"arn:aws:iam::{ACCOUNT}:user/mallory"


def s3_event(name: str, event_id: str, bucket: str = BUCKET, **request: Any) -> dict[str, Any]:
    """An EventBridge "AWS API Call via CloudTrail" event for an S3 bucket call, shaped like the published ones."""
    event = load_event("stop_logging")
    event["source"] = "aws.s3"
    event["detail"].update(
        eventSource="s3.amazonaws.com",
        eventName=name,
        eventID=event_id,
        requestParameters={"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com", **request},
    )
    return event


def logs_event(name: str, event_id: str, group: str = GROUP, **request: Any) -> dict[str, Any]:
    event = load_event("stop_logging")
    event["source"] = "aws.logs"
    event["detail"].update(
        eventSource="logs.amazonaws.com",
        eventName=name,
        eventID=event_id,
        requestParameters={"logGroupName": group, **request},
    )
    return event


def bucket_baseline(account: Account) -> dict[str, Any]:
    body = boto3.client("s3").get_object(Bucket=account.bucket, Key=f"baselines/buckets/{BUCKET}.json")["Body"]
    document: dict[str, Any] = json.loads(body.read())
    return document


def policy() -> dict[str, Any] | None:
    try:
        document: dict[str, Any] = json.loads(boto3.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucketPolicy":
            return None
        raise
    return document


def lifecycle_rules() -> list[dict[str, Any]] | None:
    s3 = boto3.client("s3")
    try:
        rules: list[dict[str, Any]] = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]  # type: ignore[assignment]
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchLifecycleConfiguration":
            return None
        raise
    return rules


def test_the_first_sweep_records_the_trail_buckets_baseline(account: Account) -> None:
    document = bucket_baseline(account)
    assert document["kind"] == "bucket"
    assert document["trails"] == [f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{TRAIL}"]
    state = document["state"]
    assert json.loads(state["policy"]) == trail_bucket_policy(BUCKET)
    assert (state["versioning"], state["public_access_block"], state["lifecycle_rules"]) == ("Enabled", BLOCK_ALL, None)


def test_stratus_lifecycle_rule_is_undone(account: Account) -> None:
    """Stratus Red Team cloudtrail-lifecycle-rule: expire the trail's logs after one day."""
    rule: Any = {"ID": "nuke-cloudtrail-logs-after-1-day", "Status": "Enabled", "Filter": {"Prefix": ""}}
    expiring: Any = {**rule, "Expiration": {"Days": 1}}
    boto3.client("s3").put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [expiring]})
    result = handler.lambda_handler(s3_event("PutBucketLifecycle", "s3-1", LifecycleConfiguration={"Rule": rule}), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert lifecycle_rules() is None  # the baseline had no lifecycle: logs are kept
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    head = "[HIGH] 123456789012 lifecycle of a trail's S3 bucket changed on trail "
    assert fits(subject, head, TRAIL, " by mallory — restored")
    assert message["action"]["taken"] == ["DeleteBucketLifecycle"]
    [change] = message["changes"]
    assert (change["field"], change["before"], change["effect"]) == ("lifecycle_rules", None, "weakened")
    assert change["after"][0]["Expiration"] == {"Days": 1}
    assert f"bucket {BUCKET}" in message["reason"]
    evidence = account_evidence(account, "s3-1")
    assert evidence["outcome"] == "healed"


def account_evidence(account: Account, event_id: str) -> dict[str, Any]:
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=account.bucket, Prefix="evidence/").get("Contents", [])]
    [key] = [k for k in keys if event_id in k and not k.endswith(".sig")]
    document: dict[str, Any] = json.loads(s3.get_object(Bucket=account.bucket, Key=key)["Body"].read())
    return document


@pytest.mark.threat("bucket-policy")
def test_a_policy_that_cuts_cloudtrail_off_is_put_back(account: Account) -> None:
    boto3.client("s3").put_bucket_policy(
        Bucket=BUCKET,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [trail_bucket_policy(BUCKET)["Statement"][0]]}),
    )
    result = handler.lambda_handler(s3_event("PutBucketPolicy", "s3-2"), None)
    assert result["outcome"] == "healed"
    assert policy() == trail_bucket_policy(BUCKET)


def test_a_policy_that_opens_the_bucket_to_another_account_is_put_back(account: Account) -> None:
    """Stratus s3-backdoor-bucket-policy, aimed at the trail's bucket."""
    opened = trail_bucket_policy(BUCKET)
    opened["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::193672423079:root"},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        }
    )
    boto3.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(opened))
    assert handler.lambda_handler(s3_event("PutBucketPolicy", "s3-3"), None)["outcome"] == "healed"
    assert policy() == trail_bucket_policy(BUCKET)


def test_a_deleted_policy_is_put_back_critical(account: Account) -> None:
    boto3.client("s3").delete_bucket_policy(Bucket=BUCKET)
    result = handler.lambda_handler(s3_event("DeleteBucketPolicy", "s3-4"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "CRITICAL")
    assert policy() == trail_bucket_policy(BUCKET)


def test_a_stricter_policy_is_kept_and_becomes_the_baseline(account: Account) -> None:
    stricter = trail_bucket_policy(BUCKET)
    stricter["Statement"].append(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    boto3.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(stricter))
    result = handler.lambda_handler(s3_event("PutBucketPolicy", "s3-5"), None)
    assert (result["outcome"], result["severity"]) == ("alerted", "INFO")
    assert policy() == stricter
    assert json.loads(bucket_baseline(account)["state"]["policy"]) == stricter
    # Dropping that Deny later weakens the bucket: it is put back.
    boto3.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(trail_bucket_policy(BUCKET)))
    assert handler.lambda_handler(s3_event("PutBucketPolicy", "s3-6"), None)["outcome"] == "healed"
    assert policy() == stricter


@pytest.mark.threat("bucket-policy")
def test_a_deny_aimed_at_cloudtrail_is_weakening_not_stricter(account: Account) -> None:
    """Issue 13, item 6: a Deny for cloudtrail.amazonaws.com was classed "stricter", kept, and made the baseline."""
    blocked = trail_bucket_policy(BUCKET)
    blocked["Statement"].append(
        {
            "Sid": "Hardening",
            "Effect": "Deny",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        }
    )
    boto3.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(blocked))
    result = handler.lambda_handler(s3_event("PutBucketPolicy", "s3-deny"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert policy() == trail_bucket_policy(BUCKET)


@pytest.mark.threat("bucket-policy")
def test_default_encryption_is_baselined_and_put_back(account: Account) -> None:
    s3 = boto3.client("s3")
    kms_rule: Any = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/logs"}}
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [kms_rule]})
    assert account.sweep()["resources"][f"bucket:{BUCKET}"] == "strengthened"  # added: kept as the baseline
    [recorded] = bucket_baseline(account)["state"]["encryption"]
    assert recorded["ApplyServerSideEncryptionByDefault"] == kms_rule["ApplyServerSideEncryptionByDefault"]
    s3.delete_bucket_encryption(Bucket=BUCKET)
    result = handler.lambda_handler(s3_event("DeleteBucketEncryption", "s3-sse"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == kms_rule["ApplyServerSideEncryptionByDefault"]


def test_suspended_versioning_is_enabled_again(account: Account) -> None:
    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    event = s3_event("PutBucketVersioning", "s3-7", VersioningConfiguration={"Status": "Suspended"})
    assert handler.lambda_handler(event, None)["outcome"] == "healed"
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"


def test_a_public_acl_grant_is_taken_back(account: Account) -> None:
    s3 = boto3.client("s3")
    s3.put_bucket_acl(Bucket=BUCKET, ACL="public-read")
    assert handler.lambda_handler(s3_event("PutBucketAcl", "s3-8"), None)["outcome"] == "healed"
    grantees = [g["Grantee"].get("URI") for g in s3.get_bucket_acl(Bucket=BUCKET)["Grants"]]
    assert "http://acs.amazonaws.com/groups/global/AllUsers" not in grantees


def test_a_removed_public_access_block_is_put_back(account: Account) -> None:
    s3 = boto3.client("s3")
    s3.delete_public_access_block(Bucket=BUCKET)
    assert handler.lambda_handler(s3_event("DeleteBucketPublicAccessBlock", "s3-9"), None)["outcome"] == "healed"
    assert s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == BLOCK_ALL


def test_a_deleted_bucket_is_recreated_with_its_configuration(account: Account) -> None:
    s3 = boto3.client("s3")
    for version in s3.list_object_versions(Bucket=BUCKET).get("Versions", []):
        s3.delete_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])
    s3.delete_bucket(Bucket=BUCKET)
    result = handler.lambda_handler(s3_event("DeleteBucket", "s3-10"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "CRITICAL")
    assert policy() == trail_bucket_policy(BUCKET)
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == BLOCK_ALL
    _, message = subject_and_message(account.alerts()[0])
    assert message["action"]["taken"] == [
        "CreateBucket",
        "PutPublicAccessBlock",
        "PutBucketVersioning",
        "PutBucketPolicy",
    ]


def test_a_bucket_no_protected_trail_uses_is_none_of_the_guardians_business(account: Account) -> None:
    boto3.client("s3").create_bucket(Bucket="marketing-assets")
    result = handler.lambda_handler(s3_event("DeleteBucketPolicy", "s3-11", bucket="marketing-assets"), None)
    assert (result["outcome"], result["alert_published"]) == ("ignored", False)
    assert account.alerts() == []


def test_a_failed_call_on_the_trail_bucket_is_an_attempt_and_on_another_bucket_nothing(account: Account) -> None:
    failed = s3_event("DeleteBucket", "s3-12")
    failed["detail"]["errorCode"] = "BucketNotEmpty"
    assert handler.lambda_handler(failed, None)["outcome"] == "attempt_failed"
    other = s3_event("DeleteBucket", "s3-13", bucket="marketing-assets")
    other["detail"]["errorCode"] = "AccessDenied"
    assert handler.lambda_handler(other, None)["alert_published"] is False
    [notification] = account.alerts()
    assert notification["Subject"].startswith(
        "[MEDIUM] 123456789012 Attempted DeleteBucket on trail org-audit by mallory"
    )


def test_an_exempt_change_to_the_bucket_becomes_its_baseline_once_cloudtrail_confirms_it(
    account: Account, monkeypatch: pytest.MonkeyPatch, history: History
) -> None:
    from guardian.entrypoints import runtime  # noqa: PLC0415

    monkeypatch.setenv("GUARDIAN_EXEMPT_PRINCIPALS", json.dumps(["glob:arn:aws:iam::*:user/mallory"]))
    runtime.reset()
    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    event = s3_event("PutBucketVersioning", "s3-14")
    assert handler.lambda_handler(event, None)["outcome"] == "exempt"
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Suspended"
    document = bucket_baseline(account)
    assert document["state"]["versioning"] == "Enabled"  # the event alone changes no baseline
    assert document["pending_approval"]["event_id"] == "s3-14"
    account.alerts()
    assert account.sweep()["resources"][f"bucket:{BUCKET}"] == "approval_pending"  # not confirmed yet: left alone
    history.add(event)
    assert account.sweep()["resources"][f"bucket:{BUCKET}"] == "in_baseline"
    document = bucket_baseline(account)
    assert (document["state"]["versioning"], "pending_approval" in document) == ("Suspended", False)
    assert document["recorded_by"] == MALLORY
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Suspended"  # never undone


def test_a_lost_lifecycle_event_is_healed_by_the_sweep(account: Account) -> None:
    boto3.client("s3").put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration={
            "Rules": [{"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]
        },
    )
    summary = account.sweep()
    assert summary["resources"][f"bucket:{BUCKET}"] == "healed"
    assert lifecycle_rules() is None
    [notification] = account.alerts()
    tail = f" of trail {TRAIL} weakened (lifecycle_rules) — healed by sweep"
    assert fits(notification["Subject"], "[HIGH] 123456789012 Bucket ", BUCKET, tail)


# -- the trail's CloudWatch Logs group ----------------------------------------------------------------------------


@pytest.fixture
def log_group(account: Account) -> str:
    """org-audit also delivers to a log group with 365 days' retention (a strengthening: kept as the baseline)."""
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=365)
    arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{GROUP}:*"
    role = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role"
    account.ct().update_trail(Name=TRAIL, CloudWatchLogsLogGroupArn=arn, CloudWatchLogsRoleArn=role)
    summary = account.sweep()
    assert summary["resources"][f"log_group:{GROUP}"] == "baseline_recorded"
    account.alerts()
    return arn


@pytest.mark.threat("log-group")
def test_a_shorter_retention_is_put_back(account: Account, log_group: str) -> None:
    logs = boto3.client("logs")
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=1)
    result = handler.lambda_handler(logs_event("PutRetentionPolicy", "l-1", retentionInDays=1), None)
    assert (result["outcome"], result["severity"]) == ("healed", "MEDIUM")
    [group] = logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
    assert group["retentionInDays"] == 365


@pytest.mark.threat("log-group")
def test_a_deleted_log_group_is_recreated_and_attached_again(account: Account, log_group: str) -> None:
    logs = boto3.client("logs")
    logs.delete_log_group(logGroupName=GROUP)
    account.ct().update_trail(Name=TRAIL, CloudWatchLogsLogGroupArn="", CloudWatchLogsRoleArn="")
    result = handler.lambda_handler(logs_event("DeleteLogGroup", "l-2"), None)
    assert result["outcome"] == "healed"
    [group] = logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
    assert group["retentionInDays"] == 365
    assert account.trail()["CloudWatchLogsLogGroupArn"] == log_group
    _, message = subject_and_message(account.alerts()[0])
    assert message["action"]["taken"] == ["CreateLogGroup", "PutRetentionPolicy", "UpdateTrail"]


def test_a_longer_retention_is_kept(account: Account, log_group: str) -> None:
    boto3.client("logs").delete_retention_policy(logGroupName=GROUP)  # never expire
    result = handler.lambda_handler(logs_event("PutRetentionPolicy", "l-3"), None)
    assert (result["outcome"], result["severity"]) == ("alerted", "INFO")
    [group] = boto3.client("logs").describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
    assert "retentionInDays" not in group


def test_a_bucket_read_where_its_baseline_says_is_the_same_read_and_one_elsewhere_says_where_it_is(
    account: Account,
) -> None:
    """The location and the six settings go out together when the baseline names the Region; a bucket found in
    another Region (deleted, its name taken again elsewhere) is read there and its Region reported."""
    from guardian.adapters.full import FullAdapter  # noqa: PLC0415
    from guardian.entrypoints import runtime  # noqa: PLC0415

    adapter = runtime.full_adapter(runtime.config())
    assert isinstance(adapter, FullAdapter)
    unguided, guided = adapter.bucket_state(BUCKET), adapter.bucket_state(BUCKET, "us-east-1")
    assert guided == unguided
    assert (guided.exists, guided.region, guided.versioning) == (True, "us-east-1", "Enabled")
    moved = adapter.bucket_state(BUCKET, "eu-west-1")
    assert (moved.region, moved.policy) == ("us-east-1", unguided.policy)
    assert adapter.bucket_state("no-such-trail-bucket", "us-east-1").exists is False


@pytest.mark.threat("log-group")
def test_a_key_put_on_the_log_group_is_taken_off_by_the_sweep(account: Account, log_group: str) -> None:
    """Insider review (issue 20): a key of the insider's, later disabled, would stop CloudWatch Logs taking the
    trail's events and mute the CIS alarms. A key on a trail's log group is kept only by `guardian approve`."""
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    logs = boto3.client("logs")
    logs.associate_kms_key(logGroupName=GROUP, kmsKeyId=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}")
    summary = account.sweep()
    assert summary["resources"][f"log_group:{GROUP}"] == "healed"
    [group] = logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
    assert "kmsKeyId" not in group
    _, message = subject_and_message(account.alerts()[0])
    assert message["severity"] in ("MEDIUM", "HIGH")
    assert "DisassociateKmsKey" in message["action"]["taken"]
