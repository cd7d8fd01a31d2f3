"""What an operator asks the guardian through the console: approve a trail's configuration as its baseline, or
register a self-test. Pure: the request's shape, read strictly, and the purpose it gives the record it leads to.

The payload is ``{"guardian_request": {...}, "proof": {...}}`` (:mod:`guardian.model.caller_proof`). Every field is
checked here, so a malformed request is refused with a message naming the field, and nothing is done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from guardian.model.event_refs import TRAIL_NAME
from guardian.model.events import CloudTrailEvent, guardian_event
from guardian.model.purpose import Purpose
from guardian.model.refs import OPERATOR_SOURCE, Actor

if TYPE_CHECKING:
    from collections.abc import Mapping

REQUEST_KEY = "guardian_request"
ACTIONS = ("approve", "selftest")
REASON_MAX = 1024
SELFTEST_WINDOW = timedelta(minutes=5)  # a registered self-test covers a StopLogging of the sentinel this long
_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_FIELDS = {"action", "id", "at", "account", "region", "trail", "reason"}
# What an approval may adopt even when it is weaker than its baseline: only what the approver names (``--include-*``).
INCLUDABLE = ("bucket", "log_group")


class RequestError(ValueError):
    """The request is malformed; the message names the field."""


@dataclass(frozen=True)
class OperatorRequest:
    action: str  # one of ACTIONS
    id: str  # chosen by the console, unique: the approval's evidence key holds it, so a replay is refused
    at: datetime
    account: str
    region: str
    trail: str
    reason: str
    include: tuple[str, ...] = ()  # dependencies the approver names: adopted even if weaker than their baselines

    def to_json(self) -> dict[str, str]:
        named = {"include": ",".join(self.include)} if self.include else {}
        return {
            **named,
            "action": self.action,
            "id": self.id,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "account": self.account,
            "region": self.region,
            "trail": self.trail,
            "reason": self.reason,
        }


def is_operator_request(event: object) -> bool:
    return isinstance(event, dict) and REQUEST_KEY in event


def parse_request(event: Mapping[str, Any]) -> OperatorRequest:
    body = event.get(REQUEST_KEY)
    if not isinstance(body, dict):
        raise RequestError(f"{REQUEST_KEY} must be an object")
    unknown = sorted(set(body) - _FIELDS - {"include"})
    if unknown:
        raise RequestError(f"{REQUEST_KEY} has unknown fields: {', '.join(unknown)}")
    values = {name: body.get(name) for name in _FIELDS}
    bad = sorted(name for name, value in values.items() if not isinstance(value, str))
    if bad:
        raise RequestError(f"{REQUEST_KEY} needs text fields: {', '.join(bad)}")
    text: dict[str, str] = {k: str(v) for k, v in values.items()}
    if text["action"] not in ACTIONS:
        raise RequestError(f"action must be one of {', '.join(ACTIONS)}, not {text['action']!r}")
    if not _ID.match(text["id"]):
        raise RequestError("id must be 8 to 64 letters, digits or dashes")
    if not re.fullmatch(r"\d{12}", text["account"]):
        raise RequestError(f"account must be a 12-digit account id, not {text['account']!r}")
    if not _REGION.match(text["region"]):
        raise RequestError(f"region is not a Region name: {text['region']!r}")
    if not TRAIL_NAME.match(text["trail"]):
        raise RequestError(f"trail is not a trail name CloudTrail accepts: {text['trail']!r}")
    reason = text["reason"].strip()
    if not reason or len(reason) > REASON_MAX or not reason.isprintable():
        raise RequestError(f"reason must be 1 to {REASON_MAX} printable characters")
    try:
        at = datetime.fromisoformat(text["at"].replace("Z", "+00:00"))
    except ValueError:
        raise RequestError(f"at is not an ISO 8601 time: {text['at']!r}") from None
    if at.tzinfo is None:
        raise RequestError("at must carry its time zone (UTC: ...Z)")
    fields = (text["action"], text["id"], at, text["account"], text["region"], text["trail"], reason)
    return OperatorRequest(*fields, include=_include(body.get("include", "")))


def _include(value: object) -> tuple[str, ...]:
    """The optional ``include``: the dependencies an approval may adopt weaker than their baselines."""
    if not isinstance(value, str):
        raise RequestError("include must be text: bucket, log_group or both, comma-separated")
    named = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    if any(part not in INCLUDABLE for part in named):
        raise RequestError(f"include may name only {', '.join(INCLUDABLE)}, not {value!r}")
    return named


def selftest_marker(request: OperatorRequest, by: str, now: datetime) -> dict[str, str]:
    """The document the guardian signs to say a StopLogging of its sentinel by ``by`` is a self-test, until when."""
    until = now + SELFTEST_WINDOW
    return {
        "schema": "cloudtrail-guardian/selftest",
        "id": request.id,
        "by": by,
        "trail": request.trail,
        "region": request.region,
        "reason": request.reason,
        "registered_at": now.isoformat().replace("+00:00", "Z"),
        "until": until.isoformat().replace("+00:00", "Z"),
    }


def selftest_key(region: str, trail: str) -> str:
    return f"selftests/{region}/{trail}.json"


def covers(marker: Mapping[str, Any], *, trail: str, principals: list[str], at: datetime) -> Purpose | None:
    """The self-test a verified marker makes of a StopLogging of ``trail`` by ``principals`` at ``at``, if any."""
    try:
        registered = datetime.fromisoformat(str(marker["registered_at"]).replace("Z", "+00:00"))
        until = datetime.fromisoformat(str(marker["until"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    by = str(marker.get("by", "")).casefold()
    if marker.get("trail") != trail or by not in {p.casefold() for p in principals}:
        return None
    if not registered - timedelta(seconds=60) <= at <= until:  # CloudTrail's eventTime has whole seconds
        return None
    return Purpose("selftest", str(marker.get("id", "")), str(marker.get("by", "")), str(marker.get("reason", "")))


def operator_event(request: OperatorRequest, by: str | None, name: str, at: datetime) -> CloudTrailEvent:
    """An operator's request, shaped as the event the alert and the evidence take."""
    return guardian_event(
        f"{request.action}-{request.id}",
        name=name,
        source=OPERATOR_SOURCE,
        event_type="GuardianOperatorRequest",
        at=at,
        region=request.region,
        account_id=request.account,
        user_agent="guardian console",
        actor=Actor(type=None if by is None else "AssumedRole" if ":assumed-role/" in by else "IAMUser", arn=by),
        request_parameters={"name": request.trail},
        raw={"source": OPERATOR_SOURCE, "request": request.to_json()},
    )
