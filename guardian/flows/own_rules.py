"""The guardian's own EventBridge rules, kept as deployed by the sweep: in its home Region and in every forwarder's.

Each rule is compared whole with its baseline (``baselines/guardian-rules/<Region>/<rule>.json``): its state, its
pattern or schedule, and every target by ARN, role, input and dead-letter configuration, so a target pointed at
someone else's function under the same Id is drift too. What differs is put back (PutRule, EnableRule, PutTargets,
RemoveTargets), with one CRITICAL alert; a deleted rule cannot be rebuilt from here (it is alerted: redeploy).

The baseline is recorded when the sweep first sees the rule intact, and again after a deployment, but only one
CloudFormation confirms (:func:`guardian.flows.own_functions.confirmed_deployment`): an invoked event claiming a
deployment re-records nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from guardian.flows.baselines import read_verified, write_signed
from guardian.flows.deliver import deliver
from guardian.flows.history import actor_of, attributed
from guardian.flows.steps import Step, run_steps
from guardian.model.baselines import rule_document, rule_key
from guardian.model.changes import Change, Effect
from guardian.model.decide import Decision
from guardian.model.findings import rule_event
from guardian.model.results import Result, Verification, iso
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity
from guardian.ports.calls import Delivery, RuleCalls, SignedStore
from guardian.ports.history import HistoryPages

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.model.results import ActionRecord
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
RULE_FIELDS = ("EventPattern", "ScheduleExpression", "State", "Description", "RoleArn", "EventBusName")
TARGET_FIELDS = (
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "DeadLetterConfig",
    "RetryPolicy",
    "SqsParameters",
    "HttpParameters",
)


class Ports(RuleCalls, SignedStore, Delivery, HistoryPages, Protocol):
    """The rules' calls, their recorded definitions, the alert's path, and Event history (who changed a rule)."""


@dataclass(frozen=True)
class RuleCheck:
    name: str
    status: str  # in_baseline, baseline_recorded, healed, heal_failed, deleted
    region: str = ""


def snapshot(rule: dict[str, Any], targets: list[dict[str, Any]]) -> dict[str, Any]:
    """What the guardian holds a rule to: its definition and its targets, whole, in a canonical form."""
    definition = {k: rule[k] for k in RULE_FIELDS if rule.get(k) is not None}
    if "EventPattern" in definition:  # the same pattern, however its JSON is spaced or ordered
        definition["EventPattern"] = json.dumps(json.loads(definition["EventPattern"]), sort_keys=True)
    kept = [{k: t[k] for k in TARGET_FIELDS if t.get(k) is not None} for t in targets]
    return {"rule": definition, "targets": sorted(kept, key=lambda t: str(t["Id"]))}


def places(config: Config) -> list[tuple[str, str]]:
    """(Region, rule name) of every rule of the guardian's: its home Region's, and each forwarder's."""
    home = config.topic_region
    forwarded = [region for region in config.sweep_regions if region != home]
    return [(home, name) for name in config.own_rules] + [
        (region, name) for region in forwarded for name in config.forwarder_rules
    ]


def check_own_rules(
    aws: Ports, config: Config, *, started: datetime, run: Invocation, deployed_at: datetime | None
) -> tuple[RuleCheck, ...]:
    return tuple(
        check_rule(aws, config, region, name, started=started, run=run, deployed_at=deployed_at)
        for region, name in places(config)
    )


def check_rule(
    aws: Ports,
    config: Config,
    region: str,
    name: str,
    *,
    started: datetime,
    run: Invocation,
    deployed_at: datetime | None,
) -> RuleCheck:
    key = rule_key(region, name)
    stored, refused = read_verified(aws, key)
    if refused is not None:
        LOG.error("a rule baseline failed verification", extra={"rule": name, "problem": refused.problem})
    rule = aws.describe_rule(region, name)
    if rule is None:
        _alert(aws, config, (region, name), started, run, changes=(Change("exists", True, False, Effect.WEAKENED),))
        return RuleCheck(name, "deleted", region)
    found = snapshot(rule, aws.rule_targets(region, name))
    intact = found["rule"].get("State") == "ENABLED" and bool(found["targets"])
    recorded = str(stored.get("recorded_at", "")) if stored else ""
    redeployed = deployed_at is not None and recorded < (iso(deployed_at) or "")
    if intact and (stored is None or redeployed):
        by = "deployment" if stored is not None else "sweep"
        write_signed(aws, key, rule_document(name, found, recorded_at=iso(run.clock()) or "", by=by, region=region))
        return RuleCheck(name, "baseline_recorded", region)
    if stored is None:  # broken before any baseline was recorded: what it should be is the stack's to say
        _alert(aws, config, (region, name), started, run, changes=_unrecorded(found))
        return RuleCheck(name, "heal_failed", region)
    expected: dict[str, Any] = {"rule": stored["rule"], "targets": stored["targets"]}
    changes, steps = _repairs(aws, region, name, expected, found)
    if not steps:
        return RuleCheck(name, "in_baseline", region)
    actions, _ = run_steps(steps, region, name, run)
    after = aws.describe_rule(region, name)
    healed = all(a.succeeded for a in actions) and after is not None
    healed = healed and snapshot(after or {}, aws.rule_targets(region, name)) == expected
    _alert(aws, config, (region, name), started, run, changes=tuple(changes), actions=tuple(actions), healed=healed)
    return RuleCheck(name, "healed" if healed else "heal_failed", region)


