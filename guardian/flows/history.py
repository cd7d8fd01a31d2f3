"""CloudTrail's Event history read back: a window's management events, paced and bounded, and the call behind a
change the sweep found (its actor).

LookupEvents allows 2 requests a second per account and Region (not adjustable): each Region is read at most that
fast, one page (50 events) a request. A read stops at a count and a time (:data:`~guardian.model.blind_window`'s
``MAX_EVENTS``, ``MAX_SECONDS``) and says so (``truncated``); a Region that fails is named, the others still read.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from guardian.model.blind_window import (
    MAX_EVENTS,
    MAX_SECONDS,
    NOT_RECORDED,
    REQUESTS_PER_SECOND,
    Read,
    match,
    principal_of,
    record_of,
)
from guardian.model.events import CloudTrailEvent, MalformedEvent, parse_event
from guardian.model.results import iso
from guardian.ports.errors import AWS_ERRORS, describe_failure

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime

    from guardian.ports.history import HistoryPages
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
ACTOR_PAGES = 4  # pages read at most to find the call behind a sweep-found change (200 events naming the resource)
ACTOR_SECONDS = 5.0  # and the time spent on it: the sweep's alert waits for it
ACTOR_LOOKBACK = timedelta(hours=1)  # how far back from the sweep a change is looked for (sweeps run every 5 min)


def read_window(
    aws: HistoryPages,
    regions: Sequence[str],
    start: datetime,
    end: datetime,
    run: Invocation,
    *,
    seconds: float = MAX_SECONDS,
    limit: int = MAX_EVENTS,
    only: tuple[str, str] | None = None,
) -> Read:
    """Every management event of [start, end] in each of ``regions`` (in turn), at most ``limit`` of them and for at
    most ``seconds`` (pacing included), each Region at most :data:`REQUESTS_PER_SECOND` requests a second."""
    began = run.clock()
    gap = 1.0 / REQUESTS_PER_SECOND
    events: list[Mapping[str, Any]] = []
    failed: list[str] = []
    requests = 0
    truncated: str | None = None
    for region in regions:
        token: str | None = None
        last: datetime | None = None
        while truncated is None:
            if len(events) >= limit:
                truncated = "count"
                break
            if last is not None:
                wait = gap - (run.clock() - last).total_seconds()
                if wait > 0:
                    if (run.clock() - began).total_seconds() + wait >= seconds:
                        truncated = "time"
                        break
                    run.sleep(wait)
            if (run.clock() - began).total_seconds() >= seconds:
                truncated = "time"
                break
            last = run.clock()
            try:
                page, token = aws.lookup_page(region, start, end, token, only=only)
            except AWS_ERRORS as exc:
                failed.append(f"{region}: {describe_failure(exc)}")
                break
            requests += 1
            room = limit - len(events)
            events += page[:room]
            if len(page) > room:
                truncated = "count"
            if token is None:
                break
        if truncated is not None:
            break
    return Read(tuple(events), requests, truncated, tuple(failed))


def actor_of(
    aws: HistoryPages,
    region: str,
    source: str,
    names: Iterable[str],
    about: Iterable[str],
    *,
    until: datetime,
    run: Invocation,
) -> dict[str, Any]:
    """The call behind a change the sweep found: the newest of ``names`` (from the service ``source``, say
    ``cloudtrail.amazonaws.com``) whose request names one of ``about`` (the resource's name or ARN), in the hour
    before ``until``. ``{"arn": "not recorded", "why": ...}`` when Event history has none, or cannot be read.
    Bounded (:data:`ACTOR_PAGES`, :data:`ACTOR_SECONDS`): the sweep's alert waits for it."""
    names, about = tuple(names), tuple(about)
    start = until - ACTOR_LOOKBACK
    try:
        read = read_window(
            aws,
            [region],
            start,
            until,
            run,
            seconds=ACTOR_SECONDS,
            limit=ACTOR_PAGES * 50,
            only=("EventSource", source),
        )
    except Exception as exc:  # noqa: BLE001 - before the sweep's alert: the alert goes out, the actor unknown
        LOG.warning("Event history could not be read for a sweep finding", extra={"error": describe_failure(exc)})
        return {"arn": NOT_RECORDED, "why": f"Event history not read: {describe_failure(exc)}"}
    found = match(read.events, names, about, before=until)
    if found is None:
        why = "; ".join(read.failed) or f"no {'/'.join(names)} of it in Event history since {iso(start)}"
        return {"arn": NOT_RECORDED, "why": why}
    record = record_of(found)
    identity = record.get("userIdentity")
    at = found.get("EventTime")
    return {
        "arn": principal_of(found),
        "type": identity.get("type") if isinstance(identity, dict) else None,
        "event_id": found.get("EventId"),
        "event_name": found.get("EventName"),
        "event_time": iso(at) if hasattr(at, "isoformat") else None,
        "source_ip": record.get("sourceIPAddress"),
        "user_agent": record.get("userAgent"),
        "record": record or None,
    }


def attributed(event: CloudTrailEvent, actor: Mapping[str, Any]) -> CloudTrailEvent:
    """A sweep's finding with the actor CloudTrail recorded (:func:`actor_of`): its ``who`` is theirs, and its raw
    record says where that came from (``actor``: the call's id, name and time, or ``not recorded`` and why)."""
    noted = {k: v for k, v in actor.items() if k != "record"}
    raw = {**event.raw, "actor": noted}
    record = actor.get("record")
    if not isinstance(record, dict):
        return replace(event, raw=raw)
    try:
        found = parse_event(record)
    except MalformedEvent:
        return replace(event, raw=raw)
    return replace(event, raw=raw, actor=found.actor, source_ip=found.source_ip, user_agent=found.user_agent)
