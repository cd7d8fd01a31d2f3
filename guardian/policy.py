"""What the guardian does for each CloudTrail eventName: one table and one pure function over plain data.

Read :data:`RULES` to find any decision. :func:`decide` applies the same precedence to every row:
unreadable → rejected; not in the table → ignored; the guardian's own call → never undone; a failed call →
"attempted" alert; no identifiable trail → alert; exempt principal → alert only; another account's trail →
escalate; otherwise the row's heal (if any) and its alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase

from guardian.events import API_CALL_DETAIL_TYPE, CLOUDTRAIL_SOURCE, KMS_SOURCE, CloudTrailEvent, TrailRef


class Severity(StrEnum):
    INFO = "INFO"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class Heal(StrEnum):
    """The undo the guardian performs. Later rows add more; today only logging is restarted."""

    START_LOGGING = "StartLogging"
    RESTORE_KEY = "RestoreKey"  # a trail's KMS key: EnableKey, CancelKeyDeletion (only keys that protect a trail)
    RESTORE_BASELINE = "RestoreBaseline"  # recreate, UpdateTrail, selectors, insights, tags: back to the baseline


class Action(StrEnum):
    HEAL = "heal"  # undo, verify, keep evidence, alert
    ALERT = "alert"  # keep evidence, alert
    IGNORE = "ignore"  # a well-formed event the guardian has no row for: log only
    REJECT = "reject"  # input the rule never sends: log a structured error only


class Outcome(StrEnum):
    """What happened, as published in the alert's ``outcome`` attribute (subscribers can filter on it)."""

    HEALED = "healed"
    HEAL_FAILED = "heal_failed"
    ALERTED = "alerted"
    ATTEMPT_FAILED = "attempt_failed"
    EXEMPT = "exempt"
    NOT_HEALABLE = "not_healable"
    OWN_ACTION = "own_action"
    UNIDENTIFIED_TRAIL = "unidentified_trail"
    REPEATED_TAMPERING = "repeated_tampering"
    IGNORED = "ignored"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Rule:
    """One row of the decision table."""

    what: str  # past tense, for the alert: "CloudTrail logging stopped"
    severity: Severity  # a successful call by anyone else
    heal: Heal | None  # the undo, if the guardian undoes this eventName
    failed_severity: Severity  # the call failed (errorCode present): an attempt, nothing to undo
    own_severity: Severity  # the guardian's own role made the call: never undone (no loops)
    source: str = CLOUDTRAIL_SOURCE  # the eventSource the row is about

    @property
    def about_a_trail(self) -> bool:
        return self.source == CLOUDTRAIL_SOURCE

    @property
    def about_a_key(self) -> bool:
        return self.source == KMS_SOURCE


ORGANIZATIONS_SOURCE = "organizations.amazonaws.com"
RESTORE = Heal.RESTORE_BASELINE  # back to the trail's baseline: recreate, UpdateTrail, selectors, insights, tags

# fmt: off
RULES: Mapping[str, Rule] = {
    #                            what (alert text)                        severity          heal                failed call      guardian's own
    "StopLogging":         Rule("CloudTrail logging stopped",             Severity.HIGH,    Heal.START_LOGGING, Severity.MEDIUM, Severity.HIGH),
    "DeleteTrail":         Rule("CloudTrail trail deleted",               Severity.HIGH,    RESTORE,            Severity.MEDIUM, Severity.HIGH),
    "UpdateTrail":         Rule("CloudTrail trail settings changed",      Severity.HIGH,    RESTORE,            Severity.MEDIUM, Severity.INFO),
    "PutEventSelectors":   Rule("CloudTrail event selectors changed",     Severity.HIGH,    RESTORE,            Severity.MEDIUM, Severity.INFO),
    "PutInsightSelectors": Rule("CloudTrail Insights selectors changed",  Severity.MEDIUM,  RESTORE,            Severity.LOW,    Severity.INFO),
    "RemoveTags":          Rule("tags removed from a CloudTrail trail",   Severity.MEDIUM,  RESTORE,            Severity.LOW,    Severity.MEDIUM),
    "AddTags":             Rule("tags added to a CloudTrail trail",       Severity.LOW,     None,               Severity.LOW,    Severity.INFO),
    "CreateTrail":         Rule("CloudTrail trail created",               Severity.LOW,     None,               Severity.LOW,    Severity.INFO),
    "StartLogging":        Rule("CloudTrail logging started",             Severity.LOW,     None,               Severity.MEDIUM, Severity.INFO),
    # Not undoable from a member account: whoever can must be told at once (the organization trail stops covering it).
    # A trail's KMS key (the workflow acts only if the key protects a trail with a baseline; others are ignored).
    "DisableKey":          Rule("KMS key of a trail disabled",            Severity.CRITICAL, Heal.RESTORE_KEY,  Severity.HIGH,   Severity.INFO,
                                source=KMS_SOURCE),
    "ScheduleKeyDeletion": Rule("KMS key of a trail scheduled for deletion", Severity.CRITICAL, Heal.RESTORE_KEY, Severity.HIGH, Severity.INFO,
                                source=KMS_SOURCE),
    "PutKeyPolicy":        Rule("KMS key policy of a trail changed",      Severity.CRITICAL, Heal.RESTORE_KEY,  Severity.HIGH,   Severity.INFO,
                                source=KMS_SOURCE),
    "LeaveOrganization":   Rule("Account left its AWS Organization",      Severity.CRITICAL, None,              Severity.HIGH,   Severity.CRITICAL,
                                source=ORGANIZATIONS_SOURCE),
}
# fmt: on

