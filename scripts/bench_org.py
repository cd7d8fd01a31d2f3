"""The org-wide console's figure (issue 24): ``guardian status --org`` over 200 accounts x 4 Regions, 25 ms a request,
target <= 60 s. ``make bench`` runs it; ``BENCH_ORG_ACCOUNTS``, ``BENCH_ORG_WORKERS`` (``16,32``),
``BENCH_ORG_PROCESSES`` (default: the CPU count) change it.

moto cannot host 800 deployed stacks quickly, so the figure is taken in two steps. First the real thing, once: the
template deployed into moto_server, the demo played against it, and ``guardian status --org`` run over that one
account and Region, every HTTP exchange botocore makes recorded (the role assumed, the stack found, the status read).
Then the same command over 800 targets (``--accounts``: Organizations' one ListAccounts page per 20 accounts left
out), its real code, botocore's real serializing, signing and parsing, only the network replaced: each request is
answered from the recording after a 25 ms sleep (real sleeps, real threads: wall time, measured). Every target
answers as the recorded account: its signing key's public half (cached by key) is read once per process, where 800
keys cost one GetPublicKey each, under one lock (guardian.adapters.services). With 16 and 32 threads in one
process (``--processes 1``), then in the command's own process pool (``--processes N``, its processes forked rather
than spawned so that the replay reaches them). Prints; asserts nothing but that every target was read and each
account's role assumed once.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import re
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import urllib3
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.endpoint import Endpoint

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulation.moto_server import ACCOUNT, REGION, environment  # noqa: E402

ACCOUNTS = int(os.environ.get("BENCH_ORG_ACCOUNTS", "200"))
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")
WORKERS = tuple(int(w) for w in os.environ.get("BENCH_ORG_WORKERS", "16,32").split(","))
PROCESSES = int(os.environ.get("BENCH_ORG_PROCESSES", str(os.cpu_count() or 2)))  # the last run: threads in each
LATENCY = 0.025  # seconds a request, each way together
TARGET_SECONDS = 60.0
ROLE = "CloudTrailGuardian-console-read"
_KEY_ID = re.compile(r"Credential=ASIA(\d{12})/")


class Wire:
    """botocore's HTTP, recorded once against moto, then replayed with a latency: ``Endpoint._send`` patched (the
    operation's name taken from ``_do_get_response``, which calls it)."""

    def __init__(self) -> None:
        self.recorded: dict[tuple[str, ...], tuple[int, dict[str, str], bytes]] = {}
        self.first: dict[str, tuple[int, dict[str, str], bytes]] = {}  # by operation: requests whose body varies
        self.requests: Counter[str] = Counter()  # by operation
        self.by_account: Counter[str] = Counter()
        self.missing: Counter[str] = Counter()
        self._local = threading.local()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        real_send: Any = Endpoint._send  # type: ignore[attr-defined]  # botocore's, patched

        def send(endpoint: Endpoint, request: Any) -> AWSResponse:
            response = real_send(endpoint, request)
            answer = (response.status_code, dict(response.headers.items()), response.content)
            operation = self._local.operation
            with self._lock:
                self.requests[operation] += 1
                self.recorded.setdefault(_key(operation, request), answer)
                self.first.setdefault(operation, answer)
            return _response(request.url, *answer)

        with self._patched(send):
            yield

    @contextlib.contextmanager
    def replaying(self, latency: float, sink: Any = None) -> Iterator[None]:
        """``sink``: a queue each request is counted to (forked processes' requests), else this wire's counters."""

        def send(_endpoint: Endpoint, request: Any) -> AWSResponse:
            operation = self._local.operation
            answer = self.recorded.get(_key(operation, request)) or self.first.get(operation)
            account = _KEY_ID.search(str(request.headers.get("Authorization", b"")))
            if sink is not None:
                sink.put((operation, account[1] if account else "base", answer is None))
            else:
                self.count(operation, account[1] if account else "base", answer is None)
            time.sleep(latency)
            if answer is None:
                return _response(request.url, 400, {}, b'{"__type": "NotRecorded", "message": "not recorded"}')
            status, headers, body = answer
            if operation == "sts.AssumeRole":  # credentials naming the account: its requests are counted apart
                target = re.search(rb"RoleArn=arn%3Aaws%3Aiam%3A%3A(\d{12})", _body(request))
                key_id = b"<AccessKeyId>ASIA" + (target[1] if target else b"0" * 12) + b"<"
                body = re.sub(rb"<AccessKeyId>[^<]*<", key_id, body)
            return _response(request.url, status, headers, body)

        with self._patched(send):
            yield

    def count(self, operation: str, account: str, missing: bool) -> None:
        with self._lock:
            self.requests[operation] += 1
            self.by_account[account] += 1
            if missing:
                self.missing[operation] += 1

    @contextlib.contextmanager
    def _patched(self, send: Any) -> Iterator[None]:
        real_get: Any = Endpoint._do_get_response  # type: ignore[attr-defined]
        local = self._local

        def get(endpoint: Endpoint, request: Any, operation_model: Any, context: Any) -> Any:
            local.operation = f"{operation_model.service_model.endpoint_prefix}.{operation_model.name}"
            return real_get(endpoint, request, operation_model, context)

        with mock.patch.object(Endpoint, "_do_get_response", get), mock.patch.object(Endpoint, "_send", send):
            yield


