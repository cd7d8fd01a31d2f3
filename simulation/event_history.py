"""CloudTrail's Event history (LookupEvents), which moto 5.2.5 lacks: the records the simulation says CloudTrail
holds, answered as AWS answers them.

moto records no CloudTrail event for an API call, so the simulation keeps the records itself (:func:`record`, as the
scenario makes calls) and LookupEvents answers from them: by account and Region, within [StartTime, EndTime], newest
first, at most ``MaxResults`` (50) a page with a ``NextToken``, one lookup attribute (EventId, EventName, EventSource,
Username, ReadOnly, AccessKeyId; ResourceName as far as the request names it). Each answer is counted
(:data:`REQUESTS`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from moto.cloudtrail.responses import CloudTrailResponse

_LOCK = threading.Lock()
_RECORDS: list[dict[str, Any]] = []
REQUESTS: list[str] = []  # the Region of every LookupEvents answered
_FIELDS = {"EventId": "eventID", "EventName": "eventName", "EventSource": "eventSource"}


def record(*records: dict[str, Any]) -> None:
    """CloudTrail holds these records (bare, as in a log file) from now on."""
    with _LOCK:
        _RECORDS.extend(records)


def clear() -> None:
    with _LOCK:
        _RECORDS.clear()
        REQUESTS.clear()


def _username(r: dict[str, Any]) -> str | None:
    identity = r.get("userIdentity") or {}
    arn = str(identity.get("arn") or "")
    return identity.get("userName") or (arn.rsplit("/", 1)[-1] if arn else None)


def _time(r: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(r["eventTime"]).replace("Z", "+00:00")).timestamp()


def _event(r: dict[str, Any]) -> dict[str, Any]:
    """A record as LookupEvents returns it."""
    return {
        "EventId": r.get("eventID"),
        "EventName": r.get("eventName"),
        "ReadOnly": str(bool(r.get("readOnly"))).lower(),
        "AccessKeyId": (r.get("userIdentity") or {}).get("accessKeyId"),
        "EventTime": _time(r),
        "EventSource": r.get("eventSource"),
        "Username": _username(r),
        "Resources": [],
        "CloudTrailEvent": json.dumps(r),
    }


def _attribute(r: dict[str, Any], name: str) -> set[str]:
    """The values a record has for one lookup attribute."""
    if name in _FIELDS:
        return {str(r.get(_FIELDS[name]))}
    if name == "Username":
        return {str(_username(r))}
    if name == "ReadOnly":
        return {str(bool(r.get("readOnly"))).lower()}
    if name == "AccessKeyId":
        return {str((r.get("userIdentity") or {}).get("accessKeyId"))}
    return {str(v) for v in (r.get("requestParameters") or {}).values()}  # ResourceName, as far as a request names it


def _matches(r: dict[str, Any], attributes: list[dict[str, str]]) -> bool:
    return all(a["AttributeValue"] in _attribute(r, a["AttributeKey"]) for a in attributes)


def lookup_events(self: CloudTrailResponse) -> str:
    start, end = self._get_param("StartTime"), self._get_param("EndTime")
    attributes = self._get_param("LookupAttributes") or []
    size = min(int(self._get_param("MaxResults") or 50), 50)
    offset = int(self._get_param("NextToken") or 0)
    with _LOCK:
        REQUESTS.append(self.region)
        found = [
            r
            for r in _RECORDS
            if r.get("awsRegion") == self.region
            and r.get("recipientAccountId", self.current_account) == self.current_account
            and (start is None or _time(r) >= float(start))
            and (end is None or _time(r) <= float(end))
            and _matches(r, attributes)
        ]
    found.sort(key=_time, reverse=True)
    page = found[offset : offset + size]
    answer: dict[str, Any] = {"Events": [_event(r) for r in page]}
    if offset + size < len(found):
        answer["NextToken"] = str(offset + size)
    return json.dumps(answer)


@contextmanager
def event_history() -> Iterator[None]:
    """LookupEvents answered from :func:`record`'s records while the block lasts (moto has none)."""
    original = getattr(CloudTrailResponse, "lookup_events", None)
    CloudTrailResponse.lookup_events = lookup_events  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if original is None:
            del CloudTrailResponse.lookup_events  # type: ignore[attr-defined]
        else:
            CloudTrailResponse.lookup_events = original  # type: ignore[attr-defined]
        clear()
