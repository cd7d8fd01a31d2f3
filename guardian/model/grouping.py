"""Alert groups: repeats of one (principal, event name, target) within a window become one digest alert.

Pure. The first alert of a key goes out at once; the guardian then writes the group's *opening item*, signed with its
own key (the signature covers the group's key and the window's start), in the activity table. Repeats of the key
while the window is open are recorded (one evidence record each, one unsigned *member* item each) instead of
published, and one digest alert per window tells their count, times, outcomes and longest heal
(:mod:`guardian.model.group_digest`). The insider can write the table: an opening item that is unsigned, signed for
another key or window, or whose window is over does not group anything (the alert goes out at once: a duplicate beats
a lost alert); members they add can only inflate a count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from guardian.model.refs import SWEEP_SOURCE
from guardian.model.results import iso
from guardian.model.rules import Outcome, Severity
from guardian.model.safe import cut, key_part, text

if TYPE_CHECKING:
    from collections.abc import Mapping

    from guardian.model.results import Result

GROUPS_PARTITION = "#groups"  # the activity table's partition of opening items (no principal starts with "#")
MEMBERS_PREFIX = "#group#"  # a window's members: partition "#group#<group id>#<window start>"
SIGNED = "alert-group/"  # what an opening item's signature covers besides the item: "alert-group/<id>/<start>"
GROUP_TAG = "guardian-alert-group"  # the evidence record's tag naming the group it was counted in (not alerted)
# Outcomes whose repeats are grouped. A failed heal never is (it alerts every time); CRITICAL alerts never are.
GROUPED = frozenset({Outcome.HEALED, Outcome.ATTEMPT_FAILED, Outcome.ALERTED})
DENIED = "denied"  # the event name of a group of denied attempts: grouped per principal, whatever the call
MAX_MINUTES = 1440
DAY = 86400


@dataclass(frozen=True)
class GroupKey:
    """What repeats are: one principal, one event name, one target (denied attempts: one principal)."""

    principal: str
    event_name: str
    target: str
    who: str  # the principal as people read it (the subject's "by mallory")
    what: str  # "StopLogging on trail org-audit (us-east-1)"

    @property
    def text(self) -> str:
        return "\n".join((self.principal, self.event_name, self.target))

    @property
    def group_id(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8", "backslashreplace")).hexdigest()[:40]


def group_key(result: Result) -> GroupKey | None:
    """The key of an event's alert, or None for an alert that is never grouped or counted: the sweep's findings,
    an operator's approval or self-test, a call with no principal."""
    e, d = result.event, result.decision
    principal = e.actor.session_issuer_arn or e.actor.arn
    if principal is None or e.event_source == SWEEP_SOURCE or result.purpose is not None:
        return None
    name = text(e.event_name or "event")
    who = text(e.actor.display)
    if result.outcome is Outcome.ATTEMPT_FAILED:
        return GroupKey(text(principal), DENIED, "*", who, "Denied calls")
    if d.trail is not None:
        target = d.trail.arn or d.trail.identifier
        return GroupKey(text(principal), name, text(target), who, f"{name} on trail {d.trail.name} ({d.trail.region})")
    target = f"{d.watch_rule or ''}@{e.aws_region or ''}"
    return GroupKey(text(principal), name, text(target), who, f"{name} in {e.aws_region or 'a Region'}")


def may_group(result: Result, *, evidence_written: bool) -> bool:
    """Whether this alert may be held for the digest: never a failed heal, a CRITICAL alert, or one whose evidence
    record could not be written (its alert is then the only record)."""
    return evidence_written and result.outcome in GROUPED and result.severity is not Severity.CRITICAL


@dataclass(frozen=True)
class Opening:
    """A group's opening item: the first alert went out at ``window_start``; repeats until ``end`` are grouped."""

    key: GroupKey
    window_start: datetime
    minutes: int
    first_event_id: str
    severity: str

    @property
    def end(self) -> datetime:
        return self.window_start + timedelta(minutes=self.minutes)

    @property
    def start_text(self) -> str:
        return f"{self.window_start:%Y-%m-%dT%H:%M:%S.%f}Z"

    @property
    def signed_as(self) -> str:
        return f"{SIGNED}{self.key.group_id}/{self.start_text}"

    @property
    def members_partition(self) -> str:
        return f"{MEMBERS_PREFIX}{self.key.group_id}#{self.start_text}"

    def holds(self, moment: datetime) -> bool:
        return self.window_start <= moment < self.end

    def expires_at(self) -> int:
        """When DynamoDB may drop its items (TTL): a day after the window, long after any sweep flushed it."""
        return int(self.end.timestamp()) + DAY

    def document(self) -> dict[str, Any]:
        """What is signed and stored (the signature is added beside it)."""
        k = self.key
        return {
            "group_id": k.group_id,
            "key": {"principal": k.principal, "event_name": k.event_name, "target": k.target},
            "who": k.who,
            "what": k.what,
            "window_start": self.start_text,
            "window_minutes": self.minutes,
            "first_event_id": self.first_event_id,
            "severity": self.severity,
        }


def opening_from(document: Mapping[str, Any]) -> Opening:
    """The opening item's fields (ValueError if any is missing or odd); its signature is checked apart."""
    try:
        raw = document["key"]
        names = (str(raw["principal"]), str(raw["event_name"]), str(raw["target"]))
        key = GroupKey(*names, who=str(document["who"]), what=str(document["what"]))
        start = datetime.strptime(str(document["window_start"]), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        minutes = int(document["window_minutes"])
        opening = Opening(key, start, minutes, str(document["first_event_id"]), str(document["severity"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not an alert group's opening item: {exc}") from exc
    if document.get("group_id") != key.group_id or not 0 < minutes <= MAX_MINUTES:
        raise ValueError("the opening item's group id or window does not match its key")
    return opening


@dataclass(frozen=True)
class Member:
    """One grouped (or, for a failed heal, counted but alerted) event of a window."""

    event_id: str
    event_time: str | None
    outcome: str
    heal_seconds: float | None

    def sort_key(self) -> str:
        return f"{self.event_time or '-'}#{key_part(self.event_id, 200)}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.event_id, "time": self.event_time, "outcome": self.outcome, "heal_s": self.heal_seconds}


def member_of(result: Result) -> Member:
    e = result.event
    return Member(
        cut(text(e.event_id), 256),
        iso(e.event_time) if e.event_time else None,
        result.outcome.value,
        result.blind_window_seconds,
    )


def member_from(document: Mapping[str, Any]) -> Member | None:
    """A member item's fields, or None if they are not a member's (anyone may write the table)."""
    try:
        seconds = document.get("heal_s")
        return Member(
            cut(str(document["id"]), 256),
            None if document.get("time") is None else cut(str(document["time"]), 40),
            cut(str(document["outcome"]), 40),
            None if seconds is None else float(seconds),
        )
    except (KeyError, TypeError, ValueError):
        return None
