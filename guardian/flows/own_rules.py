"""The guardian's own EventBridge rules, kept working by the sweep: a disabled rule is enabled again, removed targets
are put back, each with a CRITICAL alert. A deleted rule cannot be rebuilt from here (its pattern lives in the
stack): that is alerted, and redeploying the stack brings it back.

Each rule's targets are recorded as a baseline (``baselines/guardian-rules/<rule>.json``) when the sweep first sees
the rule intact, and again after every deployment (the sweep run by the stack's own status change event).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from guardian.flows.baselines import read_verified, write_signed
from guardian.flows.deliver import deliver
from guardian.flows.steps import Step, run_steps
from guardian.model.baselines import rule_document, rule_key
from guardian.model.changes import Change, Effect
from guardian.model.decide import Decision
from guardian.model.findings import rule_event
from guardian.model.results import Result, Verification, iso
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity
from guardian.ports.calls import Delivery, RuleCalls, SignedStore

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


class Ports(RuleCalls, SignedStore, Delivery, Protocol):
    """The rules' calls, their recorded targets, and the alert's path."""


@dataclass(frozen=True)
class RuleCheck:
    name: str
    status: str  # in_baseline, baseline_recorded, healed, heal_failed, deleted


def check_own_rules(
    aws: Ports, config: Config, *, started: datetime, run: Invocation, redeployed: bool
) -> tuple[RuleCheck, ...]:
    return tuple(
        check_rule(aws, config, name, started=started, run=run, redeployed=redeployed) for name in config.own_rules
    )


def check_rule(
    aws: Ports, config: Config, name: str, *, started: datetime, run: Invocation, redeployed: bool
) -> RuleCheck:
    state = aws.rule_state(name)
    stored, refused = read_verified(aws, rule_key(name))
    if refused is not None:
        LOG.error("a rule baseline failed verification", extra={"rule": name, "problem": refused.problem})
    expected: list[dict[str, Any]] = list(stored["targets"]) if stored else []
    if state is None:
        _alert(aws, config, name, started, run, changes=(Change("exists", True, False, Effect.WEAKENED),), actions=())
        return RuleCheck(name, "deleted")
    targets = aws.rule_targets(name)
    intact = state == "ENABLED" and targets
    if intact and (redeployed or stored is None):
        by = "deployment" if redeployed else "sweep"
        write_signed(aws, rule_key(name), rule_document(name, targets, recorded_at=iso(run.clock()) or "", by=by))
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


def _alert(
    aws: Ports,
    config: Config,
    name: str,
    started: datetime,
    run: Invocation,
    *,
    changes: tuple[Change, ...],
    actions: tuple[Any, ...],
    healed: bool = False,
) -> None:
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
    deliver(result, aws, config, run)
    LOG.error("the guardian's own rule was tampered with", extra={"rule": name, "outcome": outcome.value})
