"""Reading and recording baselines in the evidence bucket: a trail's, its bucket's and log group's, the guardian's own
rules'. Where they live and their documents are in :mod:`guardian.model.baselines`.

Every baseline is signed when the guardian writes it and verified when read (:mod:`guardian.model.signing`): a
version that fails (written by anyone else, changed, copied from another key, not JSON) is never used. The newest
version that verifies is, and the refusal is reported so the caller alerts CRITICAL. A trail's baseline is also
held to the floor (:mod:`guardian.model.floor`), when read and when recorded. A version is written only for a real
change, with a reason that names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from guardian.model import signing
from guardian.model.baseline_index import IndexEntry, index_document, index_entries, index_key
from guardian.model.baselines import (
    BaselineError,
    ResourceState,
    pending_of,
    resource_document,
    resource_from_document,
    resource_key,
    trail_document,
    trail_from_document,
    trail_key,
    trail_prefix,
)
from guardian.model.bucket import BucketState
from guardian.model.floor import Sentinel, below_floor, raise_to_floor
from guardian.model.results import iso

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from guardian.model.approvals import Pending
    from guardian.model.rules import Subject
    from guardian.model.trail import TrailState
    from guardian.ports.calls import SignedStore


class Missing:
    """No baseline has been recorded for the trail yet."""


class Retired:
    """The trail's baseline records that it was deleted on purpose."""


class Refused(NamedTuple):
    """The newest version of a baseline failed verification and was not used."""

    key: str
    version: str | None
    problem: str
    fallback: dict[str, Any] | None  # the newest version that verified, if any


# -- signed documents --------------------------------------------------------------------------------------------


def write_signed(store: SignedStore, key: str, document: dict[str, Any]) -> None:
    """Sign ``document`` for ``key`` with the guardian's key and write it as the key's newest version."""
    signature = store.sign(signing.digest(key, document))
    assert store.signing_key is not None  # sign() raised otherwise
    store.write_json(key, signing.signed(document, key_id=store.signing_key, signature=signature))


def read_verified(store: SignedStore, key: str) -> tuple[dict[str, Any] | None, Refused | None]:
    """The newest version of ``key`` that verifies (None if there is none), and why the newest was refused. One
    read when the newest verifies; older versions are read only when it does not."""
    newest, problem = _checked(store, key, None)
    if problem is None:
        return newest, None
    versions = store.versions(key)
    refused_version = versions[0] if versions else None
    for version in versions[1:]:
        document, older_problem = _checked(store, key, version)
        if document is not None and older_problem is None:
            return document, Refused(key, refused_version, problem, document)
    return None, Refused(key, refused_version, problem, None)


