"""The insider review's findings 2 and 4 against moto: a trail's logs moved to an archive (hours of restore before
anyone reads or validates them) are put back on the event and by the sweep like a shortened expiry; Intelligent-
Tiering's archive tiers, a deleted log stream and a data protection policy on a trail's log group are alerted HIGH."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from guardian.entrypoints import handler
from guardian.model.bucket import BucketState, compare_bucket, first_archive
from guardian.model.changes import Effect
from tests.integration.conftest import TRAIL, Account, subject_and_message
from tests.integration.test_storage_moto import BUCKET, GROUP, bucket_baseline, lifecycle_rules, logs_event, s3_event
from tests.support import ACCOUNT, fits


def archiving(storage_class: str, prefix: str = "AWSLogs/") -> dict[str, Any]:
    return {
        "ID": "cold",
        "Status": "Enabled",
        "Filter": {"Prefix": prefix},
        "Transitions": [{"Days": 0, "StorageClass": storage_class}],
    }


def put_rules(*rules: dict[str, Any]) -> None:
    configuration: Any = {"Rules": list(rules)}
    boto3.client("s3").put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration=configuration)


@pytest.mark.threat("bucket-archive")
@pytest.mark.parametrize("storage_class", ["DEEP_ARCHIVE", "GLACIER", "INTELLIGENT_TIERING"])
def test_logs_moved_to_an_archive_are_put_back_on_the_event(account: Account, storage_class: str) -> None:
    put_rules(archiving(storage_class))
    result = handler.lambda_handler(s3_event("PutBucketLifecycle", "arc-1"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert lifecycle_rules() is None  # the baseline had no lifecycle: the logs stay readable at once
    assert bucket_baseline(account)["state"]["lifecycle_rules"] is None  # never the new baseline
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert fits(
        subject,
        "[HIGH] 123456789012 lifecycle of a trail's S3 bucket changed on trail ",
        TRAIL,
        " by mallory — restored",
    )
    [change] = message["changes"]
    assert (change["field"], change["effect"]) == ("lifecycle_rules", "weakened")


@pytest.mark.threat("bucket-archive")
def test_logs_moved_to_an_archive_are_put_back_by_the_sweep(account: Account) -> None:
    noncurrent: dict[str, Any] = {
        "ID": "old-versions",
        "Status": "Enabled",
        "Filter": {"Prefix": "AWSLogs/"},
        "NoncurrentVersionTransitions": [{"NoncurrentDays": 1, "StorageClass": "DEEP_ARCHIVE"}],
    }
    put_rules(archiving("DEEP_ARCHIVE"), noncurrent)
    summary = account.sweep()
    assert summary["resources"][f"bucket:{BUCKET}"] == "healed"
    assert lifecycle_rules() is None
    [notification] = account.alerts()
    tail = f" of trail {TRAIL} weakened (lifecycle_rules) — healed by sweep"
    assert fits(notification["Subject"], "[HIGH] 123456789012 Bucket ", BUCKET, tail)


@pytest.mark.threat("bucket-archive")
def test_a_move_to_glacier_instant_retrieval_is_kept_as_the_baseline(account: Account) -> None:
    """GLACIER_IR is read in milliseconds, like STANDARD: a cost choice, not a weakening."""
    put_rules(archiving("GLACIER_IR"))
    result = handler.lambda_handler(s3_event("PutBucketLifecycle", "arc-2"), None)
    assert result["outcome"] != "healed"
    assert lifecycle_rules() is not None
    assert bucket_baseline(account)["state"]["lifecycle_rules"][0]["Transitions"][0]["StorageClass"] == "GLACIER_IR"


def test_an_archive_sooner_than_the_baselines_weakens_and_a_later_one_strengthens() -> None:
    def state(days: int | None) -> BucketState:
        rule = {**archiving("GLACIER"), "Transitions": [{"Days": days, "StorageClass": "GLACIER"}]}
        return BucketState(BUCKET, "us-east-1", lifecycle_rules=None if days is None else (rule,))

    assert first_archive(state(90).lifecycle_rules) == 90
    [sooner] = compare_bucket(state(90), state(30))
    [later] = compare_bucket(state(30), state(365))
    [removed] = compare_bucket(state(30), state(None))
    assert (sooner.effect, later.effect, removed.effect) == (Effect.WEAKENED, Effect.STRENGTHENED, Effect.STRENGTHENED)


@pytest.mark.threat("bucket-archive")
def test_intelligent_tiering_archive_tiers_are_alerted_high(account: Account) -> None:
    tiering = {
        "Id": "cold",
        "Status": "Enabled",
        "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}],
    }
    event = s3_event(
        "PutBucketIntelligentTieringConfiguration", "arc-3", id="cold", IntelligentTieringConfiguration=tiering
    )
    result = handler.lambda_handler(event, None)
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH")
    [notification] = account.alerts()
    assert notification["Subject"].startswith("[HIGH] 123456789012 Intelligent-Tiering archive of a trail's bucket")


@pytest.fixture
def trail_group(account: Account) -> str:
    """org-audit also delivers to a log group (its baseline recorded by a sweep)."""
    boto3.client("logs").create_log_group(logGroupName=GROUP)
    arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{GROUP}:*"
    role = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role"
    account.ct().update_trail(Name=TRAIL, CloudWatchLogsLogGroupArn=arn, CloudWatchLogsRoleArn=role)
    assert account.sweep()["resources"][f"log_group:{GROUP}"] == "baseline_recorded"
    account.alerts()
    return arn


@pytest.mark.threat("log-streams")
def test_a_deleted_log_stream_of_a_trails_log_group_is_alerted_high(account: Account, trail_group: str) -> None:
    stream = f"{ACCOUNT}_CloudTrail_us-east-1"
    event = logs_event("DeleteLogStream", "ls-1", logStreamName=stream)
    result = handler.lambda_handler(event, None)
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH")
    [notification] = account.alerts()
    assert notification["Subject"].startswith("[HIGH] 123456789012 log stream of a trail's log group deleted")
    other = logs_event("DeleteLogStream", "ls-2", group="/aws/lambda/someone-else", logStreamName="x")
    assert handler.lambda_handler(other, None)["alert_published"] is False


@pytest.mark.threat("log-streams")
def test_a_data_protection_policy_on_a_trails_log_group_is_alerted_high(account: Account, trail_group: str) -> None:
    """Named by ``logGroupIdentifier`` (the call's newer form), as CloudTrail records it."""
    event = logs_event("PutDataProtectionPolicy", "ls-3", policyDocument="{}")
    del event["detail"]["requestParameters"]["logGroupName"]
    event["detail"]["requestParameters"]["logGroupIdentifier"] = GROUP
    result = handler.lambda_handler(event, None)
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH")
    [notification] = account.alerts()
    assert notification["Subject"].startswith("[HIGH] 123456789012 data protection policy of a trail's log group")
