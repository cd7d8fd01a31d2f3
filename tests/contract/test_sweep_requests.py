"""The sweep's request budget, counted (not timed): a clean sweep costs at most 3 requests per trail, bucket, log
group and key checks and the sweep's own checks included, and each kind of request is made as often as the design
says and no more. A later change that brings back a read per trail fails here."""

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
from guardian.flows.sweep import SweepReport, run_sweep
from guardian.model.config import Config
from guardian.ports.invocation import Invocation
from simulation.counting import CountingClients
from tests.support import signing_key

REGIONS = ("us-east-1", "us-west-2")
TRAILS = 20  # per Region
WITH_SELECTORS = 4  # per Region: data events, so DescribeTrails says HasCustomEventSelectors
WITH_INSIGHTS = 2  # per Region
EVIDENCE = "guardian-evidence-requests"
DATA_EVENTS = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::payroll/"]}],
    }
]


@pytest.fixture
def sweep() -> Iterator[Any]:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=EVIDENCE, ObjectLockEnabledForBucket=True)
        topic = boto3.client("sns").create_topic(Name="guardian-alerts")["TopicArn"]
        key = signing_key()
        for region in REGIONS:
            bucket = f"trail-logs-{region}"
            placement: Any = (
                {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            )
            boto3.client("s3", region_name=region).create_bucket(Bucket=bucket, **placement)
            cloudtrail = boto3.client("cloudtrail", region_name=region)
            for index in range(TRAILS):
                name = f"trail-{index:02d}"
                cloudtrail.create_trail(Name=name, S3BucketName=bucket, TagsList=[{"Key": "team", "Value": "sec"}])
                cloudtrail.start_logging(Name=name)
                if index < WITH_SELECTORS:
                    cloudtrail.put_event_selectors(TrailName=name, EventSelectors=DATA_EVENTS)  # type: ignore[arg-type]
                if index < WITH_INSIGHTS:
                    cloudtrail.put_insight_selectors(
                        TrailName=name, InsightSelectors=[{"InsightType": "ApiCallRateInsight"}]
                    )
        config = Config.from_env(
            {
                "GUARDIAN_TOPIC_ARN": topic,
                "GUARDIAN_EVIDENCE_BUCKET": EVIDENCE,
                "GUARDIAN_SWEEP_REGIONS": json.dumps(list(REGIONS)),
                "GUARDIAN_VERIFY_DELAY_SECONDS": "0",
            }
        )

        def run() -> tuple[SweepReport, Counter[str]]:
            clients = CountingClients()
            adapter = FullAdapter(
                clients, topic_arn=topic, topic_region="us-east-1", evidence_bucket=EVIDENCE, signing_key=key
            )
            report = run_sweep(adapter, config, Invocation(lambda: datetime.now(UTC), lambda _: None))
            assert report.ok, (report.region_errors, report.check_errors)
            return report, clients.requests

        yield run


def test_a_clean_sweep_costs_at_most_three_requests_per_trail(sweep: Any) -> None:
    sweep()  # records every baseline
    sweep()  # reads each once more, and writes each Region's index
    report, sent = sweep()
    trails = len(REGIONS) * TRAILS
    assert report.statuses.count("in_baseline") == trails + len(REGIONS)  # the trails, and each Region's bucket
    assert sum(sent.values()) <= 3 * trails, sent
    # Per Region: one listing of the trails, of the baselines, and one index; tags 20 trails to a call.
    assert sent["cloudtrail.DescribeTrails"] == len(REGIONS)
    assert sent["cloudtrail.ListTags"] == len(REGIONS)
    # Per trail: its status; its selectors and insights only where DescribeTrails says it has some.
    assert sent["cloudtrail.GetTrailStatus"] == trails
    assert sent["cloudtrail.GetEventSelectors"] == len(REGIONS) * WITH_SELECTORS
    assert sent["cloudtrail.GetInsightSelectors"] == len(REGIONS) * WITH_INSIGHTS
    # No baseline read per trail: each Region's index, each bucket's baseline, the digest chain's head; one write:
    # the chain's next digest, which every sweep writes (its head is the heartbeat the security account keeps).
    # And each Region's signed inventory of the rules that route security events (review 10): its buses, their
    # rules (one page each here: none route security), the inventory read once, and one listing of the rules the
    # event path recorded on first sight (review 11): 4 requests a Region, none a trail.
    assert sent["s3.GetObject"] <= 3 * len(REGIONS) + 1, sent
    assert sent["eventbridge.ListEventBuses"] == sent["eventbridge.ListRules"] == len(REGIONS), sent
    assert sent["s3.PutObject"] == 1, sent
    assert sent["kms.Sign"] == 1, sent
    # The default event bus of each Region the guardian has rules in (review finding 5): one DescribeEventBus a
    # Region, here the home Region only (no forwarders configured); 0 before.
    assert sent["eventbridge.DescribeEventBus"] == 1


def test_a_stopped_trail_costs_a_heal_verified_by_one_status_read(sweep: Any) -> None:
    sweep()
    sweep()
    boto3.client("cloudtrail").stop_logging(Name="trail-07")
    report, sent = sweep()
    assert report.count("healed") == 1
    # The status read that found it, one to verify; StartLogging; the evidence, the alert, its tag.
    assert sent["cloudtrail.GetTrailStatus"] == len(REGIONS) * TRAILS + 1
    assert (sent["cloudtrail.StartLogging"], sent["sns.Publish"], sent["s3.PutObjectTagging"]) == (1, 1, 1)
    assert sent["cloudtrail.DescribeTrails"] == len(REGIONS)  # the heal re-read nothing else
