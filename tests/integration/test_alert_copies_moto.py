"""Every copy of an alert is independent (issue 20, item 2): a local topic that refuses the guardian (a policy that
denies it, a disabled key, the topic deleted) silences nothing. The security account's copy goes out in parallel,
never waits on the local one, and the security account is told, CRITICAL, that the local path is blocked."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from guardian.entrypoints import runtime, sweep
from guardian.flows.deliver import AlertNotPublished
from tests.faults import Fault, Faults
from tests.integration.conftest import TRAIL, Account
from tests.integration.world import World, message_of
from tests.support import load_event


@dataclass
class TopicFault(Fault):
    """The fault, only for requests naming this topic: one topic's policy or key refuses, the others answer."""

    topic: str = ""

    def answer(self, service: str, request: Any) -> AWSResponse | None:
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        if parse_qs(body).get("TopicArn") != [self.topic]:  # the topic published to, not one a message names
            return None
        return super().answer(service, request)


def refuse(faults: Faults, topic: str, kind: str = "denied", seconds: float = 0.0) -> TopicFault:
    fault = TopicFault("sns.Publish", kind, seconds=seconds, topic=topic)
    faults.faults.append(fault)
    return fault


@pytest.fixture
def central(world: World, monkeypatch: pytest.MonkeyPatch) -> str:
    """The security account's topic (another Region here), with its own subscriber queue; the queue's URL."""
    sns, sqs = boto3.client("sns", region_name="eu-west-1"), world.clients["sqs"]
    topic = sns.create_topic(Name="guardian-central")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="central-soc")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("GUARDIAN_CENTRAL_TOPIC_ARN", topic)
    return str(queue_url)


@pytest.mark.threat("topic-policy-refuses-guardian")
def test_a_local_topic_that_refuses_the_guardian_is_reported_blocked_in_the_security_account(
    world: World, central: str, faults: Faults
) -> None:
    refuse(faults, world.topic_arn)  # the topic's policy denies the guardian's roles sns:Publish
    event = load_event("stop_logging")
    with pytest.raises(AlertNotPublished, match="guardian-alerts: AuthorizationError") as raised:
        world.invoke(event)  # so Lambda retries, and the dead-letter queue keeps the event
    assert "StopLogging" in str(raised.value)
    assert world.alerts() == []
    copies = world.alerts(central)
    by_outcome = {c["MessageAttributes"]["outcome"]["Value"]: c for c in copies}
    assert sorted(by_outcome) == ["alert_path_blocked", "healed"]
    assert len(copies) == 2
    assert message_of(by_outcome["healed"])["severity"] == "HIGH"  # the alert itself, as the team would have had it
    blocked = by_outcome["alert_path_blocked"]
    assert blocked["MessageAttributes"]["severity"]["Value"] == "CRITICAL"
    assert "Alert path blocked: guardian-alerts refused an alert" in blocked["Subject"]
    notice = message_of(blocked)["alert_path_blocked"]
    assert notice["topic"] == world.topic_arn
    assert notice["error"].startswith("AuthorizationError")

    # Lambda's retries, the topic still refusing: each copy went out once, and is not sent again.
    for _ in range(2):
        with pytest.raises(AlertNotPublished):
            world.invoke(event)
    assert world.alerts(central) == []
    # The topic repaired (the sweep puts its policy back): the next retry sends the local copy alone.
    faults.clear()
    world.invoke(event)
    assert [message_of(a)["severity"] for a in world.alerts()] == ["HIGH"]
    assert world.alerts(central) == []


@pytest.mark.threat("alert-path-central-copy")
def test_a_deleted_local_topic_still_leaves_the_security_account_its_copy(world: World, central: str) -> None:
    boto3.client("sns").delete_topic(TopicArn=world.topic_arn)
    with pytest.raises(AlertNotPublished, match="NotFound"):
        world.invoke(load_event("stop_logging"))
    outcomes = sorted(c["MessageAttributes"]["outcome"]["Value"] for c in world.alerts(central))
    assert outcomes == ["alert_path_blocked", "healed"]


def test_without_a_security_account_a_refused_alert_raises_as_before(world: World, faults: Faults) -> None:
    refuse(faults, world.topic_arn)
    with pytest.raises(AlertNotPublished, match="guardian-alerts: AuthorizationError"):
        world.invoke(load_event("stop_logging"))


