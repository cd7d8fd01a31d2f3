"""What the account did while a protected trail was off, read back from CloudTrail's Event history once the trail
is healed, and kept beside the evidence record in a signed object (:mod:`guardian.model.blind_window`).

Runs after the alert, never before: the event path runs it as a step after the alert
(:func:`guardian.flows.after_alert.steps_after`), the sweep once its heal is alerted. The alert itself cannot carry
the counts without waiting for them (up to :data:`~guardian.model.blind_window.MAX_SECONDS`), and "publish first"
comes before it; the object is named after the record (``blind-windows/`` + the record's path), so record, alert
and report all lead to it. Written once (``IfNoneMatch``): a retried delivery finds it there.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from guardian.flows.history import read_window
from guardian.model import signing
from guardian.model.blind_window import MAX_SECONDS, window_document, window_key
from guardian.model.safe import json_bytes
from guardian.ports.calls import Signer
from guardian.ports.history import HistoryPages

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.model.refs import TrailRef
    from guardian.model.results import Result
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
WRITE_SECONDS = 3.0  # kept from the step's budget for signing and writing the object


class Ports(HistoryPages, Signer, Protocol):
    def put_new(self, key: str, body: bytes) -> bool: ...
    def describe_trail(self, trail: TrailRef) -> dict[str, Any] | None: ...


def recover(
    result: Result,
    aws: Ports,
    config: Config,
    run: Invocation,
    *,
    start: datetime | None = None,
    multi_region: bool | None = None,
    budget: float | None = None,
) -> str | None:
    """Read the blind window of a healed trail (from ``start``, else the event's time, to the verified restore) and
    keep it; the object's key, or None when there is no window to read (not healed, no time to start from).
    ``multi_region`` None: DescribeTrails says. ``budget``: the seconds the caller can give, writing included."""
    from guardian.model.evidence import evidence_key  # noqa: PLC0415 - after the alert only

    trail, verification = result.decision.trail, result.verification
    begin = start or result.event.event_time
    if trail is None or verification is None or not verification.is_logging or begin is None:
        return None
    end = verification.checked_at
    if multi_region is None:
        described = aws.describe_trail(trail) or {}
        multi_region = bool(described.get("IsMultiRegionTrail"))
    regions = [trail.region, *(sorted(set(config.sweep_regions) - {trail.region}) if multi_region else [])]
    seconds = MAX_SECONDS if budget is None else max(0.0, min(MAX_SECONDS, budget - WRITE_SECONDS))
    read = read_window(aws, regions, begin, end, run, seconds=seconds)
    record_key = evidence_key(result)
    key = window_key(record_key)
    document = window_document(
        evidence_key=record_key,
        trail_arn=trail.arn or trail.identifier,
        regions=regions,
        start=begin,
        end=end,
        read=read,
        read_at=run.clock(),
    )
    written = keep(aws, key, document)
    LOG.info(
        "blind window recovered from Event history" if written else "blind window kept already",
        extra={
            "blind_window_key": key,
            "evidence_key": record_key,
            "summary": document["summary"],
            "requests": read.requests,
            "truncated": read.truncated,
            "failed": list(read.failed),
        },
    )
    return key


def keep(aws: Ports, key: str, document: dict[str, Any]) -> bool:
    """Sign ``document`` as stored at ``key`` (as a baseline is signed) and write it once: False if it was there."""
    if aws.signing_key is None:
        raise RuntimeError("no signing key (GUARDIAN_SIGNING_KEY_ARN): the blind window's events are kept signed only")
    signature = aws.sign(signing.digest(key, document))
    body = json_bytes(signing.signed(document, key_id=aws.signing_key, signature=signature), indent=1)
    return aws.put_new(key, body)
