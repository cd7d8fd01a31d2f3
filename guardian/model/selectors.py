"""Event selectors compared by what they cover, not by how they are written.

Pure. Classic selectors: the new ones must cover at least the baseline's management read and write events, exclude
no more event sources, and keep every data resource; advanced selectors: every baseline selector must still be
present; a switch between classic and advanced selectors cannot be proven to cover as much. A trail with no
selectors logs every management event, read and write (:data:`DEFAULT_SELECTORS`), so no selectors and that one
selector compare equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardian.model.changes import Change, Effect

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# What CloudTrail does for a trail with no event selectors: all management events, read and write.
DEFAULT_SELECTORS: tuple[Mapping[str, Any], ...] = ({"ReadWriteType": "All", "IncludeManagementEvents": True},)


def compare_selectors(
    classic_before: Sequence[Mapping[str, Any]] | None,
    advanced_before: Sequence[Mapping[str, Any]] | None,
    classic_after: Sequence[Mapping[str, Any]] | None,
    advanced_after: Sequence[Mapping[str, Any]] | None,
) -> Change | None:
    """The selectors' change, if their coverage differs (classic as ``event_selectors``, advanced as
    ``advanced_event_selectors``)."""
    before_advanced, after_advanced = advanced_before, advanced_after
    if before_advanced is None and after_advanced is None:
        before = _coverage(classic_before or DEFAULT_SELECTORS)
        after = _coverage(classic_after or DEFAULT_SELECTORS)
        if before == after:
            return None
        effect = Effect.STRENGTHENED if _covers(after, before) else Effect.WEAKENED
        return Change("event_selectors", classic_before, classic_after, effect)
    if before_advanced is not None and after_advanced is not None:
        before_set, after_set = {_key(s) for s in before_advanced}, {_key(s) for s in after_advanced}
        if before_set == after_set:
            return None
        effect = Effect.STRENGTHENED if before_set <= after_set else Effect.WEAKENED
        return Change("advanced_event_selectors", before_advanced, after_advanced, effect)
    # A switch between classic and advanced selectors cannot be proven to cover as much: put the baseline back.
    if before_advanced is not None:
        return Change("advanced_event_selectors", advanced_before, advanced_after, Effect.WEAKENED)
    return Change("event_selectors", classic_before, classic_after, Effect.WEAKENED)


@dataclass(frozen=True)
class _Coverage:
    management: frozenset[str]  # "read", "write"
    excluded_sources: frozenset[str]  # excluded by every selector that includes management events
    data: frozenset[tuple[str, str, str]]  # (type, value prefix, read/write)


def _kinds(selector: Mapping[str, Any]) -> frozenset[str]:
    rw = selector.get("ReadWriteType", "All")
    return frozenset({"read", "write"} if rw == "All" else {"read"} if rw == "ReadOnly" else {"write"})


def _coverage(selectors: Sequence[Mapping[str, Any]]) -> _Coverage:
    management: set[str] = set()
    excluded: set[str] | None = None
    data: set[tuple[str, str, str]] = set()
    for selector in selectors:
        kinds = _kinds(selector)
        if selector.get("IncludeManagementEvents", True):
            management |= kinds
            sources = set(selector.get("ExcludeManagementEventSources") or ())
            excluded = sources if excluded is None else excluded & sources
        for resource in selector.get("DataResources") or ():
            for value in resource.get("Values") or ():
                data |= {(resource.get("Type", ""), value, kind) for kind in kinds}
    return _Coverage(frozenset(management), frozenset(excluded or ()), frozenset(data))


def _covers(after: _Coverage, before: _Coverage) -> bool:
    return (
        after.management >= before.management
        and after.excluded_sources <= before.excluded_sources
        and after.data >= before.data
    )


def canonical(selector: Mapping[str, Any]) -> dict[str, Any]:
    return dict(json.loads(json.dumps(selector, sort_keys=True, default=str)))


def _key(selector: Mapping[str, Any]) -> str:
    return json.dumps(selector, sort_keys=True, default=str)
