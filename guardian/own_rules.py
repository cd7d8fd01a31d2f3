"""The guardian's own EventBridge rules, kept working by the sweep: a disabled rule is enabled again, removed targets
are put back, each with a CRITICAL alert. A deleted rule cannot be rebuilt from here (its pattern lives in the
stack): that is alerted, and redeploying the stack brings it back.

Each rule's targets are recorded as a baseline (``baselines/guardian-rules/<rule>.json``) when the sweep first sees
the rule intact, and again after every deployment (the sweep run by the stack's own status change event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from guardian.baseline import BASELINE_SCHEMA, BASELINE_SCHEMA_VERSION, PREFIX, Change, Effect
from guardian.logs import get_logger
from guardian.policy import SWEEP_RULE, Action, Decision, Outcome, Severity
from guardian.results import Result, Verification, iso
from guardian.steps import Step, run_steps

if TYPE_CHECKING:
    from guardian.aws_full import FullAdapter
    from guardian.config import Config
    from guardian.workflow import Invocation

LOG = get_logger()


@dataclass(frozen=True)
class RuleCheck:
    name: str
    status: str  # in_baseline, baseline_recorded, healed, heal_failed, deleted


def rule_key(name: str) -> str:
    return f"{PREFIX}/guardian-rules/{name}.json"


def check_own_rules(
    aws: FullAdapter, config: Config, *, started: datetime, run: Invocation, redeployed: bool
) -> tuple[RuleCheck, ...]:
    return tuple(
        check_rule(aws, config, name, started=started, run=run, redeployed=redeployed) for name in config.own_rules
    )


def check_rule(
    aws: FullAdapter, config: Config, name: str, *, started: datetime, run: Invocation, redeployed: bool
) -> RuleCheck:
    state = aws.rule_state(name)
    stored = aws.read_json(rule_key(name))
    expected: list[dict[str, Any]] = list(stored["targets"]) if stored else []
    if state is None:
        _alert(aws, config, name, started, run, changes=(Change("exists", True, False, Effect.WEAKENED),), actions=())
        return RuleCheck(name, "deleted")
    targets = aws.rule_targets(name)
    intact = state == "ENABLED" and targets
    if intact and (redeployed or stored is None):
        aws.write_json(rule_key(name), _document(name, targets, run.clock(), "deployment" if redeployed else "sweep"))
        return RuleCheck(name, "baseline_recorded")
    missing = [t for t in expected if t["Id"] not in {found["Id"] for found in targets}]
    changes = []
    steps: list[Step] = []
    if state != "ENABLED":
        changes.append(Change("state", "ENABLED", state, Effect.WEAKENED))
        steps.append(("EnableRule", lambda: aws.enable_rule(name)))
    if missing:
        changes.append(Change("targets", [t["Arn"] for t in expected], [t["Arn"] for t in targets], Effect.WEAKENED))
        steps.append(("PutTargets", lambda: aws.put_targets(name, missing)))
    if not steps:
        return RuleCheck(name, "in_baseline")
    actions, _ = run_steps(steps, config.topic_region, name, run)
    healed = all(a.succeeded for a in actions) and aws.rule_state(name) == "ENABLED"
    if healed and missing:
        healed = {t["Id"] for t in expected} <= {t["Id"] for t in aws.rule_targets(name)}
    _alert(aws, config, name, started, run, changes=tuple(changes), actions=tuple(actions), healed=healed)
    return RuleCheck(name, "healed" if healed else "heal_failed")


def _document(name: str, targets: list[dict[str, Any]], at: datetime, by: str) -> dict[str, Any]:
    return {
        "schema": BASELINE_SCHEMA,
        "schema_version": BASELINE_SCHEMA_VERSION,
        "kind": "guardian_rule",
        "rule": name,
        "recorded_at": iso(at),
        "recorded_by": by,
        "targets": targets,
    }


def _alert(
    aws: FullAdapter,
    config: Config,
    name: str,
    started: datetime,
    run: Invocation,
    *,
    changes: tuple[Change, ...],
    actions: tuple[Any, ...],
    healed: bool = False,
) -> None:
    from guardian.sweep import rule_event  # noqa: PLC0415 - the sweep imports this module

    event = rule_event(name, account_id=config.account_id, region=config.topic_region, detected_at=started)
    deleted = any(c.field == "exists" for c in changes)
    reason = (
        f"the guardian's own rule {name} was deleted: it cannot be rebuilt from here; redeploy the stack now"
        if deleted
        else f"the guardian's own rule {name} was "
        + " and ".join("disabled" if c.field == "state" else "stripped of its targets" for c in changes)
        + ": put back by the sweep"
    )
    outcome = Outcome.HEAL_FAILED if deleted or not healed else Outcome.HEALED
    decision = Decision(Action.HEAL, Outcome.HEALED, Severity.CRITICAL, reason, SWEEP_RULE)
    result = Result(
        event=event,
        decision=decision,
        outcome=outcome,
        severity=Severity.CRITICAL,
        actions=actions,
        verification=Verification(is_logging=None, checks=1, checked_at=run.clock()),
        changes=changes,
        diagnosis=None if outcome is Outcome.HEALED else ("rule deleted" if deleted else "the rule is still broken"),
    )
    from guardian.workflow import deliver  # noqa: PLC0415

    deliver(result, aws, config, run)
    LOG.error("the guardian's own rule was tampered with", extra={"rule": name, "outcome": outcome.value})
