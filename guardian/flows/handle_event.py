"""Act on one decision: is it the guardian's business, heal it through the flow the decision table names, keep the
evidence, alert, count repeated tampering, and record an exempt principal's change as approved.

The flow is found from the table (:data:`guardian.model.rules.FLOWS`, :data:`~guardian.model.rules.SUBJECT_FLOWS`)
and imported on first use: a StopLogging heal loads only its own flow, and adding a kind of repair never touches
this module.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, cast

from guardian.flows.deliver import deliver
from guardian.model.results import Result
from guardian.model.rules import FLOWS, SUBJECT_FLOWS, Action, Outcome, Rule, Severity

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.ports.calls import HealPath
    from guardian.ports.flow import Flow, Scope, SubjectFlow
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


class HealFailed(RuntimeError):
    """Raised after the CRITICAL alert, so Lambda retries the event and the dead-letter queue keeps it."""


def flow(name: str) -> object:
    """A module of :mod:`guardian.flows`, by the name the decision table gives it."""
    return importlib.import_module(f"{__package__}.{name}")


def handle(
    event: CloudTrailEvent, decision: Decision, aws: HealPath, config: Config, run: Invocation
) -> tuple[Result, bool]:
    """Heal if the decision says so, then record and alert. Returns the result and whether an alert was sent."""
    rule = decision.rule
    scope: Scope | None = None
    if rule is not None and rule.scoped and decision.alerts:
        scope = _owner(rule).scope(event, decision, aws.full())
        if scope is None:
            LOG.info(
                "event not about a protected trail's resource: ignored",
                extra={"event_id": event.event_id, "event_name": event.event_name},
            )
            return Result(event, decision, Outcome.IGNORED, Severity.INFO), False
        decision = scope.decision
    if decision.action is Action.HEAL and rule is not None and rule.heal is not None:
        result = cast("Flow", flow(FLOWS[rule.heal])).heal(event, decision, aws, config, run, scope=scope)
    else:
        result = Result(event=event, decision=decision, outcome=decision.outcome, severity=decision.severity)
    published = deliver(result, aws, config, run)
    if config.activity_table:
        from guardian.flows.repeats import watch_repeats  # noqa: PLC0415 - off the cold-start path

        watch_repeats(result, aws.full(), config, run)
    if result.outcome is Outcome.EXEMPT and rule is not None and rule.about in SUBJECT_FLOWS:
        key = _owner(rule).approve(event, decision, aws.full(), run, scope)
        if key is not None:
            LOG.info(
                "approval requested after an exempt change", extra={"baseline_key": key, "event_id": event.event_id}
            )
    if result.outcome is Outcome.HEAL_FAILED:
        what = result.decision.trail.identifier if result.decision.trail else "an unidentified trail"
        raise HealFailed(f"could not undo {event.event_name} on {what}: {result.diagnosis}")
    return result, published


def _owner(rule: Rule) -> SubjectFlow:
    return cast("SubjectFlow", flow(SUBJECT_FLOWS[rule.about]))
