"""The sweep's check of a trail's KMS key: enabled, and letting CloudTrail encrypt the trail's log files. A lost
DisableKey, ScheduleKeyDeletion or PutKeyPolicy event is found here, one sweep later at most."""

from __future__ import annotations

from typing import TYPE_CHECKING

from guardian.flows.deliver import deliver
from guardian.flows.key import key_of, locked_out, repair_key, repair_key_policy
from guardian.model.changes import Change, Effect
from guardian.model.decide import Decision
from guardian.model.findings import sweep_event
from guardian.model.results import Result, Verification
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from guardian.flows.workers import Workers
    from guardian.model.config import Config
    from guardian.model.refs import KeyRef
    from guardian.model.results import ActionRecord
    from guardian.model.trail import TrailState
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation


def sweep_keys(
    aws: Everything,
    config: Config,
    protected: Sequence[TrailState],
    work: Workers,
    *,
    started: datetime,
    run: Invocation,
) -> list[tuple[str, str]]:
    """Every KMS key a protected trail encrypts with, checked once for all its trails: (key id, status)."""
    using: dict[KeyRef, list[TrailState]] = {}
    for trail in protected:
        key = key_of(trail, config.account_id)
        if key is not None:
            using.setdefault(key, []).append(trail)
    ordered = sorted(using.items(), key=lambda item: (item[0].region, item[0].key_id))

    def one(item: tuple[KeyRef, list[TrailState]]) -> tuple[str, str]:
        key, trails = item
        return key.key_id, check_key(aws, config, key, trails, started=started, run=run) or "in_baseline"

    return work.map(one, ordered)


def check_key(
    aws: Everything,
    config: Config,
    key: KeyRef,
    trails: Sequence[TrailState],
    *,
    started: datetime,
    run: Invocation,
) -> str | None:
    """The trails' key must be enabled, and let CloudTrail encrypt for each of them: repair it if not (a lost
    DisableKey, ScheduleKeyDeletion or PutKeyPolicy event)."""
    statuses = [_key_policy(aws, config, trails, key, started=started, run=run)]
    if aws.key_state(key) != "Enabled":
        statuses.append(_key_state(aws, config, trails, key, started=started, run=run))
    return "heal_failed" if "heal_failed" in statuses else "healed" if "healed" in statuses else None


def _key_policy(
    aws: Everything, config: Config, trails: Sequence[TrailState], key: KeyRef, *, started: datetime, run: Invocation
) -> str | None:
    lost, unread, actions, still = repair_key_policy(aws, key, list(trails), run, config.log_readers)
    if not lost and not unread:
        return None
    reason = (
        f"the policy of key {key.key_id} {locked_out(lost, unread)}; the guardian's statements put back by the "
        "sweep, the rest of the policy left as it is: review it now"
    )
    change = Change("kms_key_policy", "CloudTrail encrypts, readers decrypt", "locked out", Effect.WEAKENED)
    failed = None if still is None and all(a.succeeded for a in actions) else (still or "PutKeyPolicy failed")
    return _report(
        aws, config, lost or trails, key, (change, tuple(actions), 1, failed), reason=reason, started=started, run=run
    )


def _key_state(
    aws: Everything, config: Config, trails: Sequence[TrailState], key: KeyRef, *, started: datetime, run: Invocation
) -> str:
    state, actions, after, checks = repair_key(aws, key, config, run)
    healed = after == "Enabled" and all(a.succeeded for a in actions)
    reason = f"healed by sweep — key {key.key_id} of the trail was {state}; the change was not seen as an event"
    change = Change("kms_key_state", "Enabled", state, Effect.WEAKENED)
    failed = None if healed else f"key {key.key_id} is {after} after the restore"
    return _report(
        aws, config, trails, key, (change, tuple(actions), checks, failed), reason=reason, started=started, run=run
    )


def _report(
    aws: Everything,
    config: Config,
    trails: Sequence[TrailState],
    key: KeyRef,
    found: tuple[Change, tuple[ActionRecord, ...], int, str | None],
    *,
    reason: str,
    started: datetime,
    run: Invocation,
) -> str:
    """One CRITICAL finding on the trails' key (``found``: the change, the calls, the checks, what still failed),
    told of the first trail and listing every trail that uses the key."""
    change, actions, checks, failed = found
    what = "key-policy" if change.field == "kms_key_policy" else "key"
    details = {"key": key.key_id, "trails": sorted(t.arn for t in trails), "changes": [change.to_json()]}
    event, ref = sweep_event(trails[0], account_id=config.account_id, detected_at=started, details=details, what=what)
    result = Result(
        event=event,
        decision=Decision(Action.HEAL, Outcome.HEALED, Severity.CRITICAL, reason, SWEEP_RULE, ref),
        outcome=Outcome.HEALED if failed is None else Outcome.HEAL_FAILED,
        severity=Severity.CRITICAL,
        actions=actions,
        verification=Verification(is_logging=None, checks=checks, checked_at=run.clock()),
        changes=(change,),
        diagnosis=failed,
    )
    deliver(result, aws, config, run)
    return "healed" if failed is None else "heal_failed"
