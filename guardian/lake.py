"""CloudTrail Lake: an event data store whose ingestion was stopped is started again; a deleted one is restored
while it still can be (CloudTrail keeps a deleted store PENDING_DELETION for seven days).

Every event data store of the account is protected. The result is verified with GetEventDataStore.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from guardian.baseline import Change, Effect
from guardian.events import CloudTrailEvent
from guardian.policy import Decision, Heal, Outcome, Severity
from guardian.results import Result, Verification
from guardian.steps import Step, poll, run_steps

if TYPE_CHECKING:
    from guardian.config import Config
    from guardian.workflow import Aws, Invocation

STOPPED = ("STOPPED_INGESTION", "STOPPING_INGESTION")


def _back(status: str) -> bool:
    """Ingesting (or starting to), and no longer waiting for deletion."""
    return status != "PENDING_DELETION" and status not in STOPPED


def heal_data_store(event: CloudTrailEvent, decision: Decision, aws: Aws, config: Config, run: Invocation) -> Result:
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
    healed = all(a.succeeded for a in actions) and _back(after)
    failed = next((a for a in actions if not a.succeeded), None)
    why = f"event data store {store.name} was {found}: " + " then ".join(a.action for a in actions)
    return Result(
        event,
        replace(decision, reason=why),
        Outcome.HEALED if healed else Outcome.HEAL_FAILED,
        decision.severity if healed else Severity.CRITICAL,
        tuple(actions),
        Verification(is_logging=None, checks=checks, checked_at=run.clock()),
        changes=(change,),
        diagnosis=None
        if healed
        else (
            f"{failed.action} failed: {failed.error_code}: {failed.error_message}"
            if failed
            else f"event data store {store.name} is still {after} after {checks} checks"
        ),
    )
