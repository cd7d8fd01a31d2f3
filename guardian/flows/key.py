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
        lost, actions, still = repair_key_policy(aws, key, trails, run)
        if not lost:
            why = (
                f"the policy of key {key.key_id}, which encrypts trail(s) {names}, was replaced; CloudTrail can still "
                "use it: review it now (the guardian never puts a whole key policy back)"
            )
            return Result(event, replace(decision, reason=why), Outcome.ALERTED, Severity.CRITICAL)
        return repaired(
            event,
            decision,
            why=f"the new policy of key {key.key_id} stopped CloudTrail encrypting the log files of trail(s) "
            f"{', '.join(t.name for t in lost)}: no log file could be delivered; CloudTrail's statement put back, the "
            "rest of the policy left as it is: review it now",
            actions=actions,
            checks=1,
            change=Change("kms_key_policy", "CloudTrail may encrypt", "CloudTrail locked out", Effect.WEAKENED),
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
    aws: KeyCalls, key: KeyRef, trails: list[TrailState], run: Invocation
) -> tuple[list[TrailState], list[ActionRecord], str | None]:
    """The trails whose log files CloudTrail can no longer encrypt with the key, the calls that let it again (only
    CloudTrail's statement added, the Denies that stop it removed), and what is still wrong after them."""
    import json  # noqa: PLC0415 - the key policy path only

    from guardian.model.key_policy import cloudtrail_can_encrypt, letting_cloudtrail_encrypt  # noqa: PLC0415

    policy = json.loads(aws.key_policy(key))
    lost = [t for t in trails if not cloudtrail_can_encrypt(policy, t.arn, key.account_id)]
    if not lost:
        return [], [], None
    fixed = json.dumps(letting_cloudtrail_encrypt(policy, [t.arn for t in lost], key.account_id))
    actions, _ = run_steps([("PutKeyPolicy", lambda: aws.put_key_policy(key, fixed))], key.region, key.key_id, run)
    after = json.loads(aws.key_policy(key))
    still = [t.name for t in lost if not cloudtrail_can_encrypt(after, t.arn, key.account_id)]
    return lost, actions, (f"CloudTrail still cannot use key {key.key_id} for {', '.join(still)}" if still else None)


def key_of(trail: TrailState, account_id: str | None) -> KeyRef | None:
    """The key a trail's baseline names, as a KeyRef (a trail's key lives in its home Region)."""
    if not trail.kms_key_id:
        return None
    return KeyRef(key_id=trail.kms_key_id.rsplit("/", 1)[-1], region=trail.home_region, account_id=account_id)
