"""The signed inventory of a Region's security-routing EventBridge rules, read and verified: by the sweep before it
compares (guardian.flows.security_rules) and by the event path before it judges a call (guardian.entrypoints.watching).
A refused inventory (forged, altered, malformed, or deleted: the guardian never deletes one) is never used, not even
an older version: the caller fails closed.

A rule made since the last sweep is recorded by the event path on first sight (a PutRule or PutTargets making it
route a security source): one signed entry a rule, judged against like the inventory, folded into it by the sweep."""

from __future__ import annotations

from typing import TYPE_CHECKING

from guardian.flows.baselines import Refused, read_verified, write_signed
from guardian.model.baselines import BASELINE_SCHEMA, BaselineError
from guardian.model.security_rules import (
    SIGHTED_KIND,
    inventory_cursor,
    inventory_key,
    inventory_rules,
    sighted_document,
    sighted_key,
    sighted_prefix,
    sighted_rule,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from guardian.model.security_rules import Routed
    from guardian.ports.calls import SignedStore

DELETED = "deleted (its newest version is a delete marker; the guardian never deletes it)"
Rules = dict[tuple[str, str], "Routed"]


def load_state(store: SignedStore, region: str) -> tuple[Rules | None, Refused | None, tuple[str, str] | None]:
    """:func:`load_inventory`, and the cursor the last sweep left (where its time ran out)."""
    key = inventory_key(region)
    document, refused = read_verified(store, key)
    if refused is not None:
        return None, refused, None
    if document is None:
        versions = store.versions(key)
        return None, (Refused(key, versions[0], DELETED, None) if versions else None), None
    try:
        return inventory_rules(document, region), None, inventory_cursor(document)
    except BaselineError as exc:
        return None, Refused(key, None, str(exc), None), None


def load_inventory(store: SignedStore, region: str) -> tuple[Rules | None, Refused | None]:
    """The Region's verified inventory (None: none recorded), and why the stored one was refused, if it was: forged,
    altered, malformed, or deleted. A refused inventory is never used, not even an older version."""
    rules, refused, _ = load_state(store, region)
    return rules, refused


def recorded_rule(store: SignedStore, region: str, bus: str, name: str) -> Routed | Refused | None:
    """The event path's look-up: the rule as last recorded, the refusal (fail closed), or None (not recorded: no
    inventory yet, or a rule made since the last sweep)."""
    rules, refused = load_inventory(store, region)
    if refused is not None:
        return refused
    return None if rules is None else rules.get((bus, name))


def sighted(store: SignedStore, region: str, bus: str, name: str) -> Routed | Refused | None:
    """The rule's first-sight entry, the refusal of a stored one that does not verify, or None (none, or retired by
    the sweep that folded it into the inventory)."""
    key = sighted_key(region, bus, name)
    document, refused = read_verified(store, key)
    if refused is not None:
        return refused
    if document is None or document.get("retired"):
        return None
    try:
        return sighted_rule(document, region, key)
    except BaselineError as exc:
        return Refused(key, None, str(exc), None)


def record_sighted(store: SignedStore, region: str, rule: Routed, *, written_at: str) -> None:
    """Sign and write the rule's first-sight entry (the event path: a rule not in the inventory now routes
    security)."""
    write_signed(store, sighted_key(region, rule.bus, rule.name), sighted_document(region, rule, written_at=written_at))


def fold_sighted(
    store: SignedStore, region: str, held: Rules, out_of_time: Callable[[], bool]
) -> tuple[Rules, list[Refused]]:
    """The first-sight entries of rules the inventory does not hold yet (the sweep compares them like its own), and
    the entries that did not verify; read until ``out_of_time`` (the rest: the next sweep's)."""
    prefix = sighted_prefix(region)
    found: Rules = {}
    refused: list[Refused] = []
    for key in store.list_keys(prefix):
        bus, _, name = key.removeprefix(prefix).removesuffix(".json").rpartition("/")
        if (bus, name) in held:
            continue
        if out_of_time():
            break
        entry = sighted(store, region, bus, name)
        if isinstance(entry, Refused):
            refused.append(entry)
        elif entry is not None:
            found[(bus, name)] = entry
    return found, refused


def retire_sighted(store: SignedStore, region: str, folded: Rules, *, written_at: str) -> None:
    """Once the inventory holds them: a signed version of each entry saying so (the guardian never deletes one)."""
    for bus, name in folded:
        retired = {"schema": BASELINE_SCHEMA, "kind": SIGHTED_KIND, "retired": written_at, "region": region}
        write_signed(store, sighted_key(region, bus, name), retired)
