"""Act on one decision: is it the guardian's business, heal it through the flow the decision table names, keep the
evidence, alert, count repeated tampering, and record an exempt principal's change as approved.

One rule, held by the shape of this module: **every event the table alerts on is alerted in the same invocation,
whatever else fails**. Three phases, each guarded:

1. Before the alert (:func:`_act`): the scope and the heal, in a time budget. Any failure (an AWS error, a read that
   is denied, a fault in the guardian's own code, the budget running out) becomes a HEAL_FAILED result, CRITICAL,
   which is alerted like any other.
2. The alert (:func:`guardian.flows.deliver.deliver`): raises only when SNS itself refuses (AlertNotPublished), so
   Lambda retries.
3. After the alert (:func:`_after_alert`): counting repeated tampering and requesting an approval. A failure is logged
   and reported, never raised: a published alert never becomes a dead letter.

Then, and only then, a failed heal raises :class:`HealFailed` so Lambda tries the heal again (the alert is not sent
twice). The flow is found from the table (:data:`guardian.model.rules.FLOWS`,
:data:`~guardian.model.rules.SUBJECT_FLOWS`) and imported on first use: a StopLogging heal loads only its own flow.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NamedTuple

from guardian.flows.budget import after_alert_budget, heal_budget, within
from guardian.flows.found import flow_for, owner
from guardian.model.rules import Action, Outcome, Severity
from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.model.results import Result
    from guardian.ports.calls import HealPath
    from guardian.ports.flow import Scope
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


class HealFailed(RuntimeError):
    """Raised after the CRITICAL alert, so Lambda retries the event and the dead-letter queue keeps it."""


class Handled(NamedTuple):
    """The result, whether this call published its alert, and the steps after the alert that failed (logged).
    A NamedTuple, not a dataclass: a frozen dataclass costs half a millisecond of cold start to define."""

    result: Result
    published: bool
    steps_failed: tuple[str, ...] = ()


def handle(event: CloudTrailEvent, decision: Decision, aws: HealPath, config: Config, run: Invocation) -> Handled:
    """Heal if the decision says so, then record and alert; see the module for what each phase may raise."""
    try:
        acted = within(heal_budget(run), lambda: _act(event, decision, aws, config, run), "the heal")
    except Exception as exc:  # noqa: BLE001 - whatever stopped the heal, the alert goes out, saying what
        from guardian.flows.after_alert import could_not_act  # noqa: PLC0415 - the failure path

        acted = could_not_act(event, decision, exc), None
    result, scope = acted
    if result.outcome is Outcome.IGNORED:
        return Handled(result, published=False)
    if config.sentinel_trail is not None and event.event_name == "StopLogging":
        from guardian.flows.selftest import marked  # noqa: PLC0415 - a StopLogging, where there is a sentinel

        result = marked(result, aws.full(), config.sentinel_trail, run)
    # Imported after the heal: compiling the delivery is not on the cold start's way to StartLogging.
    from guardian.flows.after_alert import steps_after  # noqa: PLC0415
    from guardian.flows.deliver import AlertNotPublished, deliver  # noqa: PLC0415

    sent = deliver(result, aws, config, run)
    failed = list(sent.steps_failed)
    for step, call in steps_after(
        result, scope, aws, config, run, held=sent.held, sent=sent.published, alert=sent.alert
    ):
        try:
            within(after_alert_budget(run), call, step)
        except AlertNotPublished:
            raise  # a second alert (repeated tampering) SNS refused: the retry sends it, and not the first again
        except Exception as exc:  # noqa: BLE001 - after the alert: reported, never raised
            LOG.error(
                "a step after the alert failed",
                extra={"event_id": event.event_id, "step": step, "error": describe_failure(exc)},
            )
            failed.append(step)
    if result.outcome is Outcome.HEAL_FAILED:
        what = result.decision.trail.identifier if result.decision.trail else "an unidentified trail"
        raise HealFailed(f"could not undo {event.event_name} {event.event_id} on {what}: {result.diagnosis}")
    return Handled(result, sent.published, tuple(failed))


def _act(
    event: CloudTrailEvent, decision: Decision, aws: HealPath, config: Config, run: Invocation
) -> tuple[Result, Scope | None]:
    """Phase 1: is it the guardian's business (scoped rules), and the heal the table names."""
    if event.event_name == "AddTags" and config.mode == "heal":  # a mode tag can only make the guardian stricter
        from guardian.flows.observe import tag_ignored  # noqa: PLC0415 - off the StopLogging heal's cold start

        decision = tag_ignored(event, decision, config)
    rule = decision.rule
    scope: Scope | None = None
    if rule is not None and rule.scoped and decision.alerts:
        scope = owner(rule).scope(event, decision, aws.full())
        if scope is None:
            LOG.info(
                "event not about a protected trail's resource: ignored",
                extra={"event_id": event.event_id, "event_name": event.event_name},
            )
            from guardian.model.results import Result  # noqa: PLC0415 - off the cold start's way to StartLogging

            return Result(event, decision, Outcome.IGNORED, Severity.INFO), None
        decision = scope.decision
    if decision.action is Action.HEAL and rule is not None and rule.heal is not None:
        if run.plan is not None:  # observe mode: the undo's writes are recorded, not made (guardian.flows.observe)
            return _observe(event, decision, aws, config, run, scope=scope), scope
        result = flow_for(rule.heal).heal(event, decision, aws, config, run, scope=scope)
    else:
        from guardian.model.results import Result  # noqa: PLC0415 - off the cold start's way to StartLogging

        result = Result(event=event, decision=decision, outcome=decision.outcome, severity=decision.severity)
    return result, scope


def _observe(
    event: CloudTrailEvent, decision: Decision, aws: HealPath, config: Config, run: Invocation, *, scope: Scope | None
) -> Result:
    """Observe mode: the undo runs with its writes recorded, and reports what it would have done; a trail tagged
    ``heal`` (or the guardian's sentinel) is healed for real."""
    from guardian.flows.observe import heals, observed, undoing  # noqa: PLC0415 - observe only

    heal = decision.rule.heal if decision.rule is not None else None
    assert heal is not None
    with undoing(run, heal=heals(aws.full(), config, decision.trail)):
        result = flow_for(heal).heal(event, decision, aws, config, run, scope=scope)
    return observed(result, run)
