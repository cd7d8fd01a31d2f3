"""``guardian report`` states what it covers, read from a guardian in moto (issue 22): the first digest the first sweep
wrote, the sweep's schedule and its runs (AWS/Lambda Invocations less Errors), the chain verified by ``verify``'s
code, the exemptions and approvers checked against the signed baseline of the sweep function, the caller from STS; and
``--require-coverage`` fails a period that is not wholly covered, the November report of a December deployment."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from guardian.adapters.clients import Boto3Clients
from guardian.adapters.full import FullAdapter
from guardian.flows.baselines import write_signed
from guardian.flows.digests import extend_chain
from guardian.flows.own_functions import snapshot
from guardian.model.baselines import function_document, function_key
from guardian.ports.invocation import Invocation
from guardian_console import cli
from guardian_console.deployed import Deployed
from guardian_console.sessions import Account
from tests.support import signing_key

BUCKET = "guardian-evidence-123456789012"
SWEEP = "CloudTrailGuardian-sweep"
CI = "arn:aws:iam::123456789012:role/ci-deployer"
ALICE = "arn:aws:iam::123456789012:user/alice"


@dataclass(frozen=True)
class Guardian:
    first_digest: datetime  # when the first sweep wrote the chain's first digest (S3's time: moto's clock)


@pytest.fixture
def guardian(monkeypatch: pytest.MonkeyPatch) -> Iterator[Guardian]:
    """A deployed guardian as its first sweep leaves it: the sweep function's signed baseline, the first digest."""
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        s3.put_object_lock_configuration(
            Bucket=BUCKET,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}},
            },
        )
        key = signing_key()
        role = session.client("iam").create_role(RoleName="sweep-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        session.client("lambda").create_function(
            FunctionName=SWEEP,
            Runtime="python3.13",
            Role=role,
            Handler="guardian.entrypoints.sweep.lambda_handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            Environment={
                "Variables": {
                    "GUARDIAN_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
                    "GUARDIAN_EXEMPT_PRINCIPALS": json.dumps([CI]),
                    "GUARDIAN_APPROVERS": json.dumps([ALICE]),
                }
            },
        )
        session.client("events").put_rule(
            Name="CloudTrailGuardian-sweep-schedule", ScheduleExpression="rate(5 minutes)"
        )
        aws = FullAdapter(
            Boto3Clients(session), topic_arn="", topic_region="us-east-1", evidence_bucket=BUCKET, signing_key=key
        )
        configuration = session.client("lambda").get_function_configuration(FunctionName=SWEEP)
        document = function_document(
            SWEEP, snapshot(dict(configuration), None), recorded_at="2026-12-06T09:30:00Z", by="sweep"
        )
        write_signed(aws, function_key(SWEEP), document)
        assert extend_chain(aws, Invocation(lambda: datetime.now(UTC), lambda _s: None)).startswith("written")
        [digest] = s3.list_objects_v2(Bucket=BUCKET, Prefix="digests/")["Contents"]
        deployed = Deployed("CloudTrailGuardian", "123456789012", "us-east-1", BUCKET, "", "", SWEEP, "", key, ())
        monkeypatch.setattr(cli, "accounts", lambda _args: [Account(session, deployed)])
        yield Guardian(digest["LastModified"].astimezone(UTC))


