"""The guardian's own buckets (the evidence bucket and its access-logs bucket), held by the sweep as deployed.

Whoever replaces the evidence bucket's policy can reopen pre-claimed evidence keys, forge records and delete the
newest digests; whoever suspends versioning, shortens Object Lock's default retention, adds an expiring lifecycle
rule, removes default encryption or the public access block weakens what the evidence rests on. So each bucket's
policy, versioning, Object Lock configuration, default encryption, public access block and lifecycle rules are
recorded, signed (``baselines/guardian-buckets/<bucket>.json``), when the sweep first sees them and again after a
deployment CloudFormation confirms, like the alert path's definitions: never trusted from what an insider can
write. What differs is put back, each setting on its own (a policy that refuses the sweep's PutBucketPolicy must
not keep the versioning from being put back), with one CRITICAL alert naming the bucket and what changed; a refused
call is named in it, and the bucket then asks for a redeployment. A deleted bucket cannot be rebuilt from here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from guardian.flows.baselines import read_verified, write_signed
from guardian.flows.deliver import AlertNotPublished, deliver
from guardian.flows.steps import Step, run_steps
from guardian.model.bucket import BucketState
from guardian.model.changes import Change, Effect
from guardian.model.findings import guardian_finding
from guardian.model.results import iso
from guardian.ports.calls import Delivery, OwnBucketCalls, SignedStore

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.model.results import ActionRecord
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
PREFIX = "baselines/guardian-buckets/"
# Each setting held, and the call that puts it back (ACLs are left out: S3 disables them on new buckets).
PUT_BACK = {
    "policy": "PutBucketPolicy",
    "versioning": "PutBucketVersioning",
    "object_lock": "PutObjectLockConfiguration",
    "encryption": "PutBucketEncryption",
    "public_access_block": "PutPublicAccessBlock",
    "lifecycle_rules": "PutBucketLifecycleConfiguration",
}


class Ports(OwnBucketCalls, SignedStore, Delivery, Protocol):
    """The buckets' settings, their recorded settings, and the alert's path."""


def settings(aws: OwnBucketCalls, name: str, region: str) -> dict[str, Any] | None:
    """A bucket's held settings, canonical (as JSON compares them); None if the bucket is gone."""
    state = aws.bucket_state(name, region)
    if not state.exists:
        return None
    found = state.to_json()
    held = {field: found[field] for field in PUT_BACK if field != "object_lock"}
    return {**held, "object_lock": aws.object_lock(name, state.region)}


def check_own_buckets(
    aws: Ports, config: Config, *, started: datetime, run: Invocation, deployed_at: datetime | None
) -> list[tuple[str, str]]:
    """(what, status) for each of the guardian's buckets: in_baseline, baseline_recorded, healed, heal_failed,
    deleted."""
    return [
        check_bucket(aws, config, name, started=started, run=run, deployed_at=deployed_at)
        for name in config.alert_path.buckets
    ]


def check_bucket(
    aws: Ports, config: Config, name: str, *, started: datetime, run: Invocation, deployed_at: datetime | None
) -> tuple[str, str]:
    what, key, region = f"guardian bucket {name}", f"{PREFIX}{name}.json", config.topic_region
    stored, refused = read_verified(aws, key)
    if refused is not None:
        LOG.error("a guardian bucket's baseline failed verification", extra={"bucket": name})
    found = settings(aws, name, region)
    if found is None:
        _alert(
            aws,
            config,
            name,
            ((Change("exists", True, False, Effect.WEAKENED),), ()),
            started=started,
            run=run,
            healed=False,
        )
        return what, "deleted"
    recorded = str(stored.get("recorded_at", "")) if stored else ""
    if stored is None or (deployed_at is not None and recorded < (iso(deployed_at) or "")):
        by = "deployment" if stored is not None else "sweep"
        document = {"bucket": name, "settings": found, "recorded_at": iso(run.clock()) or "", "by": by}
        write_signed(aws, key, document)
        return what, "baseline_recorded"
    want: dict[str, Any] = dict(stored["settings"])
    differs = [field for field in PUT_BACK if field in want and want[field] != found.get(field)]
    if not differs:
        return what, "in_baseline"
    goal = BucketState.from_json({"name": name, "region": region, **want})
    actions: list[ActionRecord] = []
    for field in differs:  # each on its own: one refused call must not keep the others from being put back
        done, _ = run_steps([_put_back(aws, goal, field, want[field])], region, name, run)
        actions += done
    after = settings(aws, name, region) or {}
    healed = all(a.succeeded for a in actions) and all(after.get(f) == want[f] for f in differs)
    changes = tuple(Change(f, want[f], found.get(f), Effect.WEAKENED) for f in differs)
    _alert(aws, config, name, (changes, tuple(actions)), started=started, run=run, healed=healed)
    return what, "healed" if healed else "heal_failed"


def _put_back(aws: Ports, goal: BucketState, field: str, value: Any) -> Step:
    call = PUT_BACK[field]
    if field == "object_lock":
        return call, lambda: aws.put_object_lock(goal.name, goal.region, value)
    method = {
        "policy": aws.put_bucket_policy,
        "versioning": aws.put_bucket_versioning,
        "encryption": aws.put_bucket_encryption,
        "public_access_block": aws.put_public_access_block,
        "lifecycle_rules": aws.put_bucket_lifecycle,
    }[field]
    return call, lambda: method(goal)


def _alert(
    aws: Ports,
    config: Config,
    name: str,
    found: tuple[tuple[Change, ...], tuple[ActionRecord, ...]],
    *,
    started: datetime,
    run: Invocation,
    healed: bool,
) -> None:
    """One CRITICAL alert naming the bucket, what changed, and any call AWS refused putting it back."""
    changes, actions = found
    fields = ", ".join(c.field for c in changes)
    refusals = "; ".join(f"{a.action} refused: {a.error_code}" for a in actions if not a.succeeded)
    if any(c.field == "exists" for c in changes):
        reason = f"the guardian's bucket {name} was deleted: it cannot be rebuilt from here; redeploy the stack"
    elif healed:
        reason = f"the guardian's bucket {name} was changed ({fields}): put back by the sweep"
    else:
        reason = (
            f"the guardian's bucket {name} was changed ({fields}) and could not be put back"
            + (f" ({refusals})" if refusals else "")
            + ": its evidence and baselines are exposed; redeploy the stack"
        )
    subject = f"guardian bucket {name}"
    deliver_own_finding(aws, config, run, subject, reason=reason, found=found, healed=healed, started=started)
    LOG.error("a guardian bucket was changed", extra={"bucket": name, "healed": healed})


def deliver_own_finding(
    aws: Delivery, config: Config, run: Invocation, subject: str, *, reason: str, found: Any, healed: bool, started: Any
) -> None:
    """A finding of the sweep about the guardian's own alert path (its topic, keys, alarms, buckets), delivered. A
    refused local publish is logged, not raised: its security-account copy went out with "alert path blocked", and
    the sweep goes on to its other checks."""
    finding = guardian_finding(
        ("alert_path", subject),
        account_id=config.account_id,
        region=config.topic_region,
        detected_at=started,
        reason=reason,
        found=found,
        healed=healed,
    )
    try:
        deliver(finding, aws, config, run)
    except AlertNotPublished as exc:
        LOG.error("an alert of the alert path's check was refused", extra={"what": subject, "error": str(exc)})
