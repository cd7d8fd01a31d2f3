"""What validating a trail's own log files costs the sweep, counted (not timed): nothing at all while CloudTrail
reports no digest delivered since the last validation (GetTrailStatus, which the sweep reads anyway); otherwise one
read of where the last sweep got to and one ListObjectsV2 per Region the trail logs in, and for each new digest one
ListPublicKeys per Region, the digest and its log files read once each, and the new position signed and written."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from guardian.adapters.full import FullAdapter
from guardian.flows import log_files
from guardian.flows.log_files import check_log_files, validate_trail
from guardian.flows.workers import Workers
from guardian.model.config import Config
from guardian.ports.invocation import Invocation
from simulation.cloudtrail_logs import Delivery, cloudtrail_delivery
from simulation.counting import CountingClients
from tests.support import signing_key

EVIDENCE = "guardian-evidence-requests"
BUCKET = "audit-logs"
REGIONS = ("us-east-1", "us-west-2")  # the sweep's
ELSEWHERE = "ap-south-1"  # a Region the sweep does not cover, where the multi-Region trail logs too
LISTINGS = 1 + 2  # the Regions with digests (us-east-1 and ap-south-1), then each one's new digests


@pytest.fixture
def validate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(log_files, "_VALIDATED_AT", {})
    with mock_aws(), cloudtrail_delivery():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=EVIDENCE, ObjectLockEnabledForBucket=True)
        s3.create_bucket(Bucket=BUCKET)
        topic = boto3.client("sns").create_topic(Name="guardian-alerts")["TopicArn"]
        cloudtrail = boto3.client("cloudtrail")
        cloudtrail.create_trail(
            Name="audit", S3BucketName=BUCKET, EnableLogFileValidation=True, IsMultiRegionTrail=True
        )
        key = signing_key()
        config = Config.from_env(
            {
                "GUARDIAN_TOPIC_ARN": topic,
                "GUARDIAN_EVIDENCE_BUCKET": EVIDENCE,
                "GUARDIAN_SWEEP_REGIONS": json.dumps(list(REGIONS)),
            }
        )
        deliveries = (Delivery(bucket=BUCKET, trail="audit"), Delivery(bucket=BUCKET, trail="audit", region=ELSEWHERE))

        def adapter(clients: CountingClients) -> FullAdapter:
            return FullAdapter(
                clients, topic_arn=topic, topic_region="us-east-1", evidence_bucket=EVIDENCE, signing_key=key
            )

        trail = adapter(CountingClients()).trail_state("us-east-1", "audit")
        assert trail is not None

        def run(*, gated: bool = False, problems: tuple[str, ...] = ()) -> Counter[str]:
            clients = CountingClients()
            now = Invocation(lambda: datetime.now(UTC), lambda _: None)
            aws = adapter(clients)
            if gated:  # as the sweep calls it, with the trail's status as read this sweep
                live = aws.trail_state("us-east-1", "audit")
                assert live is not None
                clients.requests.clear()
                with Workers() as work:
                    [check] = check_log_files(aws, config, [live], work, started=datetime.now(UTC), run=now)
            else:
                check = validate_trail(aws, config, trail, started=datetime.now(UTC), run=now)
            assert check.problems == problems
            del clients.requests["kms.GetPublicKey"]  # the guardian's own key: read once per sweep, for every check
            return clients.requests

        yield run, deliveries


def test_nothing_new_costs_one_read_and_one_listing_per_region(validate: Any) -> None:
    run, deliveries = validate
    for delivery in deliveries:
        delivery.hour(datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1))
    run()  # validates them, and records the position
    sent = run()
    assert sent == Counter({"s3.GetObject": 1, "s3.ListObjectsV2": LISTINGS})


def test_a_new_digest_costs_the_keys_the_digest_its_logs_and_one_signed_write(validate: Any) -> None:
    run, (east, _) = validate
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    east.hour(now - timedelta(hours=2))
    run()
    east.hour(now - timedelta(hours=1), log_files=3)
    sent = run()
    assert sent["cloudtrail.ListPublicKeys"] == 1  # only the Region with something new
    assert sent["s3.ListObjectsV2"] == 1 + 1
    assert sent["s3.GetObject"] == 1 + 1 + 3  # the position, the digest, its three log files
    assert (sent["s3.PutObject"], sent["kms.Sign"]) == (1, 1)


def test_nothing_is_sent_while_cloudtrail_reports_no_new_digest_delivered(validate: Any) -> None:
    run, (east, _) = validate
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    east.hour(now - timedelta(hours=2))
    assert run(gated=True)["s3.ListObjectsV2"] == 1 + 1  # the first time: validated
    assert run(gated=True) == Counter()  # the same LatestDigestDeliveryTime: nothing new, nothing sent
    east.hour(now - timedelta(hours=1))
    assert run(gated=True)["s3.ListObjectsV2"] == 1 + 1  # a digest delivered since: validated


def test_log_files_in_a_region_the_sweep_does_not_cover_are_validated_too(validate: Any) -> None:
    run, (east, south) = validate
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for delivery in (east, south):
        delivery.hour(now - timedelta(hours=1))
    victim = south.logs[-1]
    boto3.client("s3").delete_object(Bucket=BUCKET, Key=victim)
    run(problems=(f"log file {victim} is missing (deleted after delivery; listed in {south.digests[-1]})",))
