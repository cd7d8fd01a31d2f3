"""The sweep's check of CloudTrail Lake: every event data store of the account, in every Region it sweeps, held to
its signed baseline (:func:`guardian.flows.lake.hold_settings`): a retention cut to 7 days, termination protection
turned off or selectors changed while no event reached the guardian is put back, with one HIGH alert.

Each store's baseline key (``KmsKeyId``) is handed on to the sweep's key checks (:mod:`guardian.flows.key_checks`),
which keep it enabled and usable by CloudTrail: a disabled store key stops ingestion and every query.

Run only where the deployment says Lake is checked (``GUARDIAN_LAKE``, set by the stack): the local simulation's
moto has no CloudTrail Lake.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from guardian.flows.baselines import read_verified
from guardian.flows.deliver import deliver
from guardian.flows.lake import hold_settings
from guardian.flows.observe import observed, undoing
from guardian.flows.sweep_checks import ResourceCheck
from guardian.model.decide import Decision
from guardian.model.findings import found_event
from guardian.model.lake import store_key
from guardian.model.refs import ResourceRef
from guardian.model.results import Result, Verification
from guardian.model.rules import RULES, Action, Outcome, Severity

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from guardian.model.changes import Change
    from guardian.model.config import Config
    from guardian.model.results import ActionRecord
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
KIND = "event_data_store"


@dataclass(frozen=True)
class StoreCheck(ResourceCheck):
    key: str | None = None  # the KMS key its signed baseline names, if any


def sweep_lake(aws: Everything, config: Config, *, started: datetime, run: Invocation) -> tuple[ResourceCheck, ...]:
    checks = []
    for region in config.sweep_regions:
        for arn in aws.data_stores(region):
            store = ResourceRef(KIND, arn, region, config.account_id)
            with undoing(run, heal=False):  # observe: the store's writes are recorded, not made
                status, changes, actions = hold_settings(aws, store, run, by="sweep")
            if status in ("healed", "heal_failed", "strengthened"):
                status = _alert(aws, config, store, status, (changes, actions), started=started, run=run)
            key = None
            if status not in ("missing", "pending_deletion"):  # the key the baseline holds (one more read)
                document, _ = read_verified(aws, store_key(region, arn))
                key = (document or {}).get("settings", {}).get("KmsKeyId")
            checks.append(StoreCheck(KIND, arn, status, changes, key if isinstance(key, str) else None))
    return tuple(checks)


def store_keys(checks: Iterable[ResourceCheck] | None) -> list[tuple[str, str]]:
    """(store ARN, KMS key) of each store whose baseline names a key: for the sweep's key checks."""
    return [(c.name, c.key) for c in checks or () if isinstance(c, StoreCheck) and c.key]


def _alert(
    aws: Everything,
    config: Config,
    store: ResourceRef,
    status: str,
    found: tuple[tuple[Change, ...], list[ActionRecord]],
    *,
    started: datetime,
    run: Invocation,
) -> str:
    """Alert the store's drift: its status, or ``observed`` (observe mode: nothing was put back)."""
    changes, actions = found
    fields = ", ".join(c.field for c in changes)
    reason, outcome, severity = {
        "healed": (f"its settings were weakened ({fields}): put back by the sweep", Outcome.HEALED, Severity.HIGH),
        "heal_failed": (f"its settings were weakened ({fields}) and could not be put back", Outcome.HEAL_FAILED,
                        Severity.CRITICAL),
        "strengthened": (f"its settings were strengthened ({fields}): now its baseline", Outcome.ALERTED,
                         Severity.LOW),
    }[status]  # fmt: skip
    store_id = store.name.rsplit("/", 1)[-1]
    event = found_event(
        f"sweep-{started:%Y%m%dT%H%M%SZ}-{store.region}-lake-{store_id}",
        account_id=config.account_id,
        region=store.region or config.topic_region,
        detected_at=started,
        raw={"eventDataStore": store.name},
    )
    rule = RULES["UpdateEventDataStore"]
    decision = Decision(Action.HEAL, outcome, severity, f"event data store {store.name}: {reason}", rule)
    result = Result(
        event,
        decision,
        outcome,
        severity,
        tuple(actions),
        Verification(is_logging=None, checks=1, checked_at=run.clock()),
        changes=changes,
        diagnosis=None if outcome is not Outcome.HEAL_FAILED else "the store still differs from its baseline",
    )
    result = observed(result, run)
    deliver(result, aws, config, run)
    LOG.warning("an event data store drifted", extra={"store": store.name, "status": status})
    return "observed" if result.outcome is Outcome.OBSERVED else status
