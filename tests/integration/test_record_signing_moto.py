"""Records signed at write, against moto (issue 22): the handler signs each record after its alert; the sweep's digest
chain takes only signed records and alerts a forged one; ``guardian verify`` names it, and fails on a chain
shortened by deleting a record and the digests after it (its head goes stale)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from guardian.adapters.heartbeat import SOURCE as HEAD_SOURCE
from guardian.entrypoints import runtime
from guardian.flows.baselines import write_signed
from guardian.flows.digests import extend_chain
from guardian.flows.own_rules import snapshot
from guardian.flows.unsigned_records import alert_unsigned, heartbeat
from guardian.model import signing
from guardian.model.baselines import rule_document, rule_key
from guardian.model.record_signatures import problem, sidecar_key
from guardian.ports.invocation import Invocation
from guardian_console import verify
from guardian_console.deployed import Deployed
from guardian_console.integrity import Verdict
from tests.integration.world import World, message_of
from tests.support import load_event

STACK = "CloudTrailGuardian"
# A record is keyed by its event's day, and a digest lists the last LOOKBACK_DAYS days of them: the events are made
# today's (their files' day, 2026-11-20, falls out of that window as the calendar moves on), a few minutes back.
EVENT_AT = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
DAY: date = EVENT_AT.date()
RECORD = f"evidence/{DAY:%Y/%m/%d}/0a000001-1111-4111-8111-000000000001.json"


def load_today(name: str) -> dict[str, Any]:
    event = load_event(name)
    event["time"] = event["detail"]["eventTime"] = EVENT_AT.isoformat().replace("+00:00", "Z")
    return event


class Shifted:
    """The full adapter, with some records' S3 LastModified moved later: as if written between two sweeps (moto
    stamps every object with the wall clock, which these tests do not move)."""

    def __init__(self, aws: Any, later: dict[str, timedelta]) -> None:
        self._aws, self._later = aws, later

    def __getattr__(self, name: str) -> Any:
        return getattr(self._aws, name)

    def object_versions(self, prefix: str) -> list[dict[str, Any]]:
        found = self._aws.object_versions(prefix)
        return [{**v, "LastModified": v["LastModified"] + self._later.get(v["Key"], timedelta(0))} for v in found]


def sweep_at(at: datetime, later: dict[str, timedelta] | None = None) -> str:
    """The sweep's digest step at ``at``, alerting what it refuses as the sweep does."""
    runtime.reset()
    config = runtime.config()
    aws = Shifted(runtime.full_adapter(config), later or {})
    run = Invocation(lambda: at, lambda _s: None, "CloudTrailGuardian-SweepFunction", "sweep-1")
    return extend_chain(aws, run, lambda found: alert_unsigned(found, aws, config, run, at=at))


def verified(world: World, at: datetime, noted: tuple[str, str | None] | None = None) -> Verdict:
    deployed = Deployed(
        stack=STACK,
        account="123456789012",
        region="us-east-1",
        evidence_bucket=world.bucket,
        topic_arn=world.topic_arn,
        remediation_function="r",
        sweep_function="s",
        dead_letter_queue="q",
        signing_key=runtime.config().signing_key_arn or "",
        regions=("us-east-1",),
    )
    return verify.online(boto3.Session(region_name="us-east-1"), deployed, DAY, DAY, now=at, noted=noted)


@pytest.fixture
def scheduled(world: World) -> World:
    """The deployed sweep's schedule, where verify reads the interval, and the sweep's signed baseline of it."""
    record_schedule("rate(5 minutes)")
    return world


def record_schedule(expression: str, live: str | None = None) -> None:
    """The schedule rule as deployed (``expression``, its signed baseline recorded as the sweep does) and as it is
    now (``live``, if someone edited it since)."""
    name = f"{STACK}-sweep-schedule"
    events = boto3.client("events")
    events.put_rule(Name=name, ScheduleExpression=expression)
    rule = snapshot(dict(events.describe_rule(Name=name)), [])
    document = rule_document(name, rule, recorded_at="2026-11-20T00:00:00Z", by="sweep", region="us-east-1")
    runtime.reset()
    write_signed(runtime.full_adapter(runtime.config()), rule_key("us-east-1", name), document)
    if live is not None:
        events.put_rule(Name=name, ScheduleExpression=live)