def _unrecorded(found: dict[str, Any]) -> tuple[Change, ...]:
    """A rule first seen disabled or without targets: no baseline says what it should be."""
    changes = []
    if found["rule"].get("State") != "ENABLED":
        changes.append(Change("state", "ENABLED", found["rule"].get("State"), Effect.WEAKENED))
    if not found["targets"]:
        changes.append(Change("targets", "as deployed", [], Effect.WEAKENED))
    return tuple(changes)


def _repairs(
    aws: RuleCalls, region: str, name: str, expected: dict[str, Any], found: dict[str, Any]
) -> tuple[list[Change], list[Step]]:
    """What differs, and the calls that put it back."""
    changes: list[Change] = []
    steps: list[Step] = []
    want, have = expected["rule"], found["rule"]
    redefined = [k for k in RULE_FIELDS if k != "State" and want.get(k) != have.get(k)]
    changes += [Change(field.lower(), want.get(field), have.get(field), Effect.WEAKENED) for field in redefined]
    if redefined:
        steps.append(("PutRule", lambda: aws.put_rule(region, {"Name": name, **want})))
    if want.get("State") != have.get("State"):
        changes.append(Change("state", want.get("State"), have.get("State"), Effect.WEAKENED))
        if not redefined:  # PutRule sets the state too
            steps.append(("EnableRule", lambda: aws.enable_rule(region, name)))
    wanted = {t["Id"]: t for t in expected["targets"]}
    present = {t["Id"]: t for t in found["targets"]}
    wrong = [t for tid, t in wanted.items() if present.get(tid) != t]
    extra = [tid for tid in present if tid not in wanted]
    if wrong or extra:
        before = [t.get("Arn") for t in expected["targets"]]
        changes.append(Change("targets", before, [t.get("Arn") for t in found["targets"]], Effect.WEAKENED))
    if wrong:
        steps.append(("PutTargets", lambda: aws.put_targets(region, name, wrong)))
    if extra:
        steps.append(("RemoveTargets", lambda: aws.remove_targets(region, name, extra)))
    return changes, steps


def _alert(
    aws: Ports,
    config: Config,
    where: tuple[str, str],
    started: datetime,
    run: Invocation,
    *,
    changes: tuple[Change, ...],
    actions: tuple[ActionRecord, ...] = (),
    healed: bool = False,
) -> None:
    """One CRITICAL alert for a rule found changed (``where``: its Region and name)."""
    region, name = where
    event = rule_event(name, account_id=config.account_id, region=region, detected_at=started)
    calls = {"state": ("DisableRule", "PutRule"), "targets": ("RemoveTargets", "PutTargets"), "exists": ("DeleteRule",)}
    names = tuple(n for c in changes for n in calls.get(c.field, ("PutRule",)))
    actor = actor_of(aws, region, "events.amazonaws.com", names, (name,), until=started, run=run)
    event = attributed(event, actor)  # who did it, as CloudTrail recorded it, else "not recorded"
    deleted = any(c.field == "exists" for c in changes)
    what = {"state": "disabled", "targets": "stripped of its targets or retargeted"}
    found = " and ".join(what.get(c.field, f"changed ({c.field})") for c in changes)
    if deleted:
        reason = f"the guardian's own rule {name} ({region}) was deleted: it cannot be rebuilt from here"
    elif healed:
        reason = f"the guardian's own rule {name} ({region}) was {found}: put back by the sweep"
    elif not actions:
        reason = f"the guardian's own rule {name} ({region}) was {found} before its baseline was recorded"
    else:
        reason = f"the guardian's own rule {name} ({region}) was {found}, and putting it back failed"
    if not healed:
        reason += "; redeploy the stack now"
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
        diagnosis=None if outcome is Outcome.HEALED else ("rule deleted" if deleted else "the rule is still changed"),
    )
    deliver(result, aws, config, run)
    LOG.error("the guardian's own rule was tampered with", extra={"rule": name, "outcome": outcome.value})