@pytest.mark.threat("alert-path-central-copy")
def test_the_security_accounts_copy_does_not_wait_for_the_local_topic(
    world: World, central: str, faults: Faults
) -> None:
    """A local topic that hangs (a black-holed endpoint): the central copy arrives while the local publish still
    hangs. Order, not elapsed time: the test releases the hang only once the copy is there."""
    hang = refuse(faults, world.topic_arn, "hang", seconds=120.0)
    answers: list[Any] = []
    invocation = threading.Thread(target=lambda: answers.append(world.invoke(load_event("stop_logging"))))
    invocation.start()
    copies: list[dict[str, Any]] = []
    for _ in range(400):  # bounded: a broken guardian fails the test instead of hanging it
        copies += world.alerts(central)
        if copies:
            break
        time.sleep(0.05)
    assert not hang.hang_over.is_set()  # the local publish was still hanging when the copy arrived
    hang.released.set()
    invocation.join(120.0)
    assert [c["MessageAttributes"]["outcome"]["Value"] for c in copies] == ["healed"]
    assert answers[0]["alert_published"] is True
    assert len(world.alerts()) == 1


EMAIL = "secops@example.com"


def central_queue(monkeypatch: pytest.MonkeyPatch) -> str:
    sns, sqs = boto3.client("sns", region_name="eu-west-1"), boto3.client("sqs")
    topic = sns.create_topic(Name="guardian-central")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="central-soc")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("GUARDIAN_CENTRAL_TOPIC_ARN", topic)
    return str(queue_url)


def drain(queue_url: str) -> list[dict[str, Any]]:
    sqs, found = boto3.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for m in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            found.append(json.loads(m["Body"]))
    return found


@pytest.mark.threat("topic-policy-refuses-guardian")
def test_a_topic_policy_the_sweep_cannot_put_back_is_reported_and_the_sweep_goes_on(
    account: Account, monkeypatch: pytest.MonkeyPatch, faults: Faults
) -> None:
    """The insider's topic policy denies the guardian sns:Publish and sns:SetTopicAttributes: the sweep can neither
    put it back nor alert locally. Its finding reaches the security account with "alert path blocked", and the rest
    of the sweep (a stopped trail) still runs, then the run fails (the sweep-errors alarm)."""
    boto3.client("sns").subscribe(TopicArn=account.topic_arn, Protocol="email-json", Endpoint=EMAIL)
    monkeypatch.setenv("GUARDIAN_ALERT_PATH", json.dumps({"emails": [EMAIL]}))
    central = central_queue(monkeypatch)
    runtime.reset()
    assert account.sweep()["alert_path"]["policies"] == "baseline_recorded"
    drain(central)
    silencing = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sns:*", "Resource": account.topic_arn}],
    }
    boto3.client("sns").set_topic_attributes(
        TopicArn=account.topic_arn, AttributeName="Policy", AttributeValue=json.dumps(silencing)
    )
    account.ct().stop_logging(Name=TRAIL)
    faults.add("sns.SetTopicAttributes", "denied")  # what the policy does to the guardian's roles (moto does not)
    refuse(faults, account.topic_arn)
    with pytest.raises(sweep.SweepFailed, match="heal_failed") as raised:
        account.sweep()
    assert "alert NOT published" in str(raised.value)
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is True  # the sweep did not stop at the topic
    copies = drain(central)
    subjects = sorted(c["Subject"] for c in copies)
    assert any("Alert path: topic policy changed" in s and "NOT restored" in s for s in subjects), subjects
    assert any("org-audit" in s for s in subjects), subjects
    blocked = [c for c in copies if c["MessageAttributes"]["outcome"]["Value"] == "alert_path_blocked"]
    assert len(blocked) == len(copies) // 2  # each refused alert: its copy and its notice
    assert account.alerts() == []


@pytest.mark.threat("topic-policy-refuses-guardian")
def test_a_topic_that_refuses_the_sweeps_reads_too_is_reported_and_the_other_checks_run(
    account: Account, monkeypatch: pytest.MonkeyPatch, faults: Faults
) -> None:
    """A policy denying the guardian ``sns:*`` refuses GetTopicAttributes as well: the policy check cannot even run.
    That is a CRITICAL finding of its own, in the security account; the subscriptions are still checked."""
    boto3.client("sns").subscribe(TopicArn=account.topic_arn, Protocol="email-json", Endpoint=EMAIL)
    monkeypatch.setenv("GUARDIAN_ALERT_PATH", json.dumps({"emails": [EMAIL]}))
    central = central_queue(monkeypatch)
    runtime.reset()
    account.sweep()
    drain(central)
    for operation in ("sns.GetTopicAttributes", "sns.SetTopicAttributes"):
        faults.add(operation, "denied")
    refuse(faults, account.topic_arn)
    with pytest.raises(sweep.SweepFailed, match="heal_failed") as raised:
        account.sweep()
    assert "'subscription secops@example.com': 'in_baseline'" in str(raised.value)  # the other checks ran
    copies = {c["MessageAttributes"]["outcome"]["Value"]: c for c in drain(central)}
    assert sorted(copies) == ["alert_path_blocked", "heal_failed"]
    subject, message = copies["heal_failed"]["Subject"], json.loads(copies["heal_failed"]["Message"])
    assert "Alert path: check refused changed (checked)" in subject
    assert "could not be checked (AuthorizationError" in message["reason"]