def month_before(moment: datetime) -> tuple[date, date]:
    last = moment.date().replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def sweeps(
    since: datetime,
    until: datetime,
    *,
    skipped: tuple[datetime, datetime] | None = None,
    namespace: str = "AWS/Lambda",
    metric: str = "Invocations",
    dimensions: tuple[Any, ...] = ({"Name": "FunctionName", "Value": SWEEP},),
) -> None:
    """A run of the sweep every five minutes (but in ``skipped``), as Lambda counts it in ``AWS/Lambda`` (moto
    publishes nothing there itself, and accepts what AWS refuses: anyone's points in an ``AWS/`` namespace); or,
    with ``namespace`` and ``metric``, points anyone allowed PutMetricData can publish."""
    moments = [since + timedelta(minutes=5 * n) for n in range(int((until - since).total_seconds() // 300) + 1)]
    if skipped:
        moments = [m for m in moments if not skipped[0] < m < skipped[1]]
    cloudwatch = boto3.client("cloudwatch")
    for n in range(0, len(moments), 500):
        cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {"MetricName": metric, "Dimensions": list(dimensions), "Value": 1.0, "Unit": "Count", "Timestamp": m}
                for m in moments[n : n + 500]
            ],
        )


def test_a_november_report_of_a_december_deployment_fails_require_coverage(
    guardian: Guardian, capsys: pytest.CaptureFixture[str]
) -> None:
    start, end = month_before(guardian.first_digest)
    now = guardian.first_digest + timedelta(minutes=1)
    args = ["report", "--from", str(start), "--to", str(end), "--format", "json"]
    assert cli.main([*args, "--require-coverage"], now=now) == 1
    out, err = capsys.readouterr()
    said = (
        f"Not covered: the whole period: the guardian's first record is {guardian.first_digest:%Y-%m-%d} "
        f"({guardian.first_digest:%H:%M}Z); nothing before it is vouched for."
    )
    assert f"guardian: not covered: {said}" in err
    coverage = json.loads(out)["coverage"]
    assert (coverage["complete"], coverage["not_covered"]) == (False, [said])
    [account] = coverage["accounts"]
    assert account["covered"] is None
    assert account["generated_by"].startswith("arn:aws:sts::123456789012:")  # the caller, from STS
    assert account["sweeps"]["interval_seconds"] == 300  # from the schedule rule
    assert account["chain"]["result"] == "INTACT"
    assert account["chain"]["head"]["key"].startswith("digests/")  # verify's head
    assert account["chain"]["head"]["sha256"]
    assert account["settings"]["exemptions"] == [CI]
    assert account["settings"]["approvers"] == [ALICE]
    assert account["settings"]["vouched"] is True
    assert cli.main(args, now=now) == 0  # without the flag the report is still written, and says it


def test_a_period_swept_throughout_passes_and_a_gap_fails(
    guardian: Guardian, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    day = guardian.first_digest.date() + timedelta(days=1)
    since = datetime.combine(day, datetime.min.time(), UTC)
    now = since + timedelta(days=2)
    hole = (since + timedelta(hours=26), since + timedelta(hours=27))
    sweeps(since, now, skipped=hole)
    page = tmp_path / "report.html"
    assert (
        cli.main(["report", "--from", str(day), "--to", str(day), "-o", str(page), "--require-coverage"], now=now) == 0
    )
    assert "Covered: the whole period" in page.read_text(encoding="utf-8")
    capsys.readouterr()
    after = str(day + timedelta(days=1))
    status = cli.main(["report", "--from", after, "--to", after, "-o", str(page), "--require-coverage"], now=now)
    _, err = capsys.readouterr()
    assert status == 1
    gap = f"{hole[0]:%Y-%m-%d %H:%M}Z to {hole[1]:%Y-%m-%d %H:%M}Z: no sweep ran for 60.0 minutes"
    assert gap in err
    first_screen = page.read_text(encoding="utf-8").split("<h2>Summary</h2>")[0]
    assert gap in first_screen


@pytest.mark.threat("put-metric-data")
def test_forged_sweep_succeeded_points_and_failed_runs_do_not_hide_a_gap(
    guardian: Guardian, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Review 3, finding 3: ``aws cloudwatch put-metric-data --namespace CloudTrailGuardian --metric-name
    SweepSucceeded --value 1`` every five minutes of a six-hour gap once made the report say "covered". The runs are
    now AWS's own count of the sweep function's invocations less its errors; an invocation that failed is no run."""
    day = guardian.first_digest.date() + timedelta(days=1)
    since = datetime(day.year, day.month, day.day, tzinfo=UTC)
    now = since + timedelta(days=1, hours=1)
    hole = (since + timedelta(hours=6), since + timedelta(hours=12))
    sweeps(since, now, skipped=hole)
    sweeps(hole[0], hole[1], namespace="CloudTrailGuardian", metric="SweepSucceeded", dimensions=())  # the forgery
    failed = (hole[1] + timedelta(hours=2), hole[1] + timedelta(hours=3))
    sweeps(failed[0] + timedelta(minutes=5), failed[1] - timedelta(minutes=5), metric="Errors")  # runs that failed
    page = tmp_path / "report.json"
    args = ["report", "--from", str(day), "--to", str(day), "--format", "json", "-o", str(page)]
    assert cli.main([*args, "--require-coverage"], now=now) == 1
    capsys.readouterr()
    sweeps_read = json.loads(page.read_text(encoding="utf-8"))["coverage"]["accounts"][0]["sweeps"]
    assert [(g["from"], g["minutes"]) for g in sweeps_read["gaps"]] == [
        (f"{hole[0]:%Y-%m-%dT%H:%M:%S}Z", 360.0),
        (f"{failed[0]:%Y-%m-%dT%H:%M:%S}Z", 60.0),
    ]
    assert sweeps_read["source"].startswith("AWS/Lambda Invocations less Errors")


def test_settings_changed_after_their_signed_baseline_are_not_vouched_for(
    guardian: Guardian, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An insider's own exemption, added to the function's environment: shown, and said not to be the signed one."""
    mallory = "arn:aws:iam::123456789012:user/mallory"
    boto3.client("lambda").update_function_configuration(
        FunctionName=SWEEP,
        Environment={
            "Variables": {
                "GUARDIAN_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
                "GUARDIAN_EXEMPT_PRINCIPALS": json.dumps([CI, mallory]),
                "GUARDIAN_APPROVERS": json.dumps([ALICE]),
            }
        },
    )
    start, end = month_before(guardian.first_digest)
    target = tmp_path / "november.csv"
    status = cli.main(["report", "--from", str(start), "--to", str(end), "--format", "csv", "-o", str(target)])
    assert status == 0
    assert f"wrote {tmp_path / 'november.coverage.csv'}" in capsys.readouterr().err
    with (tmp_path / "november.coverage.csv").open(encoding="utf-8", newline="") as side:
        fields = {(r["field"], r["value"]) for r in csv.DictReader(side)}
    assert ("settings.exemptions", f"{CI}; {mallory}") in fields
    assert ("settings.vouched", "false") in fields
    assert ("complete", "false") in fields
    assert next(csv.reader(target.open(encoding="utf-8")))[0] == "time"  # the report itself: its header first
