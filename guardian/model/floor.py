"""The floor: the least a protected trail ever gets from the guardian, whatever its baseline says.

Pure. A baseline is the trail's approved configuration, but approval has limits: the guardian never applies, and
never records as approved, a configuration below the floor:
- the trail logs;
- it records management events, read and write (classic selectors: some selector includes management events of
  each kind; advanced selectors: a selector for the ``Management`` category that does not narrow it to read-only or
  write-only events). Excluding KMS or RDS Data API events (the only sources CloudTrail lets a selector exclude)
  stays allowed.

The guardian's own sentinel trail has a lower floor: management **write** events. It exists to keep "AWS API Call
via CloudTrail" events flowing to EventBridge while some trail logs, and every event the guardian acts on is a write
(StopLogging, DeleteTrail, PutBucketPolicy, ...): EventBridge matches read-only management events only on rules in
the state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, and the guardian has none. Read events in a second copy
would be a paid copy of every Describe, Get and List call (``sentinelReadEvents`` records them all the same).
It is known by :class:`Sentinel`: the name in the function's configuration (which only the stack writes), in the
guardian's home Region, in its own account. A trail name is unique in an account and Region, so an insider's trail
can carry it only where the sentinel is not: another Region (not the home one: not the sentinel) or after deleting
the sentinel, which the guardian alerts and heals; and a trail under the sentinel's name gets no more than the
sentinel's floor, write events, the very events the sentinel is there for. Other trails keep read and write.

The destination (bucket and prefix) is held by the signed baseline: only the guardian writes it, and only an
approved change moves it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from guardian.model.selectors import DEFAULT_SELECTORS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from guardian.model.trail import TrailState

FLOOR_SELECTOR: Mapping[str, Any] = {
    "Name": "cloudtrail-guardian floor: management events",
    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
}
SENTINEL_FLOOR_SELECTOR: Mapping[str, Any] = {
    "Name": "cloudtrail-guardian floor: management write events",
    "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]},
        {"Field": "readOnly", "Equals": ["false"]},
    ],
}
SENTINEL_SELECTORS: tuple[Mapping[str, Any], ...] = ({"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True},)
BOTH = frozenset({"read", "write"})
WRITE = frozenset({"write"})


@dataclass(frozen=True)
class Sentinel:
    """The guardian's own sentinel trail: its name, the guardian's home Region, its account (None: not checked)."""

    name: str
    region: str
    account_id: str | None = None

    def holds(self, state: TrailState) -> bool:
        """Whether ``state`` is the sentinel: its name, its home Region, not an organization trail, and (when the
        account is known) an ARN of this account."""
        if state.name != self.name or state.home_region != self.region or state.organization:
            return False
        parts = state.arn.split(":")
        return self.account_id is None or (len(parts) > 4 and parts[4] == self.account_id)


def sentinel(name: str | None, region: str | None, account_id: str | None = None) -> Sentinel | None:
    """The sentinel as the function's configuration names it; None when the deployment has none."""
    return Sentinel(name, region, account_id) if name and region else None


def below_floor(state: TrailState, sentinel: Sentinel | None = None) -> tuple[str, ...]:
    """What in ``state`` is below the floor, in words; empty if nothing is. ``sentinel``: the guardian's own, whose
    floor is management write events."""
    problems = []
    if not state.logging:
        problems.append("logging is off")
    if not _records_management(state, _wanted(state, sentinel)):
        what = "write" if _wanted(state, sentinel) == WRITE else "read and write"
        problems.append(f"management events ({what}) are not recorded")
    return tuple(problems)


def raise_to_floor(state: TrailState, sentinel: Sentinel | None = None) -> TrailState:
    """``state`` with whatever is below the floor brought up to it; everything else (data events, exclusions,
    insights, tags, destination) unchanged."""
    raised = state if state.logging else replace(state, logging=True)
    wanted = _wanted(state, sentinel)
    if _records_management(raised, wanted):
        return raised
    writes = wanted == WRITE
    if raised.advanced_event_selectors is not None:
        added = SENTINEL_FLOOR_SELECTOR if writes else FLOOR_SELECTOR
        return replace(raised, advanced_event_selectors=(*raised.advanced_event_selectors, added))
    classic = SENTINEL_SELECTORS if writes else DEFAULT_SELECTORS
    return replace(raised, event_selectors=(*(raised.event_selectors or ()), *classic))


def _wanted(state: TrailState, sentinel: Sentinel | None) -> frozenset[str]:
    return WRITE if sentinel is not None and sentinel.holds(state) else BOTH


def _records_management(state: TrailState, wanted: frozenset[str]) -> bool:
    if state.advanced_event_selectors is not None:
        kinds: set[str] = set()
        for selector in state.advanced_event_selectors:
            kinds |= _advanced_management(selector)
        return kinds >= wanted
    kinds = set()
    for selector in state.event_selectors or DEFAULT_SELECTORS:
        if selector.get("IncludeManagementEvents", True):
            kinds |= _kinds(selector.get("ReadWriteType", "All"))
    return kinds >= wanted


def _kinds(read_write: object) -> set[str]:
    return {"read", "write"} if read_write == "All" else {"read"} if read_write == "ReadOnly" else {"write"}


def _advanced_management(selector: Mapping[str, Any]) -> set[str]:
    """The kinds of management events an advanced selector records: both unless narrowed by ``readOnly``."""
    fields: Sequence[Mapping[str, Any]] = selector.get("FieldSelectors") or ()
    category = [f for f in fields if f.get("Field") == "eventCategory"]
    if not any("Management" in (f.get("Equals") or ()) for f in category):
        return set()
    narrowed = [f for f in fields if f.get("Field") == "readOnly"]
    if not narrowed:
        return {"read", "write"}
    if any(set(f) - {"Field", "Equals"} for f in narrowed):  # NotEquals and the like: not judged, not counted
        return set()
    values = {str(v).lower() for f in narrowed for v in (f.get("Equals") or ())}
    return {"read" for v in values if v == "true"} | {"write" for v in values if v == "false"}
