"""The chat webhooks' secrets, held by the sweep to the version approved: whoever replaces the URL receives every
chat alert, so a swapped secret is a broken alert path.

The version approved is the webhook's ``secretVersion`` (set in the settings and deployed, so only a deployment the
team sees approves a new URL; the notifier then reads that version only), or else the first version the sweep sees
(recorded, signed, in ``baselines/webhook-secrets/<name>.json``; again after a deployment CloudFormation confirms).
A secret whose current version is another one is put back (UpdateSecretVersionStage; RestoreSecret first if it was
deleted), with one CRITICAL alert naming the secret and how to approve a new URL. Only version ids are kept: never
the URL, nor a hash of it.

A secret without the tag ``cloudtrail-guardian=<stackName>`` (the operator's own, given by ``secretArn``) is outside
the SCP, which knows the guardian's resources by that tag: noted MEDIUM, once a day (:mod:`.path_notes`), asking the
operator to tag it. Its tags come with the version (one DescribeSecret).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from guardian.flows.baselines import read_verified, write_signed
from guardian.flows.deliver import deliver
from guardian.flows.path_notes import note
from guardian.flows.steps import Step, run_steps
from guardian.model.changes import Change, Effect
from guardian.model.findings import guardian_finding
from guardian.model.results import iso
from guardian.ports.calls import Delivery, SecretCalls, SignedStore

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
PREFIX = "baselines/webhook-secrets/"
TAG = "cloudtrail-guardian"  # the SCP's DenyChangesToTheGuardiansSecrets covers only secrets carrying it


class Ports(SecretCalls, SignedStore, Delivery, Protocol):
    """The secrets' versions, their recorded versions, and the alert's path."""


def secret_name(arn: str) -> str:
    """The secret's name in its ARN (Secrets Manager appends six random characters to it)."""
    name = arn.split(":secret:", 1)[-1]
    return name[:-7] if len(name) > 7 and name[-7] == "-" else name


def check_webhook_secrets(
    aws: Ports, config: Config, *, started: datetime, run: Invocation, deployed_at: datetime | None
) -> list[tuple[str, str]]:
    """(what, status) for each webhook's secret: in_baseline, baseline_recorded, no_value, healed, heal_failed; and
    "noted" for one the SCP does not cover."""
    return [
        check
        for arn, pinned in config.alert_path.secrets.items()
        for check in check_secret(aws, config, arn, pinned, started=started, run=run, deployed_at=deployed_at)
    ]


def _untagged(
    aws: Ports, config: Config, arn: str, tags: dict[str, str], *, started: datetime, run: Invocation
) -> list[tuple[str, str]]:
    """A note when the secret lacks the guardian's tag (its stack's name), which the SCP is keyed on."""
    stack = config.stack_id.split("/")[1] if config.stack_id and config.stack_id.count("/") >= 2 else None
    if stack is None or tags.get(TAG) == stack:
        return []
    what = f"webhook secret {secret_name(arn)} outside the SCP"
    reason = (
        f"the chat webhook's secret {secret_name(arn)} does not carry the tag {TAG}={stack}, so the service control "
        "policy (DenyChangesToTheGuardiansSecrets, keyed on that tag) does not stop anyone changing it; the sweep "
        f"still holds its version. Tag it: aws secretsmanager tag-resource --secret-id {arn} --tags "
        f"Key={TAG},Value={stack} (the SCP then denies changing it, or its tags, to all but the deployers)"
    )
    change = Change(f"tag {TAG}", stack, tags.get(TAG), Effect.WEAKENED)
    return [(what, note(aws, config, run, what=what, change=change, reason=reason, started=started))]


def check_secret(
    aws: Ports,
    config: Config,
    arn: str,
    pinned: str | None,
    *,
    started: datetime,
    run: Invocation,
    deployed_at: datetime | None,
) -> list[tuple[str, str]]:
    name = secret_name(arn)
    what, key = f"webhook secret {name}", f"{PREFIX}{name.replace('/', '_')}.json"
    current, deleted, tags = aws.secret_state(arn)
    noted = _untagged(aws, config, arn, tags, started=started, run=run)
    stored, _ = (None, None) if pinned else read_verified(aws, key)
    recorded = str(stored.get("recorded_at", "")) if stored else ""
    redeployed = deployed_at is not None and recorded < (iso(deployed_at) or "")
    if pinned is None and current is not None and not deleted and (stored is None or redeployed):
        by = "deployment" if stored is not None else "sweep"
        write_signed(aws, key, {"secret": arn, "version": current, "recorded_at": iso(run.clock()) or "", "by": by})
        return [(what, "baseline_recorded"), *noted]
    approved = pinned or (str(stored["version"]) if stored else None)
    if approved is None:
        return [(what, "no_value"), *noted]  # nothing put in it yet: the notifier cannot post, and its alarm says so
    if current == approved and not deleted:
        return [(what, "in_baseline"), *noted]
    steps: list[Step] = []
    if deleted:
        steps.append(("RestoreSecret", lambda: aws.restore_secret(arn)))
    if current != approved:
        steps.append(("UpdateSecretVersionStage", lambda: aws.set_current_version(arn, approved, current)))
    actions, _ = run_steps(steps, arn.split(":")[3], name, run)
    after, gone = aws.secret_version(arn)
    healed = all(a.succeeded for a in actions) and after == approved and not gone
    changes = [Change("version", approved, current, Effect.WEAKENED)] if current != approved else []
    changes += [Change("deleted", False, True, Effect.WEAKENED)] if deleted else []
    reason = (
        f"the chat webhook's secret {name} holds a version the guardian did not approve ({current or 'none'}, "
        f"approved: {approved}): whoever wrote it receives every chat alert. "
        + ("Put back by the sweep" if healed else "It could not be put back: the notifier posts to it")
        + ". To approve a new URL on purpose: put it in the secret, then set the webhook's secretVersion to the new "
        "version's id and deploy"
    )
    finding = guardian_finding(
        ("alert_path", what),
        account_id=config.account_id,
        region=config.topic_region,
        detected_at=started,
        reason=reason,
        found=(tuple(changes), tuple(actions)),
        healed=healed,
    )
    deliver(finding, aws, config, run)
    LOG.error("a webhook's secret changed", extra={"secret": name, "healed": healed})
    return [(what, "healed" if healed else "heal_failed"), *noted]