def _key(operation: str, request: Any) -> tuple[str, ...]:
    """A request without its host (Region) or signature: the operation, the path and query, the body."""
    path = re.sub(r"^https?://[^/]+", "", request.url)
    return (operation, request.method, path, _body(request).decode("utf-8", "replace"))


def _body(request: Any) -> bytes:
    return request.body if isinstance(request.body, bytes) else str(request.body or "").encode()


def _response(url: str, status: int, headers: dict[str, str], body: bytes) -> AWSResponse:
    drop = {"content-length", "content-encoding", "transfer-encoding"}
    headers = {k: v for k, v in headers.items() if k.lower() not in drop} | {"Content-Length": str(len(body))}
    raw = urllib3.HTTPResponse(body=io.BytesIO(body), headers=headers, status=status, preload_content=False)
    message = HTTPHeaders()
    for name, value in headers.items():
        message[name] = value
    return AWSResponse(url, status, message, raw)


def status_org(accounts: list[str], regions: tuple[str, ...], workers: int, processes: int = 1) -> tuple[int, str, str]:
    """``guardian status --org`` as a person runs it (no terminal: no progress line); (exit status, out, err)."""
    from guardian_console.cli import main  # noqa: PLC0415

    argv = ["status", "--org", "--accounts", ",".join(accounts), "--regions", ",".join(regions)]
    argv += ["--assume-role", ROLE, "--workers", str(workers), "--region", REGION]
    argv += ["--processes", str(processes)]  # 1: one process, whatever the count of targets
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv, now=datetime.now(UTC))
    return code, out.getvalue(), err.getvalue()


def record(template: Path | None) -> Wire:
    """Deploy, play the demo, and record ``status --org`` over the one account and Region."""
    from guardian.adapters import services  # noqa: PLC0415
    from simulation import deploy, scenario  # noqa: PLC0415
    from simulation.moto_server import local_aws  # noqa: PLC0415

    wire = Wire()
    with local_aws() as aws:
        if template is None:
            from simulation import channels  # noqa: PLC0415

            template = deploy.synth(Path(tempfile.gettempdir()) / "bench-org-cdk.out", *channels.CONTEXT)
        deployment = deploy.deploy(aws, template)
        scenario.run(aws, deployment, act_two=False)
        with environment(AWS_ENDPOINT_URL=aws.endpoint, **_CREDENTIALS):
            services._PUBLIC_KEYS.clear()  # as in a new process: the scenario's handler cached it
            with wire.recording():
                _, out, err = status_org([ACCOUNT], (REGION,), 1)
            if "NOT READ" in out or "could not read" in out:
                raise SystemExit(f"the recorded status --org did not read its account:\n{out}\n{err}")
    return wire


