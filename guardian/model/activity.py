"""Repeated tampering: which outcomes count against a principal, and when the count calls for an alert.

Pure. :mod:`guardian.flows.repeats` records and counts them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from guardian.model.rules import Outcome, Severity
from guardian.model.safe import digest, key_part

# Tampering, as opposed to approved or harmless changes: what was healed or could not be, failed attempts, changes to
# other accounts' trails, and events without a trail. Exempt changes and the guardian's own calls never count.
COUNTED = frozenset(
    {
        Outcome.HEALED,
        Outcome.HEAL_FAILED,
        Outcome.SUPERSEDED,
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


# DynamoDB's key limits: 2,048 bytes for the partition key (the principal), 1,024 for the sort key (time#eventID).
# Longer or odd values are hashed (the same value, the same key), so an attacker's 3 KB ARN is still counted.
PRINCIPAL_MAX = 1024
EVENT_ID_MAX = 200


def principal_key(principal: str) -> str:
    """The principal's partition key; never one starting with "#", which the table keeps for the alert ledger."""
    return digest(principal) if principal.startswith("#") else key_part(principal, PRINCIPAL_MAX)


def sort_key(event_time: datetime, event_id: str) -> str:
    return f"{_second(event_time)}#{key_part(event_id, EVENT_ID_MAX)}"


def window_start(event_time: datetime, minutes: int) -> str:
    try:
        return _second(event_time - timedelta(minutes=minutes))
    except OverflowError:
        return _second(datetime.min.replace(tzinfo=UTC))


def window_end(event_time: datetime) -> str:
    """The last key of the event's second: every change in the same second counts, whatever the order of their
    eventIDs ("~" sorts after every character a key part can hold)."""
    return f"{_second(event_time)}#~"


def _second(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}Z"
