"""What follows the alert, and the result of a heal that raised instead of returning; imported only when needed.

A step after the alert is named, so a failure is reported by name (see :mod:`guardian.flows.handle_event`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from guardian.flows.found import owner
from guardian.model.results import Result
from guardian.model.rules import SUBJECT_FLOWS, Action, Outcome, Severity
from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from collections.abc import Callable

    from guardian.model.alert import Alert
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.ports.calls import HealPath
    from guardian.ports.flow import Scope
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
WINDOW_EVENTS = ("StopLogging", "DeleteTrail")  # a trail off: its blind window is read back once it is healed


def could_not_act(event: CloudTrailEvent, decision: Decision, exc: Exception) -> Result:
    """The result of a heal that raised instead of returning: HEAL_FAILED, CRITICAL, the failure in words."""
    LOG.error(
        "the heal failed before it could report: alerting HEAL_FAILED",
        exc_info=exc,
        extra={"event_id": event.event_id, "event_name": event.event_name},
    )
    rule = decision.rule
    doing = f"checking the {rule.about.value.replace('_', ' ')}" if rule is not None and rule.scoped else "healing"
    diagnosis = f"{doing} failed: {describe_failure(exc)}"
    failed = replace(decision, action=Action.HEAL, outcome=Outcome.HEAL_FAILED, severity=Severity.CRITICAL)
    return Result(event, failed, Outcome.HEAL_FAILED, Severity.CRITICAL, diagnosis=diagnosis)


def steps_after(
    result: Result,
    scope: Scope | None,
    aws: HealPath,
    config: Config,
    run: Invocation,
    *,
    held: bool = False,
    sent: bool = True,
    alert: Alert | None = None,
) -> list[tuple[str, Callable[[], object]]]:
    """The steps that follow a published alert, by name: counting repeated tampering, requesting an approval. An
    alert ``held`` for its group's digest is counted, but alerts no repeated tampering: the digest reports the
    repeats (CRITICAL once they reach the threshold), so a loop does not mail one CRITICAL alert per threshold.
    ``sent``: published or held by this call (not a duplicate delivery), so its Security Hub finding is counted;
    ``alert``: the alert it published, as mailed (the guardian's own event carries it)."""
    steps: list[tuple[str, Callable[[], object]]] = []
    # A self-test is not tampering, nor is a call a watch rule only alerts on (a security group changed); a watch
    # rule's undo is (a recorder stopped).
    tampering = result.decision.watch_rule is None or result.outcome is Outcome.HEALED
    if config.activity_table and result.purpose is None and tampering:

        def count() -> None:
            from guardian.flows.repeats import watch_repeats  # noqa: PLC0415 - only where changes are counted

            watch_repeats(result, aws.full(), config, run, alert=not held)

        steps.append(("count repeated tampering", count))
    rule = result.decision.rule
    if result.outcome is Outcome.EXEMPT and rule is not None and rule.about in SUBJECT_FLOWS:

        def approve() -> None:
            key = owner(rule).approve(result.event, result.decision, aws.full(), run, scope)
            if key is not None:
                LOG.info(
                    "approval requested after an exempt change",
                    extra={"baseline_key": key, "event_id": result.event.event_id},
                )

        steps.append(("request an approval", approve))
    if result.outcome is Outcome.HEALED and result.purpose is None and result.event.event_name in WINDOW_EVENTS:

        def recover_window() -> None:  # what the account did while the trail was off (guardian.flows.blind_window)
            from guardian.flows.blind_window import recover  # noqa: PLC0415 - after a stopped or deleted trail only
            from guardian.flows.budget import after_alert_budget  # noqa: PLC0415

            recover(result, aws.full(), config, run, budget=after_alert_budget(run))

        steps.append(("recover the blind window", recover_window))
    return steps + copy_steps(result, aws, config, run, counted=sent or held, mailed=alert.message if alert else None)


def copy_steps(
    result: Result, aws: HealPath, config: Config, run: Invocation, *, counted: bool, mailed: str | None
) -> list[tuple[str, Callable[[], object]]]:
    """The alert's copies, by name: its Security Hub finding and OCSF object (``counted``: published or held by this
    call), and the alert as ``mailed`` on the guardian's bus. Also what the handler's routes without these steps run
    once their alert is out (guardian.entrypoints.alert_copies)."""
    steps: list[tuple[str, Callable[[], object]]] = []
    if config.security_hub and result.purpose is None and counted:

        def copy_finding() -> None:  # an informational copy: the alert path stays SNS (guardian.flows.security_hub)
            from guardian.flows.security_hub import copy_to_security_hub  # noqa: PLC0415 - after the alert only

            copy_to_security_hub(result, aws.full(), config, run)

        steps.append(("copy the alert to Security Hub", copy_finding))
    if config.ocsf and result.purpose is None and counted:

        def copy_ocsf() -> None:  # an OCSF Detection Finding in the evidence bucket (guardian.flows.ocsf_findings)
            from guardian.flows.ocsf_findings import write_ocsf_finding  # noqa: PLC0415 - after the alert only

            write_ocsf_finding(result, aws.full(), config, run)

        steps.append(("copy the alert as an OCSF finding", copy_ocsf))
    if config.own_events is not None and mailed is not None:
        message = mailed

        def put_event() -> None:  # the guardian's own event on a bus, a copy (guardian.flows.own_events)
            from guardian.flows.own_events import put_alert_event  # noqa: PLC0415 - after the alert only

            put_alert_event(message, aws.full(), config)

        steps.append(("put the alert on the event bus", put_event))
    return steps
