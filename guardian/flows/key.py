"""A trail's KMS key, put back: enabled again, its deletion cancelled, CloudTrail's use of it restored. Only for
keys that protect a trail.

A key that protects no trail with a baseline is none of the guardian's business: ignored, no alert. A changed key
policy is alerted CRITICAL; a whole policy is never put back (a wrong one could lock the account out of its key), but
one that stops CloudTrail encrypting the trail's log files gets CloudTrail's statement back, and nothing else
(:mod:`guardian.model.key_policy`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from guardian.flows import baselines
from guardian.flows.steps import Step, poll, repaired, run_steps
from guardian.model.changes import Change, Effect
from guardian.model.refs import KeyRef, TrailRef
from guardian.model.results import ActionRecord, Result
from guardian.model.rules import Outcome, Severity
from guardian.model.trail import TrailState
from guardian.ports.calls import Everything, HealPath, KeyCalls, SignedStore
from guardian.ports.flow import Scope

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.ports.invocation import Invocation


class Ports(KeyCalls, SignedStore, Protocol):
    """A key's repair: the key's calls, and the baselines that say which trails it encrypts."""


def scope(event: CloudTrailEvent, decision: Decision, aws: Everything) -> Scope | None:
    """A key is the guardian's business only while it encrypts a trail with a baseline: the decision then names
    the first such trail."""
    key = event.key
    trails = trails_protected_by(aws, key) if key else []
    if key is None or not trails:
        return None
    first = trails[0]
    ref = TrailRef(first.name, first.home_region, key.account_id, first.arn, first.arn)
    return Scope(replace(decision, trail=ref), tuple(trails))


def heal(
    event: CloudTrailEvent, decision: Decision, aws: HealPath, config: Config, run: Invocation, *, scope: Scope | None
) -> Result:
    assert scope is not None
    assert isinstance(scope.found, tuple)
    return restore_key(event, decision, aws.full(), config, run, trails=list(scope.found))


def approve(
    event: CloudTrailEvent, decision: Decision, aws: Everything, run: Invocation, scope: Scope | None
) -> str | None:
    """A key has no baseline of its own: an exempt change to it is alerted, and nothing is recorded."""
    return None


def trails_protected_by(aws: SignedStore, key: KeyRef) -> list[TrailState]:
    """Trails homed in the key's Region whose baseline names this key (a trail's key lives in its home Region)."""
    found = []
    for name in sorted(baselines.names_in(aws, key.region)):
        stored = baselines.load(aws, key.region, name)
        if isinstance(stored, TrailState) and stored.kms_key_id and stored.kms_key_id.rsplit("/", 1)[-1] == key.key_id:
            found.append(stored)
    return found


def restore_key(
    event: CloudTrailEvent,
    decision: Decision,
    aws: KeyCalls,
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
        lost, unread, actions, still = repair_key_policy(aws, key, trails, run, config.log_readers)
        if not lost and not unread:
            why = (
                f"the policy of key {key.key_id}, which encrypts trail(s) {names}, was replaced; CloudTrail can still "
                "use it: review it now (the account's security readers can still decrypt with it; the guardian never "
                "puts a whole key policy back)"
            )
            return Result(event, replace(decision, reason=why), Outcome.ALERTED, Severity.CRITICAL)
        return repaired(
            event,
            decision,
            why=f"the new policy of key {key.key_id} {locked_out(lost, unread)}; the guardian's statements put back, "
            "the rest of the policy left as it is: review it now",
            actions=actions,
            checks=1,
            change=Change("kms_key_policy", "CloudTrail encrypts, readers decrypt", "locked out", Effect.WEAKENED),
            still=still,
            run=run,
        )
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


def repair_key(aws: KeyCalls, key: KeyRef, config: Config, run: Invocation) -> tuple[str, list[ActionRecord], str, int]:
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


def repair_key_policy(
    aws: KeyCalls, key: KeyRef, trails: list[TrailState], run: Invocation, readers: tuple[str, ...] = ()
) -> tuple[list[TrailState], list[str], list[ActionRecord], str | None]:
    """The trails whose log files CloudTrail can no longer encrypt with the key, the security readers (the account
    root, ``readers``) who can no longer decrypt, the calls that let them again (only the guardian's statements
    added, the Denies that stop them removed), and what is still wrong after them."""
    import json  # noqa: PLC0415 - the key policy path only

    from guardian.model.key_policy import (  # noqa: PLC0415
        cloudtrail_can_encrypt,
        letting_cloudtrail_encrypt,
        letting_readers_decrypt,
    )
    from guardian.model.log_access import LogAccess, readers_who_cannot_decrypt  # noqa: PLC0415

    arns = [t.arn for t in trails]
    partition = arns[0].split(":")[1] if arns else "aws"
    access = LogAccess(key.account_id, tuple(arns), readers, partition)
    key_arn = f"arn:{partition}:kms:{key.region}:{key.account_id}:key/{key.key_id}"

    def broken(policy: dict[str, object]) -> tuple[list[TrailState], list[str]]:
        cannot = [t for t in trails if not cloudtrail_can_encrypt(policy, t.arn, key.account_id)]
        return cannot, readers_who_cannot_decrypt(policy, key_arn, arns, access) if key.account_id else []

    policy = json.loads(aws.key_policy(key))
    lost, unread = broken(policy)
    if not lost and not unread:
        return [], [], [], None
    fixed = letting_cloudtrail_encrypt(policy, [t.arn for t in lost], key.account_id) if lost else policy
    fixed = letting_readers_decrypt(fixed, key_arn, arns, access) if unread else fixed
    text = json.dumps(fixed)
    actions, _ = run_steps([("PutKeyPolicy", lambda: aws.put_key_policy(key, text))], key.region, key.key_id, run)
    still_lost, still_unread = broken(json.loads(aws.key_policy(key)))
    still = []
    if still_lost:
        still.append(f"CloudTrail still cannot use key {key.key_id} for {', '.join(t.name for t in still_lost)}")
    if still_unread:
        still.append(f"{', '.join(still_unread)} still cannot decrypt with key {key.key_id}")
    return lost, unread, actions, ("; ".join(still) or None)


def locked_out(lost: list[TrailState], unread: list[str]) -> str:
    """What a key policy took away, in words."""
    found = []
    if lost:
        names = ", ".join(t.name for t in lost)
        found.append(f"stopped CloudTrail encrypting the log files of trail(s) {names}: no log file could be delivered")
    if unread:
        found.append(
            f"stopped {', '.join(unread)} decrypting the trail's log files: the security team cannot read them"
        )
    return "; and ".join(found)


def key_of(trail: TrailState, account_id: str | None) -> KeyRef | None:
    """The key a trail's baseline names, as a KeyRef (a trail's key lives in its home Region)."""
    if not trail.kms_key_id:
        return None
    return KeyRef(key_id=trail.kms_key_id.rsplit("/", 1)[-1], region=trail.home_region, account_id=account_id)
