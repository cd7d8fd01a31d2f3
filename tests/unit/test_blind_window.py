"""Reading a blind window back from Event history: paced within LookupEvents' 2 requests a second per Region, bounded
in count and time with a marker, every covered Region of a multi-Region trail; and the model's counts."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from guardian.flows.history import actor_of, read_window
from guardian.model.blind_window import Read, counts, match, summary_line, wants_window, window_document, window_key
from guardian.ports.invocation import Invocation

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def event(n: int, call: str = "CreateUser", arn: str = "arn:aws:iam::1:user/mallory", **request: str) -> dict[str, Any]:
    record = {"userIdentity": {"arn": arn}, "eventName": call, "requestParameters": request}
    return {
        "EventId": f"e{n}",
        "EventName": call,
        "EventTime": T0 + timedelta(seconds=n),
        "CloudTrailEvent": json.dumps(record),
    }


@dataclass
class History:
    """Event history per Region, pages of 50; each request's (Region, virtual time), and ``latency`` per request."""

    clock: Clock
    held: dict[str, int]
    latency: float = 0.0
    broken: set[str] = field(default_factory=set)
    requests: list[tuple[str, datetime]] = field(default_factory=list)

    def lookup_page(
        self,
        region: str,
        start: datetime,
        end: datetime,
        token: str | None,
        *,
        only: tuple[str, str] | None = None,
        quick: bool = False,
    ) -> tuple[list[dict[str, Any]], str | None]:
        self.requests.append((region, self.clock()))
        self.clock.sleep(self.latency)
        if region in self.broken:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "LookupEvents")
        offset = int(token or 0)
        page = [event(n) for n in range(offset, min(offset + 50, self.held[region]))]
        return page, str(offset + 50) if offset + 50 < self.held[region] else None


def test_the_reader_keeps_within_two_requests_a_second_and_stops_at_the_count_with_a_marker() -> None:
    clock = Clock()
    history = History(clock, {"us-east-1": 10_000}, latency=0.025)
    read = read_window(history, ["us-east-1"], T0, T0 + timedelta(hours=1), Invocation(clock, clock.sleep))
    assert (len(read.events), read.requests, read.truncated) == (2_000, 40, "count")
    times = [at for _, at in history.requests]
    assert min((b - a).total_seconds() for a, b in itertools.pairwise(times)) >= 0.5


def test_the_reader_stops_at_its_time_bound_with_a_marker() -> None:
    clock = Clock()
    history = History(clock, {"us-east-1": 10_000}, latency=2.0)  # a slow Event history
    read = read_window(history, ["us-east-1"], T0, T0 + timedelta(hours=1), Invocation(clock, clock.sleep))
    assert read.truncated == "time"
    assert read.requests == 10
    assert (clock() - (T0 + timedelta(hours=1))).total_seconds() <= 20.0


def test_every_region_is_read_and_one_that_fails_is_named_not_fatal() -> None:
    clock = Clock()
    history = History(clock, {"us-east-1": 120, "eu-west-1": 30, "us-west-2": 5}, broken={"eu-west-1"})
    regions = ["us-east-1", "eu-west-1", "us-west-2"]
    read = read_window(history, regions, T0, T0 + timedelta(hours=1), Invocation(clock, clock.sleep))
    assert len(read.events) == 125
    assert read.truncated is None
    assert read.failed == ("eu-west-1: AccessDenied: no",)
    assert [r for r, _ in history.requests] == ["us-east-1"] * 3 + ["eu-west-1", "us-west-2"]


def test_counts_are_by_principal_and_event_name_most_first() -> None:
    events = [event(1), event(2), event(3, "ListBuckets", "arn:aws:iam::1:user/eve"), event(4)]
    assert counts(events) == [
        {"principal": "arn:aws:iam::1:user/mallory", "event_name": "CreateUser", "count": 3},
        {"principal": "arn:aws:iam::1:user/eve", "event_name": "ListBuckets", "count": 1},
    ]


def test_the_events_object_is_named_after_its_record() -> None:
    assert window_key("evidence/2026/11/20/abc.json") == "blind-windows/2026/11/20/abc.json"


def test_the_actor_is_the_newest_matching_call_on_that_resource_else_not_recorded() -> None:
    events = [
        event(1, "StopLogging", "arn:aws:iam::1:user/old", name="audit"),
        event(5, "StopLogging", "arn:aws:iam::1:user/mallory", name="audit"),
        event(6, "StopLogging", "arn:aws:iam::1:user/other", name="another-trail"),
    ]
    found = match(events, ["StopLogging"], ["audit"], before=T0 + timedelta(minutes=1))
    assert found is not None
    assert found["EventId"] == "e5"
    clock = Clock()
    nothing = actor_of(
        History(clock, {"us-east-1": 0}), "us-east-1", "cloudtrail.amazonaws.com", ["DeleteTrail"], ["audit"],
        until=clock(), run=Invocation(clock, clock.sleep),
    )  # fmt: skip
    assert nothing["arn"] == "not recorded"


@pytest.mark.threat("blind-window-hide")
def test_a_region_not_read_makes_the_count_a_floor_named_and_the_window_not_settled() -> None:
    """Review 4 finding 1A: a throttled read was "0 calls by 0 principals", settled, never read again."""
    failed = ("us-east-1: ThrottlingException: Rate exceeded",)
    assert summary_line([], None, failed) == (
        "at least 0 calls by 0 principals (us-east-1 not read: ThrottlingException: Rate exceeded)"
    )
    late = T0 + timedelta(hours=2)  # read long after the window: settled, unless a Region failed
    document = window_document(
        evidence_key="evidence/2026/11/20/abc.json", trail_arn="t", regions=["us-east-1"], start=T0,
        end=T0 + timedelta(minutes=1), read=Read((), 1, None, failed), read_at=late,
    )  # fmt: skip
    assert document["settled"] is False
    assert document["summary"].startswith("at least 0 calls")
    ok = window_document(
        evidence_key="evidence/2026/11/20/abc.json", trail_arn="t", regions=["us-east-1"], start=T0,
        end=T0 + timedelta(minutes=1), read=Read((), 1), read_at=late,
    )  # fmt: skip
    assert (ok["settled"], ok["summary"]) == (True, "0 calls by 0 principals")


@pytest.mark.threat("blind-window-hide")
@pytest.mark.parametrize(
    ("record", "wanted"),
    [
        ({"outcome": "healed", "what": {"event_name": "StopLogging"}}, True),
        ({"outcome": "healed", "what": {"event_name": "DeleteTrail"}, "purpose": None}, True),
        ({"outcome": "healed", "what": {"event_name": "StopLogging"}, "purpose": {"kind": "selftest"}}, False),
        ({"outcome": "heal_failed", "what": {"event_name": "StopLogging"}}, False),
        ({"outcome": "healed", "what": {"event_name": "UpdateTrail"}}, False),
        ({"outcome": "healed", "what": {"event_name": "DriftDetected"}, "original_event": {"deleted": True}}, True),
        (
            {
                "outcome": "healed",
                "what": {"event_name": "DriftDetected"},
                "original_event": {"deleted": False, "changes": [{"field": "logging"}]},
            },
            True,
        ),
        ({"outcome": "healed", "what": {"event_name": "DriftDetected"}, "original_event": {"deleted": False}}, False),
    ],
)
def test_the_records_whose_window_the_guardian_reads(record: dict[str, Any], wanted: bool) -> None:
    assert wants_window(record) is wanted