def _checked(store: SignedStore, key: str, version: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """(the document, None) if it verifies or does not exist; (whatever was read, the problem) if it does not."""
    try:
        document = store.read_json(key, version)
    except ValueError as exc:
        return None, f"not a JSON object ({exc})"
    if document is None:
        return None, None
    try:
        signing.verify(key, document, store.public_key(), key_id=store.signing_key or "")
    except signing.SignatureError as exc:
        return document, str(exc)
    return document, None


# -- a trail's baseline ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A trail's baseline as the guardian will hold the trail to it, and what was wrong with what was stored."""

    state: TrailState | Missing | Retired
    refused: Refused | None = None  # the newest version failed verification (alert CRITICAL)
    below_floor: tuple[str, ...] = ()  # the verified baseline was below the floor, and was raised to it
    pending: Pending | None = None  # an exempt change waiting for CloudTrail's confirmation
    document: Mapping[str, Any] | None = None  # the newest version, verified and usable: what the index keeps


def load_checked(
    store: SignedStore,
    region: str,
    name: str,
    *,
    indexed: Mapping[str, Any] | None = None,
    sentinel: Sentinel | None = None,
) -> Checked:
    """The trail's baseline; ``indexed``, the newest version as the Region's verified index holds it (no read);
    ``sentinel``, the guardian's own (its floor is lower: :mod:`guardian.model.floor`)."""
    document, refused = (dict(indexed), None) if indexed is not None else read_verified(store, trail_key(region, name))
    if document is None:
        return Checked(Missing(), refused)
    try:
        state = trail_from_document(document)
    except BaselineError as exc:
        return Checked(Missing(), Refused(trail_key(region, name), None, str(exc), None))
    pending = pending_of(document)
    newest = document if refused is None else None
    if state is None:
        return Checked(Retired(), refused, pending=pending, document=newest)
    return Checked(raise_to_floor(state, sentinel), refused, below_floor(state, sentinel), pending, newest)


def load(
    store: SignedStore, region: str, name: str, *, sentinel: Sentinel | None = None
) -> TrailState | Missing | Retired:
    return load_checked(store, region, name, sentinel=sentinel).state


def record(
    store: SignedStore,
    region: str,
    name: str,
    state: TrailState | None,
    *,
    at: datetime,
    by: str,
    reason: str,
    pending: Pending | None = None,
    sentinel: Sentinel | None = None,
) -> str:
    """Write a new, signed version of the trail's baseline (``state`` None retires it), never below the floor.
    Returns the key."""
    key = trail_key(region, name)
    held = None if state is None else raise_to_floor(state, sentinel)
    document = trail_document(held, recorded_at=iso(at) or "", recorded_by=by, reason=reason, pending=pending)
    write_signed(store, key, document)
    return key


def request_approval(store: SignedStore, region: str, name: str, pending: Pending, *, at: datetime) -> str | None:
    """Mark the trail's baseline as waiting for CloudTrail to confirm an exempt change (the baseline itself stays as
    it is, verified and not raised: which floor holds is the sweep's to say, it knows the sentinel). None if the trail
    has no usable baseline yet: the sweep records the trail as it finds it anyway."""
    key = trail_key(region, name)
    document, _ = read_verified(store, key)
    if document is None:
        return None
    try:
        held = trail_from_document(document)
    except BaselineError:
        return None
    reason = f"approval pending: {pending.event_name} by {pending.actor}, until CloudTrail confirms it"
    stamp = iso(at) or ""
    write_signed(
        store, key, trail_document(held, recorded_at=stamp, recorded_by="guardian", reason=reason, pending=pending)
    )
    return key


def names_in(store: SignedStore, region: str) -> set[str]:
    return set(listed_in(store, region))


def listed_in(store: SignedStore, region: str) -> dict[str, str]:
    """The Region's trail baselines as S3 lists them: trail name → the current version's ETag (one request)."""
    prefix = trail_prefix(region)
    listed = store.object_etags(prefix)
    return {key[len(prefix) : -len(".json")]: etag for key, etag in listed.items() if key.endswith(".json")}


def load_index(store: SignedStore, region: str) -> tuple[dict[str, IndexEntry], Refused | None]:
    """The Region's trail index (:mod:`guardian.model.baseline_index`): empty if there is none or none verifies."""
    key = index_key(region)
    document, refused = read_verified(store, key)
    if document is None:
        return {}, refused
    try:
        return index_entries(document, region), refused
    except BaselineError as exc:
        return {}, Refused(key, None, str(exc), None)


def write_index(store: SignedStore, region: str, entries: Mapping[str, IndexEntry], *, at: datetime) -> None:
    write_signed(store, index_key(region), index_document(region, entries, written_at=iso(at) or ""))


# -- a trail's bucket and log group ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Guarded:
    """A bucket or log group with a baseline: what it must be, and the trails that deliver to it."""

    kind: Subject
    baseline: ResourceState
    trails: tuple[str, ...]  # ARNs of the protected trails that deliver to it
    key: str  # where the baseline is stored
    pending: Pending | None = None  # an exempt change waiting for CloudTrail's confirmation

    @property
    def label(self) -> str:
        state = self.baseline
        return f"bucket {state.name}" if isinstance(state, BucketState) else f"log group {state.name}"


def load_resource_checked(
    store: SignedStore, kind: Subject, name: str, region: str | None
) -> tuple[Guarded | None, Refused | None]:
    key = resource_key(kind, name, region)
    document, refused = read_verified(store, key)
    try:
        found = None if document is None else resource_from_document(kind, document)
    except BaselineError as exc:
        return None, Refused(key, None, str(exc), None)
    if found is None:
        return None, refused
    state, trails = found
    assert document is not None
    return Guarded(kind, state, trails, key, pending_of(document)), refused


def load_resource(store: SignedStore, kind: Subject, name: str, region: str | None) -> Guarded | None:
    return load_resource_checked(store, kind, name, region)[0]


def record_resource(
    store: SignedStore,
    kind: Subject,
    state: ResourceState,
    trails: Sequence[str],
    *,
    at: datetime,
    by: str,
    why: str,
    pending: Pending | None = None,
) -> Guarded:
    key = resource_key(kind, state.name, state.region)
    document = resource_document(
        kind, state, trails, recorded_at=iso(at) or "", recorded_by=by, reason=why, pending=pending
    )
    write_signed(store, key, document)
    return Guarded(kind, state, tuple(sorted(set(trails))), key, pending)
