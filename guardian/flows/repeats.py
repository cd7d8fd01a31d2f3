"""Repeated tampering: N counted changes by one principal within M minutes earn one more, CRITICAL, alert.

Each counted event is recorded once in a DynamoDB table (duplicate deliveries are not counted twice); the alert
goes through the same evidence and exactly-once path as every other alert.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from guardian.flows.deliver import deliver
from guardian.model.activity import calls_for_alert, counts, principal_key, sort_key, window_end, window_start
from guardian.model.results import Result
from guardian.model.rules import Action, Outcome, Severity
from guardian.model.safe import cut, text
from guardian.ports.calls import Activity, Delivery

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.ports.invocation import Invocation


class Ports(Activity, Delivery, Protocol):
    """What counting needs: the activity table, and the alert's path."""


def watch_repeats(result: Result, aws: Ports, config: Config, run: Invocation, *, alert: bool = True) -> None:
    """Count the change against its principal; at N within M minutes, send one more (CRITICAL) alert (unless
    ``alert`` is False: the change's alert was held for a digest, which reports the repeats)."""
    event = result.event
    principal = event.actor.session_issuer_arn or event.actor.arn
    if principal is None or not counts(result.outcome, result.severity, from_event=True):
        return
    assert config.activity_table is not None
    table, threshold, minutes = config.activity_table, config.repeat_threshold, config.repeat_window_minutes
    moment = event.event_time or run.clock()
    key = sort_key(moment, event.event_id)
    expires = int(moment.timestamp()) + 2 * 60 * minutes
    partition = principal_key(principal)
    summary = cut(text(f"{event.event_name} {result.outcome.value}"), 256)
    aws.record_activity(table, partition, key, expires, summary)
    if not alert:
        return
    count = aws.count_activity(table, partition, window_start(moment, minutes), window_end(moment))
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
