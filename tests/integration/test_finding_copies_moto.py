"""The alert's optional copies in moto: an OCSF Detection Finding in the evidence bucket (``ocsf``), and the alert on
the default bus as the guardian's own event (``ownEvents``), read back through a rule targeting an SQS queue; its
``verify`` fields name the signed record, which a forged event's do not."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from guardian.adapters.own_events import OwnEventsAdapter
from guardian.entrypoints import runtime, sweep
from guardian.model.ocsf import PREFIX, problems
from guardian.model.own_events import mismatch
from tests.integration.world import World, message_of
from tests.support import ACCOUNT, TRAIL, load_event

BUS = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"


def listening(world: World, pattern: dict[str, Any]) -> str:
    """A rule on the default bus sending what ``pattern`` matches to a new queue; its URL."""
    sqs, events = world.clients["sqs"], boto3.client("events", region_name="us-east-1")
    url = sqs.create_queue(QueueName="team-router")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="team-router", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="team-router", Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)


def received(world: World, url: str) -> list[dict[str, Any]]:
    messages = world.clients["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def ocsf_keys(world: World) -> list[str]:
    return world.evidence_keys(PREFIX)


def test_a_healed_stop_logging_is_an_ocsf_close_with_its_evidence_digest(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUARDIAN_OCSF", "1")
    outcome = world.invoke(load_event("stop_logging"))

    assert outcome["outcome"] == "healed"
    assert "copy the alert as an OCSF finding" not in outcome["steps_failed"]
    [key] = ocsf_keys(world)
    [evidence_key] = world.evidence_keys()
    assert key.startswith(f"{PREFIX}region=us-east-1/accountId={ACCOUNT}/eventDay=")
    assert key.endswith("/" + evidence_key.rsplit("/", 1)[-1])
    document = world.evidence(key)
    assert problems(document) == []
    assert (document["class_uid"], document["activity_id"], document["type_uid"]) == (2004, 3, 200403)
    assert (document["severity_id"], document["status"]) == (4, "Resolved")
    assert document["resources"][0]["uid"].endswith(f":trail/{TRAIL}")
    record = world.clients["s3"].get_object(Bucket=world.bucket, Key=evidence_key)["Body"].read()
    assert document["unmapped"]["evidence_sha256"] == hashlib.sha256(record).hexdigest()
    assert document["unmapped"]["verified_logging"] is True


def test_the_alert_mailed_is_the_guardians_own_event_on_the_default_bus(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUARDIAN_OWN_EVENTS", BUS)
    url = listening(world, {"source": ["cloudtrail-guardian"], "detail-type": ["CloudTrail Guardian Alert"]})
    outcome = world.invoke(load_event("stop_logging"))

    assert "put the alert on the event bus" not in outcome["steps_failed"]
    [event] = received(world, url)
    [mailed] = world.alerts()
    assert (event["source"], event["detail-type"]) == ("cloudtrail-guardian", "CloudTrail Guardian Alert")
    verify = event["detail"].pop("verify")
    assert event["detail"] == message_of(mailed)  # the document as mailed, and verify
    assert event["detail"]["outcome"] == "healed"
    [evidence_key] = world.evidence_keys()
    record = world.clients["s3"].get_object(Bucket=world.bucket, Key=evidence_key)["Body"].read()
    assert verify == {
        "evidence_key": evidence_key,
        "evidence_sha256": hashlib.sha256(record).hexdigest(),
        "signature_key": evidence_key + ".sig",
    }
    assert mismatch({"verify": verify}, world.evidence(verify["signature_key"])) is None


def sidecar_at(world: World, key: str | None) -> dict[str, Any] | None:
    """What a receiver reads at an event's ``signature_key`` in the evidence bucket (None: nothing there)."""
    try:
        return world.evidence(str(key))
    except world.clients["s3"].exceptions.NoSuchKey:
        return None


