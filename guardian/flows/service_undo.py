"""The opt-in undos of watch rules, safe and reversible: an AWS Config recorder stopped is started again, a GuardDuty
detector disabled is enabled again. Each is verified, kept as evidence and alerted like the table's heals.

Only where a watch rule names the undo (``"heal"`` in rules/watch.json): never on by default. Acted on in the
Region of the call, on the recorder or detector the request named; the request is read for its name only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from guardian.flows.steps import poll, repaired, run_steps
from guardian.model.changes import Change, Effect
from guardian.model.results import Result
from guardian.model.rules import Heal, Outcome, Severity

if TYPE_CHECKING:
    from collections.abc import Callable

    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.ports.calls import HealPath, ServiceUndoCalls
    from guardian.ports.flow import Scope
    from guardian.ports.invocation import Invocation


def heal(
    event: CloudTrailEvent, decision: Decision, aws: HealPath, config: Config, run: Invocation, *, scope: Scope | None
) -> Result:
    return undo(event, decision, aws.full(), config, run)


def undo(event: CloudTrailEvent, decision: Decision, aws: ServiceUndoCalls, config: Config, run: Invocation) -> Result:
    from dataclasses import replace  # noqa: PLC0415

    assert decision.rule is not None
    region = event.aws_region or ""
    parameters = event.request_parameters or {}
    state: Callable[[str, str], bool]
    act: Callable[[str, str], None]
    if decision.rule.heal is Heal.START_CONFIG_RECORDER:
        name, what, field = parameters.get("configurationRecorderName"), "AWS Config recorder", "recording"
        state, act, call = aws.recorder_recording, aws.start_recorder, "StartConfigurationRecorder"
    else:
        name, what, field = parameters.get("detectorId"), "GuardDuty detector", "enabled"
        state, act, call = aws.detector_enabled, aws.enable_detector, "UpdateDetector"
    if not isinstance(name, str) or not name:
        why = f"the event does not name the {what} (requestParameters): alerted, not undone"
        return Result(event, replace(decision, reason=why), Outcome.ALERTED, decision.severity)
    if state(region, name):
        why = f"{what} {name} in {region} is {field} again already: nothing to undo"
        return Result(event, replace(decision, reason=why), Outcome.ALERTED, Severity.LOW)
    actions, _ = run_steps([(call, lambda: act(region, name))], region, name, run)
    after, checks = False, 0
    if all(a.succeeded for a in actions):
        after, checks = poll(lambda: state(region, name), bool, config, run)
    return repaired(
        event,
        decision,
        why=f"{what} {name} in {region}: {call} (the watch rule's opt-in undo), verified",
        actions=actions,
        checks=checks,
        change=Change(field, True, False, Effect.WEAKENED),
        still=None if after else f"{what} {name} is still not {field} after {checks} checks",
        run=run,
    )
