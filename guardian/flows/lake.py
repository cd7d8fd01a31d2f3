"""CloudTrail Lake: an event data store whose ingestion was stopped is started again; a deleted one is restored
while it still can be (CloudTrail keeps a deleted store PENDING_DELETION for seven days); one whose settings were
weakened (retention cut, termination protection off, selectors changed) gets its signed baseline's back.

Every event data store of the account is protected. The result is verified with GetEventDataStore.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Protocol

from guardian.flows.baselines import read_verified, write_signed
from guardian.flows.steps import Step, poll, repaired, run_steps
from guardian.model.changes import Change, Effect, weakened
from guardian.model.lake import compare_store, lake_document, settings_of, store_key
from guardian.model.results import Result, iso
from guardian.model.rules import Heal, Outcome, Severity

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.model.refs import ResourceRef
    from guardian.model.results import ActionRecord
    from guardian.ports.calls import HealPath
    from guardian.ports.flow import Scope
    from guardian.ports.invocation import Invocation

from guardian.ports.calls import LakeCalls, SignedStore


class LakeStore(LakeCalls, SignedStore, Protocol):
    """A store's calls and its signed baseline."""


STOPPED = ("STOPPED_INGESTION", "STOPPING_INGESTION")


def _back(status: str) -> bool:
    """Ingesting (or starting to), and no longer waiting for deletion."""
    return status != "PENDING_DELETION" and status not in STOPPED


def heal(
    event: CloudTrailEvent, decision: Decision, aws: HealPath, config: Config, run: Invocation, *, scope: Scope | None
) -> Result:
    assert decision.rule is not None
    if decision.rule.heal is Heal.RESTORE_STORE_SETTINGS:
        return heal_settings(event, decision, aws, config, run, scope=scope)
    return heal_data_store(event, decision, aws.full(), config, run)


def heal_data_store(
    event: CloudTrailEvent, decision: Decision, aws: LakeCalls, config: Config, run: Invocation
) -> Result:
    store = event.resource
    assert store is not None
    assert decision.rule is not None
    found = aws.data_store_status(store)
    steps: list[Step] = []
    if decision.rule.heal is Heal.RESTORE_DATA_STORE and found == "PENDING_DELETION":
        steps.append(("RestoreEventDataStore", lambda: aws.restore_data_store(store)))
    if decision.rule.heal is Heal.START_INGESTION and found in STOPPED:
        steps.append(("StartEventDataStoreIngestion", lambda: aws.start_ingestion(store)))
    change = Change("status", "ENABLED", found, Effect.WEAKENED)
    if not steps:
        why = f"event data store {store.name} is {found}: nothing to undo"
        return Result(event, replace(decision, reason=why), Outcome.ALERTED, Severity.LOW)
    actions, _ = run_steps(steps, store.region or "", store.name, run)
    after, checks = found, 0
    if all(a.succeeded for a in actions):
        after, checks = poll(lambda: aws.data_store_status(store), _back, config, run)
    return repaired(
        event,
        decision,
        why=f"event data store {store.name} was {found}: " + " then ".join(a.action for a in actions),
        actions=actions,
        checks=checks,
        change=change,
        still=None if _back(after) else f"event data store {store.name} is still {after} after {checks} checks",
        run=run,
    )


def heal_settings(
    event: CloudTrailEvent, decision: Decision, aws: HealPath, config: Config, run: Invocation, *, scope: Scope | None
) -> Result:
    """UpdateEventDataStore: the store's settings back to its baseline (recorded by the sweep when first seen)."""
    store = event.resource
    assert store is not None
    status, changes, actions = hold_settings(aws.full(), store, run, by="remediation")
    if status in ("healed", "heal_failed"):
        still = None if status == "healed" else f"event data store {store.name} still differs from its baseline"
        why = f"event data store {store.name} weakened ({', '.join(c.field for c in weakened(changes))}): put back"
        return repaired(
            event, decision, why=why, actions=actions, checks=1, change=weakened(changes)[0], still=still, run=run
        )
    if status == "strengthened":
        why = f"event data store {store.name} strengthened: its new settings are its baseline"
        return Result(event, replace(decision, reason=why), Outcome.ALERTED, Severity.LOW, changes=changes)
    why = {
        "missing": f"event data store {store.name} was not found",
        "pending_deletion": f"event data store {store.name} is pending deletion (its own row restores it)",
        "baseline_recorded": f"event data store {store.name} had no baseline: its settings now are recorded as one, "
        "so what the change replaced cannot be put back; review it",
        "in_baseline": f"event data store {store.name} is as its baseline: nothing to undo",
    }[status]
    severity = decision.severity if status == "baseline_recorded" else Severity.LOW
    return Result(event, replace(decision, reason=why), Outcome.ALERTED, severity)


def hold_settings(
    aws: LakeStore, store: ResourceRef, run: Invocation, *, by: str
) -> tuple[str, tuple[Change, ...], list[ActionRecord]]:
    """Hold a store to its signed baseline: (status, what differs, what was done). The status is one of
    baseline_recorded, in_baseline, strengthened (now its baseline), healed, heal_failed, missing, pending_deletion."""
    found = aws.data_store(store)
    if found is None:
        return "missing", (), []
    if found.get("Status") == "PENDING_DELETION":
        return "pending_deletion", (), []
    live, key = settings_of(found), store_key(store.region or "", store.name)
    stored, _ = read_verified(aws, key)
    record = partial(write_signed, aws, key)
    if stored is None:
        record(lake_document(store.name, live, recorded_at=iso(run.clock()) or "", by=by))
        return "baseline_recorded", (), []
    changes = compare_store(stored["settings"], live)
    if not changes:
        return "in_baseline", (), []
    kept = {c.field: c.after for c in changes if c.effect is Effect.STRENGTHENED}
    wanted = {**stored["settings"], **kept}
    if not weakened(changes):
        record(lake_document(store.name, wanted, recorded_at=iso(run.clock()) or "", by=by))
        return "strengthened", changes, []
    steps: list[Step] = [("UpdateEventDataStore", lambda: aws.update_data_store(store, wanted))]
    actions, _ = run_steps(steps, store.region or "", store.name, run)
    after = aws.data_store(store) if all(a.succeeded for a in actions) else None
    healed = after is not None and not compare_store(wanted, settings_of(after))
    return ("healed" if healed else "heal_failed"), changes, list(actions)
