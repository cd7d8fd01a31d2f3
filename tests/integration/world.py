"""The handler tests' account: a moto account with the guardian's resources, two stopped trails, an activity table
and an SQS subscriber to the alerts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from guardian.entrypoints import handler
from simulation.moto_server import create_activity_table
from tests.support import EXEMPT_PATTERN, GUARDIAN_ROLE_ARN, TRAIL, alert_topic_and_queue, signing_key


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "CloudTrailGuardian-RemediationFunction"
    aws_request_id: str = "3f1c9a0e-0000-4000-8000-000000000001"


@dataclass
class World:
    """A moto account with the guardian's resources, two stopped trails, and an SQS subscriber to the alerts."""

    topic_arn: str
    bucket: str
    queue_url: str
    clients: dict[str, Any]

    def cloudtrail(self, region: str = "us-east-1") -> Any:
        return boto3.client("cloudtrail", region_name=region)

    def is_logging(self, name: str = TRAIL, region: str = "us-east-1") -> bool:
        return bool(self.cloudtrail(region).get_trail_status(Name=name)["IsLogging"])

    def invoke(self, event: Any) -> dict[str, Any]:
        return handler.lambda_handler(event, LambdaContext())

    def alerts(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        """Drain the subscriber queue: each item is the SNS notification, as email-json delivers it."""
        notifications: list[dict[str, Any]] = []
        while True:
            messages = (
                self.clients["sqs"]
                .receive_message(QueueUrl=queue_url or self.queue_url, MaxNumberOfMessages=10)
                .get("Messages", [])
            )
            if not messages:
                return notifications
            for message in messages:
                notifications.append(json.loads(message["Body"]))
                self.clients["sqs"].delete_message(
                    QueueUrl=queue_url or self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def evidence_keys(self, prefix: str = "evidence/") -> list[str]:
        listing = self.clients["s3"].list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for o in listing.get("Contents", []) if not o["Key"].endswith(".sig"))  # no signatures

    def evidence(self, key: str) -> dict[str, Any]:
        body = self.clients["s3"].get_object(Bucket=self.bucket, Key=key)["Body"].read()
        document: dict[str, Any] = json.loads(body)
        return document


def make_trail(region: str, name: str, bucket: str) -> None:
    s3 = boto3.client("s3", region_name=region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})  # type: ignore[typeddict-item]
    ct = boto3.client("cloudtrail", region_name=region)
    ct.create_trail(Name=name, S3BucketName=bucket)
    ct.start_logging(Name=name)
    ct.stop_logging(Name=name)  # what the attacker did


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with mock_aws():
        s3, sns, sqs = boto3.client("s3"), boto3.client("sns"), boto3.client("sqs")
        bucket = "guardian-evidence-123456789012"
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        s3.put_object_lock_configuration(
            Bucket=bucket,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}},
            },
        )
        topic_arn, queue_url = alert_topic_and_queue(sns, sqs)
        create_activity_table("guardian-activity")
        monkeypatch.setenv("GUARDIAN_ACTIVITY_TABLE", "guardian-activity")
        make_trail("us-east-1", TRAIL, "trail-logs-east")
        make_trail("us-west-2", "audit-west", "trail-logs-west")
        monkeypatch.setenv("GUARDIAN_TOPIC_ARN", topic_arn)
        monkeypatch.setenv("GUARDIAN_EVIDENCE_BUCKET", bucket)
        monkeypatch.setenv("GUARDIAN_SIGNING_KEY_ARN", signing_key())
        monkeypatch.setenv("GUARDIAN_SELF_ROLE_ARN", GUARDIAN_ROLE_ARN)
        monkeypatch.setenv("GUARDIAN_EXEMPT_PRINCIPALS", json.dumps([EXEMPT_PATTERN]))
        monkeypatch.setenv("GUARDIAN_VERIFY_DELAY_SECONDS", "0")
        yield World(topic_arn, bucket, queue_url, {"s3": s3, "sns": sns, "sqs": sqs})


def message_of(notification: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(notification["Message"])
    return document
