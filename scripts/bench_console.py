"""Figures for the ``guardian`` console (``make bench`` runs it after scripts/bench.py): the auditor's report and
``verify`` over N evidence records (default 10,000), and the sweep's digest of them, against moto_server in its own
process on 127.0.0.1. Prints; asserts nothing but that the answers are right."""

from __future__ import annotations

import copy
import json
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from guardian.adapters.clients import Boto3Clients  # noqa: E402
from guardian.adapters.full import FullAdapter  # noqa: E402
from guardian.flows.digests import extend_chain  # noqa: E402
from guardian.model.decide import PolicyContext, decide  # noqa: E402
from guardian.model.events import parse_event  # noqa: E402
from guardian.model.evidence import evidence_key, evidence_record  # noqa: E402
from guardian.model.record_signatures import record_message, sidecar, sidecar_key  # noqa: E402
from guardian.model.results import Result  # noqa: E402
from guardian.model.safe import json_bytes  # noqa: E402
from guardian.ports.invocation import Invocation  # noqa: E402
from guardian_console import render, verify  # noqa: E402
from guardian_console.deployed import Deployed  # noqa: E402
from guardian_console.evidence import read_period  # noqa: E402
from guardian_console.report import build  # noqa: E402
from guardian_console.stack import public_key  # noqa: E402
from scripts.bench_sweep import local_moto_server  # noqa: E402

RECORDS = int(os.environ.get("BENCH_RECORDS", "10000"))
BUCKET = "guardian-evidence-console-bench"
WRITERS = 16


def records(now: datetime) -> list[tuple[str, bytes]]:
    """N evidence records of healed StopLoggings, as the handler writes them, spread over the last week."""
    template = json.loads((ROOT / "tests" / "events" / "stop_logging.json").read_text())
    written = []
    for n in range(RECORDS):
        event = copy.deepcopy(template)
        moment = now - timedelta(minutes=n)
        event["detail"]["eventID"] = str(uuid.uuid4())
        event["detail"]["eventTime"] = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
        parsed = parse_event(event)
        decision = decide(parsed, PolicyContext(account_id="123456789012"))
        result = Result(parsed, decision, decision.outcome, decision.severity, blind_window_seconds=float(n % 7))
        record = evidence_record(
            result,
            written_at=moment,
            topic_arn="arn:aws:sns:us-east-1:123456789012:t",
            alert_subject="[HIGH] bench",
            function_name="bench",
            request_id=str(n),
            boto3_version=boto3.__version__,
            botocore_version=boto3.__version__,
        )
        written.append((evidence_key(result), json_bytes(record, indent=1)))
    return written


def main() -> None:
    now = datetime.now(UTC)
    print(f"6. the console over {RECORDS} evidence records, moto_server in its own process on 127.0.0.1")
    with local_moto_server():
        session = boto3.session.Session(region_name="us-east-1")
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        lock: dict[str, object] = {"Mode": "GOVERNANCE", "Days": 365}
        s3.put_object_lock_configuration(
            Bucket=BUCKET,
            ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": lock}},  # type: ignore[typeddict-item]
        )
        key = session.client("kms").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
        made = records(now)
        adapter = FullAdapter(
            Boto3Clients(session), topic_arn="", topic_region="us-east-1", evidence_bucket=BUCKET, signing_key=key
        )

        def write(
            item: tuple[str, bytes],
        ) -> None:  # as the handler does: the record, then (after its alert) its sidecar
            s3.put_object(Bucket=BUCKET, Key=item[0], Body=item[1])
            signed = sidecar(item[0], item[1], key_id=key, signature=adapter.sign(record_message(*item)), at=now)
            s3.put_object(Bucket=BUCKET, Key=sidecar_key(item[0]), Body=json_bytes(signed, indent=1))

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            list(pool.map(write, made))
        print(f"   set-up: {RECORDS} records and their signatures written in {time.perf_counter() - started:.1f} s")

        start, end = (now - timedelta(days=8)).date(), now.date()
        deployed = Deployed("bench", "123456789012", "us-east-1", BUCKET, "", "", "", "", key, ("us-east-1",))
        public = public_key(session, key)

        def report(label: str) -> None:
            started = time.perf_counter()
            period = read_period(s3, BUCKET, "123456789012", start, end, public_key=public, key_id=key)
            built = build(period.records, period.unread, start=start, end=end, accounts=["123456789012"], now=now)
            page = render.as_html(built)
            took = time.perf_counter() - started
            assert len(built.rows) == RECORDS, (len(built.rows), period.unread[:3])
            print(f"   report, {label} (HTML of {len(page) / 1e6:.1f} MB)   {took:6.2f} s   target <= 10 s")

        report("before any digest: every record read")
        later = datetime.now(UTC) + timedelta(minutes=2)  # after the set-up: every record settled, none left out
        run = Invocation(lambda: later, lambda _s: None)
        started, digests = time.perf_counter(), 0
        while not extend_chain(adapter, run).endswith("(0 records)"):  # at most 2,000 records a digest
            digests += 1
        print(f"   the sweeps' digests of them ({digests} digests)   {time.perf_counter() - started:6.2f} s")
        report("from the signed digests")

        verify_figures(session, deployed, start, end, later)


