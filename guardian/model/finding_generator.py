"""Which finding a record the guardian made itself is filed under (its ``GeneratorId``), wherever it is copied: the
sweep's batch (:mod:`guardian.flows.sweep_findings`) and the event path's copies (:mod:`guardian.flows.security_hub`:
a stack-call alert is shaped as the sweep's records are), so one change is one finding whichever path found it.

A trail's drift is filed under the row of the call that would have made it (StopLogging, DeleteTrail,
PutEventSelectors, PutInsightSelectors, else UpdateTrail), so a trail stopped, healed by the event path and re-found by
the sweep is one finding; every other such record under ``sweep/<its check>`` (the record's field that names it).
Pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from guardian.model.asff import GENERATOR_PREFIX as PREFIX
from guardian.model.refs import SWEEP_SOURCE

if TYPE_CHECKING:
    from guardian.model.results import Result

TRAIL_ROWS = (  # a trail's weakened field -> the decision-table row of the call that makes that change; first wins
    ("logging", "StopLogging"),
    ("event_selectors", "PutEventSelectors"),
    ("advanced_event_selectors", "PutEventSelectors"),
    ("insight_types", "PutInsightSelectors"),
)
NAMED = 128  # characters of a check's subject kept in its GeneratorId (ASFF: 512 at most)
NOT_A_CHECK = frozenset({"source", "detected_at", "trail"})  # a sweep record's fields that name no check


def generator(result: Result) -> str | None:
    """The finding's GeneratorId for a record the guardian made (source SWEEP_SOURCE); None for anything else
    (guardian.model.asff's own rule: the decision row or watch rule)."""
    raw = result.event.raw
    if raw.get("source") != SWEEP_SOURCE:
        return None
    if "deleted" in raw and "changes" in raw and not {"resource", "key"} & set(raw) and result.decision.trail:
        if raw.get("deleted"):
            return PREFIX + "DeleteTrail"
        changes = raw.get("changes")
        listed = changes if isinstance(changes, list) else []
        weakened = {c.get("field") for c in listed if isinstance(c, dict) and c.get("effect") == "weakened"}
        return PREFIX + next((row for name, row in TRAIL_ROWS if name in weakened), "UpdateTrail")
    check = next((str(k) for k in raw if k not in NOT_A_CHECK), "drift")
    name = raw.get(check)
    if check == "resource":  # "bucket NAME" or "log group NAME": which of the trail's resources
        check = "log-group" if str(name).startswith("log group") else "bucket"
    elif result.decision.trail is None and isinstance(name, str) and 0 < len(name) <= NAMED:
        check += "/" + name  # no trail to file it under (its resource is the account): the rule, function... named
    return PREFIX + "sweep/" + check[: NAMED * 2]
