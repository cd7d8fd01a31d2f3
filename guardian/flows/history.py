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
ACTOR_PAGES = 2  # pages read at most per lookup to find the call behind a sweep-found change (100 calls naming it)
ACTOR_SECONDS = 5.0  # and the time spent on it, each call's own included: the sweep's alert waits for it
# The longest one LookupEvents call of that lookup takes (its client: one attempt, 1 s to connect, 2 s to read,
# guardian.adapters.clients.LOOKUP_CONFIG): a page starts only if it can end within ACTOR_SECONDS.
ACTOR_CALL_SECONDS = 3.0
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
    quick: bool = False,
    call_seconds: float = 0.0,
) -> Read:
    """Every management event of [start, end] in each of ``regions`` (in turn), at most ``limit`` of them and for at
    most ``seconds`` (pacing included), each Region at most :data:`REQUESTS_PER_SECOND` requests a second. A page
    starts only if ``call_seconds`` (the longest one call takes) still fits; ``quick``: see ``lookup_page``."""
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
                    if (run.clock() - began).total_seconds() + wait + call_seconds > seconds:
                        truncated = "time"
                        break
                    run.sleep(wait)
            if (run.clock() - began).total_seconds() + call_seconds >= seconds:
                truncated = "time"
                break
            last = run.clock()
            try:
                page, token = (
                    aws.lookup_page(region, start, end, token, only=only, quick=True)
                    if quick
                    else aws.lookup_page(region, start, end, token, only=only)
                )
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

    Looked up by ResourceName, once for each of ``about`` in turn (LookupEvents takes one attribute a request;
    Event history names the resource as the request did, by name or by ARN): the narrowest attribute. Only calls
    naming this very resource match, so no number of unrelated calls (DescribeTrails, other trails, other services;
    what an EventSource or EventName lookup returns) pushes the call out of the pages read. Bounded in pages
    (:data:`ACTOR_PAGES` a lookup) and in time, each call's own included (:data:`ACTOR_SECONDS`,
    :data:`ACTOR_CALL_SECONDS`: one attempt, short timeouts): the sweep's alert waits for it."""
    names, about = tuple(names), tuple(about)
    start = until - ACTOR_LOOKBACK
    began = run.clock()
    events: list[Mapping[str, Any]] = []
    failed: list[str] = []
    found: Mapping[str, Any] | None = None
    try:
        for n, value in enumerate(dict.fromkeys(about)):
            left = ACTOR_SECONDS - (run.clock() - began).total_seconds()
            if n and left > 1.0 / REQUESTS_PER_SECOND + ACTOR_CALL_SECONDS:
                run.sleep(1.0 / REQUESTS_PER_SECOND)  # the Region's 2 requests a second, across lookups too
                left -= 1.0 / REQUESTS_PER_SECOND
            read = read_window(
                aws,
                [region],
                start,
                until,
                run,
                seconds=left,
                limit=ACTOR_PAGES * 50,
                only=("ResourceName", value),
                quick=True,
                call_seconds=ACTOR_CALL_SECONDS,
            )
            events += [e for e in read.events if e.get("EventSource") in (None, source)]
            failed += read.failed
            found = match(events, names, about, before=until)
            if found is not None or read.truncated == "time":
                break
    except Exception as exc:  # noqa: BLE001 - before the sweep's alert: the alert goes out, the actor unknown
        LOG.warning("Event history could not be read for a sweep finding", extra={"error": describe_failure(exc)})
        return {"arn": NOT_RECORDED, "why": f"Event history not read: {describe_failure(exc)}"}
    if found is None:
        why = "; ".join(failed) or f"no {'/'.join(names)} of it in Event history ({source}) since {iso(start)}"
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
