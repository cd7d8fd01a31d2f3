"""Section 5 of ``make bench``: the sweep against moto_server in its own process on 127.0.0.1. Prints; asserts nothing.

For 1, 4 and 17 Regions of 20 trails, with and without 25 ms added before every request (a stand-in for a
Region's round trip): a sweep that finds 5 trails per Region stopped (each healed, verified, evidenced, alerted),
then a clean sweep; the wall time, the client's CPU per request, the requests per trail and by operation. Then
Cloud Custodian 0.9.53 on the same server and the same trails, runs alternating (``BENCH_CUSTODIAN=0`` leaves it
out; it is installed in .bench/custodian), and the sweep function's memory size and monthly
cost worked out from the 17-Region figures: below ``CPU time x 1,769 MB / wall time`` the sweep is bound by CPU
(Lambda gives one vCPU at 1,769 MB, in proportion below), so a smaller size only stretches it at the same cost.
The server is ``python -m simulation.serve`` (moto with the simulation's bridges, connections kept alive, as AWS
keeps them); on loopback requests cost only CPU, which 2 cores share with the server: at 17 Regions the sweep is
bound by CPU there, about 1,000 requests at 2.3 to 2.7 ms of the client's CPU each.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from guardian.adapters.full import FullAdapter
from guardian.flows.sweep import SweepReport, run_sweep
from guardian.model.config import Config
from guardian.ports.invocation import Invocation
from simulation.counting import CountingClients
from simulation.moto_server import environment
from simulation.serve import moto_server_process

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "guardian-evidence-bench"
SWEEP_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "sa-east-1",
)
TRAILS_PER_REGION = int(os.environ.get("BENCH_TRAILS_PER_REGION", "20"))
STOPPED_PER_REGION = 5
ADDED_LATENCY_MS = 25.0
REPEATS = int(os.environ.get("BENCH_SWEEP_REPEATS", "5"))  # per Region count; 17 Regions take longer
REPEATS_17 = int(os.environ.get("BENCH_SWEEP_REPEATS_17", "3"))
CUSTODIAN = ROOT / ".bench" / "custodian"
CUSTODIAN_VERSION = "0.9.53"
# Lambda gives a function one vCPU at 1,769 MB, and CPU in proportion below; arm64 in us-east-1, USD.
FULL_VCPU_MB = 1769
GB_SECOND_USD = 0.0000133334
REQUEST_USD = 0.20 / 1_000_000
DEFAULT_SWEEP_MINUTES = 5
# Patches botocore in Custodian's process as CountingClients does here: the same wait before every request.
SLOW_SITE = """
import os, time
import botocore.endpoint
_delay = float(os.environ.get("BENCH_ADDED_LATENCY", "0"))
_send = botocore.endpoint.Endpoint._send
def _slow_send(self, request):
    time.sleep(_delay)
    return _send(self, request)
if _delay:
    botocore.endpoint.Endpoint._send = _slow_send
"""
CUSTODIAN_POLICY = """policies:
  - name: trails-logging
    resource: aws.cloudtrail
    filters:
      - type: status
        key: IsLogging
        value: false
    actions:
      - type: set-logging
        enabled: true
"""


@contextmanager
def local_moto_server() -> Iterator[str]:
    """moto_server in its own process, and this process's AWS environment pointed at it."""
    with (
        moto_server_process() as endpoint,
        environment(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_REGION="us-east-1",
            AWS_DEFAULT_REGION="us-east-1",
        ),
    ):
        yield endpoint


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float  # this process's CPU: the client's, the server runs in another
    requests: Counter[str]
    report: SweepReport

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def per_trail(self, trails: int) -> float:
        return self.total / trails


@dataclass
class Account:
    topic: str
    signing_key: str
    clients: dict[float, CountingClients] = field(default_factory=dict)  # per added latency, kept between sweeps

    def sweep(self, regions: tuple[str, ...], latency: float) -> Run:
        """One sweep with the clients a warm Lambda keeps between runs (created here the first time)."""
        config = Config.from_env(
            {
                "GUARDIAN_TOPIC_ARN": self.topic,
                "GUARDIAN_EVIDENCE_BUCKET": BUCKET,
                "GUARDIAN_SWEEP_REGIONS": json.dumps(list(regions)),
                "GUARDIAN_VERIFY_DELAY_SECONDS": "0",
            }
        )
        clients = self.clients.setdefault(latency, CountingClients(latency))
        clients.warm(list(regions))
        clients.requests.clear()
        adapter = FullAdapter(
            clients,
            topic_arn=self.topic,
            topic_region="us-east-1",
            evidence_bucket=BUCKET,
            signing_key=self.signing_key,
        )
        cpu, started = time.process_time(), time.perf_counter()
        report = run_sweep(adapter, config, Invocation(lambda: datetime.now(UTC), time.sleep))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert report.ok, (report.region_errors, report.check_errors)
        return Run(wall, cpu, Counter(clients.requests), report)


