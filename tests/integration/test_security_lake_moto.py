"""The OCSF findings written into a Security Lake custom source (``securityLake``), in moto: the sweep reads the
findings the guardian wrote in the last completed windows and writes each window's, per partition, as one Parquet
object, as the source's provider role; read back here with pyarrow. A second writing of a window writes the same key
with the same rows; a write that fails is mailed MEDIUM once and made good by the next sweep; a stored finding that
is not one is left out and named, the others still written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from guardian.entrypoints import runtime, sweep
from guardian.flows.lake_delivery import Delivered, deliver_to_lake, note_failure
from guardian.model import lake_delivery
from guardian.model.asff import finding_id
from guardian.model.config import Config
from guardian.model.ocsf import PREFIX
from guardian.ports.invocation import Invocation
from tests.integration.world import World, message_of
from tests.support import ACCOUNT, TRAIL, load_event

LAKE = "aws-security-data-lake-us-east-1-k3x9a7b2c4d6"
SOURCE = f"s3://{LAKE}/ext/cloudtrail-guardian/"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/AmazonSecurityLake-Provider-cloudtrail-guardian-us-east-1"


@pytest.fixture
def lake(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The world with ``ocsf`` on, the lake's bucket and the source's provider role, and the setting."""
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=LAKE)
    boto3.client("iam").create_role(
        RoleName=ROLE.rsplit("/", 1)[-1],
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    monkeypatch.setenv("GUARDIAN_OCSF", "1")
    monkeypatch.setenv("GUARDIAN_SWEEP_REGIONS", json.dumps(["us-east-1", "us-west-2"]))
    monkeypatch.setenv(
        "GUARDIAN_SECURITY_LAKE", json.dumps({"location": SOURCE, "roleArn": ROLE, "externalId": "ext-7f3a"})
    )
    runtime.reset()
    return world


def later(minutes: float) -> Invocation:
    """A run ``minutes`` from now: the windows it writes are those S3 stamped the objects in."""
    return Invocation(lambda: datetime.now(UTC) + timedelta(minutes=minutes), lambda _: None)


def deliver(minutes: float = 10) -> Delivered:
    config = runtime.config()
    return deliver_to_lake(runtime.full_adapter(config), config, later(minutes))


def lake_objects() -> dict[str, bytes]:
    s3 = boto3.client("s3", region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=LAKE).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=LAKE, Key=o["Key"])["Body"].read() for o in listed}


def rows(body: bytes) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = pq.read_table(pa.BufferReader(body)).to_pylist()
    return found


def test_a_healed_stop_logging_reaches_the_custom_source_as_parquet(lake: World) -> None:
    outcome = lake.invoke(load_event("stop_logging"))
    assert outcome["outcome"] == "healed"
    [stored] = lake.evidence_keys(PREFIX)

    done = deliver()

    assert (done.objects, done.findings, done.left_out, done.failed) == (1, 1, 0, 0)
    [(key, body)] = lake_objects().items()
    day = datetime.now(UTC).strftime("%Y%m%d")
    assert key.startswith(f"ext/cloudtrail-guardian/region=us-east-1/accountId={ACCOUNT}/eventDay={day}/")
    assert key.endswith("Z.parquet")
    [row] = rows(body)
    document = lake.evidence(stored)
    assert (row["class_uid"], row["activity_id"], row["type_uid"], row["severity_id"]) == (2004, 3, 200403, 4)
    assert row["finding_info"]["uid"] == document["finding_info"]["uid"]
    assert row["finding_info"]["uid"] == finding_id(
        ACCOUNT,
        "us-east-1",
        document["finding_info"]["analytic"]["uid"],
        f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{TRAIL}",
    )
    assert row["resources"][0]["uid"].endswith(f":trail/{TRAIL}")
    assert row["metadata"]["product"]["name"] == "CloudTrail Guardian"
    assert row["time"] == document["time"]
    unmapped = dict(row["unmapped"])
    assert json.loads(unmapped["evidence_key"]) == document["unmapped"]["evidence_key"]


def test_a_window_written_again_is_the_same_object(lake: World) -> None:
    lake.invoke(load_event("stop_logging"))
    deliver(10)
    first = lake_objects()
    deliver(12)  # the same window among the last three again
    assert lake_objects() == first
    assert deliver(30).objects == 0  # older than the last three windows: left alone (already written)
    assert lake_objects() == first


def test_findings_of_the_current_window_wait_for_it_to_end(lake: World) -> None:
    lake.invoke(load_event("stop_logging"))
    assert deliver(0).objects == 0
    assert lake_objects() == {}


