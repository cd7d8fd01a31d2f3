"""What holding the guardian's own buckets costs a clean sweep, counted (not timed): a few reads per bucket per
sweep (its location and six settings at once, its Object Lock configuration, its signed baseline), no write, no
signature, and nothing per trail."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from guardian.adapters.full import FullAdapter
from guardian.flows.own_buckets import check_own_buckets
from guardian.model.config import Config
from guardian.ports.invocation import Invocation
from simulation.counting import CountingClients
from tests.support import signing_key

EVIDENCE, LOGS = "guardian-evidence-requests", "guardian-access-logs-requests"


@pytest.fixture
def check() -> Iterator[Any]:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=EVIDENCE, ObjectLockEnabledForBucket=True)
        s3.create_bucket(Bucket=LOGS)
        s3.put_bucket_versioning(Bucket=LOGS, VersioningConfiguration={"Status": "Enabled"})
        topic = boto3.client("sns").create_topic(Name="guardian-alerts")["TopicArn"]
        key = signing_key()
        config = Config.from_env(
            {
                "GUARDIAN_TOPIC_ARN": topic,
                "GUARDIAN_EVIDENCE_BUCKET": EVIDENCE,
                "GUARDIAN_ALERT_PATH": json.dumps({"buckets": [EVIDENCE, LOGS]}),
            }
        )

        def run() -> tuple[list[tuple[str, str]], Counter[str]]:
            clients = CountingClients()
            adapter = FullAdapter(
                clients, topic_arn=topic, topic_region="us-east-1", evidence_bucket=EVIDENCE, signing_key=key
            )
            clock = Invocation(lambda: datetime.now(UTC), lambda _: None)
            return check_own_buckets(
                adapter, config, started=clock.clock(), run=clock, deployed_at=None
            ), clients.requests

        yield run


def test_a_clean_sweep_reads_each_bucket_once_and_writes_nothing(check: Any) -> None:
    first, _ = check()
    assert {status for _, status in first} == {"baseline_recorded"}
    checks, sent = check()
    assert {status for _, status in checks} == {"in_baseline"}
    buckets = 2
    for read in (
        "s3.GetBucketLocation",
        "s3.GetBucketPolicy",
        "s3.GetBucketLifecycleConfiguration",
        "s3.GetPublicAccessBlock",
        "s3.GetBucketAcl",
        "s3.GetBucketEncryption",
        "s3.GetBucketVersioning",
        "s3.GetObjectLockConfiguration",
        "s3.GetObject",  # its signed baseline
    ):
        assert sent[read] == buckets, (read, sent)
    assert sum(sent.values()) <= 9 * buckets + 1, sent  # and the public key that verifies the baselines, once
    assert sent["s3.PutObject"] == sent["kms.Sign"] == sent["sns.Publish"] == 0
