"""Review finding 5, the sweep's side: the default event bus of the home Region and of every forwarder's Region is
held to EventBridge's AWS owned key. One DescribeEventBus per Region; a customer managed key found is alerted
CRITICAL (the insider's key can silence every rule on that bus) and fails the run until it is removed. moto does not
implement UpdateEventBus (docs/limits.md, moto gaps): the insider's change is made in moto's backend."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.events.models import events_backends

from guardian.adapters.full import FullAdapter
from guardian.flows.bus_keys import CHECK, check_default_buses
from guardian.model.config import Config
from guardian.ports.invocation import Invocation
from simulation.counting import CountingClients
from tests.support import signing_key

EVIDENCE = "guardian-evidence-bus-keys"
REGIONS = ("us-east-1", "us-west-2")
KEY = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def set_key(region: str, key: str | None) -> None:
    """UpdateEventBus(Name="default", KmsKeyIdentifier=key), which moto does not implement."""
    bus = events_backends[DEFAULT_ACCOUNT_ID][region].describe_event_bus("default")
    bus.kms_key_identifier = key


@pytest.fixture
def sweep() -> Iterator[Any]:
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=EVIDENCE, ObjectLockEnabledForBucket=True)
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic = sns.create_topic(Name="guardian-alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="soc")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        config = Config.from_env(
            {
                "GUARDIAN_TOPIC_ARN": topic,
                "GUARDIAN_EVIDENCE_BUCKET": EVIDENCE,
                "GUARDIAN_SWEEP_REGIONS": json.dumps(list(REGIONS)),
                "GUARDIAN_FORWARDER_RULES": json.dumps(["CloudTrailGuardian-forward"]),
            }
        )
        key = signing_key()

        def run() -> tuple[dict[str, str | None], dict[str, str], Counter[str], list[dict[str, Any]]]:
            clients = CountingClients()
            adapter = FullAdapter(
                clients, topic_arn=topic, topic_region="us-east-1", evidence_bucket=EVIDENCE, signing_key=key
            )
            clock = Invocation(lambda: datetime.now(UTC), lambda _: None)
            failures: dict[str, str] = {}
            found = check_default_buses(adapter, config, failures, started=clock.clock(), run=clock)
            got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            return found, failures, clients.requests, [json.loads(m["Body"]) for m in got]

        yield run


def test_buses_on_the_aws_owned_key_cost_one_read_per_region_and_say_nothing(sweep: Any) -> None:
    found, failures, sent, alerts = sweep()
    assert found == dict.fromkeys(REGIONS)
    assert (failures, alerts) == ({}, [])
    assert sent["eventbridge.DescribeEventBus"] == len(REGIONS)
    assert sum(sent.values()) == len(REGIONS)


@pytest.mark.threat("event-bus-key")
def test_a_customer_managed_key_on_a_default_bus_is_alerted_critical_and_fails_the_run(sweep: Any) -> None:
    set_key("us-west-2", KEY)  # a forwarder's Region: the rules there send the tamper events home
    found, failures, _, alerts = sweep()
    assert found == {"us-east-1": None, "us-west-2": KEY}
    assert list(failures) == [f"{CHECK}:us-west-2"]
    [alert] = alerts
    assert alert["severity"] == "CRITICAL", alert
    assert KEY in json.dumps(alert)
    assert "us-west-2" in json.dumps(alert)
    set_key("us-west-2", None)  # put back by the team: the run is clean again
    _, failures, _, alerts = sweep()
    assert (failures, alerts) == ({}, [])
