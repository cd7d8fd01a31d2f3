"""The evidence digest chain: proof that no evidence record was deleted, altered or added outside the guardian.

Pure. Like CloudTrail's own log file validation: the sweep writes, under Object Lock, a digest object listing every
evidence record written since the previous digest (its key, S3 version and SHA-256) and the SHA-256 of the previous
digest's bytes, signed with the guardian's KMS key (which only its roles may sign with). A principal able to bypass
GOVERNANCE retention can delete or overwrite a record, but cannot write a digest that verifies: the chain then shows
the record missing or changed, or an object no digest lists. Schema ``cloudtrail-guardian/digest``; docs/evidence.md
documents it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from guardian.model.results import iso

DIGEST_SCHEMA = "cloudtrail-guardian/digest"
DIGEST_SCHEMA_VERSION = "1.2"  # 1.1: ``unsigned``; 1.2: ``deleted`` (signatures without a record), ``windows``
DIGEST_PREFIX = "digests/"
# A record is listed once S3 shows it: only records written at least this long before the digest are taken, so one
# still being written is taken by the next digest, never skipped.
SETTLE = timedelta(seconds=60)
# A record's key carries its event's day, which can lie this far before the day it is written (Lambda's retries and
# EventBridge's, and a replay from the 14-day dead-letter queue): the days the sweep lists for new records.
LOOKBACK_DAYS = 16
# Before digest schema 1.1 a sweep with nothing new wrote a digest only this often; since, every run writes one, so a
# head older than two sweep intervals fails `guardian verify`. Kept for reading chains written before.
HEARTBEAT = timedelta(hours=24)


@dataclass(frozen=True)
class Entry:
    """One evidence record version, as a digest lists it: what proves it (version, SHA-256), how S3 locked it when the
    sweep read it, and its one-line summary (:func:`guardian.model.record_summary.summarize`), which lets the
    auditor's report read one digest instead of every record."""

    key: str
    version_id: str
    sha256: str
    last_modified: str
    lock_mode: str | None = None
    retain_until: str | None = None
    summary: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # every field, in order, as the digest lists it


@dataclass(frozen=True)
class Unsigned:
    """A record version the chain refused: its signature is missing or invalid (why: ``problem``)."""

    key: str
    version_id: str
    sha256: str
    last_modified: str
    problem: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # every field, in order, as the digest lists it


@dataclass(frozen=True)
class Deleted:
    """A record deleted before a digest took it: its signature sidecar (``sidecar``, of that version) names a record
    (``key``, SHA-256 ``sha256``) of which no version is left."""

    key: str
    sha256: str
    sidecar: str
    sidecar_version_id: str
    sidecar_last_modified: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # every field, in order, as the digest lists it


@dataclass(frozen=True)
class Taken:
    """The chain's next key, taken by an object that is not the guardian's next digest (``problem``: why not): the
    chain cannot be extended until it is removed."""

    key: str
    problem: str


def digest_key(sequence: int, at: datetime) -> str:
    """``digests/YYYY/MM/DD/<sequence>.json``: sorted by day, then by sequence."""
    return f"{DIGEST_PREFIX}{at:%Y/%m/%d}/{sequence:010d}.json"


def sequence_of(key: str) -> int | None:
    name = key.rsplit("/", 1)[-1].removesuffix(".json")
    return int(name) if key.startswith(DIGEST_PREFIX) and name.isdigit() else None


def digest_document(
    *,
    sequence: int,
    covers_from: datetime | None,
    covers_to: datetime,
    previous: tuple[str, str] | None,
    entries: list[Entry],
    written_at: datetime,
    broken: list[str],
    unsigned: list[Unsigned] | None = None,
    deleted: list[Deleted] | None = None,
    windows: list[Entry] | None = None,
) -> dict[str, Any]:
    """The digest of the signed records written in (``covers_from``, ``covers_to``]; ``previous`` is (key, SHA-256 of
    its bytes) of the digest before, None for the first; ``broken`` names newer digests that failed verification;
    ``unsigned`` the records of the period left out for their signature; ``deleted`` those gone before a digest took
    them (their signature left); ``windows`` the blind-window objects (``blind-windows/``) of the period."""
    return {
        "schema": DIGEST_SCHEMA,
        "schema_version": DIGEST_SCHEMA_VERSION,
        "sequence": sequence,
        "covers": {"from": iso(covers_from), "to": iso(covers_to)},
        "previous": None if previous is None else {"key": previous[0], "sha256": previous[1]},
        "records": [e.to_json() for e in sorted(entries, key=lambda e: (e.key, e.last_modified))],
        "written_at": iso(written_at),
        "broken": broken,
        "unsigned": [u.to_json() for u in sorted(unsigned or [], key=lambda u: (u.key, u.last_modified))],
        "deleted": [d.to_json() for d in sorted(deleted or [], key=lambda d: (d.key, d.sidecar_last_modified))],
        "windows": [e.to_json() for e in sorted(windows or [], key=lambda e: (e.key, e.last_modified))],
    }


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def window_days(until: datetime) -> list[str]:
    """The evidence prefixes a digest lists for new records: the last :data:`LOOKBACK_DAYS` days, and undated."""
    days = [until - timedelta(days=n) for n in range(LOOKBACK_DAYS + 1)]
    return [f"evidence/{d:%Y/%m/%d}/" for d in days] + ["evidence/undated/"]


def window_prefixes(until: datetime) -> list[str]:
    """The blind-window objects' prefixes a digest lists (named after their record), by month: the one or two months
    the :data:`LOOKBACK_DAYS` days span, and undated. Windows are rare (one per healed stop), so a month's listing is
    a page; a listing per day, as for records, would cost 17 requests a sweep for nothing."""
    months = sorted({f"{until - timedelta(days=n):%Y/%m}" for n in range(LOOKBACK_DAYS + 1)})
    return [f"blind-windows/{m}/" for m in months] + ["blind-windows/undated/"]


@dataclass(frozen=True)
class Link:
    """A digest as read, for walking the chain."""

    key: str
    sequence: int
    body_sha256: str
    document: dict[str, Any]
    problem: str | None  # why it does not verify (signature, schema), None if it does


def chain_breaks(links: list[Link], *, from_middle: bool = False) -> list[str]:
    """What is wrong with the chain itself, in order: a digest that does not verify, a gap in the sequence, a digest
    whose ``previous`` is not the one before it. ``from_middle``: the links start mid-chain (a period's part of it),
    so the first one's predecessor is not looked for."""
    found: list[str] = []
    ordered = sorted(links, key=lambda link: link.sequence)
    for n, link in enumerate(ordered):
        if link.problem:
            found.append(f"digest {link.key} does not verify: {link.problem}")
        if n == 0:
            if link.sequence != 1 and link.document.get("previous") is not None and not from_middle:
                found.append(f"digest {link.key} follows {link.document['previous'].get('key')}, which is missing")
            continue
        before = ordered[n - 1]
        if link.sequence != before.sequence + 1:
            found.append(f"digests {before.sequence + 1} to {link.sequence - 1} are missing (before {link.key})")
        previous = link.document.get("previous") or {}
        if previous.get("key") != before.key or previous.get("sha256") != before.body_sha256:
            found.append(f"digest {link.key} does not follow {before.key} (changed, or the chain forked)")
    return found
