"""The digest chain's gaps, against moto (review 4, findings 2, 3 and 5): a record deleted before a digest took it
(its signature left behind), a blind-window object deleted after one did, an object planted at the chain's next key,
and a schedule rule edited to make a stale head look fresh."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import botocore.exceptions
import pytest

from guardian.entrypoints import runtime
from guardian.entrypoints.sweep import SweepFailed
from guardian.flows.own_rules import check_rule
from guardian.model.baselines import rule_key
from guardian.model.digests import digest_key, sequence_of
from guardian.model.record_signatures import sidecar_key
from guardian.ports.invocation import Invocation
from guardian_console.deployed import Deployed
from guardian_console.schedule import interval_of
from tests.integration.test_record_signing_moto import RECORD, STACK, load_today, record_schedule, sweep_at, verified
from tests.integration.world import World, message_of

if TYPE_CHECKING:
    from tests.integration.conftest import Account


@pytest.fixture
def scheduled(world: World) -> World:
    """The deployed sweep's schedule, and the sweep's signed baseline of it."""
    record_schedule("rate(5 minutes)")
    return world


def _digests(world: World) -> list[dict[str, Any]]:
    s3 = world.clients["s3"]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=world.bucket, Prefix="digests/")["Contents"])
    return [json.loads(s3.get_object(Bucket=world.bucket, Key=k)["Body"].read()) for k in keys]


def _delete_every_version(world: World, prefix: str) -> None:
    """What break-glass does: each version, the lock bypassed."""
    s3 = world.clients["s3"]
    for version in s3.list_object_versions(Bucket=world.bucket, Prefix=prefix).get("Versions", []):
        if version["Key"] == prefix:
            s3.delete_object(
                Bucket=world.bucket, Key=prefix, VersionId=version["VersionId"], BypassGovernanceRetention=True
            )


@pytest.mark.threat("evidence-delete-young")
def test_a_record_deleted_before_its_digest_is_alerted_once_named_in_the_digest_and_breaks_verify(
    scheduled: World,
) -> None:
    world = scheduled
    world.invoke(load_today("stop_logging"))
    world.alerts()
    _delete_every_version(world, RECORD)  # within minutes, before the next sweep digests it: its .sig stays
    now = datetime.now(UTC)
    assert sweep_at(now + timedelta(minutes=2)).startswith("written digests/")
    [digest] = _digests(world)
    assert [d["key"] for d in digest["deleted"]] == [RECORD]
    assert digest["deleted"][0]["sidecar"] == sidecar_key(RECORD)
    alerts = [message_of(n) for n in world.alerts()]
    about = [a for a in alerts if "deleted before the digest chain took it" in json.dumps(a)]
    assert [a["severity"] for a in about] == ["HIGH"]
    assert RECORD in json.dumps(about[0])
    sweep_at(now + timedelta(minutes=7))  # the next digest's period does not hold the signature: not again
    assert not [a for a in world.alerts() if "deleted before the digest chain took it" in json.dumps(a)]

    verdict = verified(world, now + timedelta(minutes=8))
    assert not verdict.ok
    assert any(b.startswith(f"{RECORD}: deleted before a digest took it") for b in verdict.breaks)


@pytest.mark.threat("evidence-delete-young")
def test_a_records_signature_cannot_be_deleted_so_deleting_record_sig_and_window_is_still_alerted(
    scheduled: World,
) -> None:
    """Review 5: deleting the record, its ``.sig`` and its blind window together left nothing for the orphan check.
    The sidecar carries its own COMPLIANCE lock: not even a governance bypass deletes it before a digest takes it."""
    world = scheduled
    world.invoke(load_today("stop_logging"))
    world.alerts()
    s3 = world.clients["s3"]
    [side] = s3.list_object_versions(Bucket=world.bucket, Prefix=sidecar_key(RECORD))["Versions"]
    head = s3.head_object(Bucket=world.bucket, Key=sidecar_key(RECORD), VersionId=side["VersionId"])
    assert head["ObjectLockMode"] == "COMPLIANCE"
    _delete_every_version(world, RECORD)
    _delete_every_version(world, RECORD.replace("evidence/", "blind-windows/", 1))
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        _delete_every_version(world, sidecar_key(RECORD))
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=world.bucket, Prefix=sidecar_key(RECORD))[
        "Versions"]] == [side["VersionId"]]  # fmt: skip
    now = datetime.now(UTC)
    assert sweep_at(now + timedelta(minutes=2)).startswith("written digests/")
    [digest] = _digests(world)
    assert [d["key"] for d in digest["deleted"]] == [RECORD]
    about = [a for a in map(message_of, world.alerts()) if "deleted before the digest chain took it" in json.dumps(a)]
    assert [a["severity"] for a in about] == ["HIGH"]
    assert not verified(world, now + timedelta(minutes=3)).ok


@pytest.mark.threat("evidence-delete-young")
def test_a_blind_window_object_is_in_the_digest_and_deleting_it_breaks_verify(scheduled: World) -> None:
    world = scheduled
    world.invoke(load_today("stop_logging"))
    now = datetime.now(UTC)
    assert sweep_at(now + timedelta(minutes=2)).startswith("written digests/")
    [digest] = _digests(world)
    windows = [w["key"] for w in digest["windows"]]
    assert windows == [RECORD.replace("evidence/", "blind-windows/", 1)]
    assert verified(world, now + timedelta(minutes=3)).ok
    _delete_every_version(world, windows[0])
    verdict = verified(world, now + timedelta(minutes=3))
    assert any(b.startswith(f"{windows[0]}: deleted (version") for b in verdict.breaks)


@pytest.mark.threat("digest-plant")
def test_an_object_planted_at_the_next_digest_key_is_critical_and_fails_the_sweep(account: Account) -> None:
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=account.bucket, Prefix="digests/")["Contents"]]
    head = max(n for n in map(sequence_of, keys) if n is not None)
    planted = digest_key(head + 1, datetime.now(UTC))
    account.alerts()
    s3.put_object(Bucket=account.bucket, Key=planted, Body=b"junk")
    with pytest.raises(SweepFailed, match="evidence_digest"):
        account.sweep()
    critical = [
        json.loads(a["Message"]) for a in account.alerts() if "the evidence digest chain is stopped" in a["Message"]
    ]
    assert [c["severity"] for c in critical] == ["CRITICAL"]
    assert planted in json.dumps(critical[0])


def _deployed() -> Deployed:
    return Deployed(STACK, "123456789012", "us-east-1", "absent-bucket", "t", "r", "s", "q", "", ("us-east-1",))


@pytest.mark.threat("evidence-chain-shorten")
def test_a_schedule_rule_edited_or_disabled_does_not_make_a_stale_head_fresh(scheduled: World) -> None:
    world = scheduled
    now = datetime.now(UTC)
    assert sweep_at(now).startswith("written digests/")
    record_schedule("rate(5 minutes)", live="rate(30 days)")  # the insider's edit
    verdict = verified(world, now + timedelta(minutes=11))
    assert not verdict.ok
    assert verdict.max_head_age == timedelta(minutes=10)
    assert "rate(30 days), but deployed rate(5 minutes)" in verdict.interval_source
    assert "older than two sweep intervals" in verdict.breaks[0]

    boto3.client("events").disable_rule(Name=f"{STACK}-sweep-schedule")
    deployed = Deployed(
        STACK, "123456789012", "us-east-1", world.bucket, "t", "r", "s", "q", _signing_key(), ("us-east-1",)
    )
    seconds, source = interval_of(boto3.Session(region_name="us-east-1"), deployed)
    assert seconds == 300
    assert "DISABLED (no schedule" in source
    assert "deployed rate(5 minutes)" in source


@pytest.mark.threat("evidence-chain-shorten")
def test_a_deleted_schedule_baseline_re_recorded_from_an_edited_rule_is_capped_by_the_deployed_template(
    scheduled: World,
) -> None:
    """Review 5: break-glass deletes the schedule's signed baseline, edits the rule to rate(30 days); the sweep
    re-records the edited rule as the baseline. The stack's deployed template still says rate(5 minutes)."""
    world = scheduled
    name = f"{STACK}-sweep-schedule"
    rule = {"Type": "AWS::Events::Rule", "Properties": {"Name": name, "ScheduleExpression": "rate(5 minutes)"}}
    boto3.client("cloudformation").create_stack(
        StackName=STACK, TemplateBody=json.dumps({"Resources": {"SweepSchedule": rule}})
    )
    _delete_every_version(world, rule_key("us-east-1", name))
    events = boto3.client("events")
    events.put_rule(Name=name, ScheduleExpression="rate(30 days)")
    sweep = "arn:aws:lambda:us-east-1:123456789012:function:CloudTrailGuardian-SweepFunction"
    events.put_targets(Rule=name, Targets=[{"Id": "sweep", "Arn": sweep}])  # moto's stack made it bare
    runtime.reset()
    config = runtime.config()
    now = datetime.now(UTC)
    run = Invocation(lambda: now, lambda _s: None, "CloudTrailGuardian-SweepFunction", "sweep-1")
    checked = check_rule(
        runtime.full_adapter(config), config, "us-east-1", name, started=now, run=run, deployed_at=None
    )
    assert checked.status == "baseline_recorded"  # the edited rule, now its signed baseline
    deployed = Deployed(
        STACK, "123456789012", "us-east-1", world.bucket, "t", "r", "s", "q", _signing_key(), ("us-east-1",)
    )
    seconds, source = interval_of(boto3.Session(region_name="us-east-1"), deployed)
    assert seconds == 300
    assert source.endswith("but the stack deployed rate(5 minutes) (its template): the smaller used")


def test_without_a_signed_baseline_the_live_rule_counts_for_at_most_five_minutes(world: World) -> None:
    boto3.client("events").put_rule(Name=f"{STACK}-sweep-schedule", ScheduleExpression="rate(30 days)")
    seconds, source = interval_of(boto3.Session(region_name="us-east-1"), _deployed())
    assert seconds == 300
    assert source.endswith("at most 5 minutes")


def _signing_key() -> str:
    from guardian.entrypoints import runtime  # noqa: PLC0415

    return runtime.config().signing_key_arn or ""
