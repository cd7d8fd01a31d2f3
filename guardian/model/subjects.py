"""The alert's SNS Subject: one printable line under 100 characters that names the verdict. Names and actors are
shortened to fit, never the verdict.

Pure.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from guardian.model.changes import weakened
from guardian.model.refs import SWEEP_SOURCE
from guardian.model.rules import Outcome, Subject

if TYPE_CHECKING:
    from collections.abc import Mapping

    from guardian.model.results import Result

GUARD_DENIED = "guard-denied"  # the watch_rule of a refused call on the guardian (guardian.flows.guard_denied)
REFUSED = "Attempt on the guardian refused"  # its alert's line; "Refused" in the subject, where room is short
# SNS: "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long."
SUBJECT_MAX = 99


def subject(result: Result, account: str = "") -> str:
    """One human line, at most 99 characters: names and actor are shortened, never the verdict. ``account`` (the
    account's id, and its alias where known) follows the severity, so a team with many accounts can triage from
    the subject line."""
    if not account or (result.purpose is not None and result.purpose.kind == "selftest"):
        return _subject(
            result, SUBJECT_MAX
        )  # an operator's self-test is no incident to triage: its room is the verdict's
    whole = _subject(result, 10 * SUBJECT_MAX)  # nothing shortened
    if len(whole) + len(account) + 1 <= SUBJECT_MAX:
        return with_account(whole, account)
    label = account.split(" ", 1)[0]  # the alias goes before any name is shortened; the id stays
    return with_account(_subject(result, SUBJECT_MAX - len(label) - 1), label)


def with_account(text: str, account: str) -> str:
    """``[HIGH] rest`` as ``[HIGH] <account> rest``: after the leading tags ([SELF-TEST] [INFO] included)."""
    tags = re.match(r"(?:\[[^\]]*\] )+", text)
    at = tags.end() if tags else 0
    return _clean(text[:at] + account + " " + text[at:])[:SUBJECT_MAX]


def account_label(account_id: str, alias: str | None) -> str:
    return f"{account_id} ({alias})" if alias else account_id


def _subject(result: Result, limit: int) -> str:
    e, rule = result.event, result.decision.rule
    if result.purpose is not None and result.purpose.kind == "selftest":
        return _clean("[SELF-TEST] " + _subject(replace(result, purpose=None), limit - 12))[:limit]
    if result.purpose is not None:
        named = result.decision.trail.name if result.decision.trail else "a trail"
        template = f"[{result.severity}] Baseline approved for trail {{trail}} by {{actor}}"
        budget = limit - len(template.format(trail="", actor=""))
        trail_text, actor_text = _share(named, e.actor.display, budget)
        return _clean(template.format(trail=trail_text, actor=actor_text))[:limit]
    if e.event_source == SWEEP_SOURCE:
        return _sweep_subject(result, limit)
    if result.outcome is Outcome.REPEATED_TAMPERING:
        actor = e.actor.display
        found = re.match(r"(\d+) tampering changes by .* within (\d+) minutes", result.decision.reason)
        count, minutes = found.groups() if found else ("several", "?")
        template = "[CRITICAL] Repeated tampering by {actor}: " + f"{count} changes within {minutes} minutes"
        budget = limit - len(template.format(actor=""))
        return _clean(template.format(actor=_ellipsize(actor, max(budget, 12))))[:limit]
    if result.decision.watch_rule == GUARD_DENIED and rule is not None:  # the rule's line names the resource
        error = f" ({e.error_code})" if e.error_code else ""
        head, _, resource = rule.what.rpartition(" on ")  # the resource's name is shortened in its middle
        head = head.replace(REFUSED, "Refused", 1)
        tail = f" by {_ellipsize(e.actor.display, 40)}{error}"
        return _fit(f"[{result.severity}] {head} on ", resource, tail, limit, middle=True)
    trail = result.decision.trail.name if result.decision.trail else None
    actor = "the guardian" if result.outcome is Outcome.OWN_ACTION else e.actor.display
    what = rule.what if rule else (e.event_name or "event")
    tail = _subject_tail(result)
    if result.outcome is Outcome.ATTEMPT_FAILED:
        head = f"[{result.severity}] Attempted {e.event_name}"
    else:
        head = f"[{result.severity}] {what}"
    unnamed = " on an unidentified trail" if rule is None or rule.about is Subject.TRAIL else ""
    on = " on trail {trail}" if trail else unnamed
    template = head + on + " by {actor}" + tail
    budget = limit - len(template.format(trail="", actor=""))
    trail_text, actor_text = _share(trail or "", actor, budget)
    return _clean(template.format(trail=trail_text, actor=actor_text))[:limit]


def _fit(head: str, name: str, tail: str, limit: int, *, middle: bool = False) -> str:
    """``head + name + tail`` in ``limit`` characters: the name is shortened (its middle, or its end), never the
    verdict in the tail; only if even a short name cannot fit is the whole cut."""
    room = max(limit - len(head) - len(tail), 6)
    shown = _ellipsize_middle(name, room) if middle else _ellipsize(name, room)
    text = head + shown + tail
    return _clean(text if len(text) <= limit else text[: limit - 1] + "…")


def _sweep_subject(result: Result, limit: int) -> str:
    trail = result.decision.trail.name if result.decision.trail else "?"
    sev = f"[{result.severity}] "
    raw = result.event.raw
    approval = raw.get("approval")
    if isinstance(approval, str):
        verdict = "confirmed: now its baseline" if approval == "approved" else "NOT confirmed by CloudTrail: refused"
        return _fit(f"{sev}Exempt {raw.get('approval_event')} on ", trail, f" {verdict}", limit)
    baseline = raw.get("baseline")
    if isinstance(baseline, str):
        problem = raw.get("baseline_problem")
        what = {"refused": "refused (failed verification)", "deleted": "deleted: put back from the index"}.get(
            str(problem), "raised"
        )
        return _fit(f"{sev}Baseline ", baseline, f" {what}", limit, middle=True)
    if isinstance(raw.get("alert_path_note"), str):  # guardian.flows.path_notes: weaker, not broken; the team acts
        changed = ", ".join(c.field for c in result.changes)
        return _fit(f"{sev}Alert path: ", raw["alert_path_note"], f" ({changed}) — action needed", limit, middle=True)
    for field, label in (("guardian_function", "Guardian function"), ("alert_path", "Alert path:")):
        if isinstance(raw.get(field), str):
            verdict = "restored by sweep" if result.outcome is Outcome.HEALED else "NOT restored: redeploy"
            changed = ", ".join(c.field for c in result.changes)
            # the name is shortened in its middle (its end, which differs between the guardian's names, kept)
            return _fit(f"{sev}{label} ", raw[field], f" changed ({changed}) — {verdict}", limit, middle=True)
    if isinstance(raw.get("stack_alert"), str):  # guardian.flows.stack_roles: the whole line is the verdict
        return _fit(sev, raw["stack_alert"], "", limit)
    if isinstance(raw.get("stack_change"), str):  # guardian.flows.deployments
        return _fit(f"{sev}Guardian changed by a stack not its own: ", raw["stack_change"], "", limit)
    if isinstance(raw.get("check_fault"), str):  # guardian.flows.sweep_checks.report_fault: "bucket NAME"
        return _fit(f"{sev}Sweep could not check ", raw["check_fault"], " — NOT checked, fix the fault", limit)
    if isinstance(raw.get("unconfirmed_deployment"), str):
        return f"{sev}Guardian deployment event not confirmed by CloudFormation — forged?"
    rule = raw.get("guardian_rule")
    if isinstance(rule, str):
        verdict = "restored by sweep" if result.outcome is Outcome.HEALED else "NOT restored: redeploy the stack"
        return _fit(f"{sev}Guardian rule ", rule, f" {rule_change(result)} — {verdict}", limit, middle=True)
    note = _trail_note(raw)
    if note is not None:
        return _fit(f"{sev}Trail ", trail, note, limit)
    verdict = {Outcome.HEALED: "healed by sweep", Outcome.OBSERVED: "OBSERVED, not healed"}.get(
        result.outcome, "HEAL FAILED (sweep)"
    )
    what = trail_change(result)
    resource = raw.get("resource")
    if isinstance(resource, str):  # "bucket NAME" or "log group NAME": both names shortened before the verdict
        kind, _, name = resource.rpartition(" ")
        template = f"{sev}{kind[:1].upper()}{kind[1:]} {{name}} of trail {{trail}} {what} — {verdict}"
        name, trail_text = _share(name, trail, limit - len(template.format(name="", trail="")))
        return _clean(template.format(name=name, trail=trail_text))[:limit]
    return _fit(f"{sev}Trail ", trail, f" {what} — {verdict}", limit)


def _trail_note(raw: Mapping[str, object]) -> str | None:
    """What the sweep says of a trail it did not heal: its log files not delivered, or a mode tag ignored."""
    error = raw.get("delivery_error")
    if isinstance(error, str):
        return f": log files not delivered ({error})"
    if raw.get("mode_tag") == "observe":  # guardian.flows.observe: a tag that would switch healing off
        return " tagged mode=observe — tag IGNORED, still healed"
    return None


def rule_change(result: Result) -> str:
    """What the sweep found on one of the guardian's own rules: deleted, disabled, pattern or targets changed."""
    names = {
        "exists": "deleted",
        "state": "disabled",
        "targets": "targets changed",
        "eventpattern": "pattern changed",
        "scheduleexpression": "schedule changed",
    }
    return ", ".join(names.get(c.field, c.field) for c in result.changes)


def trail_change(result: Result) -> str:
    """What the sweep found on a trail, bucket or log group: deleted, or weakened (which fields)."""
    recreated = any(a.action.startswith("Create") for a in result.actions) or bool(result.event.raw.get("deleted"))
    return "deleted" if recreated else "weakened (" + ", ".join(c.field for c in weakened(result.changes)) + ")"


def _subject_tail(result: Result) -> str:
    match result.outcome:
        case Outcome.HEALED:
            window = result.blind_window_seconds
            return f" — restored in {window:.1f} s" if window is not None else " — restored"
        case Outcome.HEAL_FAILED:
            return " — HEAL FAILED"
        case Outcome.SUPERSEDED:
            return " — superseded by a later stop"
        case Outcome.ATTEMPT_FAILED:
            return f" — failed: {result.event.error_code}"
        case Outcome.EXEMPT:
            return " — exempt, not undone"
        case Outcome.NOT_HEALABLE:
            return " — cannot heal from here"
        case Outcome.OBSERVED:
            return " — OBSERVED, not healed"
        case _:
            return ""


def _share(a: str, b: str, budget: int) -> tuple[str, str]:
    """Fit two names into ``budget`` characters: the longer one is shortened first, down to the other's length,
    then both alike, neither below a few characters."""
    floor = 3
    la, lb = len(a), len(b)
    while la + lb > budget and (la > floor or lb > floor):
        if la >= lb and la > floor:
            la -= 1
        elif lb > floor:
            lb -= 1
        else:
            la -= 1
    return _ellipsize(a, la), _ellipsize(b, lb)


def _ellipsize(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: max(width - 1, 1)] + "…"


def _ellipsize_middle(text: str, width: int) -> str:
    """Shortened in the middle: the guardian's resource names share their start (the stack) and differ at the end."""
    if len(text) <= width:
        return text
    end = (width - 1) * 2 // 3
    return text[: width - 1 - end] + "…" + text[len(text) - end :]


def _clean(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)
