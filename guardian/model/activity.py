"""Repeated tampering: which outcomes count against a principal, and when the count calls for an alert.

Pure. :mod:`guardian.flows.repeats` records and counts them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from guardian.model.rules import Outcome, Severity

# Tampering, as opposed to approved or harmless changes: what was healed or could not be, failed attempts, changes to
# other accounts' trails, and events without a trail. Exempt changes and the guardian's own calls never count.
COUNTED = frozenset(
    {
        Outcome.HEALED,
        Outcome.HEAL_FAILED,
        Outcome.ATTEMPT_FAILED,
        Outcome.NOT_HEALABLE,
        Outcome.UNIDENTIFIED_TRAIL,
    }
)


def counts(outcome: Outcome, severity: Severity, *, from_event: bool) -> bool:
    """Whether an alerted event counts towards repeated tampering (the sweep's findings have no principal)."""
    if not from_event:
        return False
    return outcome in COUNTED or (outcome is Outcome.ALERTED and severity in (Severity.HIGH, Severity.CRITICAL))


def calls_for_alert(count: int, threshold: int) -> bool:
    """Alert when the count in the window reaches the threshold, and again at each further multiple of it."""
    return count >= threshold and count % threshold == 0


def sort_key(event_time: datetime, event_id: str) -> str:
    return f"{event_time:%Y-%m-%dT%H:%M:%S}Z#{event_id}"


def window_start(event_time: datetime, minutes: int) -> str:
    return f"{event_time - timedelta(minutes=minutes):%Y-%m-%dT%H:%M:%S}Z"