def stop_some(regions: tuple[str, ...]) -> None:
    """What an attacker did while no event reached the guardian: 5 trails per Region stopped."""
    for region in regions:
        cloudtrail = boto3.client("cloudtrail", region_name=region)
        for index in range(STOPPED_PER_REGION):
            cloudtrail.stop_logging(Name=f"trail-{index:02d}")


def create_account() -> Account:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="guardian-alerts")["TopicArn"]
    signing = boto3.client("kms", region_name="us-east-1").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    for region in SWEEP_REGIONS:
        bucket = f"bench-logs-{region}"
        if region == "us-east-1":
            boto3.client("s3", region_name=region).create_bucket(Bucket=bucket)
        else:
            placement: Any = {"LocationConstraint": region}
            boto3.client("s3", region_name=region).create_bucket(Bucket=bucket, CreateBucketConfiguration=placement)
        cloudtrail = boto3.client("cloudtrail", region_name=region)
        for index in range(TRAILS_PER_REGION):
            name = f"trail-{index:02d}"
            cloudtrail.create_trail(Name=name, S3BucketName=bucket)
            cloudtrail.start_logging(Name=name)
    return Account(topic, str(signing["KeyMetadata"]["Arn"]))


def venv_with(
    home: Path, python: str, pins: list[str], marker: str, what: str, *, then: Callable[[Path], None] | None = None
) -> bool:
    """A virtualenv at ``home``, made once by ``python``, with ``pins`` installed (``then`` finishes it; ``marker``
    names what is in it); False, said, if they cannot be installed."""
    if (home / marker).exists():
        return True
    shutil.rmtree(home, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(home)], check=True)
    installed = subprocess.run(
        [str(home / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", *pins],
        check=False,
        capture_output=True,
        text=True,
    )
    if installed.returncode != 0:
        print(f"   ({what} could not be installed: {installed.stderr.strip()[-300:]})")
        return False
    if then is not None:
        then(home)
    (home / marker).touch()
    return True


def custodian_ready() -> Path | None:
    """Cloud Custodian in a virtualenv of its own (it pins its boto3: 1.43.103 for 0.9.53, where this venv has
    a newer one); None if it cannot be installed."""
    if os.environ.get("BENCH_CUSTODIAN", "1") == "0":
        return None

    def slow_site(home: Path) -> None:
        (home / "site").mkdir(exist_ok=True)
        (home / "site" / "sitecustomize.py").write_text(SLOW_SITE)

    pins = [f"c7n=={CUSTODIAN_VERSION}"]
    what = f"Cloud Custodian {CUSTODIAN_VERSION}"
    if not venv_with(CUSTODIAN, sys.executable, pins, f".installed-{CUSTODIAN_VERSION}", what, then=slow_site):
        return None
    return CUSTODIAN / "bin" / "custodian"


def custodian_run(command: Path, endpoint: str, regions: tuple[str, ...], latency: float) -> float:
    """``custodian run`` over the Regions (it takes them one after another); its wall time, start-up included."""
    with tempfile.TemporaryDirectory() as work:
        policy = Path(work) / "policy.yml"
        policy.write_text(CUSTODIAN_POLICY)
        args = [str(command), "run", "--cache-period", "0", "-s", str(Path(work) / "out")]
        args += [part for region in regions for part in ("--region", region)]
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint,
            "PYTHONPATH": str(CUSTODIAN / "site"),
            "BENCH_ADDED_LATENCY": str(latency),
        }
        started = time.perf_counter()
        done = subprocess.run([*args, str(policy)], env=env, check=False, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"custodian failed: {done.stderr[-500:]}")
        return wall


def by_operation(run: Run) -> str:
    return ", ".join(f"{name} {count}" for name, count in run.requests.most_common())


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda run: run.wall)[len(runs) // 2]


def spread(walls: list[float]) -> str:
    return f"{min(walls):.2f}-{max(walls):.2f}" if len(walls) > 1 else "one run"


def sweep_figures() -> None:
    print(f"5. sweep of {TRAILS_PER_REGION} trails per Region, moto_server in its own process on 127.0.0.1")
    print(f"   (a sweep finding {STOPPED_PER_REGION} trails per Region stopped, then a clean sweep; the median of")
    print(
        f"   {REPEATS} runs (17 Regions: {REPEATS_17}) with their range; Custodian alternating, the median of its runs)"
    )
    custodian = custodian_ready()
    with local_moto_server() as endpoint:
        account = create_account()
        account.sweep(SWEEP_REGIONS, 0.0)  # the first sweep records every baseline
        account.sweep(SWEEP_REGIONS, 0.0)  # the second writes each Region's index: the steady state
        runs: dict[tuple[float, int], tuple[Run, Run, float | None]] = {}
        for latency in (0.0, ADDED_LATENCY_MS / 1000):
            label = "no added latency" if not latency else f"+{ADDED_LATENCY_MS:.0f} ms per request"
            account.sweep(SWEEP_REGIONS, latency)  # untimed: these clients made once, as a warm Lambda has them
            for count in (1, 4, 17):
                regions = SWEEP_REGIONS[:count]
                trails = count * TRAILS_PER_REGION
                heals, cleans, peers = [], [], []
                for repeat in range(REPEATS if count < len(SWEEP_REGIONS) else REPEATS_17):
                    stop_some(regions)
                    heals.append(account.sweep(regions, latency))
                    assert heals[-1].report.count("healed") == count * STOPPED_PER_REGION, heals[-1].report.statuses
                    cleans.append(account.sweep(regions, latency))
                    if custodian is not None and (repeat < 2 or count < len(SWEEP_REGIONS)):
                        stop_some(regions)
                        peers.append(custodian_run(custodian, endpoint, regions, latency))
                        left = account.sweep(regions, 0.0).report.count("healed")  # what Custodian did not restart
                        if left:
                            print(f"   (Custodian left {left} trails stopped: its figure is not a full heal)")
                healing, clean = median_run(heals), median_run(cleans)
                peer = sorted(peers)[len(peers) // 2] if peers else None
                runs[(latency, count)] = (healing, clean, peer)
                versus = f"   Custodian {peer:5.2f} s ({peer / healing.wall:3.1f}x)" if peer else ""
                cpu = healing.cpu / healing.total * 1000
                heal_range = spread([r.wall for r in heals])
                print(
                    f"   {label:22} {count:2} Region(s): heal {healing.wall:4.2f} s ({heal_range}; "
                    f"{healing.per_trail(trails):4.2f} req/trail, {cpu:3.1f} ms CPU/req)   clean {clean.wall:4.2f} s "
                    f"({spread([r.wall for r in cleans])}; {clean.per_trail(trails):4.2f} req/trail){versus}"
                )
        slow = ADDED_LATENCY_MS / 1000
        for count in (1, 4, 17):  # the same with or without added latency
            healing, clean, _ = runs[(slow, count)]
            print(f"   requests by operation, {count:2} Region(s), heal:  {by_operation(healing)}")
            print(f"   requests by operation, {count:2} Region(s), clean: {by_operation(clean)}")
        memory_and_cost(runs)


def memory_and_cost(runs: dict[tuple[float, int], tuple[Run, Run, float | None]]) -> None:
    """Below ``cpu x 1769 / wall`` MB a CPU-bound sweep only stretches (the cost stays the same); above it, time is
    spent waiting and paid for. So the largest size at or below it: the fastest sweep at the lowest cost."""
    slow = ADDED_LATENCY_MS / 1000
    healing, clean, _ = runs[(slow, 17)]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    balanced = max(healing.cpu * FULL_VCPU_MB / healing.wall, clean.cpu * FULL_VCPU_MB / clean.wall)
    print(
        f"   memory: 17-Region sweep CPU {healing.cpu:.2f} s (heal) / {clean.cpu:.2f} s (clean) over "
        f"{healing.wall:.2f} / {clean.wall:.2f} s wall -> balanced at {balanced:.0f} MB; this process peaked at "
        f"{peak_mb:.0f} MB RSS"
    )
    per_month = 30 * 24 * 60 // DEFAULT_SWEEP_MINUTES
    for memory in (256, 512, 1024):
        vcpu = memory / FULL_VCPU_MB
        seconds = {
            name: max(run.wall, run.cpu / vcpu) for name, run in (("heal", healing), ("clean", clean))
        }  # waiting, or CPU at this size's share
        cost = per_month * (seconds["clean"] * memory / 1024 * GB_SECOND_USD + REQUEST_USD)
        print(
            f"   {memory:5} MB: a clean 17-Region sweep about {seconds['clean']:.1f} s, a healing one "
            f"{seconds['heal']:.1f} s; every {DEFAULT_SWEEP_MINUTES} min all month: ${cost:.2f}/month"
        )
