"""CloudTrail Lake: an event data store whose ingestion was stopped is started again; a deleted one is restored
while it still can be (CloudTrail keeps a deleted store PENDING_DELETION for seven days).

Every event data store of the account is protected. The result is verified with GetEventDataStore.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from guardian.flows.steps import Step, poll, repaired, run_steps
from guardian.model.changes import Change, Effect
from guardian.model.results import Result
from guardian.model.rules import Heal, Outcome, Severity

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.ports.calls import HealPath, LakeCalls
    from guardian.ports.flow import Scope
    from guardian.ports.invocation import Invocation

STOPPED = ("STOPPED_INGESTION", "STOPPING_INGESTION")


def _back(status: str) -> bool:
    """Ingesting (or starting to), and no longer waiting for deletion."""
    return status != "PENDING_DELETION" and status not in STOPPED


def heal(
    event: CloudTrailEvent, decision: Decision, aws: HealPath, config: Config, run: Invocation, *, scope: Scope | None
) -> Result:
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
