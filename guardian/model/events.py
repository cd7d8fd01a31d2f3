"""Parse a raw EventBridge event (or a bare CloudTrail record) into plain, typed data.

Pure: no boto3, no environment. Tolerant of missing and extra fields, because real records vary by publisher and
eventVersion; only input that cannot be read as an event at all raises :class:`MalformedEvent`. A field of the
wrong type is recorded in ``problems`` and treated as missing, so an event that still looks like tampering is
alerted rather than dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardian.model.event_refs import key_ref, partition_of, resource_ref, trail_ref
from guardian.model.event_time import parse_time
from guardian.model.refs import (
    API_CALL_DETAIL_TYPE,
    CLOUDTRAIL_SOURCE,
    KMS_SOURCE,
    Actor,
    KeyRef,
    ResourceRef,
    TrailRef,
)

if TYPE_CHECKING:
    from datetime import datetime


class MalformedEvent(ValueError):
    """The input cannot be read as a CloudTrail event. The message names what is wrong."""


@dataclass(frozen=True)
class CloudTrailEvent:
    """One CloudTrail record, from an EventBridge envelope or bare. ``raw`` is the input exactly as received."""

    event_id: str
    event_id_derived: bool
    detail_type: str | None
    event_name: str | None
    event_source: str | None
    event_type: str | None
    event_time: datetime | None
    event_time_raw: str | None
    aws_region: str | None
    account_id: str | None
    source_ip: str | None
    user_agent: str | None
    error_code: str | None
    error_message: str | None
    actor: Actor
    request_parameters: Mapping[str, Any] | None
    trail: TrailRef | None
    problems: tuple[str, ...]
    raw: Mapping[str, Any]
    key: KeyRef | None = None
    resource: ResourceRef | None = None

    @property
    def failed(self) -> bool:
        """CloudTrail records failed calls too; ``errorCode`` is present only on those."""
        return self.error_code is not None

    @property
    def is_api_call(self) -> bool:
        """True for an 'AWS API Call via CloudTrail' envelope, or a bare record of type AwsApiCall."""
        if self.detail_type is not None:
            return self.detail_type == API_CALL_DETAIL_TYPE
        return self.event_type in (None, "AwsApiCall")


def guardian_event(
    event_id: str,
    *,
    name: str,
    source: str,
    event_type: str,
    at: datetime,
    region: str,
    account_id: str,
    raw: dict[str, Any],
    actor: Actor = Actor(),  # noqa: B008 - a NamedTuple, immutable
    trail: TrailRef | None = None,
    request_parameters: Mapping[str, Any] | None = None,
    user_agent: str | None = None,
) -> CloudTrailEvent:
    """A record the guardian makes itself (what the sweep found, an operator's request), shaped as the event the
    alert and the evidence record take. Its id is derived (``event_id_derived``), never CloudTrail's."""
    return CloudTrailEvent(
        event_id=event_id,
        event_id_derived=True,
        detail_type=None,
        event_name=name,
        event_source=source,
        event_type=event_type,
        event_time=at,
        event_time_raw=at.isoformat().replace("+00:00", "Z"),
        aws_region=region,
        account_id=account_id,
        source_ip=None,
        user_agent=user_agent,
        error_code=None,
        error_message=None,
        actor=actor,
        request_parameters=request_parameters,
        trail=trail,
        problems=(),
        raw=raw,
    )


class _Reader:
    """Typed access to one JSON object, collecting type problems instead of raising."""

    def __init__(self, data: Mapping[str, Any], prefix: str, problems: list[str]) -> None:
        self._data = data
        self._prefix = prefix
        self._problems = problems

    def _where(self, key: str) -> str:
        return f"{self._prefix}{key}"

    def string(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            # CloudTrail renders some flags as JSON booleans in one eventVersion and strings in another.
            return str(value).lower() if isinstance(value, bool) else str(value)
        self._problems.append(f"{self._where(key)} must be a string, got {type(value).__name__}")
        return None

    def obj(self, key: str) -> _Reader | None:
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self._problems.append(f"{self._where(key)} must be an object, got {type(value).__name__}")
            return None
        return _Reader(value, f"{self._where(key)}.", self._problems)

    def mapping(self, key: str) -> Mapping[str, Any] | None:
        reader = self.obj(key)
        return reader._data if reader else None


def parse_event(raw: object) -> CloudTrailEvent:
    """Read an EventBridge envelope or a bare CloudTrail record. Raises MalformedEvent if it is neither."""
    if not isinstance(raw, Mapping):
        raise MalformedEvent(f"event must be a JSON object, got {type(raw).__name__}")
    problems: list[str] = []
    detail_type: str | None = None
    envelope_account: str | None = None
    if "detail" in raw or "detail-type" in raw:
        envelope = _Reader(raw, "", problems)
        detail_type = envelope.string("detail-type")
        envelope_account = envelope.string("account")
        detail = raw.get("detail")
        if detail is None:
            raise MalformedEvent("event has no 'detail': an EventBridge event carries the CloudTrail record there")
        if not isinstance(detail, Mapping):
            raise MalformedEvent(f"detail must be a JSON object, got {type(detail).__name__}")
        record: Mapping[str, Any] = detail
        prefix = "detail."
    elif any(key in raw for key in ("eventName", "eventSource", "eventVersion", "eventType")):
        record, prefix = raw, ""
    else:
        raise MalformedEvent(
            "event is neither an EventBridge event (no 'detail') nor a CloudTrail record (no 'eventName')"
        )

    if "eventName" in record and not isinstance(record["eventName"], str):
        raise MalformedEvent(f"{prefix}eventName must be a string, got {type(record['eventName']).__name__}")

    r = _Reader(record, prefix, problems)
    event_name = r.string("eventName")
    event_source = r.string("eventSource")
    aws_region = r.string("awsRegion")
    account_id = r.string("recipientAccountId") or envelope_account
    identity = r.obj("userIdentity")
    actor = _parse_actor(identity, r.string("userAgent"), r.string("sessionCredentialFromConsole"))
    if account_id is None and actor.account_id:
        account_id = actor.account_id
    event_time_raw = r.string("eventTime")
    request_parameters = r.mapping("requestParameters")
    response_elements = r.mapping("responseElements")
    trail = None
    if event_source == CLOUDTRAIL_SOURCE:
        partition = partition_of(actor.arn or actor.session_issuer_arn or "")
        trail = trail_ref(request_parameters, response_elements, aws_region, account_id, partition, problems=problems)

    key = key_ref(request_parameters, aws_region, account_id) if event_source == KMS_SOURCE else None
    resource = resource_ref(event_source, request_parameters, aws_region, account_id)
    raw_id = r.string("eventID")
    return CloudTrailEvent(
        event_id=raw_id or _derived_id(record),
        event_id_derived=raw_id is None,
        detail_type=detail_type,
        event_name=event_name,
        event_source=event_source,
        event_type=r.string("eventType"),
        event_time=parse_time(event_time_raw, prefix, problems),
        event_time_raw=event_time_raw,
        aws_region=aws_region,
        account_id=account_id,
        source_ip=r.string("sourceIPAddress"),
        user_agent=r.string("userAgent"),
        error_code=r.string("errorCode"),
        error_message=r.string("errorMessage"),
        actor=actor,
        request_parameters=request_parameters,
        trail=trail,
        problems=tuple(problems),
        raw=raw,
        key=key,
        resource=resource,
    )


def _parse_actor(identity: _Reader | None, user_agent: str | None, from_console: str | None) -> Actor:
    if identity is None:
        return Actor()
    session = identity.obj("sessionContext")
    issuer = session.obj("sessionIssuer") if session else None
    attributes = session.obj("attributes") if session else None
    mfa = attributes.string("mfaAuthenticated") if attributes else None
    invoked_by = identity.string("invokedBy")
    console = from_console == "true" or "signin.amazonaws.com" in (invoked_by, user_agent)
    return Actor(
        type=identity.string("type"),
        arn=identity.string("arn"),
        principal_id=identity.string("principalId"),
        account_id=identity.string("accountId"),
        user_name=identity.string("userName"),
        access_key_id=identity.string("accessKeyId"),
        session_issuer_arn=issuer.string("arn") if issuer else None,
        invoked_by=invoked_by,
        mfa_authenticated=None if mfa is None else mfa == "true",
        console=console,
    )


def _derived_id(record: Mapping[str, Any]) -> str:
    """A stable id for a record without eventID, so duplicate deliveries still collapse to one."""
    import hashlib  # noqa: PLC0415 - rare path; importing OpenSSL up front costs ~4 ms of cold start

    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]
