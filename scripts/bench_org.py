"""The org-wide console's figure (issue 24): ``guardian status --org`` over 200 accounts x 4 Regions, 25 ms a request,
target <= 60 s. ``make bench`` runs it; ``BENCH_ORG_ACCOUNTS`` and ``BENCH_ORG_WORKERS`` (``16``: ``16,32`` runs
each) change it.

moto cannot host 800 deployed stacks quickly, so the figure is taken in two steps. First the real thing, once: the
template deployed into moto_server, the demo played against it, and ``guardian status --org`` run over that one
account and Region, every HTTP exchange botocore makes recorded (the role assumed, the stack found, the status read).
Then the same command over 800 targets (``--accounts``: Organizations' one ListAccounts page per 20 accounts left
out), its real code, botocore's real serializing, signing and parsing, only the network replaced: each request is
answered from the recording after a 25 ms sleep (real sleeps, real threads: wall time, measured). Every target
answers as the recorded stack, but for its signing key: each stack has its own, as in reality (its ARN in the
stack's outputs names the target's account and Region), so each target's GetPublicKey is its own request, the
public halves cached per key (guardian.adapters.services). Run with the command's defaults (its process pool above
100 targets, its processes forked rather than spawned so that the replay reaches them), then with ``--processes 1``.
Prints the requests of each kind per target, and checks them: every target read, making each request the recorded
target made (GetPublicKey included), each account's role assumed once.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import re
import resource
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
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
WORKERS = tuple(int(w) for w in os.environ.get("BENCH_ORG_WORKERS", "16").split(","))  # 16: the command's default
LATENCY = 0.025  # seconds a request, each way together
TARGET_SECONDS = 60.0
ROLE = "CloudTrailGuardian-console-read"
_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([a-z0-9-]+)/")  # the access key and the Region


class Wire:
    """botocore's HTTP, recorded once against moto, then replayed with a latency: ``Endpoint._send`` patched (the
    operation's name taken from ``_do_get_response``, which calls it). Requests counted by operation and by whom:
    an account (the role's credentials name it) or ``base`` (the caller's own); GetPublicKey by key too."""

    def __init__(self) -> None:
        self.recorded: dict[tuple[str, ...], tuple[int, dict[str, str], bytes]] = {}
        self.first: dict[str, tuple[int, dict[str, str], bytes]] = {}  # by operation: requests whose body varies
        self.requests: Counter[str] = Counter()  # by operation
        self.by_account: Counter[tuple[str, str]] = Counter()  # by (account or "base", operation)
        self.public_keys: Counter[str] = Counter()  # GetPublicKey by KeyId
        self.missing: Counter[str] = Counter()
        self.signing_key = ""  # the recorded stack's signing key (its GetPublicKey's KeyId)
        self._local = threading.local()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        real_send: Any = Endpoint._send  # type: ignore[attr-defined]  # botocore's, patched

        def send(endpoint: Endpoint, request: Any) -> AWSResponse:
            response = real_send(endpoint, request)
            answer = (response.status_code, dict(response.headers.items()), response.content)
            operation = self._local.operation
            if operation == "kms.GetPublicKey":
                self.signing_key = str(json.loads(_body(request))["KeyId"])
            self.count(operation, _account(request), missing=False, key=_public_key(operation, request))
            with self._lock:
                self.recorded.setdefault(_key(operation, request), answer)
                self.first.setdefault(operation, answer)
            return _response(request.url, *answer)

        with self._patched(send):
            yield

    @contextlib.contextmanager
    def replaying(self, latency: float, sink: Any = None) -> Iterator[None]:
        """``sink``: a queue each request is counted to (forked processes' requests), else this wire's counters."""

        def send(_endpoint: Endpoint, request: Any) -> AWSResponse:
            operation, account, key = (
                self._local.operation,
                _account(request),
                _public_key(self._local.operation, request),
            )
            answer = self.recorded.get(_key(operation, request)) or self.first.get(operation)
            if sink is not None:
                sink.put((operation, account, answer is None, key))
            else:
                self.count(operation, account, missing=answer is None, key=key)
            time.sleep(latency)
            if answer is None:
                return _response(request.url, 400, {}, b'{"__type": "NotRecorded", "message": "not recorded"}')
            status, headers, body = answer
            if operation == "sts.AssumeRole":  # credentials naming the account: its requests are counted apart
                role = re.search(rb"RoleArn=arn%3Aaws%3Aiam%3A%3A(\d{12})", _body(request))
                key_id = b"<AccessKeyId>ASIA" + (role[1] if role else b"0" * 12) + b"<"
                body = re.sub(rb"<AccessKeyId>[^<]*<", key_id, body)
            own = _own_key(self.signing_key, account, request) if account != "base" else self.signing_key
            if own != self.signing_key and self.signing_key.encode() in body:  # its stack's outputs, its baselines
                body = body.replace(self.signing_key.encode(), own.encode())
                headers = {k: v for k, v in headers.items() if not k.lower().startswith("x-amz-checksum-")}
            return _response(request.url, status, headers, body)

        with self._patched(send):
            yield

    def count(self, operation: str, account: str, *, missing: bool, key: str = "") -> None:
        with self._lock:
            self.requests[operation] += 1
            self.by_account[(account, operation)] += 1
            if key:
                self.public_keys[key] += 1
            if missing:
                self.missing[operation] += 1

    def per_target(self) -> Counter[str]:
        """The requests one target makes, by operation (a recording's, of one target)."""
        return Counter({op: n for (who, op), n in self.by_account.items() if who != "base"})

    @contextlib.contextmanager
    def _patched(self, send: Any) -> Iterator[None]:
        real_get: Any = Endpoint._do_get_response  # type: ignore[attr-defined]
        local = self._local

        def get(endpoint: Endpoint, request: Any, operation_model: Any, context: Any) -> Any:
            local.operation = f"{operation_model.service_model.endpoint_prefix}.{operation_model.name}"
            return real_get(endpoint, request, operation_model, context)

        with mock.patch.object(Endpoint, "_do_get_response", get), mock.patch.object(Endpoint, "_send", send):
            yield


def _account(request: Any) -> str:
    """The account of a request made with the role's credentials (the replay's AccessKeyId names it; the recording's
    is moto's), else ``base``."""
    found = _SCOPE.search(str(request.headers.get("Authorization", b"")))
    if not found or found[1] == _CREDENTIALS["AWS_ACCESS_KEY_ID"]:
        return "base"
    return found[1][4:16] if found[1][4:16].isdigit() else found[1]


def _public_key(operation: str, request: Any) -> str:
    return str(json.loads(_body(request))["KeyId"]) if operation == "kms.GetPublicKey" else ""


def _own_key(recorded: str, account: str, request: Any) -> str:
    """The recorded signing key's ARN, in the target's account and Region (the Region of the request that reads its
    stack, its baselines: the target's): a key per stack."""
    found = _SCOPE.search(str(request.headers.get("Authorization", b"")))
    return _key_in(recorded, account, found[2] if found else recorded.split(":")[3])


def _key_in(recorded: str, account: str, region: str) -> str:
    arn = recorded.split(":")
    return ":".join([*arn[:3], region, account, *arn[5:]])


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


def status_org(
    accounts: list[str], regions: tuple[str, ...], workers: int, processes: int | None = 1
) -> tuple[int, str, str]:
    """``guardian status --org`` as a person runs it (no terminal: no progress line); (exit status, out, err).
    ``processes`` None: the command's default."""
    from guardian_console.cli import main  # noqa: PLC0415

    argv = ["status", "--org", "--accounts", ",".join(accounts), "--regions", ",".join(regions)]
    argv += ["--assume-role", ROLE, "--workers", str(workers), "--region", REGION]
    argv += ["--processes", str(processes)] if processes is not None else []  # 1: one process, however many targets
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
    if not wire.signing_key or wire.per_target()["kms.GetPublicKey"] != 1:
        raise SystemExit(f"the recorded status --org did not read its signing key: {dict(wire.requests)}")
    return wire


_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}


def replay(wire: Wire, accounts: int, workers: int, processes: int | None) -> tuple[float, float, Wire]:
    """``status --org`` over the org's targets, answered from the recording, with ``workers`` threads in each
    process (``processes``: the command's ``--processes``, None its default); (wall s, CPU s, what was requested).
    Checks that every target was read, making the recorded target's requests, and the role assumed once per account."""
    from guardian_console import org_procs  # noqa: PLC0415

    names = [f"{100000000000 + n:012d}" for n in range(accounts)]
    replayed = Wire()
    replayed.recorded, replayed.first, replayed.signing_key = wire.recorded, wire.first, wire.signing_key
    started, cpu = time.perf_counter(), _cpu()
    with (
        environment(AWS_ENDPOINT_URL="http://127.0.0.1:9", **_CREDENTIALS),
        _counted_from_children(replayed, org_procs.count(processes, accounts * len(REGIONS))) as sink,
        replayed.replaying(LATENCY, sink),
    ):
        code, out, err = status_org(names, REGIONS, workers, processes)
    took, cpu = time.perf_counter() - started, _cpu() - cpu
    if replayed.missing:
        raise SystemExit(f"requests not recorded: {dict(replayed.missing)}")
    if "NOT READ" in out or f"{accounts} of {accounts} accounts read" not in out:
        raise SystemExit(f"not every target was read (exit {code}):\n{out[-2000:]}\n{err[-2000:]}")
    wrong = _check(wire.per_target(), replayed, names)
    if wrong:
        raise SystemExit("not the recorded target's requests:\n" + "\n".join(wrong[:20]))
    return took, cpu, replayed


def _check(one: Counter[str], replayed: Wire, accounts: list[str]) -> list[str]:
    """What differs from ``one`` target's requests, account by account (its Regions' targets, each ``one``), from one
    GetPublicKey per target's own key, and from one AssumeRole per account by the caller."""
    made: dict[str, Counter[str]] = defaultdict(Counter)
    for (who, op), n in replayed.by_account.items():
        made[who][op] += n
    base = made.pop("base", Counter())
    wrong = [] if base == Counter({"sts.AssumeRole": len(accounts)}) else [f"the caller's requests: {dict(base)}"]
    wanted = Counter({op: n * len(REGIONS) for op, n in one.items()})
    for account in accounts:
        got = made.pop(account, Counter())
        if got != wanted:
            wrong.append(f"{account}: more {dict(got - wanted)}, fewer {dict(wanted - got)}")
    keys = {_key_in(replayed.signing_key, a, r) for a in accounts for r in REGIONS}
    if replayed.public_keys != Counter(dict.fromkeys(keys, 1)):
        wrong.append(f"GetPublicKey: {len(replayed.public_keys)} keys, {sum(replayed.public_keys.values())} requests")
    return wrong + [f"{who}: not an account read: {dict(ops)}" for who, ops in made.items()]


@contextlib.contextmanager
def _counted_from_children(wire: Wire, processes: int) -> Iterator[Any]:
    """With several processes: the command's own pool (org_procs), forked, not spawned, so that the replayed network
    reaches its processes; their requests counted here through a queue (read as they come: a full pipe would stall
    them). With one: nothing (None)."""
    if processes <= 1:
        yield None
        return
    from guardian_console import org_procs  # noqa: PLC0415

    context = multiprocessing.get_context("fork")
    sink: Any = context.Queue()

    def drain() -> None:
        while (item := sink.get()) is not None:
            wire.count(item[0], item[1], missing=item[2], key=item[3])

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
    one = wire.per_target()
    print(
        f"   one target's requests ({sum(one.values())}; each replayed account's checked: its {len(REGIONS)} targets' "
        "are these, its own key's GetPublicKey each): "
        + ", ".join(f"{op} {n}" for op, n in sorted(one.items(), key=lambda i: (-i[1], i[0])))
    )
    from guardian_console import org_procs  # noqa: PLC0415

    targets = ACCOUNTS * len(REGIONS)
    for workers, processes in [(w, None) for w in WORKERS] + [(w, 1) for w in WORKERS]:
        load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
        took, cpu, replayed = replay(wire, ACCOUNTS, workers, processes)
        requests = sum(replayed.requests.values())
        used = org_procs.count(processes, targets)
        pool = f"{workers:2d} workers x {used} process{'es' if used > 1 else ''}"
        pool += " (the default)" if processes is None else f" (--processes {processes})"
        print(
            f"   {targets:4d} targets, {requests / targets:5.1f} requests each, {pool}: {took:6.1f} s wall "
            f"({cpu:5.1f} s CPU, {cpu / targets * 1000:3.0f} ms a target), {requests / took:5.0f} requests/s, "
            f"load {' '.join(load)} on {os.cpu_count()} CPUs; {took / TARGET_SECONDS:.2f} x the target"
        )
        print(
            f"      requests, per target: {requests / targets:.0f} = "
            + ", ".join(
                f"{op} {n / targets:g}" for op, n in sorted(replayed.requests.items()) if op != "sts.AssumeRole"
            )
            + f"; sts.AssumeRole {replayed.requests['sts.AssumeRole']} (one per account, by the caller); "
            f"kms.GetPublicKey for {len(replayed.public_keys)} keys"
        )


if __name__ == "__main__":
    main()