# Not an eventName: what the scheduled sweep reports when it finds a trail weaker than its baseline.
SWEEP_RULE = Rule(
    "CloudTrail trail drifted from its baseline", Severity.HIGH, Heal.RESTORE_BASELINE, Severity.HIGH, Severity.HIGH
)


@dataclass(frozen=True)
class Exemption:
    """An ARN glob whose changes are alerted but not undone, optionally until a moment (UTC).

    Judged at the event's own eventTime: was the principal exempt when it made the change?"""

    pattern: str
    until: datetime | None = None

    def covers(self, principals: list[str]) -> bool:
        return any(fnmatchcase(principal, self.pattern) for principal in principals)

    def expired_at(self, moment: datetime | None) -> bool:
        return self.until is not None and (moment is None or moment >= self.until)


@dataclass(frozen=True)
class PolicyContext:
    """What a decision needs besides the event: who the guardian is and whose changes are exempt."""

    account_id: str | None
    self_role_arn: str | None = None
    exempt_principals: tuple[Exemption | str, ...] = ()
    other_guardian_roles: tuple[str, ...] = ()  # the sweep's role: its restores are the guardian's own too


@dataclass(frozen=True)
class Decision:
    action: Action
    outcome: Outcome  # the planned outcome; a heal may still end as HEAL_FAILED
    severity: Severity
    reason: str
    rule: Rule | None = None
    trail: TrailRef | None = None

    @property
    def alerts(self) -> bool:
        return self.action in (Action.HEAL, Action.ALERT)


def decide(event: CloudTrailEvent, ctx: PolicyContext) -> Decision:
    """The single decision function. Pure: the same event and context always give the same decision."""
    rule = RULES.get(event.event_name or "")
    if rule is None or rule.source != event.event_source:
        return _not_handled(event)
    trail = event.trail
    if _is_own_action(event, ctx):
        why = "the call was made by the guardian's own role: never undone, so the guardian cannot loop"
        return Decision(Action.ALERT, Outcome.OWN_ACTION, rule.own_severity, why, rule, trail)
    if event.failed:
        why = f"the call failed with {event.error_code}: nothing changed, nothing to undo"
        return Decision(Action.ALERT, Outcome.ATTEMPT_FAILED, rule.failed_severity, why, rule, trail)
    if rule.about_a_key:
        return _key_decision(event, ctx, rule)
    if not rule.about_a_trail:
        exemption = _matching_exemption(event, ctx.exempt_principals)
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
    exemption = _matching_exemption(event, ctx.exempt_principals)
    if exemption is not None and not exemption.expired_at(event.event_time):
        until = f" until {_iso(exemption.until)}" if exemption.until else ""
        why = f"the principal is exempt (pattern {exemption.pattern!r}{until}): alerted, not undone"
        return Decision(Action.ALERT, Outcome.EXEMPT, rule.severity, why, rule, trail)
    decision = _acting_decision(ctx, rule, trail)
    if exemption is not None and exemption.until is not None:
        note = f"; the exemption {exemption.pattern!r} expired at {_iso(exemption.until)}, so it was ignored"
        return replace(decision, reason=decision.reason + note)
    return decision


def _acting_decision(ctx: PolicyContext, rule: Rule, trail: TrailRef) -> Decision:
    """Heal what can be healed from here; escalate another account's trail; otherwise alert."""
    if ctx.account_id and trail.account_id and trail.account_id != ctx.account_id:
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


def _key_decision(event: CloudTrailEvent, ctx: PolicyContext, rule: Rule) -> Decision:
    """A key event is acted on only for a key of this account; the workflow then checks it protects a trail."""
    key = event.key
    if key is None:
        return Decision(Action.IGNORE, Outcome.IGNORED, Severity.INFO, "the event names no KMS key id", rule)
    exemption = _matching_exemption(event, ctx.exempt_principals)
    if exemption is not None and not exemption.expired_at(event.event_time):
        why = f"the principal is exempt (pattern {exemption.pattern!r}): alerted, not undone"
        return Decision(Action.ALERT, Outcome.EXEMPT, rule.severity, why, rule)
    if ctx.account_id and key.account_id and key.account_id != ctx.account_id:
        why = f"the key belongs to account {key.account_id}: not this account's"
        return Decision(Action.IGNORE, Outcome.IGNORED, Severity.INFO, why, rule)
    why = f"{rule.heal} for key {key.key_id} in {key.region}, if it protects a trail"
    return Decision(Action.HEAL, Outcome.HEALED, rule.severity, why, rule)


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
            f"{event.event_source}:{event.event_name} is not a CloudTrail trail event",
        )
    return Decision(Action.IGNORE, Outcome.IGNORED, Severity.INFO, f"{event.event_name} is not in the decision table")


def _is_own_action(event: CloudTrailEvent, ctx: PolicyContext) -> bool:
    roles = {r for r in (ctx.self_role_arn, *ctx.other_guardian_roles) if r}
    return bool(roles & {event.actor.session_issuer_arn, event.actor.arn})


def _matching_exemption(event: CloudTrailEvent, entries: tuple[Exemption | str, ...]) -> Exemption | None:
    """The exemption that covers the actor: one still in force first, else an expired one (to say so)."""
    principals = [p for p in (event.actor.arn, event.actor.session_issuer_arn) if p]
    exemptions = [e if isinstance(e, Exemption) else Exemption(e) for e in entries]
    matching = [e for e in exemptions if e.covers(principals)]
    in_force = [e for e in matching if not e.expired_at(event.event_time)]
    candidates = in_force or matching
    return candidates[0] if candidates else None