def verify_figures(session: Any, deployed: Deployed, start: Any, end: Any, at: datetime) -> None:
    """``verify`` with and without what issue 22 added (each record's signature read and checked, the head's age):
    the reads of the chain and the records are the same in both."""
    from unittest import mock  # noqa: PLC0415

    started = time.perf_counter()
    with (
        mock.patch.object(verify, "record_problem", return_value=None),
        mock.patch.object(verify, "sidecar_key", side_effect=lambda key: key + ".not-read"),  # no sidecar read
    ):
        unsigned = verify.online(session, deployed, start, end, now=at)
    before = time.perf_counter() - started
    started = time.perf_counter()
    verdict = verify.online(session, deployed, start, end, now=at)
    took = time.perf_counter() - started
    assert verdict.ok, verdict.breaks[:3]
    assert unsigned.records == verdict.records
    print(
        f"   verify ({verdict.records} records in {verdict.digests} digests), chain and records only   {before:6.2f} s"
    )
    print(f"   verify, every record's signature read and checked too (head {verdict.head})   {took:6.2f} s")


def status_figures() -> None:
    """``guardian status`` over 17 Regions x 20 trails, each with its signed baseline (recorded by a first sweep)."""
    from guardian.flows.sweep import run_sweep  # noqa: PLC0415
    from guardian.model.config import Config  # noqa: PLC0415
    from guardian_console import status as console_status  # noqa: PLC0415
    from scripts.bench_sweep import SWEEP_REGIONS, TRAILS_PER_REGION  # noqa: PLC0415

    print(f"7. guardian status over {len(SWEEP_REGIONS)} Regions x {TRAILS_PER_REGION} trails (Regions in parallel)")
    with local_moto_server():
        session = boto3.session.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        topic = session.client("sns").create_topic(Name="guardian-alerts")["TopicArn"]
        key = session.client("kms").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
        for region in SWEEP_REGIONS:
            bucket = f"status-logs-{region}"
            where: Any = {"LocationConstraint": region}
            placement: Any = {} if region == "us-east-1" else {"CreateBucketConfiguration": where}
            session.client("s3", region_name=region).create_bucket(Bucket=bucket, **placement)
            cloudtrail = session.client("cloudtrail", region_name=region)
            for index in range(TRAILS_PER_REGION):
                cloudtrail.create_trail(Name=f"trail-{index:02d}", S3BucketName=bucket)
                cloudtrail.start_logging(Name=f"trail-{index:02d}")
        variables = {
            "GUARDIAN_TOPIC_ARN": topic,
            "GUARDIAN_EVIDENCE_BUCKET": BUCKET,
            "GUARDIAN_SWEEP_REGIONS": json.dumps(list(SWEEP_REGIONS)),
            "GUARDIAN_VERIFY_DELAY_SECONDS": "0",
            "AWS_REGION": "us-east-1",
        }
        config = Config.from_env(variables)
        adapter = FullAdapter(
            Boto3Clients(session), topic_arn=topic, topic_region="us-east-1", evidence_bucket=BUCKET, signing_key=key
        )
        run_sweep(adapter, config, Invocation(lambda: datetime.now(UTC), time.sleep))  # records every baseline
        deployed = Deployed("bench", "123456789012", "us-east-1", BUCKET, topic, "", "", "", key, SWEEP_REGIONS)
        started = time.perf_counter()
        found = console_status.status(session, deployed, datetime.now(UTC), config)  # no function to read it from
        took = time.perf_counter() - started
        assert len(found.trails) == len(SWEEP_REGIONS) * TRAILS_PER_REGION, len(found.trails)
        wrong = [p for p in found.problems if p.startswith("trail")]
        assert not wrong, wrong[:3]
        print(f"   {len(found.trails)} trails judged against their signed baselines   {took:6.2f} s")


if __name__ == "__main__":
    main()
    status_figures()
