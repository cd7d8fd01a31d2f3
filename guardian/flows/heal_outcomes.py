"""What a heal's outcome says beyond StartLogging's answer: a trail stopped again after its restart (superseded,
not a failed heal), and in words why StartLogging failed. Imported after StartLogging, off the cold start."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from guardian.model.rules import Outcome
from guardian.ports.errors import AWS_ERRORS, THROTTLING_CODES, describe_error

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.model.refs import TrailRef
    from guardian.model.results import ActionRecord, Result, Verification
    from guardian.ports.calls import HealCalls

LOG = logging.getLogger("guardian.flows.start_logging")


def stopped_again(
    event: CloudTrailEvent, decision: Decision, action: ActionRecord, verification: Verification, later: datetime
) -> Result:
    """StartLogging went through, and GetTrailStatus then shows the trail stopped by a later call: that stop is an
    event too, whose own invocation restarts the trail (or alerts CRITICAL). This one is superseded, as a throttled
    one is (``start_logging._superseded``), not a failed heal retried by Lambda into the same race."""
    from dataclasses import replace  # noqa: PLC0415 - after StartLogging

    from guardian.model.results import Result, iso  # noqa: PLC0415 - after StartLogging

    why = f"superseded by the stop at {iso(later)}"
    LOG.info("StartLogging succeeded, then the trail was stopped again", extra={"trail": action.target})
    return Result(
        event=event,
        decision=decision,
        outcome=Outcome.SUPERSEDED,
        severity=decision.severity,
        actions=(replace(action, superseded_by=later, error_message=f"restarted, then {why}"),),
        verification=verification,
        diagnosis=f"{why}: the trail was stopped again, and that stop's own heal restarts it (or alerts CRITICAL)",
    )


def diagnose(aws: HealCalls, trail: TrailRef, code: str, message: str) -> str:
    """Say in words why StartLogging failed, reading the trail's state where possible (best effort)."""
    if code in THROTTLING_CODES:
        return (
            f"{code}: CloudTrail's write quota (1 write a second per account and Region) stayed taken through the "
            "heal's backoff, and the trail still did not log; Lambda's retry and the sweep try again"
        )
    if code in ("AccessDenied", "AccessDeniedException"):
        return (
            f"{code}: the guardian's role may not call StartLogging on {trail.identifier} "
            "(a service control policy, permissions boundary or edited role?)"
        )
    try:
        described = aws.describe_trail(trail)
    except AWS_ERRORS as exc:
        other_code, other_message = describe_error(exc)
        return f"{code}: {message} (DescribeTrails also failed: {other_code}: {other_message})"
    if described is None:
        return f"{code}: trail {trail.identifier} no longer exists in {trail.region} (deleted?)"
    home = described.get("HomeRegion")
    if home and home != trail.region:
        return f"{code}: {trail.identifier} is a shadow trail here; its home Region is {home}"
    return f"{code}: {message}"
