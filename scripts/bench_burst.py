"""Section 6 of ``make bench``: the remediation function under a minute of attack. Prints; asserts nothing.

(a) 10 trails stopped 100 times each within 60 s; (a') 10 trails stopped 6 times each within 60 s (1 stop a second:
what the write quota can heal as it comes); (b) 10,000 denied StopLogging calls from one principal within 60 s;
(c) both at once. The 10 trails are in 3 Regions, as CloudTrail's 5 trails a Region (the sentinel one of them)
requires; run only by name, (a5) is (a) with the sentinel stopped too (5 trails in the home Region), and (a1) is
(a) in one Region, which AWS refuses and moto allows. Each runs in the simulation (:mod:`simulation.burst`: moto in
this process, CloudTrail's write quota enforced, Lambda's asynchronous queue, concurrency and retries, all in
virtual time) and is reported beside the issue's targets. Alone:
``python scripts/bench_burst.py [a "a'" b c a5 a1]``. Knobs: ``BENCH_BURST_SCALE`` (a fraction of every count, for a
quick look), ``BENCH_BURST_LATENCY_MS`` (25), ``BENCH_BURST_DELIVERY`` (seconds from a call to its event reaching
Lambda's queue; 0).
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulation.burst import Scenario, Settings, run_burst, targets  # noqa: E402
from simulation.burst_figures import PRICES_AS_OF, Figures, figures  # noqa: E402
from simulation.write_quota import PERIOD  # noqa: E402

ASSUMED_CONCURRENCY = 10
SPREAD = "in 3 Regions: CloudTrail holds 5 trails a Region, the sentinel one of them"
SCENARIOS = {
    "a": (f"10 trails stopped 100 times each within 60 s ({SPREAD})", Scenario("a", trails=10, stops_per_trail=100)),
    "a'": (
        "10 trails stopped 6 times each within 60 s (1 stop a second: within the write quota)",
        Scenario("a'", trails=10, stops_per_trail=6),
    ),
    "b": ("10,000 denied StopLogging calls from one principal within 60 s", Scenario("b", denied=10_000)),
    "c": ("both at once", Scenario("c", trails=10, stops_per_trail=100, denied=10_000)),
    # Not run by default: (a) with the sentinel stopped too (5 trails in the home Region); what (a) would be if AWS
    # let one Region hold 10 trails (moto does).
    "a5": (
        "(a) with the sentinel stopped too: 5 trails in the home Region",
        Scenario("a5", trails=10, stops_per_trail=100, sentinel=True),
    ),
    "a1": (
        "(a) with the 10 trails in one Region, which AWS refuses and moto allows",
        Scenario("a1", trails=10, stops_per_trail=100, trails_per_region=10),
    ),
}
DEFAULT = ["a", "a'", "b", "c"]


def _int_setting(name: str) -> int | None:
    """An integer constant ``name`` defined in infra/ (``NAME = 10`` or ``NAME: int = 10``)."""
    for path in sorted((ROOT / "infra").glob("*.py")):
        found = re.search(rf"^{re.escape(name)}\s*(?::\s*int)?\s*=\s*(\d+)", path.read_text(), re.MULTILINE)
        if found:
            return int(found.group(1))
    return None


def _argument(source: str, name: str) -> int | None:
    """The value passed as ``name=`` in ``source``: a number, or a constant defined in infra/."""
    found = re.search(rf"\b{name}\s*=\s*([A-Za-z_][\w]*|\d+)", source)
    if found is None:
        return None
    value = found.group(1)
    return int(value) if value.isdigit() else _int_setting(value)


def function_settings() -> tuple[Settings, str]:
    """The remediation function's reserved concurrency and memory as infra/ sets them, and where they came from."""
    remediation = (ROOT / "infra" / "remediation.py").read_text()
    # The remediationConcurrency setting's default (infra/remediation.py passes it on: 0 would be unreserved)
    concurrency = _int_setting("RESERVED_CONCURRENCY") or _argument(remediation, "reserved_concurrency")
    memory = _argument(remediation, "memory_size")
    if memory is None:
        default = re.search(r"memory_size:\s*int\s*=\s*(\d+)", (ROOT / "infra" / "guardian_function.py").read_text())
        memory = int(default.group(1)) if default else 256
    source = "reserved concurrency from infra/remediation.py"
    if concurrency is None:
        concurrency, source = ASSUMED_CONCURRENCY, f"no reserved concurrency in infra/: {ASSUMED_CONCURRENCY} assumed"
    latency = float(os.environ.get("BENCH_BURST_LATENCY_MS", "25")) / 1000
    delivery = float(os.environ.get("BENCH_BURST_DELIVERY", "0"))
    return Settings(concurrency=concurrency, memory_mb=memory, latency=latency, delivery=delivery), source


def scaled(scenario: Scenario, scale: float) -> Scenario:
    if scale >= 1:
        return scenario
    return Scenario(
        scenario.name,
        trails=scenario.trails,
        trails_per_region=scenario.trails_per_region,
        sentinel=scenario.sentinel,
        stops_per_trail=max(1, round(scenario.stops_per_trail * scale)) if scenario.stops_per_trail else 0,
        denied=max(1, round(scenario.denied * scale)) if scenario.denied else 0,
        seconds=scenario.seconds,
    )


BLIND_TARGET = 10.0  # seconds: the p99 blind window


