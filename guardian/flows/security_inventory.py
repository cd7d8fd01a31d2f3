"""The signed inventory of a Region's security-routing EventBridge rules, read and verified: by the sweep before it
compares (guardian.flows.security_rules) and by the event path before it judges a call (guardian.entrypoints.watching).
A refused inventory (forged, altered, malformed, or deleted: the guardian never deletes one) is never used, not even
an older version: the caller fails closed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from guardian.flows.baselines import Refused, read_verified
from guardian.model.baselines import BaselineError
from guardian.model.security_rules import inventory_key, inventory_rules

if TYPE_CHECKING:
    from guardian.model.security_rules import Routed
    from guardian.ports.calls import SignedStore

DELETED = "deleted (its newest version is a delete marker; the guardian never deletes it)"


def load_inventory(store: SignedStore, region: str) -> tuple[dict[tuple[str, str], Routed] | None, Refused | None]:
    """The Region's verified inventory (None: none recorded), and why the stored one was refused, if it was: forged,
    altered, malformed, or deleted. A refused inventory is never used, not even an older version."""
    key = inventory_key(region)
    document, refused = read_verified(store, key)
    if refused is not None:
        return None, refused
    if document is None:
        versions = store.versions(key)
        return None, (Refused(key, versions[0], DELETED, None) if versions else None)
    try:
        return inventory_rules(document, region), None
    except BaselineError as exc:
        return None, Refused(key, None, str(exc), None)


def recorded_rule(store: SignedStore, region: str, bus: str, name: str) -> Routed | Refused | None:
    """The event path's look-up: the rule as last recorded, the refusal (fail closed), or None (not recorded: no
    inventory yet, or a rule made since the last sweep)."""
    rules, refused = load_inventory(store, region)
    if refused is not None:
        return refused
    return None if rules is None else rules.get((bus, name))
