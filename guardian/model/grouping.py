"""Alert groups: repeats of one (principal, event name, target) within a window become one digest alert.

Pure. The first alert of a key goes out at once; the guardian then writes the window's objects in the evidence bucket
(only the guardian writes it: :mod:`guardian.model.group_objects`) and the group's *opening item*, signed with its own
key (the signature covers the group's key and the window's start), in the activity table. Repeats of the key at or
below the window's severity are recorded (one evidence record and one member object each) instead of published, and
one digest alert per window, built from the bucket alone, tells their count, times, outcomes and longest heal
(:mod:`guardian.model.group_digest`). The insider can write the table: an opening item that is unsigned, signed for
another key or window, or whose window is over does not group anything (the alert goes out at once: a duplicate beats
a lost alert); deleting it opens a new window early, and the old one's digest still goes out (the sweep lists the
bucket).
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

GROUPS_PREFIX = "groups/"  # the evidence bucket's prefix of the windows' objects
CLAIMS = GROUPS_PREFIX + "open/"  # a window's opening claimed before its first alert: "open/<group id>/<slot>.json"
GROUPS_PARTITION = "#groups"  # the activity table's partition of opening items (no principal starts with "#")
SIGNED = "alert-group/"  # what an opening item's signature covers besides the item: "alert-group/<id>/<start>"
GROUP_TAG = "guardian-alert-group"  # the evidence record's tag naming the group it was counted in (not alerted)
# Outcomes whose repeats are grouped. A failed heal never is (it alerts every time); CRITICAL alerts never are. A
# superseded heal is, like a heal: the later stop's invocation owns the trail's heal, and alerts if it fails.
GROUPED = frozenset({Outcome.HEALED, Outcome.SUPERSEDED, Outcome.ATTEMPT_FAILED, Outcome.ALERTED})
DENIED = "denied"  # the event name of a group of denied attempts: grouped per principal, whatever the call
MAX_MINUTES = 1440
RANK = {s.value: n for n, s in enumerate(Severity)}
DAY = 86400
SEP = "~"  # between a member object name's fields


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


def claim_key(key: GroupKey, moment: datetime, minutes: int) -> str:
    """The write-once object that names a key's window opened in ``moment``'s slot (the window's length, counted from
    the epoch): concurrent first alerts of a flood name the same one, and the first writer's alert goes out. A window
    lasts a slot at least, so the next window of the key always falls in a later slot."""
    return f"{CLAIMS}{key.group_id}/{int(moment.timestamp()) // (60 * minutes)}.json"


def target_of(result: Result) -> str:
    """What a denied attempt aimed at, as its group's digest counts it ("StopLogging trail-03")."""
    e, d = result.event, result.decision
    name = e.event_name or "event"
    label = f"{name} {d.trail.name}" if d.trail is not None else d.rule.what.split(": ", 1)[-1] if d.rule else name
    return key_part(cut(text(label), 100).replace(SEP, "-"), 120)


def above(severity: str, than: str) -> bool:
    """Whether ``severity`` is more severe than ``than`` (an unknown one counts as CRITICAL: never held)."""
    return RANK.get(severity, len(RANK)) > RANK.get(than, len(RANK))


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
    def prefix(self) -> str:
        """The window's objects in the evidence bucket: under the hour it started, so the sweep lists recent hours."""
        return f"{GROUPS_PREFIX}{self.window_start:%Y-%m-%dT%H}/{self.key.group_id}/{self.start_text}/"

    def raised(self, severity: Severity) -> Opening:
        """The same window, holding alerts up to ``severity`` (a more severe alert went out at once)."""
        return Opening(self.key, self.window_start, self.minutes, self.first_event_id, severity.value)

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
    """One event of a window: held for the digest, or (a failed heal, a more severe alert) counted but alerted."""

    event_id: str
    event_time: str | None
    outcome: str
    heal_seconds: float | None
    severity: str = Severity.INFO.value
    alerted: bool = False
    target: str = ""  # a denied attempt's (:func:`target_of`): its group is the principal's, whatever it aimed at

    def name(self) -> str:
        """The member object's name: everything the digest needs, so one List of the window reads its members."""
        heal = "" if self.heal_seconds is None else f"{self.heal_seconds:.3f}"
        fields = (self.event_time or "-", self.outcome, self.severity, heal, "a" if self.alerted else "h", self.target)
        return SEP.join((*fields, key_part(self.event_id, 200)))


def member_of(result: Result, *, alerted: bool = False) -> Member:
    e = result.event
    return Member(
        cut(text(e.event_id), 256),
        iso(e.event_time) if e.event_time else None,
        result.outcome.value,
        result.blind_window_seconds,
        result.severity.value,
        alerted,
        target_of(result) if result.outcome is Outcome.ATTEMPT_FAILED else "",
    )


def member_from(name: str) -> Member | None:
    """A member object's fields from its name (with or without a target), or None if it is not a member's."""
    parts = name.split(SEP, 6)
    if len(parts) == 6:  # written before members named their target
        parts.insert(5, "")
    if len(parts) != 7 or parts[4] not in ("a", "h"):
        return None
    time, outcome, severity, heal, alerted, target, event_id = parts
    try:
        seconds = float(heal) if heal else None
    except ValueError:
        return None
    return Member(event_id, None if time == "-" else time, outcome, seconds, severity, alerted == "a", target)
