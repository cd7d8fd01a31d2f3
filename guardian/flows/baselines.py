"""Reading and recording baselines in the evidence bucket: a trail's, and its bucket's and log group's.

Where they live and their documents are in :mod:`guardian.model.baselines`. A baseline version is written only for
a real change, with a reason that names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from guardian.model.baselines import (
    ResourceState,
    resource_document,
    resource_from_document,
    resource_key,
    trail_document,
    trail_from_document,
    trail_key,
    trail_prefix,
)
from guardian.model.bucket import BucketState
from guardian.model.results import iso
from guardian.ports.calls import BaselineStore

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from guardian.model.refs import TrailRef
    from guardian.model.rules import Subject
    from guardian.model.trail import TrailState


class Missing:
    """No baseline has been recorded for the trail yet."""


class Retired:
    """The trail's baseline records that it was deleted on purpose."""


def load(store: BaselineStore, region: str, name: str) -> TrailState | Missing | Retired:
    document = store.read_json(trail_key(region, name))
    if document is None:
        return Missing()
    state = trail_from_document(document)
    return Retired() if state is None else state


def record(
    store: BaselineStore, region: str, name: str, state: TrailState | None, *, at: datetime, by: str, reason: str
) -> str:
    """Write a new version of the trail's baseline (``state`` None retires it). Returns the key."""
    key = trail_key(region, name)
    store.write_json(key, trail_document(state, recorded_at=iso(at) or "", recorded_by=by, reason=reason))
    return key


class TrailReader(BaselineStore, Protocol):
    def trail_state(self, region: str, name: str) -> TrailState | None: ...


def approve(store: TrailReader, trail: TrailRef, *, at: datetime, by: str, reason: str) -> str:
    """Record the trail as it is now as its baseline (an exempt principal changed it: approved by definition).
    A trail that no longer exists is retired, so the sweep does not recreate it."""
    state = store.trail_state(trail.region, trail.name)
    return record(store, trail.region, trail.name, state, at=at, by=by, reason=reason)


def names_in(store: BaselineStore, region: str) -> set[str]:
    prefix = trail_prefix(region)
    return {key[len(prefix) : -len(".json")] for key in store.list_keys(prefix) if key.endswith(".json")}


# -- a trail's bucket and log group ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Guarded:
    """A bucket or log group with a baseline: what it must be, and the trails that deliver to it."""

    kind: Subject
    baseline: ResourceState
    trails: tuple[str, ...]  # ARNs of the protected trails that deliver to it
    key: str  # where the baseline is stored

    @property
    def label(self) -> str:
        state = self.baseline
        return f"bucket {state.name}" if isinstance(state, BucketState) else f"log group {state.name}"


def load_resource(store: BaselineStore, kind: Subject, name: str, region: str | None) -> Guarded | None:
    key = resource_key(kind, name, region)
    document = store.read_json(key)
    found = None if document is None else resource_from_document(kind, document)
    if found is None:
        return None
    state, trails = found
    return Guarded(kind, state, trails, key)


def record_resource(
    store: BaselineStore,
    kind: Subject,
    state: ResourceState,
    trails: Sequence[str],
    *,
    at: datetime,
    by: str,
    why: str,
) -> Guarded:
    key = resource_key(kind, state.name, state.region)
    store.write_json(key, resource_document(kind, state, trails, recorded_at=iso(at) or "", recorded_by=by, reason=why))
    return Guarded(kind, state, tuple(sorted(set(trails))), key)
