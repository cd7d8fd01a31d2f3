"""The chain heads in the security account, end to end on moto: a guardian's sweep puts its head on the bus (the
real sending adapter), a rule hands it on, the chain-heads function keeps it in DynamoDB (conditional writes) and
publishes CRITICAL to the central topic when the chain goes backwards; a late, older head and a replay do not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from guardian.adapters.clients import Boto3Clients
from guardian.adapters.heartbeat import HeartbeatAdapter
from guardian.entrypoints import chain_heads
from guardian.model.chain_heads import HEAD_SOURCE

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TABLE = "cloudtrail-guardian-chain-heads"


class Sender(HeartbeatAdapter):
    def __init__(self) -> None:
        self._clients = Boto3Clients()


@pytest.fixture
def security(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "origin", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "origin", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs, sns, events = boto3.client("sqs"), boto3.client("sns"), boto3.client("events")
        queues = {}
        for name in ("alerts", "heads"):
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            queues[name] = (url, arn)
        topic = sns.create_topic(Name="central")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queues["alerts"][1])
        # the function's rule (moto cannot invoke a Lambda target here: a queue stands in for it)
        events.put_rule(Name="chain-heads", EventPattern=json.dumps({"source": [HEAD_SOURCE]}))
        events.put_targets(Rule="chain-heads", Targets=[{"Id": "f", "Arn": queues["heads"][1]}])
        monkeypatch.setenv("GUARDIAN_HEADS_TABLE", TABLE)
        monkeypatch.setenv("GUARDIAN_CENTRAL_TOPIC_ARN", topic)
        chain_heads._adapters.clear()
        yield {"alerts": queues["alerts"][0], "heads": queues["heads"][0]}
        chain_heads._adapters.clear()


def head(sequence: int, minutes: float, tag: str = "e") -> dict[str, Any]:
    at = T0 + timedelta(minutes=minutes)
    return {
        "key": f"digests/2026/12/06/{sequence:08d}-{at:%H%M%S}.json",
        "sequence": sequence,
        "written_at": at.isoformat().replace("+00:00", "Z"),
        "sha256": (f"{sequence:02d}{tag}" * 22)[:64],
    }


def sent(security: dict[str, str], *heads: dict[str, Any]) -> list[str]:
    """Each head sent as a sweep sends it; what the rule delivered, handed to the function in the order given."""
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/default"
    for h in heads:
        Sender().send_chain_head(bus, {"account": "123456789012", "region": "us-east-1", "head": h})
    sqs = boto3.client("sqs")
    delivered = []
    while answer := sqs.receive_message(QueueUrl=security["heads"], MaxNumberOfMessages=10).get("Messages"):
        delivered += [json.loads(m["Body"]) for m in answer]
        for m in answer:
            sqs.delete_message(QueueUrl=security["heads"], ReceiptHandle=m["ReceiptHandle"])
    for e in delivered:  # moto leaves out the envelope's account of an event put on a bus by ARN; AWS sets it to the
        assert "account" not in e or e["account"] == "123456789012"  # sender's (docs/AWS-FACTS: moto differs)
        e["account"] = "123456789012"
    by_sequence = {e["detail"]["head"]["sequence"]: e for e in delivered}
    return [chain_heads.lambda_handler(by_sequence[h["sequence"]], None)["outcome"] for h in heads]


def alerts(security: dict[str, str]) -> list[dict[str, Any]]:
    answer = boto3.client("sqs").receive_message(QueueUrl=security["alerts"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


@pytest.mark.threat("evidence-chain-shorten")
def test_a_shortened_chain_is_caught_in_the_security_account(security: dict[str, str]) -> None:
    assert sent(security, head(1, 5), head(3, 15), head(2, 10)) == ["kept", "kept", "kept"]  # 2 arrives late
    assert sent(security, head(3, 15)) == ["seen before"]  # a replay
    assert alerts(security) == []
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"origin": {"S": "123456789012#us-east-1#"}})
    assert (item["Item"]["last_sequence"]["N"], item["Item"]["version"]["N"]) == ("3", "3")
    # digests 3 (and the records it listed) deleted with governance bypass; the next sweep writes sequence 3 again
    [outcome] = sent(security, head(3, 20, tag="f"))
    assert outcome.startswith("CRITICAL: sequence 3 was")
    [notification] = alerts(security)
    assert notification["Subject"].startswith("[CRITICAL] 123456789012 us-east-1")
    assert notification["MessageAttributes"]["severity"]["Value"] == "CRITICAL"
    message = json.loads(notification["Message"])
    assert (message["severity"], message["head"]["sequence"], message["last_kept"]["sequence"]) == ("CRITICAL", 3, 3)
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"origin": {"S": "123456789012#us-east-1#"}})
    assert item["Item"]["regressions"]["N"] == "1"
    assert "rewritten" in item["Item"]["last_regression"]["S"]


def test_a_chain_shortened_to_a_lower_sequence_is_caught_too(security: dict[str, str]) -> None:
    assert sent(security, head(7, 35)) == ["kept"]
    [outcome] = sent(security, head(5, 40))
    assert outcome.startswith("CRITICAL")
    assert "shortened" in outcome
    assert [json.loads(a["Message"])["severity"] for a in alerts(security)] == ["CRITICAL"]


def test_an_event_that_is_not_a_head_is_dropped_and_a_missing_table_raises(
    security: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert chain_heads.lambda_handler({"source": "aws.events"}, None)["outcome"].startswith("dropped")
    monkeypatch.setenv("GUARDIAN_HEADS_TABLE", "no-such-table")
    with pytest.raises(Exception, match="ResourceNotFound"):  # retried by Lambda, then its dead-letter queue
        sent(security, head(1, 5))
