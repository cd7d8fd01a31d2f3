"""The signed inventory of a Region's security-routing EventBridge rules, read and verified: by the sweep before it
compares (guardian.flows.security_rules) and by the event path before it judges a call (guardian.entrypoints.watching).
A refused inventory (forged, altered, malformed, or deleted: the guardian never deletes one) is never used, not even
an older version: the caller fails closed.

A rule made since the last sweep is recorded by the event path on first sight (a PutRule or PutTargets making it
route a security source): one signed entry a rule, judged against like the inventory, folded into it by the sweep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guardian.flows.baselines import Refused, read_verified, write_signed
from guardian.model.baselines import BaselineError
from guardian.model.security_rules import (
    inventory_cursor,
    inventory_key,
    inventory_retired,
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
Retired = dict[str, tuple[str, str]]  # ``<bus>/<name>`` → (ETag, written_at) of the first-sight entry folded


def load_state(store: SignedStore, region: str) -> tuple[Rules | None, Refused | None, tuple[str, str] | None, Retired]:
    """:func:`load_inventory`, the cursor the last sweep left (where its time ran out), the entries it folded."""
    key = inventory_key(region)
    document, refused = read_verified(store, key)
    if refused is not None:
        return None, refused, None, {}
    if document is None:
        versions = store.versions(key)
        return None, (Refused(key, versions[0], DELETED, None) if versions else None), None, {}
    try:
        return inventory_rules(document, region), None, inventory_cursor(document), inventory_retired(document)
    except BaselineError as exc:
        return None, Refused(key, None, str(exc), None), None, {}


def load_inventory(store: SignedStore, region: str) -> tuple[Rules | None, Refused | None]:
    """The Region's verified inventory (None: none recorded), and why the stored one was refused, if it was: forged,
    altered, malformed, or deleted. A refused inventory is never used, not even an older version."""
    rules, refused, _, _ = load_state(store, region)
    return rules, refused


def recorded_rule(store: SignedStore, region: str, bus: str, name: str) -> tuple[Routed | Refused | None, str]:
    """The event path's look-up, and who recorded it: the rule's first-sight entry unless the inventory folded it,
    else the inventory's; the refusal of either (fail closed); or None (not recorded: read the rule as it is now)."""
    rules, refused, _, retired = load_state(store, region)
    if refused is not None:
        return refused, ""
    entry = sighted(store, region, bus, name)
    if isinstance(entry, Refused):
        return entry, ""
    if entry is not None and retired.get(f"{bus}/{name}", ("", ""))[1] != entry.written_at:
        return entry, "the event path" + (" on first sight" if entry.baseline is None else " after an alert")
    found = None if rules is None else rules.get((bus, name))
    return found, "the sweep"


def sighted(
    store: SignedStore, region: str, bus: str, name: str, *, document: dict[str, Any] | None = None
) -> Routed | Refused | None:
    """The rule's first-sight entry (``document``: as read already), the refusal of a stored one that does not verify,
    or None (none, or retired by an earlier version's sweep)."""
    key = sighted_key(region, bus, name)
    if document is None:
        document, refused = read_verified(store, key)
        if refused is not None:
            return refused
    if not document or document.get("retired"):
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
    store: SignedStore, region: str, held: Rules, retired: Retired, out_of_time: Callable[[], bool]
) -> tuple[Rules, list[Refused], Retired]:
    """The first-sight entries of rules the inventory does not hold yet, as the sweep compares them (their baseline);
    the entries that did not verify; every entry folded (ETag, written_at), the inventory's new ``retired``. Those
    folded already (same ETag) are skipped unread; the rest read until ``out_of_time`` (then the next sweep's)."""
    prefix = sighted_prefix(region)
    found: Rules = {}
    refused: list[Refused] = []
    folded: Retired = {}
    for key, etag in sorted(store.object_etags(prefix).items()):
        short = key.removeprefix(prefix).removesuffix(".json")
        if short in retired and retired[short][0] == etag:
            folded[short] = retired[short]
            continue
        if out_of_time():
            break
        document, bad = read_verified(store, key)
        if bad is not None:
            refused.append(bad)
            continue
        bus, _, name = short.rpartition("/")
        entry = sighted(store, region, bus, name, document=document or {})
        if isinstance(entry, Refused):
            refused.append(entry)
            continue
        folded[short] = (etag, str((document or {}).get("written_at", "")))
        if entry is not None and (bus, name) not in held:
            found[(bus, name)] = entry.baseline or entry
    return found, refused, folded
