"""The floor: the least a protected trail ever gets from the guardian, whatever its baseline says.

Pure. A baseline is the trail's approved configuration, but approval has limits: the guardian never applies, and
never records as approved, a configuration below the floor:
- the trail logs;
- it records management events, read and write (classic selectors: some selector includes management events of
  each kind; advanced selectors: a selector for the ``Management`` category that does not narrow it to read-only or
  write-only events). Excluding KMS or RDS Data API events (the only sources CloudTrail lets a selector exclude)
  stays allowed.

The destination (bucket and prefix) is held by the signed baseline: only the guardian writes it, and only an
approved change moves it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from guardian.model.selectors import DEFAULT_SELECTORS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from guardian.model.trail import TrailState

FLOOR_SELECTOR: Mapping[str, Any] = {
    "Name": "cloudtrail-guardian floor: management events",
    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
}


def below_floor(state: TrailState) -> tuple[str, ...]:
    """What in ``state`` is below the floor, in words; empty if nothing is."""
    problems = []
    if not state.logging:
        problems.append("logging is off")
    if not _records_management(state):
        problems.append("management events (read and write) are not recorded")
    return tuple(problems)


def raise_to_floor(state: TrailState) -> TrailState:
    """``state`` with whatever is below the floor brought up to it; everything else (data events, exclusions,
    insights, tags, destination) unchanged."""
    raised = state if state.logging else replace(state, logging=True)
    if _records_management(raised):
        return raised
    if raised.advanced_event_selectors is not None:
        return replace(raised, advanced_event_selectors=(*raised.advanced_event_selectors, FLOOR_SELECTOR))
    return replace(raised, event_selectors=(*(raised.event_selectors or ()), *DEFAULT_SELECTORS))


def _records_management(state: TrailState) -> bool:
    if state.advanced_event_selectors is not None:
        return any(_advanced_management(s) for s in state.advanced_event_selectors)
    kinds: set[str] = set()
    for selector in state.event_selectors or DEFAULT_SELECTORS:
        if selector.get("IncludeManagementEvents", True):
            kinds |= _kinds(selector.get("ReadWriteType", "All"))
    return kinds >= {"read", "write"}


def _kinds(read_write: object) -> set[str]:
    return {"read", "write"} if read_write == "All" else {"read"} if read_write == "ReadOnly" else {"write"}


def _advanced_management(selector: Mapping[str, Any]) -> bool:
    fields: Sequence[Mapping[str, Any]] = selector.get("FieldSelectors") or ()
    category = [f for f in fields if f.get("Field") == "eventCategory"]
    management = any("Management" in (f.get("Equals") or ()) for f in category)
    narrowed = any(f.get("Field") == "readOnly" for f in fields)
    return management and not narrowed
