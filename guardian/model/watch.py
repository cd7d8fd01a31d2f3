"""The watch rules as the function holds them: which ones an event matches, and the alert-only decision they make.

Pure. The compiled rules come from the function's own asset (written at synth from ``rules/watch.json``), never
from anything an account's user can write. They are consulted only for an event the decision table does not act
on: a built-in row always keeps precedence, so a watch rule can never turn off a built-in heal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from guardian.model.decide import Decision, PolicyContext, is_own_action, matching_exemption
from guardian.model.event_pattern import envelope, matches
from guardian.model.rules import Action, Heal, Outcome, Rule, Severity, Subject

if TYPE_CHECKING:
    from collections.abc import Mapping

    from guardian.model.events import CloudTrailEvent
    from guardian.model.rule_routing import Verdict

COMPILED_SCHEMA = "cloudtrail-guardian/watch-rules-compiled"
_ORDER = list(Severity)


class WatchRulesError(ValueError):
    """The compiled rules in the function's asset cannot be read: a build fault, named."""


@dataclass(frozen=True)
class WatchRule:
    id: str
    description: str
    severity: Severity
    pattern: Mapping[str, Any]
    heal: str | None = None
    check: str | None = None  # a read before it alerts (watch_rules.schema.CHECKS): its verdict decides


def parse_compiled(text: str) -> tuple[WatchRule, ...]:
    try:
        data = json.loads(text)
        schema = data.get("schema")
    except (ValueError, AttributeError) as exc:
        raise WatchRulesError(f"compiled watch rules unreadable: {type(exc).__name__}: {exc}") from exc
    if schema != COMPILED_SCHEMA:
        raise WatchRulesError(f"compiled watch rules: not {COMPILED_SCHEMA} (schema {schema!r})")
    try:
        return tuple(
            WatchRule(
                str(r["id"]),
                str(r["description"]),
                Severity(r["severity"]),
                dict(r["pattern"]),
                None if r.get("heal") is None else str(r["heal"]),
                None if r.get("check") is None else str(r["check"]),
            )
            for r in data["rules"]
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WatchRulesError(f"compiled watch rules unreadable: {type(exc).__name__}: {exc}") from exc


def matching(rules: tuple[WatchRule, ...], raw: Mapping[str, Any]) -> tuple[WatchRule, ...]:
    event = envelope(raw)
    return tuple(r for r in rules if matches(r.pattern, event))


def checked(found: tuple[WatchRule, ...], verdicts: Mapping[str, Verdict]) -> tuple[WatchRule, ...]:
    """The matched rules as their checks left them: a rule whose read found nothing of its business is dropped."""
    kept = []
    for rule in found:
        said = verdicts.get(rule.id) if rule.check else None
        if said is None:
            kept.append(rule)
        elif said.severity is not None:
            kept.append(replace(rule, severity=said.severity))
    return tuple(kept)


def watch_decision(
    event: CloudTrailEvent,
    rules: tuple[WatchRule, ...],
    ctx: PolicyContext,
    verdicts: Mapping[str, Verdict] | None = None,
) -> Decision | None:
    """The alert for the most severe matching rule (the first on a tie), naming the others; None if none match.
    ``verdicts``: a checked rule's read (by rule id) sets its severity and says why, or drops it."""
    found = checked(matching(rules, event.raw), verdicts or {})
    if not found:
        return None
    top = max(found, key=lambda r: _ORDER.index(r.severity))
    others = [r.id for r in found if r is not top]
    also = f" (also matched: {', '.join(others)})" if others else ""
    note = (verdicts or {}).get(top.id)
    also = f": {note.note}{also}" if note is not None else also
    severity = top.severity
    heal = Heal(top.heal) if top.heal else None
    rule = Rule(top.description, severity, heal, severity, Severity.INFO, event.event_source or "", Subject.ACCOUNT)
    if is_own_action(event, ctx):
        why = f"watch rule {top.id} matched the guardian's own call{also}: noted"
        return Decision(Action.ALERT, Outcome.OWN_ACTION, Severity.INFO, why, rule, watch_rule=top.id)
    if heal is None:
        why = f"watch rule {top.id} matched{also}: alert only"
        return Decision(Action.ALERT, Outcome.ALERTED, severity, why, rule, watch_rule=top.id)
    if event.failed:
        why = f"watch rule {top.id} matched{also}; the call failed with {event.error_code}: nothing to undo"
        return Decision(Action.ALERT, Outcome.ATTEMPT_FAILED, severity, why, rule, watch_rule=top.id)
    exemption = matching_exemption(event, ctx.exempt_principals)
    if exemption is not None and not exemption.expired_at(event.event_time):
        why = f"watch rule {top.id} matched{also}; the principal is exempt (pattern {exemption.pattern!r}): not undone"
        return Decision(Action.ALERT, Outcome.EXEMPT, severity, why, rule, watch_rule=top.id)
    why = f"watch rule {top.id} matched{also}: its opt-in undo {heal}"
    return Decision(Action.HEAL, Outcome.HEALED, severity, why, rule, watch_rule=top.id)