def test_the_handler_signs_its_record_after_the_alert_and_the_signature_verifies(world: World) -> None:
    world.invoke(load_today("stop_logging"))
    assert len(world.alerts()) == 1
    s3, key_arn = world.clients["s3"], runtime.config().signing_key_arn or ""
    body = s3.get_object(Bucket=world.bucket, Key=RECORD)["Body"].read()
    side = s3.get_object(Bucket=world.bucket, Key=sidecar_key(RECORD))
    public = signing.parse_public_key(boto3.client("kms").get_public_key(KeyId=key_arn)["PublicKey"])
    assert problem(RECORD, body, side["Body"].read(), public, key_id=key_arn) is None
    assert side["ObjectLockMode"] == "COMPLIANCE"  # its own lock: no one deletes it before a digest takes it
    assert problem(RECORD, body.replace(b"healed", b"alerted", 1), s3.get_object(
        Bucket=world.bucket, Key=sidecar_key(RECORD))["Body"].read(), public, key_id=key_arn) is not None  # fmt: skip


@pytest.mark.threat("evidence-forge-between-sweeps")
def test_a_record_forged_between_two_sweeps_is_not_chained_is_alerted_and_verify_names_it(scheduled: World) -> None:
    world = scheduled
    world.invoke(load_today("stop_logging"))
    world.alerts()
    now = datetime.now(UTC)
    assert sweep_at(now + timedelta(minutes=2)).startswith("written digests/")
    s3 = world.clients["s3"]
    forged = f"evidence/{DAY:%Y/%m/%d}/forged.json"
    renamed = f"evidence/{DAY:%Y/%m/%d}/copied.json"  # a real record and its real signature, under another key
    real_body = s3.get_object(Bucket=world.bucket, Key=RECORD)["Body"].read()
    s3.put_object(Bucket=world.bucket, Key=forged, Body=b'{"schema": "cloudtrail-guardian/evidence", "outcome": "x"}')
    s3.put_object(Bucket=world.bucket, Key=renamed, Body=real_body)
    real_side = s3.get_object(Bucket=world.bucket, Key=sidecar_key(RECORD))["Body"].read()
    s3.put_object(Bucket=world.bucket, Key=sidecar_key(renamed), Body=real_side)
    later = {forged: timedelta(minutes=3), renamed: timedelta(minutes=3), sidecar_key(renamed): timedelta(minutes=3)}

    at = now + timedelta(minutes=25)  # past the grace a record's signature may take
    assert sweep_at(at, later).endswith("(0 records, 2 unsigned left out)")  # its alerts: the next digest
    digests = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=world.bucket, Prefix="digests/")["Contents"])
    second = json.loads(s3.get_object(Bucket=world.bucket, Key=digests[-1])["Body"].read())
    assert {r["key"] for r in second["records"]}.isdisjoint({forged, renamed})
    assert sorted(u["key"] for u in second["unsigned"]) == [renamed, forged]
    alerts = [message_of(n) for n in world.alerts()]
    about = [a for a in alerts if "unsigned record in the evidence store" in json.dumps(a)]
    assert len(about) == 2
    assert {a["severity"] for a in about} == {"HIGH"}

    verdict = verified(world, at + timedelta(minutes=1))
    assert not verdict.ok
    assert sorted(verdict.unsigned) == [renamed, forged]
    assert f"{forged}: not signed (no signature beside it)" in verdict.breaks
    assert any(b.startswith(f"{renamed}: signature invalid: it does not match") for b in verdict.breaks)
    assert verdict.interval_source == f"rule {STACK}-sweep-schedule: rate(5 minutes)"


