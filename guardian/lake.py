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
from guardian.steps import Step, run_steps

if TYPE_CHECKING:
    from guardian.config import Config
    from guardian.workflow import Aws, Invocation

STOPPED = ("STOPPED_INGESTION", "STOPPING_INGESTION")
INGESTING = ("ENABLED", "STARTING_INGESTION")


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
        for checks in range(1, config.verify_attempts + 1):
            after = aws.data_store_status(store)
            if after in INGESTING or (after not in STOPPED and after != "PENDING_DELETION"):
                break
            if checks < config.verify_attempts:
                run.sleep(config.verify_delay_seconds * 2 ** (checks - 1))
    healed = all(a.succeeded for a in actions) and after != "PENDING_DELETION" and after not in STOPPED
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
