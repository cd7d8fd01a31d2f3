"""A trail's KMS key, put back: enabled again, its deletion cancelled. Only for keys that protect a trail.

A key that protects no trail with a baseline is none of the guardian's business: ignored, no alert. A changed key
policy is alerted, not restored: putting a policy back blindly could lock the account out of its own key.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from guardian import baseline_store
from guardian.baseline import Change, Effect, TrailState
from guardian.events import CloudTrailEvent, KeyRef
from guardian.policy import Decision, Outcome, Severity
from guardian.results import ActionRecord, Result
from guardian.steps import Step, poll, repaired, run_steps

if TYPE_CHECKING:
    from guardian.config import Config
    from guardian.workflow import Aws, Invocation


def trails_protected_by(aws: Aws, key: KeyRef) -> list[TrailState]:
    """Trails homed in the key's Region whose baseline names this key (a trail's key lives in its home Region)."""
    found = []
    for name in sorted(baseline_store.names_in(aws, key.region)):
        stored = baseline_store.load(aws, key.region, name)
        if isinstance(stored, TrailState) and stored.kms_key_id and stored.kms_key_id.rsplit("/", 1)[-1] == key.key_id:
            found.append(stored)
    return found


def restore_key(
    event: CloudTrailEvent,
    decision: Decision,
    aws: Aws,
    config: Config,
    run: Invocation,
    *,
    trails: list[TrailState],
) -> Result:
    """Put back a key that encrypts ``trails`` (found by the workflow's scope check; never empty here)."""
    key = event.key
    assert key is not None
    names = ", ".join(t.name for t in trails)
    if event.event_name == "PutKeyPolicy":
        why = (
            f"the policy of key {key.key_id}, which encrypts trail(s) {names}, was replaced: review it now; the "
            "guardian does not put a key policy back (a wrong one could lock the account out of its key)"
        )
        return Result(event, replace(decision, reason=why), Outcome.ALERTED, Severity.CRITICAL)
    state, actions, after, checks = repair_key(aws, key, config, run)
    return repaired(
        event,
        decision,
        why=f"key {key.key_id} encrypts trail(s) {names}: " + (" then ".join(a.action for a in actions) or "no change"),
        actions=actions,
        checks=checks,
        change=Change("kms_key_state", "Enabled", state, Effect.WEAKENED),
        still=None if after == "Enabled" else f"key {key.key_id} is {after} after the restore",
        run=run,
    )


def repair_key(aws: Aws, key: KeyRef, config: Config, run: Invocation) -> tuple[str, list[ActionRecord], str, int]:
    """Cancel a scheduled deletion, enable the key, verify: (state found, actions, state after, checks)."""
    state = aws.key_state(key)
    steps: list[Step] = []
    if state == "PendingDeletion":
        steps.append(("CancelKeyDeletion", lambda: aws.cancel_key_deletion(key)))
    if state in ("Disabled", "PendingDeletion"):  # a cancelled deletion leaves the key disabled
        steps.append(("EnableKey", lambda: aws.enable_key(key)))
    actions, _ = run_steps(steps, key.region, key.key_id, run)
    after, checks = poll(lambda: aws.key_state(key), lambda now: now == "Enabled" or not steps, config, run)
    return state, actions, after, checks


def key_of(trail: TrailState, account_id: str | None) -> KeyRef | None:
    """The key a trail's baseline names, as a KeyRef (a trail's key lives in its home Region)."""
    if not trail.kms_key_id:
        return None
    return KeyRef(key_id=trail.kms_key_id.rsplit("/", 1)[-1], region=trail.home_region, account_id=account_id)