@pytest.mark.threat("evidence-chain-shorten")
def test_a_record_deleted_with_the_digests_after_it_fails_verify_on_the_stale_head(scheduled: World) -> None:
    world = scheduled
    world.invoke(load_today("stop_logging"))
    world.invoke(load_today("stop_logging_access_denied"))
    s3 = world.clients["s3"]
    [second] = [k for k in world.evidence_keys() if k != RECORD]
    now = datetime.now(UTC)
    later = {second: timedelta(minutes=3), sidecar_key(second): timedelta(minutes=3)}
    sweep_at(now + timedelta(minutes=2), later)  # digest 1: the first record
    sweep_at(now + timedelta(minutes=7), later)  # digest 2: the second
    sweep_at(now + timedelta(minutes=12), later)  # digest 3: nothing new, the head kept fresh
    intact = verified(world, now + timedelta(minutes=13))
    assert intact.ok
    assert intact.head is not None
    noted = (intact.head.key, intact.head.sha256)  # what verify printed, kept outside the account
    assert not verified(world, now + timedelta(minutes=23)).ok  # no sweep for more than two intervals: stale

    digests = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=world.bucket, Prefix="digests/")["Contents"])
    assert len(digests) == 3
    for key in [second, *digests[1:]]:  # the record, and every digest from the one listing it (its .sig is locked)
        for version in s3.list_object_versions(Bucket=world.bucket, Prefix=key)["Versions"]:
            s3.delete_object(
                Bucket=world.bucket, Key=key, VersionId=version["VersionId"], BypassGovernanceRetention=True
            )
    verdict = verified(world, now + timedelta(minutes=13))  # a minute after the deleted head was written
    assert not verdict.ok
    assert verdict.head is not None
    assert (verdict.head.key, verdict.head.sequence) == (digests[0], 1)
    stale, deleted = verdict.breaks
    assert deleted == f"{second}: deleted: its signature {sidecar_key(second)} is there, the record is not"
    assert stale.startswith(f"the chain's head {digests[0]} (sequence 1) was written ")
    assert "older than two sweep intervals (10 min;" in stale
    assert "the newest digests were deleted (a shortened chain)" in stale

    # The next sweep extends the shortened chain: its head is fresh again, with no gap; but the record's signature,
    # locked, is still there: the new digest names the record deleted. A head noted before also shows the shortening
    # (`guardian verify --head KEY:SHA256`).
    sweep_at(now + timedelta(minutes=17), later)
    again = verified(world, now + timedelta(minutes=18))
    assert again.head is not None
    assert again.head.sequence == 2
    # The sweep's own record of that alert carries moto's wall-clock time, minutes before this test's virtual head:
    # verify names it "outside the chain" here; written after the head, as in AWS, the next digest takes it.
    own = [b for b in again.breaks if b.startswith(f"evidence/{DAY:%Y/%m/%d}/sweep-deleted-record-")]
    assert len(own) <= 1
    [named] = [b for b in again.breaks if b not in own]
    assert named.startswith(f"{second}: deleted before a digest took it")
    told = verified(world, now + timedelta(minutes=18), noted)
    assert sorted(b for b in told.breaks if b not in own) == sorted(
        [named, f"the head noted before, {noted[0]}, is not in the chain: the chain was shortened (digests deleted)"]
    )


def test_each_sweep_sends_its_chain_head_to_the_security_account(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sending side of the heartbeat's head: the security account's bus (derived from the central topic, where the
    stack has a security account) gets the account, the Region and the head's key, sequence, time and SHA-256."""
    events, sqs, sns = boto3.client("events"), boto3.client("sqs"), boto3.client("sns")
    queue = sqs.create_queue(QueueName="heads")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="heads", EventPattern=json.dumps({"source": [HEAD_SOURCE]}))
    events.put_targets(Rule="heads", Targets=[{"Id": "q", "Arn": arn}])
    central = sns.create_topic(Name="central-alerts")["TopicArn"]  # moto has one account: the "security" one here
    monkeypatch.setenv("GUARDIAN_CENTRAL_TOPIC_ARN", central)
    runtime.reset()
    config = runtime.config()
    assert heartbeat(runtime.full_adapter(config), config) is None  # no security account: nothing sent
    monkeypatch.setenv("GUARDIAN_OWN_RULES", json.dumps([f"{STACK}-tamper", f"{STACK}-alarms-to-security"]))
    runtime.reset()
    config = runtime.config()
    aws = runtime.full_adapter(config)
    at = datetime.now(UTC) + timedelta(minutes=2)
    written = extend_chain(aws, Invocation(lambda: at, lambda _s: None), None, heartbeat(aws, config))
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    sent = json.loads(message["Body"])
    assert (sent["source"], sent["detail-type"]) == (HEAD_SOURCE, "Guardian Evidence Chain Head")
    head = sent["detail"]["head"]
    body = world.clients["s3"].get_object(Bucket=world.bucket, Key=head["key"])["Body"].read()
    assert written.startswith(f"written {head['key']}")
    assert (head["sequence"], head["sha256"]) == (1, hashlib.sha256(body).hexdigest())
    assert (sent["detail"]["account"], sent["detail"]["region"]) == ("123456789012", "us-east-1")
    assert sent["detail"]["stack"] == STACK  # the security account keeps one chain per account, Region and stack
