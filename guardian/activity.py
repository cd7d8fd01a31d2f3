"""Repeated tampering: N counted changes by one principal within M minutes earn one more, CRITICAL, alert.

Pure: which outcomes count, and when the count calls for an alert. Each counted event is recorded once in a
DynamoDB table (duplicate deliveries are not counted twice); the alert goes through the same evidence and
exactly-once path as every other alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from guardian.policy import Outcome, Severity

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
