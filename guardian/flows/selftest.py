"""Is this StopLogging of the sentinel a self-test? Only if the guardian signed a marker saying so, for this caller,
minutes ago (``guardian selftest`` asks for it, proving who it is: :mod:`guardian.flows.operator`).

A self-test is healed like any StopLogging. Only its alert and evidence change: they carry the self-test's id and
say so, and a healed one is INFO so the team is not alarmed. A self-test whose heal fails stays CRITICAL.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from guardian.flows.baselines import read_verified
from guardian.flows.budget import marker_budget, within
from guardian.model.operator_requests import covers, selftest_key
from guardian.model.rules import Outcome, Severity

if TYPE_CHECKING:
    from guardian.model.results import Result
    from guardian.ports.calls import SignedStore
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


def marked(result: Result, aws: SignedStore, sentinel: str, run: Invocation) -> Result:
    """The result of a StopLogging, marked as a self-test when it stopped the sentinel and a verified marker covers
    it. A marker that cannot be read in its few seconds, or fails verification, marks nothing: the alert goes out as
    for any StopLogging."""
    trail, e = result.decision.trail, result.event
    if trail is None or trail.name != sentinel or e.event_time is None:
        return result
    try:
        marker, refused = within(
            marker_budget(run), lambda: read_verified(aws, selftest_key(trail.region, trail.name)), "the marker"
        )
    except Exception as exc:  # noqa: BLE001 - never in the way of the alert
        LOG.warning("self-test marker unreadable", extra={"event_id": e.event_id, "error": repr(exc)})
        return result
    if refused is not None:
        LOG.warning("self-test marker refused", extra={"event_id": e.event_id, "problem": refused.problem})
    if marker is None:
        return result
    principals = [arn for arn in (e.actor.arn, e.actor.session_issuer_arn) if arn]
    purpose = covers(marker, trail=trail.name, principals=principals, at=e.event_time)
    if purpose is None:
        return result
    severity = Severity.INFO if result.outcome is Outcome.HEALED else result.severity
    return replace(result, purpose=purpose, severity=severity)
