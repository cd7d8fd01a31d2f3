"""The sweep fixture shared by the moto integration tests: a two-Region account with two protected trails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from guardian.adapters.trails import TrailAdapter
from guardian.entrypoints import runtime, sweep
from tests.integration.world import world
from tests.support import alert_topic_and_queue, signing_key

__all__ = ["world"]  # the handler tests' account, a fixture of its own module

REGIONS = ("us-east-1", "us-west-2")
TRAIL = "org-audit"
WEST = "audit-west"
ALL_MANAGEMENT = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::payroll-bucket/"]}],
        "ExcludeManagementEventSources": [],
    }
]


@dataclass
class Account:
    topic_arn: str
    bucket: str
    queue_url: str

    def ct(self, region: str = "us-east-1") -> Any:
        return boto3.client("cloudtrail", region_name=region)

    def sweep(self) -> dict[str, Any]:
        return sweep.lambda_handler({}, None)

    def alerts(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        for m in messages:
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]

    def trail(self, name: str = TRAIL, region: str = "us-east-1") -> dict[str, Any]:
        [trail] = self.ct(region).describe_trails(trailNameList=[name])["trailList"]
        return dict(trail)

    def baseline(self, name: str = TRAIL, region: str = "us-east-1") -> dict[str, Any]:
        body = boto3.client("s3").get_object(Bucket=self.bucket, Key=f"baselines/{region}/{name}.json")["Body"]
        document: dict[str, Any] = json.loads(body.read())
        return document


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with mock_aws():
        s3, sns, sqs = boto3.client("s3"), boto3.client("sns"), boto3.client("sqs")
        bucket = "guardian-evidence-123456789012"
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        topic_arn, queue_url = alert_topic_and_queue(sns, sqs)
        s3.create_bucket(Bucket="org-audit-logs")
        s3.put_bucket_policy(Bucket="org-audit-logs", Policy=json.dumps(trail_bucket_policy("org-audit-logs")))
        s3.put_bucket_versioning(Bucket="org-audit-logs", VersioningConfiguration={"Status": "Enabled"})
        s3.put_public_access_block(Bucket="org-audit-logs", PublicAccessBlockConfiguration=BLOCK_ALL)
        east = boto3.client("cloudtrail", region_name="us-east-1")
        east.create_trail(
            Name=TRAIL,
            S3BucketName="org-audit-logs",
            S3KeyPrefix="audit",
            IsMultiRegionTrail=True,
            EnableLogFileValidation=True,
            IncludeGlobalServiceEvents=True,
            TagsList=[{"Key": "guardian:protect", "Value": "true"}, {"Key": "owner", "Value": "security"}],
        )
        east.put_event_selectors(TrailName=TRAIL, EventSelectors=ALL_MANAGEMENT)  # type: ignore[arg-type]
        east.put_insight_selectors(TrailName=TRAIL, InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])
        east.start_logging(Name=TRAIL)
        boto3.client("s3", region_name="us-west-2").create_bucket(
            Bucket="west-logs", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
        west = boto3.client("cloudtrail", region_name="us-west-2")
        west.create_trail(Name=WEST, S3BucketName="west-logs")
        west.start_logging(Name=WEST)
        monkeypatch.setenv("GUARDIAN_TOPIC_ARN", topic_arn)
        monkeypatch.setenv("GUARDIAN_EVIDENCE_BUCKET", bucket)
        monkeypatch.setenv("GUARDIAN_SIGNING_KEY_ARN", signing_key())
        monkeypatch.setenv("GUARDIAN_SWEEP_REGIONS", json.dumps(list(REGIONS)))
        monkeypatch.setenv("GUARDIAN_VERIFY_DELAY_SECONDS", "0")
        runtime.reset()
        first = Account(topic_arn, bucket, queue_url)
        first.sweep()  # as the deployment does: record every baseline
        yield first


def subject_and_message(notification: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return notification["Subject"], json.loads(notification["Message"])


BLOCK_ALL: Any = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def trail_bucket_policy(bucket: str) -> dict[str, Any]:
    """The policy CloudTrail's console writes for a trail bucket."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": f"arn:aws:s3:::{bucket}",
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/123456789012/*",
                "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            },
        ],
    }


@dataclass
class History:
    """CloudTrail's LookupEvents, which moto lacks: the records a test says CloudTrail holds, by event id."""

    records: dict[str, dict[str, Any]]

    def add(self, event: dict[str, Any]) -> None:
        record = event.get("detail", event)
        self.records[record["eventID"]] = record


@pytest.fixture
def history(monkeypatch: pytest.MonkeyPatch) -> History:
    found = History({})
    monkeypatch.setattr(TrailAdapter, "lookup_event", lambda _self, _region, event_id: found.records.get(event_id))
    return found
