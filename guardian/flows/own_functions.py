"""The guardian's own functions, held to what was deployed: their code (its SHA-256), role, handler, runtime, memory,
timeout, environment, dead-letter and KMS configuration, their reserved concurrency, and what reaches them and where
their results go (event invoke config, resource-based policy, function URL: :mod:`guardian.flows.function_settings`).

A reserved concurrency of 0 switches a function off without changing a line of it: the sweep puts the deployed
concurrency back, and the settings as :mod:`guardian.flows.function_settings` says. Anything else that differs cannot
be put back from here (it is the stack's to set): a CRITICAL alert asks for a redeployment, and the run fails, so the
sweep-errors alarm fires too.

Baselines (``baselines/guardian-functions/<name>.json``) are recorded when first seen and after a deployment that
CloudFormation confirms (:func:`confirmed_deployment`): an event claiming a deployment is not enough.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from guardian.flows.baselines import read_verified, write_signed
from guardian.flows.deliver import deliver
from guardian.flows.function_settings import SETTINGS, settings_changes, settings_snapshot
from guardian.flows.steps import run_steps
from guardian.model.baselines import function_document, function_key
from guardian.model.changes import Change, Effect
from guardian.model.decide import Decision
from guardian.model.findings import found_event, guardian_finding
from guardian.model.results import Result, iso
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity
from guardian.ports.calls import Delivery, FunctionCalls, SignedStore

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
FIELDS = ("CodeSha256", "Role", "Handler", "Runtime", "MemorySize", "Timeout", "Architectures", "KMSKeyArn")
DEPLOYED = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
RECENT = timedelta(minutes=30)  # a deployment's own event reaches the sweep within seconds


class Ports(FunctionCalls, SignedStore, Delivery, Protocol):
    """The functions' calls, the stack's status, their recorded configuration, and the alert's path."""


@dataclass(frozen=True)
class FunctionCheck:
    name: str
    status: str  # in_baseline, baseline_recorded, healed, heal_failed, deleted


def confirmed_deployment(aws: FunctionCalls, config: Config, now: datetime) -> datetime | None:
    """When the guardian's stack was last deployed, if CloudFormation says it just was (complete, within
    :data:`RECENT`); None otherwise (a forged deployment event, say)."""
    if config.stack_id is None:
        return None
    found = aws.stack_status(config.stack_id)
    if found is None:
        return None
    status, updated = found
    return updated if status in DEPLOYED and now - updated <= RECENT else None


def snapshot(configuration: dict[str, Any], concurrency: int | None) -> dict[str, Any]:
    """What the guardian holds a function to; its environment by digest (its values need not be stored twice)."""
    environment = (configuration.get("Environment") or {}).get("Variables") or {}
    return {
        **{k: configuration[k] for k in FIELDS if configuration.get(k) is not None},
        "Environment": hashlib.sha256(json.dumps(environment, sort_keys=True).encode()).hexdigest(),
        "DeadLetterTarget": (configuration.get("DeadLetterConfig") or {}).get("TargetArn"),
        "Layers": sorted(layer["Arn"] for layer in configuration.get("Layers") or []),
        "ReservedConcurrency": concurrency,
    }


def check_own_functions(
    aws: Ports, config: Config, *, started: datetime, run: Invocation, deployed_at: datetime | None
) -> tuple[FunctionCheck, ...]:
    return tuple(
        check_function(aws, config, name, started=started, run=run, deployed_at=deployed_at)
        for name in config.own_functions
    )


