"""Repeated tampering: N counted changes by one principal within M minutes earn one more, CRITICAL, alert.

Pure: which outcomes count, and when the count calls for an alert. Each counted event is recorded once in a
DynamoDB table (duplicate deliveries are not counted twice); the alert goes through the same evidence and
exactly-once path as every other alert.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from guardian.config import Config
from guardian.policy import Action, Outcome, Severity
from guardian.results import Result
from guardian.workflow import Aws, Invocation, deliver

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


def watch_repeats(result: Result, aws: Aws, config: Config, run: Invocation) -> None:
    """Count the change against its principal; at N within M minutes, send one more (CRITICAL) alert."""
    event = result.event
    principal = event.actor.session_issuer_arn or event.actor.arn
    if principal is None or not counts(result.outcome, result.severity, from_event=True):
        return
    assert config.activity_table is not None
    table, threshold, minutes = config.activity_table, config.repeat_threshold, config.repeat_window_minutes
    moment = event.event_time or run.clock()
    key = sort_key(moment, event.event_id)
    expires = int(moment.timestamp()) + 2 * 60 * minutes
    aws.record_activity(table, principal, key, expires, f"{event.event_name} {result.outcome.value}")
    count = aws.count_activity(table, principal, window_start(moment, minutes), key)
    if not calls_for_alert(count, threshold):
        return
    why = (
        f"{count} tampering changes by {principal} within {minutes} minutes "
        f"(threshold {threshold}); the guardian keeps healing each one"
    )
    decision = replace(
        result.decision, action=Action.ALERT, outcome=Outcome.REPEATED_TAMPERING, severity=Severity.CRITICAL, reason=why
    )
    repeated = Result(event=event, decision=decision, outcome=Outcome.REPEATED_TAMPERING, severity=Severity.CRITICAL)
    deliver(repeated, aws, config, run)