@pytest.mark.threat("lake-blocked")
def test_a_refused_write_is_mailed_once_and_the_next_sweep_makes_it_good(lake: World) -> None:
    lake.invoke(load_event("stop_logging"))
    lake.alerts()
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.delete_bucket(Bucket=LAKE)
    config = runtime.config()
    aws = runtime.full_adapter(config)

    done = deliver_to_lake(aws, config, later(6))
    for _ in range(2):  # a second failing sweep the same day mails nothing more
        note_failure(aws, config, later(6), done, started=datetime.now(UTC))

    assert (done.objects, done.failed) == (0, 1)
    assert "NoSuchBucket" in done.errors[0]
    [mailed] = [message_of(n) for n in lake.alerts()]
    assert mailed["severity"] == "MEDIUM"
    assert "Security Lake custom source" in mailed["summary"] + json.dumps(mailed)
    s3.create_bucket(Bucket=LAKE)  # mended
    assert deliver(11).objects == 1  # two windows on, the window is still among the last three
    assert len(lake_objects()) == 1


@pytest.mark.threat("lake-blocked")
def test_a_stored_finding_that_is_not_one_is_left_out_and_named(lake: World) -> None:
    lake.invoke(load_event("stop_logging"))
    day = datetime.now(UTC).strftime("%Y%m%d")
    bad = f"{PREFIX}region=us-east-1/accountId={ACCOUNT}/eventDay={day}/planted.json"
    lake.clients["s3"].put_object(Bucket=lake.bucket, Key=bad, Body=b'{"class_uid": 2004}\n')

    done = deliver()

    assert (done.objects, done.findings, done.left_out) == (1, 1, 1)
    assert any(error.startswith(bad) and "missing" in error for error in done.errors)
    [(_, body)] = lake_objects().items()
    assert len(rows(body)) == 1


def test_the_sweep_writes_into_the_lake_at_the_end_of_its_run(lake: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the sweep's handler: its summary says what it wrote (its windows moved on, as ten minutes later)."""
    lake.invoke(load_event("stop_logging"))
    written = lake_delivery.windows
    monkeypatch.setattr(
        lake_delivery, "windows", lambda now, minutes, count=3: written(now + timedelta(minutes=10), minutes, count)
    )

    summary = sweep.lambda_handler({}, None)

    assert summary["security_lake"]["objects"] >= 1
    assert summary["security_lake"]["failed"] == 0
    assert rows(next(iter(lake_objects().values())))[0]["class_uid"] == 2004


def test_off_there_is_no_lake_step(world: World) -> None:
    runtime.reset()
    config = Config.from_env({"GUARDIAN_TOPIC_ARN": world.topic_arn, "GUARDIAN_EVIDENCE_BUCKET": world.bucket})
    assert deliver_to_lake(object(), config, later(10)) == Delivered(note="off")


def planted(lake: World, document: dict[str, Any], name: str, region: str = "us-east-1") -> str:
    """A finding object as the guardian writes them (break-glass or another Region's copy), at ``region``."""
    day = datetime.now(UTC).strftime("%Y%m%d")
    key = f"{PREFIX}region={region}/accountId={ACCOUNT}/eventDay={day}/{name}"
    lake.clients["s3"].put_object(Bucket=lake.bucket, Key=key, Body=json.dumps(document).encode() + b"\n")
    return key


def test_a_region_the_sweep_does_not_cover_is_written_too(lake: World) -> None:
    """Every Region partition the bucket holds (a forwarder's Region removed from the sweep's, say), not only the
    sweep's: none dropped silently (review 10)."""
    lake.invoke(load_event("stop_logging"))
    [stored] = lake.evidence_keys(PREFIX)
    document = lake.evidence(stored)
    document["cloud"]["region"] = "eu-central-1"
    planted(lake, document, "other-region.json", region="eu-central-1")

    done = deliver()

    assert (done.objects, done.findings, done.failed) == (2, 2, 0)
    assert any("/region=eu-central-1/" in key for key in lake_objects())


def test_a_listing_cut_short_is_a_failure_named(lake: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """More findings in a Region's day than the sweep lists: a failure naming the partition, never a cut that looks
    complete (review 10)."""
    from guardian.flows import lake_delivery as flow  # noqa: PLC0415

    lake.invoke(load_event("stop_logging"))
    [stored] = lake.evidence_keys(PREFIX)
    planted(lake, lake.evidence(stored), "again.json")
    monkeypatch.setattr(flow, "LISTED", 2)

    done = deliver()

    assert (done.objects, done.failed) == (0, 1)
    assert "holds 2 findings or more: not all of it listed" in str(done.note)


def test_a_finding_the_columns_refuse_is_left_out_not_its_window(lake: World) -> None:
    """A stored object that passes the OCSF check but not the Parquet columns (a number where text goes): left out
    and named; the window's other findings are written (review 10)."""
    lake.invoke(load_event("stop_logging"))
    [stored] = lake.evidence_keys(PREFIX)
    odd = {**lake.evidence(stored), "message": 7}
    odd["metadata"] = {**odd["metadata"], "uid": "evidence/odd.json"}
    planted(lake, odd, "odd.json")

    done = deliver()

    assert (done.objects, done.findings, done.left_out) == (1, 1, 1)
    assert any(error.startswith("evidence/odd.json:") for error in done.errors)
