"""The digest alert of a window of grouped alerts: "StopLogging org-audit by mallory: 99 times in 5 min, healed
≤ 1.2 s, 0 failed" (the subject; the summary says it in full).

Pure, and built from bounded strings and numbers (as the fallback alert is), so it cannot fail on an event's content.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from guardian import __version__
from guardian.model.alert import ALERT_SCHEMA, ALERT_SCHEMA_VERSION, Alert
from guardian.model.grouping import RANK
from guardian.model.rules import Outcome, Severity
from guardian.model.safe import cut, json_text
from guardian.model.subjects import SUBJECT_MAX

if TYPE_CHECKING:
    from collections.abc import Sequence

    from guardian.model.grouping import Member, Opening

DIGEST_OUTCOME = "grouped"  # the outcome attribute of a digest alert (subscribers can filter on it)
IDS_LISTED = 50  # event ids listed in the digest; ``event_ids_more`` counts the rest
TARGETS_LISTED = 20  # a denied group's targets counted in the digest; ``targets_more`` counts the others


def digest_alert(
    opening: Opening, members: Sequence[Member], *, account: str, function_name: str | None, repeat_threshold: int
) -> Alert:
    """The window's digest: every member counted, their times, outcomes and longest heal, the first ids listed.
    Its severity is the highest of the opening's and the members' (a held alert is never above the window's); CRITICAL
    once the window's changes (the first alerted one included) reach ``repeat_threshold``: the held alerts sent no
    repeated-tampering alert of their own."""
    ordered = sorted(members, key=lambda m: (m.event_time or "", m.event_id))
    tally = Counter(m.outcome for m in ordered)
    changes = [m for m in ordered if m.outcome != Outcome.HEAL_FAILED.value]  # a raised alert's included
    grouped = [m for m in changes if not m.alerted]
    failed = tally.get(Outcome.HEAL_FAILED.value, 0)
    superseded = tally.get(Outcome.SUPERSEDED.value, 0)  # a later stop's invocation owned each one's heal
    heals = [m.heal_seconds for m in ordered if m.heal_seconds is not None]
    longest = max(heals) if heals else None
    k, minutes = opening.key, opening.minutes
    count = len(grouped)
    targets = Counter(m.target for m in grouped if m.target)  # a denied group's: one principal, any target
    if k.event_name == "denied":
        verdicts = [f"{count} denied calls by {{who}} in {minutes} min"]
        said = f"{count} more calls by {k.who} were denied within {minutes} minutes of the first, which was alerted"
        listed = ", ".join(f"{t} ×{n}" for t, n in targets.most_common(5))
        said += f": {listed}{', …' if len(targets) > 5 else ''}." if targets else "."
    else:
        healed = f", healed ≤ {longest:.1f} s" if longest is not None else ""
        verdicts = [
            f"{k.event_name} {{what}} by {{who}}: {count} times in {minutes} min{healed}, {failed} failed",
            f"{k.event_name} {{what}} by {{who}}: {count} times in {minutes} min, {failed} failed",
        ]
        said = (
            f"{k.what} by {k.who}: {count} more times within {minutes} minutes of the first, which was alerted"
            f"{'; every one was ' + ('healed' if not superseded else 'healed or superseded') if heals else ''}"
            f"{', the longest blind window ' + format(longest, '.1f') + ' s' if heals else ''}."
            f" {failed} heals failed (each alerted at once)."
        )
        if superseded:
            said += f" {superseded} superseded: the trail was stopped again, and that stop's own heal owned it."
    repeated = len(changes) + 1 >= repeat_threshold
    highest = max((m.severity for m in changes), key=lambda s: RANK.get(s, -1), default=opening.severity)
    severity = Severity.CRITICAL.value if repeated else max(highest, opening.severity, key=lambda s: RANK.get(s, -1))
    if repeated:
        said += f" Repeated tampering: {len(changes) + 1} changes by {k.who} within {minutes} minutes."
    document: dict[str, Any] = {
        "schema": ALERT_SCHEMA,
        "schema_version": ALERT_SCHEMA_VERSION,
        "severity": severity,
        "outcome": DIGEST_OUTCOME,
        "summary": said,
        "group": {
            "id": k.group_id,
            "principal": cut(k.principal, 512),
            "event_name": cut(k.event_name, 128),
            "target": cut(k.target, 512),
            "window_start": opening.start_text,
            "window_minutes": minutes,
            "first_alerted_event_id": opening.first_event_id,
            "count": count,
            "failed": failed,
            "superseded": superseded,
            "first_event_time": ordered[0].event_time if ordered else None,
            "last_event_time": ordered[-1].event_time if ordered else None,
            "event_ids": [m.event_id for m in ordered[:IDS_LISTED]],
            "event_ids_more": max(len(ordered) - IDS_LISTED, 0),
            "outcomes": dict(sorted(tally.items())),
            "targets": dict(targets.most_common(TARGETS_LISTED)),
            "targets_more": max(len(targets) - TARGETS_LISTED, 0),
            "max_heal_seconds": longest,
            "repeated_tampering": repeated,
        },
        "guardian": {"version": __version__, "function": function_name},
    }
    return Alert(
        subject=_subject(severity, account, verdicts, _place(k.what), k.who),
        message=json_text(document),
        attributes={"severity": severity, "event_name": cut(k.event_name, 256), "outcome": DIGEST_OUTCOME},
    )


def _subject(severity: str, account: str, verdicts: list[str], what: str, who: str) -> str:
    """At most 99 printable characters: the names are shortened, never the counts; the first verdict that leaves
    the names room (the next drops the heal time; the account's alias goes before that)."""
    for label in (account, account.split(" ", 1)[0]):
        head = f"[{severity}] {label + ' ' if label else ''}"
        fitting = [v for v in verdicts if SUBJECT_MAX - len(head) - len(v.format(what="", who="")) >= 12]
        if fitting:
            break
    verdict = (fitting or verdicts)[-1 if not fitting else 0]
    room = SUBJECT_MAX - len(head) - len(verdict.format(what="", who=""))
    who = _short(who, max(min(len(who), room // 2, 32), 6))  # the actor first: who did it is the verdict's half
    fitted = verdict.format(what=_short(what, max(room - len(who), 6)), who=who)
    line = head + fitted
    return "".join(ch if ch.isprintable() else " " for ch in line)[:SUBJECT_MAX]


def _place(what: str) -> str:
    """ "StopLogging on trail org-audit (us-east-1)" as the subject names it: "org-audit"."""
    return what.split(" ", 1)[-1].removeprefix("on trail ").rsplit(" (", 1)[0]


def _short(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: max(limit - 1, 1)] + "…"