def check_function(
    aws: Ports, config: Config, name: str, *, started: datetime, run: Invocation, deployed_at: datetime | None
) -> FunctionCheck:
    key = function_key(name)
    stored, _ = read_verified(aws, key)
    configuration = aws.function_config(name)
    if configuration is None:
        _alert(aws, config, name, started, run, changes=(Change("exists", True, False, Effect.WEAKENED),))
        return FunctionCheck(name, "deleted")
    found = snapshot(configuration, aws.function_concurrency(name)) | settings_snapshot(aws, name)
    recorded = str(stored.get("recorded_at", "")) if stored else ""
    redeployed = deployed_at is not None and recorded < (iso(deployed_at) or "")
    if stored is None or redeployed:
        by = "deployment" if stored is not None else "sweep"
        write_signed(aws, key, function_document(name, found, recorded_at=iso(run.clock()) or "", by=by))
        return FunctionCheck(name, "baseline_recorded")
    expected: dict[str, Any] = stored["function"]
    unseen = [k for k in SETTINGS if k not in expected]
    if unseen:  # a snapshot from before the settings were held: first seen now (as a new function's would be)
        expected = {**expected, **{k: found[k] for k in unseen}}
        write_signed(aws, key, function_document(name, expected, recorded_at=recorded, by="sweep"))
    changes = tuple(
        Change(field, expected.get(field), found.get(field), Effect.WEAKENED)
        for field in sorted(set(expected) | set(found))
        if expected.get(field) != found.get(field) and field not in SETTINGS
    )
    settings, steps, complete = settings_changes(aws, name, expected, found)
    if not changes and not settings:
        return FunctionCheck(name, "in_baseline")
    want = expected.get("ReservedConcurrency")
    restorable = [c for c in changes if c.field == "ReservedConcurrency"]
    if restorable:
        steps.insert(0, ("PutFunctionConcurrency", lambda: aws.put_concurrency(name, want)))
    actions, _ = run_steps(steps, config.topic_region, name, run)
    healed = len(restorable) == len(changes) and complete and all(a.succeeded for a in actions)
    changes += tuple(settings)
    _alert(aws, config, name, started, run, changes=changes, actions=tuple(actions), healed=healed)
    return FunctionCheck(name, "healed" if healed else "heal_failed")


def _alert(
    aws: Ports,
    config: Config,
    name: str,
    started: datetime,
    run: Invocation,
    *,
    changes: tuple[Change, ...],
    actions: tuple[Any, ...] = (),
    healed: bool = False,
) -> None:
    fields = ", ".join(c.field for c in changes)
    reason = (
        f"the guardian's own function {name} changed ({fields}): put back as deployed"
        if healed
        else f"the guardian's own function {name} changed ({fields}) outside its stack's deployment: it cannot be "
        "put back from here; redeploy the stack now"
    )
    finding = guardian_finding(
        ("guardian_function", name),
        account_id=config.account_id,
        region=config.topic_region,
        detected_at=started,
        reason=reason,
        found=(changes, actions),
        healed=healed,
    )
    deliver(finding, aws, config, run)
    LOG.error("the guardian's own function changed", extra={"function": name, "fields": fields})


def report_unconfirmed_deployment(aws: Ports, config: Config, *, started: datetime, run: Invocation) -> None:
    """The sweep was told the stack was just deployed, and CloudFormation does not say so: a forged event, most
    likely (anyone allowed to invoke the sweep can send one). Nothing is re-recorded; the team is told."""
    found = aws.stack_status(config.stack_id) if config.stack_id else None
    seen = f"the stack is {found[0]}, last deployed at {iso(found[1])}" if found else "the stack was not found"
    event = found_event(
        f"sweep-{started:%Y%m%dT%H%M%SZ}-{config.topic_region}-unconfirmed-deployment",
        account_id=config.account_id,
        region=config.topic_region,
        detected_at=started,
        raw={"unconfirmed_deployment": config.stack_id or ""},
    )
    reason = (
        f"the sweep was invoked as after a deployment of the guardian's stack, but CloudFormation does not confirm "
        f"one ({seen}): nothing was re-recorded. A forged event? Review who invoked the sweep"
    )
    decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.CRITICAL, reason, SWEEP_RULE)
    deliver(Result(event, decision, Outcome.ALERTED, Severity.CRITICAL), aws, config, run)
