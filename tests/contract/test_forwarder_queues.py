"""Issue 23: a forwarder has no alarm (nor the topic and key an alarm needed in its Region); the sweep reads each
forwarder's dead-letter queue in its Region, one GetQueueAttributes, alerts HIGH while events
are parked, and fails the run when the queue is gone. The home Region has its own alarm: not read here."""

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
from guardian.flows.forwarder_queues import CHECK, check_forwarder_queues, forwarder_queue
from guardian.model.config import Config
from guardian.ports.invocation import Invocation
from simulation.counting import CountingClients
from tests.support import signing_key

EVIDENCE = "guardian-evidence-forwarder-queues"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
QUEUE = "CloudTrailGuardian-forward-dead-letters"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/CloudTrailGuardian/0a1b2c3d"


@pytest.fixture
def sweep() -> Iterator[Any]:
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=EVIDENCE, ObjectLockEnabledForBucket=True)
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic = sns.create_topic(Name="guardian-alerts")["TopicArn"]
        soc = sqs.create_queue(QueueName="soc")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=soc, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        for region in REGIONS[1:]:
            boto3.client("sqs", region_name=region).create_queue(QueueName=QUEUE)
        config = Config.from_env(
            {
                "GUARDIAN_TOPIC_ARN": topic,
                "GUARDIAN_EVIDENCE_BUCKET": EVIDENCE,
                "GUARDIAN_SWEEP_REGIONS": json.dumps(list(REGIONS)),
                "GUARDIAN_FORWARDER_RULES": json.dumps(["CloudTrailGuardian-forward"]),
                "GUARDIAN_STACK_ID": STACK_ID,
            }
        )
        key = signing_key()

        def run() -> tuple[dict[str, int | None], dict[str, str], Counter[str], list[dict[str, Any]]]:
            clients = CountingClients()
            adapter = FullAdapter(
                clients, topic_arn=topic, topic_region="us-east-1", evidence_bucket=EVIDENCE, signing_key=key
            )
            clock = Invocation(lambda: datetime.now(UTC), lambda _: None)
            failures: dict[str, str] = {}
            found = check_forwarder_queues(adapter, config, failures, started=clock.clock(), run=clock)
            got = sqs.receive_message(QueueUrl=soc, MaxNumberOfMessages=10).get("Messages", [])
            return found, failures, clients.requests, [json.loads(m["Body"]) for m in got]

        yield run


def test_empty_queues_cost_one_read_per_forwarder_region_and_say_nothing(sweep: Any) -> None:
    found, failures, sent, alerts = sweep()
    assert found == {"us-west-2": 0, "eu-west-1": 0}  # the home Region has its alarm, and no forwarder
    assert (failures, alerts) == ({}, [])
    assert sent["sqs.GetQueueAttributes"] == 2
    assert sum(sent.values()) == 2


@pytest.mark.threat("forwarder-parked")
def test_parked_events_are_alerted_high_naming_the_region_and_the_queue(sweep: Any) -> None:
    west = boto3.client("sqs", region_name="us-west-2")
    url = west.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    for n in range(2):
        west.send_message(QueueUrl=url, MessageBody=json.dumps({"detail": {"eventName": "StopLogging", "n": n}}))
    found, failures, _, alerts = sweep()
    assert found == {"us-west-2": 2, "eu-west-1": 0}
    assert failures == {}  # parked events are alerted, the sweep itself did not fail
    [alert] = alerts
    assert alert["severity"] == "HIGH", alert
    text = json.dumps(alert)
    assert "us-west-2" in text
    assert QUEUE in text
    assert "2 event(s)" in text


@pytest.mark.threat("forwarder-parked")
def test_a_queue_that_is_gone_fails_the_run(sweep: Any) -> None:
    east = boto3.client("sqs", region_name="eu-west-1")
    east.delete_queue(QueueUrl=east.get_queue_url(QueueName=QUEUE)["QueueUrl"])
    found, failures, _, alerts = sweep()
    assert found == {"us-west-2": 0, "eu-west-1": None}
    assert list(failures) == [f"{CHECK}:eu-west-1"]
    assert "redeploy" in failures[f"{CHECK}:eu-west-1"]
    assert alerts == []


def test_the_queue_is_named_after_the_forwarding_rule_not_the_stacks_own_id() -> None:
    """In a StackSet the stack's id names ``StackSet-…``; the forwarders' resources carry the settings' stack name,
    which the forwarding rules listed in the environment carry too (HI1's finding: the queue was read under the id)."""
    base = {"GUARDIAN_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t", "GUARDIAN_EVIDENCE_BUCKET": "evidence"}
    config = Config.from_env(
        {
            **base,
            "GUARDIAN_STACK_ID": "arn:aws:cloudformation:us-east-1:123456789012:stack/StackSet-guardian-1a2b/uuid",
            "GUARDIAN_FORWARDER_RULES": json.dumps(["Guardian-forward", "Guardian-forward-guard"]),
        }
    )
    assert forwarder_queue(config) == "Guardian-forward-dead-letters"
    assert forwarder_queue(Config.from_env(base)) is None
