"""What acting on one event produced: plain data shared by the workflow, the alert and the evidence record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the baseline model is not needed to heal a stopped trail: keep it off the cold-start path
    from datetime import datetime

    from guardian.model.changes import Change
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.model.mode import PlannedCall
    from guardian.model.purpose import Purpose
    from guardian.model.refs import TrailRef
    from guardian.model.rules import Outcome, Severity


@dataclass(frozen=True)
class ActionRecord:
    """One call the guardian made to undo a change, with its timing and result."""

    action: str
    region: str
    target: str
    started_at: datetime
    finished_at: datetime
    succeeded: bool
    error_code: str | None = None
    error_message: str | None = None
    # Throttled by CloudTrail's write quota, and the trail then found as the call would have left it (another
    # invocation's heal): nothing left to do. Recorded as result "already_healed".
    already_healed: bool = False
    # Throttled likewise, and the trail stopped again after the event (CloudTrail's StopLoggingTime): the later stop's
    # own invocation owns the heal. Recorded as result "superseded"; the time of that later stop.
    superseded_by: datetime | None = None

    @property
    def result(self) -> str:
        """The call's result as the alert and the evidence record state it."""
        if self.already_healed:
            return "already_healed"
        if self.superseded_by is not None:
            return "superseded"
        return "succeeded" if self.succeeded else "failed"


@dataclass(frozen=True)
class Verification:
    """GetTrailStatus after the heal. ``is_logging`` is None when the status could not be read."""

    is_logging: bool | None
    checks: int
    checked_at: datetime
    start_logging_time: datetime | None = None
    stop_logging_time: datetime | None = None
    latest_delivery_time: datetime | None = None
    latest_delivery_error: str | None = None
    error_code: str | None = None
    error_message: str | None = None


def watch_fields(result: Result) -> dict[str, str] | None:
    """The watch rule that made the alert (alert and evidence field ``watch_rule``), or None."""
    d = result.decision
    if d.watch_rule is None:
        return None
    return {"id": d.watch_rule, "description": d.rule.what if d.rule else ""}


@dataclass(frozen=True)
class Result:
    event: CloudTrailEvent
    decision: Decision
    outcome: Outcome
    severity: Severity
    actions: tuple[ActionRecord, ...] = ()
    verification: Verification | None = None
    blind_window_seconds: float | None = None
    diagnosis: str | None = None  # why a heal failed, in words, when the guardian could find out
    changes: tuple[Change, ...] = ()  # baseline → found, each weakened or strengthened (restores and the sweep)
    purpose: Purpose | None = None  # an operator's approval or a self-test, not tampering: reports count it apart
    planned: tuple[PlannedCall, ...] = ()  # observe mode: the calls the undo would have made (none was made)


def blind_window(event_time: datetime | None, verification: Verification) -> float | None:
    """Seconds from the tampering call to verified restore: how long the trail was blind.

    Restore time is CloudTrail's own StartLoggingTime when it reports one, else the moment we saw IsLogging.
    """
    if event_time is None or not verification.is_logging:
        return None
    restored_at = verification.start_logging_time or verification.checked_at
    return round(max(0.0, (restored_at - event_time).total_seconds()), 3)


def actor_fields(event: CloudTrailEvent, *, named: bool = False) -> dict[str, object]:
    """Who made the call, as the alert (``named``: with the short name its subject line uses) and the evidence
    record both state it."""
    a = event.actor
    return {
        "arn": a.arn,
        "type": a.type,
        **({"name": a.display} if named else {}),
        "account": a.account_id,
        "session_issuer_arn": a.session_issuer_arn,
        "access_key_id": a.access_key_id,
        "source_ip": event.source_ip,
        "user_agent": event.user_agent,
        "console": a.console,
        "mfa": a.mfa_authenticated,
    }


def trail_fields(trail: TrailRef | None) -> dict[str, object] | None:
    """The trail a decision is about, as the alert and the evidence record both state it."""
    if trail is None:
        return None
    return {"name": trail.name, "arn": trail.arn, "home_region": trail.region, "account": trail.account_id}


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as CloudTrail writes times."""
    return value.isoformat().replace("+00:00", "Z") if value else None
