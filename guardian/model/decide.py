"""The single decision function: one pure function over an event and the table in :mod:`guardian.model.rules`.

:func:`decide` applies the same precedence to every row: unreadable → rejected; not in the table → ignored; the
guardian's own call → never undone; a failed call → "attempted" alert; no identifiable trail → alert; a Control
Tower deployment (LOW unless below the floor) or an exempt principal → alert only; another account's trail →
escalate; otherwise the row's heal (if any) and its alert.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from guardian.model.refs import API_CALL_DETAIL_TYPE, CLOUDTRAIL_SOURCE, TrailRef
from guardian.model.rules import RULES, Action, Outcome, Rule, Severity, Subject

if TYPE_CHECKING:
    from datetime import datetime
    from typing import Protocol

    from guardian.model.events import CloudTrailEvent

    class Deployed(Protocol):
        """By service: a deployment (LOW, or the row's severity if it weakens logging below the floor); else the
        deployer's role used directly by a person, judged as anyone's change."""

        @property
        def reason(self) -> str: ...
        @property
        def by_service(self) -> bool: ...
        @property
        def weakens(self) -> bool: ...

    class Deployer(Protocol):
        """Who deploys a trail besides the exempt principals: Control Tower (guardian.model.control_tower)."""

        def deployment(
            self, event: CloudTrailEvent, trail: TrailRef, healable: tuple[str | None, ...]
        ) -> Deployed | None:
            """What the event is when the deployer's role made it (control_tower.Deployment), or None."""


GLOB = "glob:"


@dataclass(frozen=True)
class Exemption:
    """A principal whose changes are alerted but not undone, optionally until a moment (UTC).

    ``pattern`` is an exact ARN (the role's or the user's), compared as :func:`same_principal` says; or, spelled
    out, ``glob:`` and a pattern whose ``*`` and ``?`` never cross a ``/`` (``glob:arn:aws:iam::*:role/ci-*`` covers
    the role ``ci-deployer``, not ``team/ci-x``), matched against the ARNs as given. Judged at the event's own
    eventTime: was the principal exempt when it made the change?"""

    pattern: str
    until: datetime | None = None

    def covers(self, principals: list[str]) -> bool:
        if self.pattern.startswith(GLOB):
            matcher = _glob(self.pattern[len(GLOB) :])
            return any(matcher.fullmatch(principal) for principal in principals)
        return any(same_principal(self.pattern, principal) for principal in principals)

    def expired_at(self, moment: datetime | None) -> bool:
        return self.until is not None and (moment is None or moment >= self.until)


@dataclass(frozen=True)
class PolicyContext:
    """What a decision needs besides the event: who the guardian is and whose changes are exempt."""

    account_id: str | None
    self_role_arn: str | None = None
    exempt_principals: tuple[Exemption | str, ...] = ()
    other_guardian_roles: tuple[str, ...] = ()  # the sweep's role: its restores are the guardian's own too
    # Organization mode (a delegated administrator): the management account, whose organization trails may be
    # healed from this account. Empty everywhere else: another account's trail is escalated.
    trail_accounts: tuple[str, ...] = ()
    # The guardian's functions: a call is its own only if made by one of its roles *from one of these functions*
    # (Lambda names the role's session after the function). Empty: the role alone decides (older deployments).
    self_functions: tuple[str, ...] = ()
    # Control Tower aware (guardian.model.control_tower): its own roles' changes to its trail are deployments.
    control_tower: Deployer | None = None


@dataclass(frozen=True)
class Decision:
    action: Action
    outcome: Outcome  # the planned outcome; a heal may still end as HEAL_FAILED
    severity: Severity
    reason: str
    rule: Rule | None = None
    trail: TrailRef | None = None
    watch_rule: str | None = None  # the watch rule (rules/watch.json) that made this an alert, by id

    @property
    def alerts(self) -> bool:
        return self.action in (Action.HEAL, Action.ALERT)


def decide(event: CloudTrailEvent, ctx: PolicyContext) -> Decision:
    """The single decision function. Pure: the same event and context always give the same decision."""
    rule = RULES.get(event.event_name or "")
    if rule is None or rule.source != event.event_source:
        return _not_handled(event)
    trail = event.trail
    if is_own_action(event, ctx):
        why = "the call was made by the guardian's own role: never undone, so the guardian cannot loop"
        return Decision(Action.ALERT, Outcome.OWN_ACTION, rule.own_severity, why, rule, trail)
    if event.failed:
        why = f"the call failed with {event.error_code}: nothing changed, nothing to undo"
        return Decision(Action.ALERT, Outcome.ATTEMPT_FAILED, rule.failed_severity, why, rule, trail)
    if rule.about not in (Subject.TRAIL, Subject.ACCOUNT):
        return _resource_decision(event, ctx, rule)
    if rule.about is Subject.ACCOUNT:
        exemption = matching_exemption(event, ctx.exempt_principals)
        if exemption is not None and not exemption.expired_at(event.event_time):
            why = f"the principal is exempt (pattern {exemption.pattern!r}): alerted"
            return Decision(Action.ALERT, Outcome.EXEMPT, rule.severity, why, rule, None)
        return Decision(
            Action.ALERT, Outcome.ALERTED, rule.severity, "alert only: this cannot be undone from here", rule, None
        )
    if trail is None:
        why = (
            "the event does not name the trail (requestParameters missing, omitted or unreadable): "
            "check every trail in " + (event.aws_region or "the account")
        )
        return Decision(Action.ALERT, Outcome.UNIDENTIFIED_TRAIL, rule.severity, why, rule, None)
    healable = (ctx.account_id, *ctx.trail_accounts)
    deployed = ctx.control_tower.deployment(event, trail, healable) if ctx.control_tower is not None else None
    if deployed is not None and deployed.by_service:  # approved as exempt ones; LOW unless below the floor
        severity = rule.severity if deployed.weakens else Severity.LOW
        return Decision(Action.ALERT, Outcome.EXEMPT, severity, deployed.reason, rule, trail)
    exemption = matching_exemption(event, ctx.exempt_principals)
    if exemption is not None and not exemption.expired_at(event.event_time):
        until = f" until {_iso(exemption.until)}" if exemption.until else ""
        why = f"the principal is exempt (pattern {exemption.pattern!r}{until}): alerted, not undone"
        return Decision(Action.ALERT, Outcome.EXEMPT, rule.severity, why, rule, trail)
    decision = _acting_decision(ctx, rule, trail)
    if deployed is not None:  # Control Tower's role, assumed by a person: said, and judged as anyone
        decision = replace(decision, reason=f"{decision.reason}; {deployed.reason}")
    if exemption is not None and exemption.until is not None:
        note = f"; the exemption {exemption.pattern!r} expired at {_iso(exemption.until)}, so it was ignored"
        return replace(decision, reason=decision.reason + note)
    return decision


def _acting_decision(ctx: PolicyContext, rule: Rule, trail: TrailRef) -> Decision:
    """Heal what can be healed from here; escalate another account's trail; otherwise alert."""
    foreign = trail.account_id not in (ctx.account_id, *ctx.trail_accounts)
    if ctx.account_id and trail.account_id and foreign:
        why = (
            f"the trail belongs to account {trail.account_id} (an organization trail or its shadow): it cannot "
            f"be changed from account {ctx.account_id}; it must be healed in account {trail.account_id}, "
            f"Region {trail.region}"
        )
        severity = Severity.CRITICAL if rule.heal else rule.severity
        return Decision(Action.ALERT, Outcome.NOT_HEALABLE, severity, why, rule, trail)
    if rule.heal is not None:
        why = f"{rule.heal} in the trail's home Region {trail.region}"
        return Decision(Action.HEAL, Outcome.HEALED, rule.severity, why, rule, trail)
    why = "alert only: no automatic undo for this change"
    return Decision(Action.ALERT, Outcome.ALERTED, rule.severity, why, rule, trail)


def _resource_decision(event: CloudTrailEvent, ctx: PolicyContext, rule: Rule) -> Decision:
    """A key, bucket, log group or event data store of this account. For all but a data store, the workflow then
    checks that it serves a protected trail (it has a baseline) before acting or alerting."""
    if rule.about is Subject.KEY:
        ref: tuple[str, str | None] | None = (event.key.key_id, event.key.account_id) if event.key else None
    else:
        resource = event.resource
        ref = (resource.name, resource.account_id) if resource and resource.kind == rule.about.value else None
    label = rule.about.value.replace("_", " ")
    if ref is None:
        return Decision(Action.IGNORE, Outcome.IGNORED, Severity.INFO, f"the event names no {label}", rule)
    name, account = ref
    if ctx.account_id and account and account != ctx.account_id:
        why = f"the {label} belongs to account {account}: not this account's"
        return Decision(Action.IGNORE, Outcome.IGNORED, Severity.INFO, why, rule)
    exemption = matching_exemption(event, ctx.exempt_principals)
    if exemption is not None and not exemption.expired_at(event.event_time):
        why = f"the principal is exempt (pattern {exemption.pattern!r}): alerted, not undone"
        return Decision(Action.ALERT, Outcome.EXEMPT, rule.severity, why, rule)
    scope = "" if rule.about is Subject.DATA_STORE else ", if it serves a protected trail"
    why = f"{rule.heal} for {label} {name}{scope}"
    decision = Decision(Action.HEAL, Outcome.HEALED, rule.severity, why, rule)
    if rule.heal is None:  # alerted only (scoped as a heal would be)
        decision = Decision(Action.ALERT, Outcome.ALERTED, rule.severity, f"alert only: {label} {name}{scope}", rule)
    if exemption is not None and exemption.until is not None:
        note = f"; the exemption {exemption.pattern!r} expired at {_iso(exemption.until)}, so it was ignored"
        return replace(decision, reason=decision.reason + note)
    return decision


def _iso(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _not_handled(event: CloudTrailEvent) -> Decision:
    if not event.is_api_call:
        what = event.detail_type or event.event_type or "unknown"
        return Decision(
            Action.REJECT,
            Outcome.REJECTED,
            Severity.INFO,
            f"not an {API_CALL_DETAIL_TYPE!r} event (got {what!r}); the guardian's rule never sends this",
        )
    if event.event_name is None:
        return Decision(Action.REJECT, Outcome.REJECTED, Severity.INFO, "the event has no eventName")
    if event.event_source != CLOUDTRAIL_SOURCE:
        return Decision(
            Action.IGNORE,
            Outcome.IGNORED,
            Severity.INFO,
            f"{event.event_source}:{event.event_name} is not in the decision table",
        )
    return Decision(Action.IGNORE, Outcome.IGNORED, Severity.INFO, f"{event.event_name} is not in the decision table")


def is_own_action(event: CloudTrailEvent, ctx: PolicyContext) -> bool:
    """Made by one of the guardian's roles, from one of its functions: the role alone is not enough, since code
    running elsewhere under that role (a function given it, a stolen session) would be taken for the guardian."""
    roles = {r.casefold() for r in (ctx.self_role_arn, *ctx.other_guardian_roles) if r}
    actor = event.actor
    if not roles & {(actor.session_issuer_arn or "").casefold(), (actor.arn or "").casefold()}:
        return False
    if not ctx.self_functions:
        return True
    session = (actor.arn or "").rsplit("/", 1)[-1] if ":assumed-role/" in (actor.arn or "") else None
    return session in ctx.self_functions


# A role or user ARN (its path, if any, before the name), or a role session's: STS and CloudTrail's userIdentity.arn
# name a session without the role's path, CloudTrail's sessionIssuer.arn and the console give the role's with it.
_NAMED = re.compile(
    r"arn:(?P<p>[a-z-]+):(?:iam::(?P<a>\d{12}):(?P<k>role|user)(?P<path>/(?:.*/)?)(?P<n>[^/]+)"
    r"|sts::(?P<sa>\d{12}):assumed-role/(?P<sn>[^/]+)/[^/]+)"
)


def _named(arn: str, *, sessions: bool) -> tuple[tuple[str, str, str, str], str | None] | None:
    """((partition, account, kind, name as IAM compares it), path or None where the ARN does not say)."""
    found = _NAMED.fullmatch(arn)
    if found is None or (found["sa"] and not sessions):
        return None
    if found["sa"]:
        return (found["p"], found["sa"], "role", found["sn"].casefold()), None
    return (found["p"], found["a"], found["k"], found["n"].casefold()), found["path"]


def same_principal(pattern: str, principal: str) -> bool:
    """Whether an exact principal ARN names the caller. The same text, in any case; else a role (or user) is known by
    account and name, which IAM keeps unique per account whatever the path and without regard to case (IAM quotas,
    "IAM name requirements"): compared by full path only where both sides give one (the pattern a path other than
    ``/``, the caller its role's ARN). A session ARN as pattern names that session only."""
    if pattern.casefold() == principal.casefold():
        return True
    want, got = _named(pattern, sessions=False), _named(principal, sessions=True)
    if want is None or got is None or want[0] != got[0]:
        return False
    return want[1] == "/" or got[1] is None or want[1] == got[1]


@functools.cache
def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` and ``?`` within one path segment (never across ``/``), any case."""
    parts = ["[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.IGNORECASE)


def matching_exemption(event: CloudTrailEvent, entries: tuple[Exemption | str, ...]) -> Exemption | None:
    """The exemption that covers the actor: one still in force first, else an expired one (to say so)."""
    principals = [p for p in (event.actor.arn, event.actor.session_issuer_arn) if p]
    exemptions = [e if isinstance(e, Exemption) else Exemption(e) for e in entries]
    matching = [e for e in exemptions if e.covers(principals)]
    in_force = [e for e in matching if not e.expired_at(event.event_time)]
    candidates = in_force or matching
    return candidates[0] if candidates else None
