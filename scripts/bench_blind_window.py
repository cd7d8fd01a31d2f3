"""The blind window read back over 10,000 events: requests, events kept, and time, in the simulation's latency.

Event history holds ``EVENTS`` management events in the window (simulation.event_history: LookupEvents on moto,
pages of 50). The guardian's reader (guardian.flows.history.read_window) reads them through its real adapter and
boto3 on a virtual clock: each request costs ``LATENCY`` (the burst benchmark's round trip, simulation.burst) and
the pacing's waits (2 requests a second) cost their time, no wall time. Printed: as deployed (bounded: 2,000 events,
20 s) and unbounded (every event).

Run: ``PYTHONPATH=. .venv/bin/python scripts/bench_blind_window.py``
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

EVENTS = 10_000
LATENCY = 0.025  # seconds per request (simulation.burst's default)
START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


class Clock:
    """Virtual time: moves on by each request's latency and each wait."""

    def __init__(self) -> None:
        self.now = START + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def records() -> list[dict[str, Any]]:
    from simulation.cloudtrail_events import api_call_record  # noqa: PLC0415

    made = []
    for n in range(EVENTS):
        arn = f"arn:aws:iam::123456789012:user/user-{n % 7}"
        identity = {"type": "IAMUser", "arn": arn, "accountId": "123456789012"}
        name = ("CreateUser", "ListBuckets", "RunInstances", "PutObject")[n % 4]
        record = api_call_record(
            identity,
            source="ec2.amazonaws.com",
            name=name,
            region="us-east-1",
            request={},
            user_agent="x",
            source_ip="x",
        )
        record["eventTime"] = (START + timedelta(milliseconds=300 * n)).isoformat().replace("+00:00", "Z")
        made.append(record)
    return made


def main() -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    from moto import mock_aws  # noqa: PLC0415

    from guardian.adapters.clients import Boto3Clients  # noqa: PLC0415
    from guardian.adapters.full import FullAdapter  # noqa: PLC0415
    from guardian.flows.history import read_window  # noqa: PLC0415
    from guardian.model.blind_window import MAX_EVENTS, MAX_SECONDS, counts  # noqa: PLC0415
    from guardian.ports.invocation import Invocation  # noqa: PLC0415
    from simulation import event_history  # noqa: PLC0415

    with mock_aws(), event_history.event_history():
        event_history.record(*records())
        aws = FullAdapter(
            Boto3Clients(), topic_arn="arn:aws:sns:us-east-1:1:t", topic_region="us-east-1", evidence_bucket="evidence"
        )
        page = aws.lookup_page

        for label, limit, seconds in (
            (f"as deployed ({MAX_EVENTS:,} events, {MAX_SECONDS:.0f} s)", MAX_EVENTS, MAX_SECONDS),
            ("unbounded", EVENTS, float("inf")),
        ):
            clock = Clock()

            def paged(*args: Any, _clock: Clock = clock, **kwargs: Any) -> Any:
                _clock.sleep(LATENCY)
                return page(*args, **kwargs)

            aws.lookup_page = paged  # type: ignore[method-assign]
            began, wall = clock(), time.perf_counter()
            read = read_window(
                aws,
                ["us-east-1"],
                START,
                START + timedelta(hours=1),
                Invocation(clock, clock.sleep),
                seconds=seconds,
                limit=limit,
            )
            took = (clock() - began).total_seconds()
            print(
                f"{label}: {len(read.events):,} of {EVENTS:,} events, {read.requests} LookupEvents requests, "
                f"{took:.1f} s in the simulation's latency ({LATENCY * 1000:.0f} ms a request, 2 requests/s), "
                f"truncated: {read.truncated}; {len(counts(read.events))} (principal, event) counts; "
                f"wall {time.perf_counter() - wall:.2f} s"
            )


if __name__ == "__main__":
    main()