@pytest.mark.threat("own-event-forged")
def test_a_forged_own_event_reaches_the_bus_but_matches_no_signed_record(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The insider's move: PutEvents on the bus with the guardian's source, a "healed" alert of their own making, or
    a real event's detail with the SHA-256 changed. The bus takes both (a copy, not the channel); the receiver's check
    against the evidence bucket refuses both, and the guardian's own rules match neither
    (tests/infra/test_finding_copies_template.py)."""
    monkeypatch.setenv("GUARDIAN_OWN_EVENTS", BUS)
    url = listening(world, {"source": ["cloudtrail-guardian"]})
    world.invoke(load_event("stop_logging"))
    [real] = received(world, url)
    world.alerts()
    made_up = {**real["detail"], "outcome": "healed", "summary": "all is well"}
    made_up["verify"] = {**real["detail"]["verify"], "evidence_key": "evidence/made-up.json"}
    made_up["verify"]["signature_key"] = "evidence/made-up.json.sig"
    altered = {**real["detail"], "verify": {**real["detail"]["verify"], "evidence_sha256": "0" * 64}}
    events = boto3.client("events", region_name="us-east-1")
    for detail in (made_up, altered):
        answer = events.put_events(
            Entries=[
                {
                    "Source": "cloudtrail-guardian",
                    "DetailType": "CloudTrail Guardian Alert",
                    "Detail": json.dumps(detail),
                    "EventBusName": BUS,
                }
            ]
        )
        assert answer["FailedEntryCount"] == 0  # the default bus takes anyone's event

    forged = received(world, url)
    assert len(forged) == 2
    verdicts = [mismatch(e["detail"], sidecar_at(world, e["detail"]["verify"]["signature_key"])) for e in forged]
    assert sorted(str(v) for v in verdicts) == [
        "no signed record at 'evidence/made-up.json'",
        "the record's SHA-256 is not the event's: forged or changed",
    ]
    assert world.alerts() == []  # nothing the guardian did, nothing it mailed
    assert mismatch(real["detail"], sidecar_at(world, real["detail"]["verify"]["signature_key"])) is None


def test_a_named_detail_type_and_a_missing_bus_fails_the_step_not_the_alert(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUARDIAN_OWN_EVENTS", f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/no-such-bus")
    monkeypatch.setenv("GUARDIAN_OWN_EVENTS_DETAIL_TYPE", "Audit Tamper")
    outcome = world.invoke(load_event("stop_logging"))

    assert outcome["alert_published"] is True
    assert "put the alert on the event bus" in outcome["steps_failed"]
    assert len(world.alerts()) == 1


def test_off_writes_no_ocsf_object_and_puts_no_event(world: World) -> None:
    url = listening(world, {"source": ["cloudtrail-guardian"]})
    outcome = world.invoke(load_event("stop_logging"))

    assert outcome["alert_published"] is True
    assert ocsf_keys(world) == []
    assert received(world, url) == []


class _Clients:
    def __init__(self, client: Any) -> None:
        self.client = client

    def events(self, region: str) -> Any:
        return self.client


def test_a_failed_entry_is_raised_for_the_step_to_report() -> None:
    client = boto3.client("events", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    adapter = OwnEventsAdapter()
    adapter._clients = _Clients(client)  # type: ignore[assignment]
    entry = {"Source": "cloudtrail-guardian", "DetailType": "d", "Detail": "{}", "EventBusName": BUS}
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]},
            {"Entries": [entry]},
        )
        with pytest.raises(RuntimeError, match="EventBridge refused the guardian's event: InternalFailure"):
            adapter.put_own_event(entry)


def test_the_sweeps_alert_is_copied_too_once_its_run_is_done(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A trail stopped with no event reaching the guardian: the sweep heals it, mails the alert, and once its run is
    done writes the alert's OCSF object and puts the alert as mailed on the bus (guardian.flows.sweep_copies)."""
    monkeypatch.setenv("GUARDIAN_OCSF", "1")
    monkeypatch.setenv("GUARDIAN_OWN_EVENTS", BUS)
    monkeypatch.setenv("GUARDIAN_SWEEP_REGIONS", json.dumps(["us-east-1"]))
    url = listening(world, {"source": ["cloudtrail-guardian"]})
    runtime.reset()
    world.cloudtrail().start_logging(Name=TRAIL)  # the world's trail starts stopped: healed first, the first look
    sweep.lambda_handler({}, None)  # has nothing to heal (a heal in the same second would share the second's id)
    world.alerts()
    before = {e["id"] for e in received(world, url)}  # what the first look copied, if anything
    written = set(ocsf_keys(world))
    world.cloudtrail().stop_logging(Name=TRAIL)  # no event comes

    summary = sweep.lambda_handler({}, None)

    assert summary["statuses"].get("healed") == 1
    [mailed] = world.alerts()
    [event] = [e for e in received(world, url) if e["id"] not in before]
    verify = event["detail"].pop("verify")
    assert event["detail"] == message_of(mailed)  # the document as mailed, from the sweep's run
    assert mismatch({"verify": verify}, world.evidence(verify["signature_key"])) is None  # its signed record
    [key] = set(ocsf_keys(world)) - written
    document = world.evidence(key)
    assert problems(document) == []
    assert document["resources"][0]["uid"].endswith(f":trail/{TRAIL}")
    assert document["activity_id"] == 3  # healed by the sweep: closed


def test_a_sweep_with_every_copy_off_keeps_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDIAN_SECURITY_HUB", "off")
    monkeypatch.setenv("GUARDIAN_SWEEP_REGIONS", json.dumps(["us-east-1"]))
    url = listening(world, {"source": ["cloudtrail-guardian"]})
    runtime.reset()
    sweep.lambda_handler({}, None)
    world.cloudtrail().stop_logging(Name=TRAIL)

    summary = sweep.lambda_handler({}, None)

    assert summary["statuses"].get("healed") == 1
    assert ocsf_keys(world) == []
    assert received(world, url) == []
