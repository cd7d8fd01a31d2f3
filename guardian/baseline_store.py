"""Reading and recording baselines in the evidence bucket (``baselines/<region>/<trail>.json``, versioned).

A baseline whose ``trail`` is null is retired: the trail was deleted by an exempt principal, on purpose, and the
sweep does not bring it back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from guardian.baseline import PREFIX, TrailState, baseline_document, baseline_key, state_from_document
from guardian.events import TrailRef
from guardian.results import iso


class Store(Protocol):
    def read_json(self, key: str) -> dict[str, Any] | None: ...
    def write_json(self, key: str, document: dict[str, Any]) -> None: ...
    def list_keys(self, prefix: str) -> list[str]: ...


class Missing:
    """No baseline has been recorded for the trail yet."""


class Retired:
    """The trail's baseline records that it was deleted on purpose."""


def load(store: Store, region: str, name: str) -> TrailState | Missing | Retired:
    document = store.read_json(baseline_key(region, name))
    if document is None:
        return Missing()
    if document.get("trail") is None:
        return Retired()
    return state_from_document(document)


def record(
    store: Store, region: str, name: str, state: TrailState | None, *, at: datetime, by: str, reason: str
) -> str:
    """Write a new version of the trail's baseline (``state`` None retires it). Returns the key."""
    key = baseline_key(region, name)
    if state is None:
        document: dict[str, Any] = {
            **baseline_document_for_retired(),
            "recorded_at": iso(at),
            "recorded_by": by,
            "reason": reason,
        }
    else:
        document = baseline_document(state, recorded_at=iso(at) or "", recorded_by=by, reason=reason)
    store.write_json(key, document)
    return key


def baseline_document_for_retired() -> dict[str, Any]:
    from guardian.baseline import BASELINE_SCHEMA, BASELINE_SCHEMA_VERSION  # noqa: PLC0415

    return {"schema": BASELINE_SCHEMA, "schema_version": BASELINE_SCHEMA_VERSION, "trail": None}


class TrailReader(Store, Protocol):
    def trail_state(self, region: str, name: str) -> TrailState | None: ...


def approve(store: TrailReader, trail: TrailRef, *, at: datetime, by: str, reason: str) -> str:
    """Record the trail as it is now as its baseline (an exempt principal changed it: approved by definition).
    A trail that no longer exists is retired, so the sweep does not recreate it."""
    state = store.trail_state(trail.region, trail.name)
    return record(store, trail.region, trail.name, state, at=at, by=by, reason=reason)


def names_in(store: Store, region: str) -> set[str]:
    prefix = f"{PREFIX}/{region}/"
    return {key[len(prefix) : -len(".json")] for key in store.list_keys(prefix) if key.endswith(".json")}
