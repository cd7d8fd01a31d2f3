"""The caller behind a sweep's finding (review 3, finding 4): looked up by the resource's name, so unrelated calls
cannot push it out of the pages read; and a throttled or slow Event history costs the alert a bounded time."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError

from guardian.adapters.clients import CLIENT_CONFIG, LOOKUP_CONFIG, Boto3Clients
from guardian.flows.history import ACTOR_CALL_SECONDS, ACTOR_SECONDS, actor_of
from guardian.ports.invocation import Invocation

SWEEP = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
TRAIL = "management-trail"
ARN = f"arn:aws:cloudtrail:us-east-1:111122223333:trail/{TRAIL}"
MALLORY = "arn:aws:iam::111122223333:user/mallory"


class Clock:
    def __init__(self) -> None:
        self.now = SWEEP

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def call(n: int, event_name: str, arn: str, **request: object) -> dict[str, Any]:
    record = {
        "eventName": event_name,
        "eventSource": "cloudtrail.amazonaws.com",
        "userIdentity": {"arn": arn},
        "requestParameters": request,
    }
    return {
        "EventId": f"e{n}",
        "EventName": event_name,
        "EventSource": "cloudtrail.amazonaws.com",
        "EventTime": SWEEP - timedelta(minutes=10) + timedelta(seconds=n),
        "CloudTrailEvent": json.dumps(record),
    }


@dataclass
class History:
    """Event history as LookupEvents answers it: newest first, 50 a page, one attribute (ResourceName: a value the
    request names, as the simulation's :mod:`simulation.event_history`). ``throttled``: every call fails so, after
    ``latency`` seconds of the injected clock (the call's own time)."""

    clock: Clock
    events: list[dict[str, Any]]
    latency: float = 0.1
    throttled: bool = False
    calls: list[tuple[tuple[str, str] | None, bool]] = field(default_factory=list)

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
        self.calls.append((only, quick))
        self.clock.sleep(self.latency)
        if self.throttled:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "LookupEvents")
        found = sorted((e for e in self.events if _has(e, only)), key=lambda e: e["EventTime"], reverse=True)
        offset = int(token or 0)
        return found[offset : offset + 50], str(offset + 50) if offset + 50 < len(found) else None


def _has(event: dict[str, Any], only: tuple[str, str] | None) -> bool:
    if only is None:
        return True
    key, value = only
    if key == "EventSource":
        return bool(event["EventSource"] == value)
    request = json.loads(event["CloudTrailEvent"])["requestParameters"]
    return key == "ResourceName" and value in [v for v in request.values() if isinstance(v, str)]


def test_250_unrelated_describe_trails_after_the_change_do_not_push_the_caller_out() -> None:
    """Before: an EventSource lookup read 4 pages newest first; 250 DescribeTrails calls buried the StopLogging."""
    stop = call(0, "StopLogging", MALLORY, name=TRAIL)
    flood = [call(n, "DescribeTrails", MALLORY, trailNameList=[TRAIL]) for n in range(1, 251)]
    flood += [call(300 + n, "GetTrailStatus", MALLORY, name="decoy") for n in range(50)]
    clock = Clock()
    history = History(clock, [stop, *flood])
    found = actor_of(
        history, "us-east-1", "cloudtrail.amazonaws.com", ["StopLogging"], [TRAIL, ARN], until=SWEEP,
        run=Invocation(clock, clock.sleep),
    )  # fmt: skip
    assert (found["arn"], found["event_id"]) == (MALLORY, "e0")
    assert history.calls == [(("ResourceName", TRAIL), True)]  # one page, by the trail's name, the quick client


def test_a_call_naming_the_trail_by_arn_is_found_by_the_second_lookup() -> None:
    clock = Clock()
    history = History(clock, [call(0, "UpdateTrail", MALLORY, name=ARN, enableLogFileValidation=False)])
    found = actor_of(
        history, "us-east-1", "cloudtrail.amazonaws.com", ["UpdateTrail"], [TRAIL, ARN], until=SWEEP,
        run=Invocation(clock, clock.sleep),
    )  # fmt: skip
    assert found["arn"] == MALLORY
    assert [only for only, _ in history.calls] == [("ResourceName", TRAIL), ("ResourceName", ARN)]


@pytest.mark.parametrize("latency", [0.05, ACTOR_CALL_SECONDS])
def test_a_throttled_lookup_is_not_recorded_within_the_bound(latency: float) -> None:
    """Before: botocore retried a throttled LookupEvents up to 6 times (20 s of backoff), and the 5 s bound was
    checked only between pages. Each call here takes ``latency`` of the injected clock, up to the client's own
    bound; the lookup ends, with its why, within ACTOR_SECONDS."""
    clock = Clock()
    history = History(clock, [call(0, "StopLogging", MALLORY, name=TRAIL)], latency=latency, throttled=True)
    found = actor_of(
        history, "us-east-1", "cloudtrail.amazonaws.com", ["StopLogging"], [TRAIL, ARN], until=SWEEP,
        run=Invocation(clock, clock.sleep),
    )  # fmt: skip
    assert found["arn"] == "not recorded"
    assert "ThrottlingException" in found["why"]
    assert (clock() - SWEEP).total_seconds() <= ACTOR_SECONDS
    assert all(quick for _, quick in history.calls)


def test_the_lookup_client_makes_one_attempt_and_its_call_fits_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """The quick client: a throttled LookupEvents is sent once (the standard client would send it six times)."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    quick, standard = vars(LOOKUP_CONFIG), vars(CLIENT_CONFIG)
    assert quick["retries"] == {"mode": "standard", "total_max_attempts": 1}
    assert quick["connect_timeout"] + quick["read_timeout"] <= ACTOR_CALL_SECONDS
    assert standard["retries"]["total_max_attempts"] > 1  # the other calls keep their retries
    clients = Boto3Clients()
    client = clients.cloudtrail_lookup("us-east-1")
    assert client is not clients.cloudtrail("us-east-1")
    sent: list[str] = []

    def throttle(request: Any, **_: Any) -> Any:
        sent.append(request.url)
        body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.1"
        return AWSResponse(request.url, 400, headers, _Raw(body))

    client.meta.events.register("before-send.cloudtrail.LookupEvents", throttle)
    with pytest.raises(ClientError, match="ThrottlingException"):
        client.lookup_events(MaxResults=50)
    assert len(sent) == 1


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body
