"""The sweep's check of every KMS key the protected trails depend on (:mod:`guardian.flows.key_users`): the trails'
own keys, their log groups' keys, the CIS alarms' log group's key and the Lake stores' keys. Each must be enabled,
and its policy must let the service that writes with it use it (CloudTrail for a trail's log files or a Lake store,
CloudWatch Logs for a log group). A lost DisableKey, ScheduleKeyDeletion or PutKeyPolicy event is found here, one
sweep later at most. One DescribeKey per key, however many use it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from guardian.flows.deliver import deliver
from guardian.flows.key import locked_out, repair_key, repair_key_policy
from guardian.flows.key_users import Users, keys_in_use
from guardian.flows.observe import observed, undoing
from guardian.model.changes import Change, Effect
from guardian.model.decide import Decision
from guardian.model.findings import found_event, sweep_event
from guardian.model.results import Result, Verification
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime

    from guardian.flows.workers import Workers
    from guardian.model.config import Config
    from guardian.model.events import CloudTrailEvent
    from guardian.model.refs import KeyRef, TrailRef
    from guardian.model.results import ActionRecord
    from guardian.model.trail import TrailState
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

    Found = tuple[Change, tuple[ActionRecord, ...], int, str | None]  # the change, the calls, the checks, still wrong


def sweep_keys(
    aws: Everything,
    config: Config,
    protected: Sequence[TrailState],
    work: Workers,
    *,
    started: datetime,
    run: Invocation,
    stores: Iterable[tuple[str, str]] = (),
) -> list[tuple[str, str]]:
    """Every key the protected trails depend on (``stores``: each Lake store's ARN and baseline key), checked once
    for all its users: (key id, status)."""
    using = keys_in_use(aws, config, protected, stores)
    ordered = sorted(using.items(), key=lambda item: (item[0].region, item[0].key_id))

    def one(item: tuple[KeyRef, Users]) -> tuple[str, str]:
        key, users = item
        return key.key_id, check_key(aws, config, key, users, started=started, run=run) or "in_baseline"

    return work.map(one, ordered)


def check_key(
    aws: Everything,
    config: Config,
    key: KeyRef,
    users: Users | Sequence[TrailState],
    *,
    started: datetime,
    run: Invocation,
) -> str | None:
    """The key must be enabled, let CloudTrail encrypt for each trail (and the readers decrypt), and let each
    service that writes with it use it: repair it if not (a lost DisableKey, ScheduleKeyDeletion or PutKeyPolicy)."""
    users = users if isinstance(users, Users) else Users(trails=list(users))
    statuses = []
    with undoing(run, heal=False):  # observe: the repairs' writes are recorded, each delivery takes its own
        if users.trails:
            statuses.append(_key_policy(aws, config, users, key, started=started, run=run))
        if users.services:
            statuses.append(_service_policy(aws, config, users, key, started=started, run=run))
        if aws.key_state(key) != "Enabled":
            statuses.append(_key_state(aws, config, users, key, started=started, run=run))
    for status in ("heal_failed", "healed", "observed"):
        if status in statuses:
            return status
    return None


def _key_policy(
    aws: Everything, config: Config, users: Users, key: KeyRef, *, started: datetime, run: Invocation
) -> str | None:
    lost, unread, actions, still = repair_key_policy(aws, key, users.trails, run, config.log_readers)
    if not lost and not unread:
        return None
    reason = (
        f"the policy of key {key.key_id} {locked_out(lost, unread)}; the guardian's statements put back by the "
        "sweep, the rest of the policy left as it is: review it now"
    )
    change = Change("kms_key_policy", "CloudTrail encrypts, readers decrypt", "locked out", Effect.WEAKENED)
    failed = None if still is None and all(a.succeeded for a in actions) else (still or "PutKeyPolicy failed")
    named = Users(trails=lost or users.trails)
    return _report(
        aws, config, named, key, (change, tuple(actions), 1, failed), reason=reason, started=started, run=run
    )


def _service_policy(
    aws: Everything, config: Config, users: Users, key: KeyRef, *, started: datetime, run: Invocation
) -> str | None:
    """A log group's or Lake store's key whose policy shuts CloudWatch Logs or CloudTrail out: their statements
    put back (:mod:`guardian.model.service_key_policy`)."""
    import json  # noqa: PLC0415 - the key policy path only

    from guardian.flows.steps import run_steps  # noqa: PLC0415
    from guardian.model.service_key_policy import letting_services_use, service_can_use  # noqa: PLC0415

    def shut_out() -> list[int]:
        policy = json.loads(aws.key_policy(key))
        return [i for i, use in enumerate(users.services) if not service_can_use(policy, use)]

    policy = json.loads(aws.key_policy(key))
    lost = [use for use in users.services if not service_can_use(policy, use)]
    if not lost:
        return None
    text = json.dumps(letting_services_use(policy, lost))
    actions, _ = run_steps([("PutKeyPolicy", lambda: aws.put_key_policy(key, text))], key.region, key.key_id, run)
    still = [users.labels[i] for i in shut_out()]
    labels = [users.labels[users.services.index(use)] for use in lost]
    reason = (
        f"the policy of key {key.key_id} stopped {', '.join(sorted({u.principal for u in lost}))} using it for "
        f"{', '.join(labels)}: no event can be written there. The guardian's statements put back by the sweep, the "
        "rest of the policy left as it is: review it now"
    )
    change = Change("kms_key_policy", "the service encrypts", "locked out", Effect.WEAKENED)
    failed = f"the key still shuts out {', '.join(still)}" if still else None
    if failed is None and not all(a.succeeded for a in actions):
        failed = "PutKeyPolicy failed"
    return _report(
        aws, config, users, key, (change, tuple(actions), 1, failed), reason=reason, started=started, run=run
    )


def _key_state(
    aws: Everything, config: Config, users: Users, key: KeyRef, *, started: datetime, run: Invocation
) -> str:
    state, actions, after, checks = repair_key(aws, key, config, run)
    healed = after == "Enabled" and all(a.succeeded for a in actions)
    of = "of the trail" if not users.services else f"used by {users.describe()}"
    reason = f"healed by sweep — key {key.key_id} {of} was {state}; the change was not seen as an event"
    change = Change("kms_key_state", "Enabled", state, Effect.WEAKENED)
    failed = None if healed else f"key {key.key_id} is {after} after the restore"
    return _report(
        aws, config, users, key, (change, tuple(actions), checks, failed), reason=reason, started=started, run=run
    )


def _report(
    aws: Everything,
    config: Config,
    users: Users,
    key: KeyRef,
    found: Found,
    *,
    reason: str,
    started: datetime,
    run: Invocation,
) -> str:
    """One CRITICAL finding on the key (``found``: the change, the calls, the checks, what still failed), told of
    the first trail it serves and listing everything that uses it."""
    change, actions, checks, failed = found
    what = "key-policy" if change.field == "kms_key_policy" else "key"
    trails = users.named
    details = {"key": key.key_id, "trails": sorted(t.arn for t in trails), "changes": [change.to_json()]}
    if users.labels:
        details["used_by"] = list(users.labels)
    event: CloudTrailEvent
    ref: TrailRef | None
    if trails:
        event, ref = sweep_event(
            trails[0], account_id=config.account_id, detected_at=started, details=details, what=what
        )
    else:  # a Lake store's key, or the CIS alarms' log group's: no trail to name
        event_id = f"sweep-{started:%Y%m%dT%H%M%SZ}-{key.region}-{what}-{key.key_id}"
        event = found_event(event_id, account_id=config.account_id, region=key.region, detected_at=started, raw=details)
        ref = None
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
    result = observed(result, run)
    deliver(result, aws, config, run)
    if result.outcome is Outcome.OBSERVED:
        return "observed"
    return "healed" if failed is None else "heal_failed"