def quota_floor(scenario: Scenario) -> tuple[float | None, str]:
    """The best p99 blind window CloudTrail's write quota allows (1 write a second per account and Region), and why.
    Stops arriving faster than that keep every stopped trail of a Region waiting its turn: N trails there need N
    writes, so the last one restarted waits N x 1 s. At 1 stop a second or fewer in each Region the quota sets no
    floor: each stop's StartLogging can go out as it comes (None)."""
    per_region = Counter(targets(scenario).values())
    most = max(per_region.values(), default=0)
    rate = most * scenario.stops_per_trail / scenario.seconds
    where = f"{len(per_region)} Regions, at most {most} trails in one" if len(per_region) > 1 else "one Region"
    if rate > 1 / PERIOD:
        floor = most * PERIOD
        return floor, (
            f"the quota's floor {floor:.0f} s ({most} trails x {PERIOD:.0f} s, {where}: stops at {rate:.1f}/s there, "
            f"over the quota's {1 / PERIOD:.0f}/s)"
        )
    return None, f"no floor from the quota ({where}; stops at {rate:.1f}/s there, within its {1 / PERIOD:.0f}/s)"


def report(
    title: str, scenario: Scenario, found: Figures, wall: float, found_samples: dict[str, str] | None = None
) -> None:
    print(f"   ({scenario.name}) {title}   [{wall:.0f} s wall]")
    if scenario.stops_per_trail:
        attacked = len(targets(scenario))
        logging_again = attacked - len(found.not_logging)
        missing = f"; NOT logging: {', '.join(found.not_logging)}" if found.not_logging else ""
        print(
            f"       trails healed      {logging_again}/{attacked} logging once settled; stops followed by a "
            f"heal {found.stops_healed}/{found.stops}{missing}   target: every stop healed"
        )
        window = found.blind_window
        shown = f"p50 {window.p50:.2f} s   p99 {window.p99:.2f} s   max {window.max:.2f} s" if window else "none"
        print(f"       blind window       {shown} (stop -> logging again)   target (a): p99 < 10 s")
        floor, why = quota_floor(scenario)
        if window:
            verdict = "met" if window.p99 < BLIND_TARGET else "missed"
            ratio = f"{window.p99 / floor:.1f}x the floor; " if floor else ""
            print(
                f"       p99 blind window vs the quota's floor (N trails a Region x 1 s): {window.p99:.2f} s against "
                f"{why}; "
                f"{ratio}the 10 s target {verdict}"
            )
    print(
        f"       StartLogging       {found.start_logging_accepted} went through, at most "
        f"{found.start_logging_max_per_second} in one second per account and Region (target <= 1); attempts at most "
        f"{found.start_logging_attempts_max_per_second}/s, {found.start_logging_throttled} throttled "
        f"({found.writes_throttled} writes throttled in all)"
    )
    print(f"       alerts published   {found.publishes} (at most {found.publishes_max_per_second} in one second)")
    for address, mail in found.mail.items():
        print(
            f"       emails {address:22} {mail.total} ({mail.average_per_second:.1f}/s on average over the "
            f"{mail.span:.0f} s to the last, at most {mail.max_per_second} in one second)   target: <= 1/s on average, "
            "never > 5 in one second"
        )
    print(f"       evidence objects   {found.evidence_objects}")
    errors = ", ".join(f"{name} {count}" for name, count in sorted(found.errors.items())) or "none"
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(found.outcomes.items()))
    print(
        f"       invocations        {found.invocations} ({found.retries} retries; failed {found.failed_invocations}: "
        f"{errors}; {found.failed_for_good} events failed every attempt); at most {found.peak_concurrency} at once, "
        f"{found.peak_queue} queued at most; the last ended at {found.settled_at:.0f} s"
    )
    print(f"       outcomes           {outcomes}")
    for name, sample in sorted((found_samples or {}).items()):
        print(f"       first {name:12} {sample}")
    parts = ", ".join(f"{name} ${value:.4f}" for name, value in found.costs.items())
    print(f"       cost of the burst  ${found.cost:.4f} ({parts}; Lambda {found.gb_seconds:.1f} GB-s; {PRICES_AS_OF})")


def burst_figures(names: list[str] | None = None) -> None:
    settings, source = function_settings()
    scale = float(os.environ.get("BENCH_BURST_SCALE", "1"))
    print("6. burst: the remediation function under a minute of attack, in the simulation (moto in this process,")
    print("   virtual time: the timeline is simulated, not the machine's; no figure depends on this machine's speed)")
    print(
        f"   {settings.concurrency} at once ({source}), {settings.memory_mb} MB arm64, {settings.timeout:.0f} s "
        f"timeout, 2 retries after 1 and 2 min; +{settings.latency * 1000:.0f} ms before every request; CloudTrail "
        f"writes 1/s per account and Region (enforced); events queued {settings.delivery:g} s after the call"
    )
    if scale < 1:
        print(f"   BENCH_BURST_SCALE={scale}: every count scaled down (not the figures of the issue's bursts)")
    for name in names or DEFAULT:
        title, scenario = SCENARIOS[name]
        run = scaled(scenario, scale)
        if run != scenario:
            title += f" (scaled: {len(targets(run)) * run.stops_per_trail} stops, {run.denied} denied calls)"
        burst = run_burst(run, settings)
        report(title, burst.scenario, figures(burst), burst.wall_seconds, burst.error_samples)
        if burst.unpaced_requests:
            print(f"       (harness: {burst.unpaced_requests} requests or waits outside virtual time: figures suspect)")


if __name__ == "__main__":
    burst_figures(sys.argv[1:] or None)