_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}


def replay(wire: Wire, accounts: int, workers: int, processes: int = 1) -> tuple[float, float, int]:
    """``status --org`` over the org's targets, answered from the recording, with ``workers`` threads in each of
    ``processes`` processes (the command's own ``--processes``); (wall s, CPU s, requests). Checks that every target
    was read, and the role assumed once per account."""
    names = [f"{100000000000 + n:012d}" for n in range(accounts)]
    replayed = Wire()
    replayed.recorded, replayed.first = wire.recorded, wire.first
    started, cpu = time.perf_counter(), _cpu()
    with (
        environment(AWS_ENDPOINT_URL="http://127.0.0.1:9", **_CREDENTIALS),
        _counted_from_children(replayed, processes) as sink,
        replayed.replaying(LATENCY, sink),
    ):
        code, out, err = status_org(names, REGIONS, workers, processes)
    took, cpu = time.perf_counter() - started, _cpu() - cpu
    counted = replayed.requests
    if replayed.missing:
        raise SystemExit(f"requests not recorded: {dict(replayed.missing)}")
    if "NOT READ" in out or f"{accounts} of {accounts} accounts read" not in out:
        raise SystemExit(f"not every target was read (exit {code}):\n{out[-2000:]}\n{err[-2000:]}")
    if counted["sts.AssumeRole"] != accounts or len(replayed.by_account) != accounts + 1:
        raise SystemExit(f"the role was not assumed once per account: {counted['sts.AssumeRole']}")
    return took, cpu, sum(counted.values())


@contextlib.contextmanager
def _counted_from_children(wire: Wire, processes: int) -> Iterator[Any]:
    """With several processes: the command's own pool (org_procs), forked, not spawned, so that the replayed network
    reaches its processes; their requests counted here through a queue (read as they come: a full pipe would stall
    them). With one: nothing (None)."""
    if processes == 1:
        yield None
        return
    from guardian_console import org_procs  # noqa: PLC0415

    context = multiprocessing.get_context("fork")
    sink: Any = context.Queue()

    def drain() -> None:
        while (item := sink.get()) is not None:
            wire.count(*item)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        with mock.patch.object(org_procs, "START", "fork"):
            yield sink
    finally:
        sink.put(None)
        reader.join()


def _cpu() -> float:
    """This process's CPU seconds and its finished children's."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    template = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    print(f"8. guardian status --org over {ACCOUNTS} accounts x {len(REGIONS)} Regions, {LATENCY * 1000:.0f} ms a "
          f"request (target <= {TARGET_SECONDS:.0f} s); moto, then the recording replayed")  # fmt: skip
    wire = record(template)
    print(f"   one account and Region: {sum(wire.requests.values())} requests: " + ", ".join(
        f"{op} {n}" for op, n in sorted(wire.requests.items(), key=lambda item: -item[1])))  # fmt: skip
    for workers, processes in [(w, 1) for w in WORKERS] + [(w, PROCESSES) for w in WORKERS if PROCESSES > 1]:
        load = os.getloadavg()[0]
        took, cpu, requests = replay(wire, ACCOUNTS, workers, processes)
        targets = ACCOUNTS * len(REGIONS)
        pool = f"{workers:2d} workers" + (f" x {processes} processes" if processes > 1 else "")
        print(
            f"   {targets:4d} targets, {requests / targets:5.1f} requests each, {pool}: {took:6.1f} s wall "
            f"({cpu:5.1f} s CPU, {cpu / targets * 1000:3.0f} ms a target), {requests / took:5.0f} requests/s, "
            f"load {load:.1f} on {os.cpu_count()} CPUs; {took / TARGET_SECONDS:.2f} x the target"
        )


if __name__ == "__main__":
    main()
