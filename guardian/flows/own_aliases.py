"""The guardian's KMS aliases (``alias/<stackName>-...``: its alerts key's, its signing key's, each forwarder's),
held to what was deployed: an alias pointed at another key, or deleted, is put back (UpdateAlias, CreateAlias) and
alerted CRITICAL; what cannot be put back asks for a redeployment and fails the run.

One ListAliases per Region (the home Region, and every forwarder's). The baseline
(``baselines/guardian-aliases.json``, signed) is recorded when first seen and after a deployment CloudFormation
confirms (:func:`guardian.flows.own_functions.confirmed_deployment`). An alias under the prefix that was not there
then is not the stack's (another stack's name may begin with this one's): it is left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Protocol

from guardian.flows.baselines import read_verified, write_signed
from guardian.flows.own_buckets import deliver_own_finding
from guardian.flows.steps import run_steps
from guardian.model.baselines import ALIASES_KEY, aliases_document
from guardian.model.changes import Change, Effect
from guardian.model.results import iso
from guardian.ports.calls import AliasCalls, Delivery, SignedStore

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


class Ports(AliasCalls, SignedStore, Delivery, Protocol):
    """The aliases, their recorded targets, the alert's path."""


@dataclass(frozen=True)
class AliasCheck:
    what: str  # "aliases" (the baseline), or an alias ("<Region>:" before it outside the home Region)
    status: str  # in_baseline, baseline_recorded, healed, heal_failed


def alias_prefix(config: Config) -> str | None:
    """``alias/<stackName>-``, the stack's name read from its id; None when the sweep is not told its stack."""
    if config.stack_id is None or ":stack/" not in config.stack_id:
        return None
    return f"alias/{config.stack_id.split(':stack/', 1)[1].split('/', 1)[0]}-"


def alias_regions(config: Config) -> tuple[str, ...]:
    """The home Region, and every other swept Region when the stack has forwarders there."""
    home = config.topic_region
    others = [r for r in config.sweep_regions if r != home] if config.forwarder_rules else []
    return (home, *others)


def check_own_aliases(
    aws: Ports, config: Config, *, started: datetime, run: Invocation, deployed_at: datetime | None
) -> tuple[AliasCheck, ...]:
    prefix = alias_prefix(config)
    if prefix is None:
        return ()
    live = {region: aws.key_aliases(region, prefix) for region in alias_regions(config)}
    stored, _ = read_verified(aws, ALIASES_KEY)
    recorded = str(stored.get("recorded_at", "")) if stored else ""
    if stored is None or (deployed_at is not None and recorded < (iso(deployed_at) or "")):
        by = "deployment" if stored is not None else "sweep"
        write_signed(aws, ALIASES_KEY, aliases_document(live, recorded_at=iso(run.clock()) or "", by=by))
        return (AliasCheck("aliases", "baseline_recorded"),)
    checks = []
    for region, names in dict(stored["aliases"]).items():
        have = live.get(region)
        if have is None:  # a Region no longer swept: a deployment re-records
            continue
        for alias, key_id in sorted(dict(names).items()):
            what = alias if region == config.topic_region else f"{region}:{alias}"
            if have.get(alias) == key_id:
                checks.append(AliasCheck(what, "in_baseline"))
                continue
            checks.append(_put_back(aws, config, region, (alias, key_id), have.get(alias), started=started, run=run))
    return tuple(checks)


def _put_back(
    aws: Ports,
    config: Config,
    region: str,
    wanted: tuple[str, str],
    found: str | None,
    *,
    started: datetime,
    run: Invocation,
) -> AliasCheck:
    alias, key_id = wanted
    what = alias if region == config.topic_region else f"{region}:{alias}"
    exists = found is not None
    step = ("UpdateAlias" if exists else "CreateAlias", partial(aws.point_alias, region, alias, key_id, exists=exists))
    actions, _ = run_steps([step], region, alias, run)
    healed = all(a.succeeded for a in actions)
    change = (
        Change("target_key", key_id, found, Effect.WEAKENED)
        if exists
        else Change("exists", True, False, Effect.WEAKENED)
    )
    moved = f"pointed at another key ({found})" if exists else "deleted"
    reason = (
        f"the guardian's key alias {alias} in {region} was {moved}: put back on key {key_id} by the sweep"
        if healed
        else f"the guardian's key alias {alias} in {region} was {moved} and could not be put back from here: redeploy "
        "the stack"
    )
    deliver_own_finding(
        aws,
        config,
        run,
        f"key alias {what}",
        reason=reason,
        found=((change,), tuple(actions)),
        healed=healed,
        started=started,
    )
    LOG.error("the guardian's key alias changed", extra={"alias": alias, "region": region, "healed": healed})
    return AliasCheck(what, "healed" if healed else "heal_failed")
