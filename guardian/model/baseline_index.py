"""The index of a Region's trail baselines: one object a clean sweep reads in place of one object per trail.

Pure. ``baselines/trail-index/<Region>.json`` holds, for each trail, the newest version of its baseline document as
the sweep last read it (already verified), and the ETag that S3 listed for that version. The sweep lists the
Region's baselines anyway (to find trails deleted since), and that listing carries each object's ETag: a trail whose
listed ETag is the index's uses the index's copy; any other (a baseline written since, or not indexed yet) is read
and verified as before, and indexed for the next sweep. A stale index therefore costs a read, never a wrong
baseline. The index is signed as a whole like every baseline, so no one else can write an entry; an older index
put back as the newest only holds older ETags, which no longer match, so those trails are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guardian.model.baselines import BASELINE_SCHEMA, BASELINE_SCHEMA_VERSION, PREFIX, BaselineError, check_regional

INDEX_KIND = "trail_index"
# Why a baseline the index holds is refused when S3 no longer lists it: the guardian never deletes a baseline.
DELETED = "deleted (its newest version is a delete marker)"


@dataclass(frozen=True)
class IndexEntry:
    etag: str  # as ListObjectsV2 gave it for the version the document is
    document: Mapping[str, Any]  # the trail's baseline document, signed, as stored
    deferred: str | None = (
        None  # when a sweep last deferred the trail's restore (the quota was taken): the next insists
    )


def index_key(region: str) -> str:
    """``baselines/trail-index/<Region>.json``: beside the trail baselines, outside their Region's prefix."""
    return f"{PREFIX}/trail-index/{region}.json"


def is_index_key(key: str) -> bool:
    return key.startswith(f"{PREFIX}/trail-index/")


def index_document(region: str, entries: Mapping[str, IndexEntry], *, written_at: str) -> dict[str, Any]:
    return {
        "schema": BASELINE_SCHEMA,
        "schema_version": BASELINE_SCHEMA_VERSION,
        "kind": INDEX_KIND,
        "region": region,
        "written_at": written_at,
        "trails": {
            name: {"etag": entry.etag, "baseline": dict(entry.document)}
            | ({"deferred": entry.deferred} if entry.deferred else {})
            for name, entry in sorted(entries.items())
        },
    }


def index_entries(document: Mapping[str, Any], region: str) -> dict[str, IndexEntry]:
    """The entries of a verified index document; :class:`BaselineError` if it is not this Region's index."""
    check_regional(document, INDEX_KIND, region, "trail index")
    trails = document.get("trails")
    if not isinstance(trails, Mapping):
        raise BaselineError("a trail index's 'trails' must be an object")
    entries: dict[str, IndexEntry] = {}
    for name, entry in trails.items():
        if not (isinstance(entry, Mapping) and isinstance(entry.get("etag"), str)):
            raise BaselineError(f"the index entry of {name!r} has no ETag")
        if not isinstance(entry.get("baseline"), Mapping):
            raise BaselineError(f"the index entry of {name!r} has no baseline document")
        deferred = entry.get("deferred")
        entries[str(name)] = IndexEntry(
            entry["etag"], entry["baseline"], deferred if isinstance(deferred, str) else None
        )
    return entries


def current_documents(entries: Mapping[str, IndexEntry], listed: Mapping[str, str]) -> dict[str, Mapping[str, Any]]:
    """The indexed documents still current: those whose ETag is the one S3 lists now (``listed``: name → ETag)."""
    return {name: entry.document for name, entry in entries.items() if listed.get(name) == entry.etag}
