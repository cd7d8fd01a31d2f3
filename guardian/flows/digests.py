"""Extend the evidence digest chain (see :mod:`guardian.model.digests`): a step of every sweep.

The sweep runs one at a time (reserved concurrency 1), so the chain has one writer; it extends the chain while it
checks the trails (a digest covers records a minute old and more, :data:`~guardian.model.digests.SETTLE`, so none
the same sweep writes: the next sweep's digest takes them); a digest is written once (``IfNoneMatch``). Each digest
lists the signed records written since the previous one's cut-off, read once to take their SHA-256 and check their
signature (:mod:`guardian.model.record_signatures`); a record without a valid one is left out, named, and alerted.
Every run writes a digest, new records or not, so the chain's head is never older than one sweep interval: a head
older than two (``guardian verify``) means the sweep stopped or the newest digests were deleted. At most
:data:`MAX_RECORDS` records per digest, read in parallel, so one run stays short whatever the backlog.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from guardian.model import signing
from guardian.model.digests import (
    DIGEST_PREFIX,
    SETTLE,
    Deleted,
    Entry,
    Taken,
    Unsigned,
    digest_document,
    digest_key,
    sequence_of,
    sha256,
    window_days,
    window_prefixes,
)
from guardian.model.record_signatures import SIGN_GRACE, SUFFIX, is_sidecar, sidecar_key
from guardian.model.record_signatures import problem as record_problem
from guardian.model.record_summary import summarize
from guardian.model.results import iso
from guardian.model.safe import json_bytes

if TYPE_CHECKING:
    from collections.abc import Callable

    from guardian.ports.calls import DigestStore
    from guardian.ports.invocation import Invocation


class ChainBlocked(RuntimeError):
    """The chain's next key is taken by an object that is not the guardian's: alerted, then the run fails."""


Found = Unsigned | Deleted | Taken  # what the sweep alerts: HIGH, HIGH, CRITICAL
MAX_RECORDS = 2000  # per digest: a sweep after a long outage takes the backlog over several runs, in bounded time
READERS = 8


def extend_chain(
    aws: DigestStore,
    run: Invocation,
    alert: Callable[[list[Found]], None] | None = None,
    on_head: Callable[[dict[str, Any]], None] | None = None,
) -> str:
    """Write the next digest (every run: its head is the chain's freshness): ``written <key>``, or why not.

    Only signed records are chained: one whose signature is missing (past :data:`SIGN_GRACE`) or invalid is left out,
    named in the digest's ``unsigned``, and handed to ``alert`` first (HIGH, :mod:`guardian.flows.unsigned_records`);
    so is a signature whose record is gone (deleted before a digest took it: ``deleted``). A next key taken by an
    object that is not the guardian's digest stops the chain: alerted (CRITICAL), then :class:`ChainBlocked`.
    ``on_head``: given the new head (key, sequence, time, SHA-256 of its bytes) once it is written: the heartbeat."""
    now = run.clock()
    head, head_sha, broken = _head(aws, now)
    since = _parse(head["covers"]["to"]) if head else None
    with ThreadPoolExecutor(max_workers=READERS) as pool:  # one listing per day: at once, not one after another
        days = window_days(now - SETTLE)
        listed = list(pool.map(aws.object_versions, days + window_prefixes(now - SETTLE)))
    evidence = [v for versions in listed[: len(days)] for v in versions]
    entries, unsigned, until = _new_records(aws, since, now - SETTLE, now, evidence)
    blind = [v for versions in listed[len(days) :] for v in versions]
    deleted, windows, forged = _deleted_and_windows(aws, evidence, blind, (since, until))
    unsigned += forged
    if (unsigned or deleted) and alert is not None:  # publish first what the security team must see
        alert([*unsigned, *deleted])
    sequence = int(head["sequence"]) + 1 if head else 1
    key = digest_key(sequence, now)
    previous = (str(head["_key"]), head_sha) if head else None
    document = digest_document(
        sequence=sequence,
        covers_from=since,
        covers_to=until,
        previous=previous,
        entries=entries,
        written_at=now,
        broken=broken,
        unsigned=unsigned,
        deleted=deleted,
        windows=windows,
    )
    signature = aws.sign(signing.digest(key, document))
    assert aws.signing_key is not None
    body = json_bytes(signing.signed(document, key_id=aws.signing_key, signature=signature), indent=1)
    if not aws.put_new(key, body):
        problem = _not_next(aws, key, previous)
        if problem is None:  # the guardian's own next digest (a retried run wrote it): nothing to do
            return f"{key} exists already"
        if alert is not None:
            alert([Taken(key, problem)])
        raise ChainBlocked(f"the chain's next digest key {key} is taken by an object that is not its digest: {problem}")
    if on_head is not None:
        on_head({"key": key, "sequence": sequence, "written_at": iso(now), "sha256": sha256(body)})
    refused = f", {len(unsigned)} unsigned left out" if unsigned else ""
    return f"written {key} ({len(entries)} records{refused})"


def _head(aws: DigestStore, now: datetime) -> tuple[dict[str, Any] | None, str, list[str]]:
    """The newest digest that verifies (its document, with its key under ``_key``, and the SHA-256 of its bytes),
    and the newer ones that do not."""
    recent = [f"{DIGEST_PREFIX}{now - timedelta(days=n):%Y/%m/%d}/" for n in (2, 1, 0)]
    with ThreadPoolExecutor(max_workers=len(recent)) as pool:
        keys = [k for listed in pool.map(aws.list_keys, recent) for k in listed]
    if not keys:  # no digest in three days (the heartbeat writes one a day): look at them all
        keys = aws.list_keys(DIGEST_PREFIX)
    broken: list[str] = []
    public = aws.public_key()
    numbered = sorted(((sequence_of(k), k) for k in keys if sequence_of(k) is not None), reverse=True)
    for _, key in numbered:
        body = aws.object_bytes(key)
        try:
            document = json.loads(body)
            signing.verify(key, document, public, key_id=aws.signing_key or "")
        except (ValueError, signing.SignatureError) as exc:
            broken.append(f"{key}: {exc}")
            continue
        return {**document, "_key": key}, sha256(body), broken
    return None, "", broken


def _not_next(aws: DigestStore, key: str, previous: tuple[str, str] | None) -> str | None:
    """Why the object at the next key is not the guardian's digest following ``previous`` (None if it is)."""
    body = aws.object_bytes(key)
    try:
        document = json.loads(body)
        signing.verify(key, document, aws.public_key(), key_id=aws.signing_key or "")
    except (ValueError, signing.SignatureError) as exc:
        return f"it does not verify as the guardian's ({exc})"
    follows = document.get("previous")
    expected = None if previous is None else {"key": previous[0], "sha256": previous[1]}
    return None if follows == expected else f"it follows {follows}, not the head {expected}"


def _deleted_and_windows(
    aws: DigestStore,
    evidence: list[dict[str, Any]],
    blind: list[dict[str, Any]],
    period: tuple[datetime | None, datetime],
) -> tuple[list[Deleted], list[Entry], list[Unsigned]]:
    """In the ``period`` (from, to]: each signature whose record has no version left (the record deleted before a
    digest took it), and the blind-window objects (signed inline, written once), those not signed by the guardian
    apart. Each period is a digest's own, so each is named once."""
    since, until = period
    records = {v["Key"] for v in evidence if not is_sidecar(v["Key"])}

    def new(version: dict[str, Any]) -> bool:
        modified = _utc(version["LastModified"])
        return (since is None or modified > since) and modified <= until

    orphans = [v for v in evidence if is_sidecar(v["Key"]) and new(v) and v["Key"].removesuffix(SUFFIX) not in records]
    deleted = [
        Deleted(
            v["Key"].removesuffix(SUFFIX),
            _named_sha(aws.object_bytes(v["Key"], v["VersionId"])),
            v["Key"],
            str(v["VersionId"]),
            str(iso(_utc(v["LastModified"]))),
        )
        for v in orphans
    ]
    windows: list[Entry] = []
    forged: list[Unsigned] = []
    public = aws.public_key()
    for version in (v for v in blind if new(v)):
        key = version["Key"]
        body, lock_mode, retain_until = aws.object_read(key, version["VersionId"])
        at = str(iso(_utc(version["LastModified"])))
        problem = record_problem(key, body, None, public, key_id=aws.signing_key)
        if problem:
            forged.append(Unsigned(key, str(version["VersionId"]), sha256(body), at, problem))
        else:
            windows.append(Entry(key, str(version["VersionId"]), sha256(body), at, lock_mode, iso(retain_until)))
    return deleted, windows, forged


def _named_sha(sidecar_body: bytes) -> str:
    """The SHA-256 a sidecar names for its record ("unknown" if it names none)."""
    try:
        return str(json.loads(sidecar_body)["record"]["sha256"])
    except (ValueError, KeyError, TypeError):
        return "unknown (its signature is unreadable)"


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _new_records(
    aws: DigestStore,
    since: datetime | None,
    until: datetime,
    now: datetime,
    listed: list[dict[str, Any]] | None = None,
) -> tuple[list[Entry], list[Unsigned], datetime]:
    """The record versions (``listed``, else listed here) written in (``since``, ``until``], each read once with its
    signature (in parallel): the signed ones to chain, the unsigned ones to refuse, and the cut-off actually covered.
    At most :data:`MAX_RECORDS` per digest, the oldest first; the cut-off stops before a record still waiting for its
    signature."""
    new: list[tuple[datetime, dict[str, Any]]] = []
    if listed is None:
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            listed = [v for versions in pool.map(aws.object_versions, window_days(until)) for v in versions]
    sidecars = {v["Key"] for v in listed if is_sidecar(v["Key"])}
    for version in listed:
        modified = _utc(version["LastModified"])
        if (since is None or modified > since) and modified <= until and not is_sidecar(version["Key"]):
            new.append((modified, version))
    new.sort(key=lambda item: (item[0], item[1]["Key"]))
    if len(new) > MAX_RECORDS:
        until = new[MAX_RECORDS - 1][0]  # whole seconds: take every record of the last second taken
        new = [item for item in new if item[0] <= until]
    public = aws.public_key()

    def read(item: tuple[datetime, dict[str, Any]]) -> tuple[datetime, Entry, str | None, bool]:
        modified, version = item
        key = version["Key"]
        body, lock_mode, retain_until = aws.object_read(key, version["VersionId"])
        side = aws.object_bytes(sidecar_key(key)) if sidecar_key(key) in sidecars else None
        problem = record_problem(key, body, side, public, key_id=aws.signing_key)
        try:
            record = json.loads(body)
        except ValueError:
            record = None
        entry = Entry(
            key,
            str(version["VersionId"]),
            sha256(body),
            str(iso(modified)),
            lock_mode,
            iso(retain_until),
            summarize(record) if isinstance(record, dict) else None,
        )
        return modified, entry, problem, side is None

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        read_all = list(pool.map(read, new))
    waiting = [m for m, _, problem, no_sidecar in read_all if problem and no_sidecar and now - m < SIGN_GRACE]
    if waiting:  # its sidecar may still come (written after the alert): the next digest takes it
        until = min(waiting) - timedelta(microseconds=1)
        until = max(until, since) if since is not None else until
    taken = [(entry, problem) for m, entry, problem, _ in read_all if m <= until]
    unsigned = [Unsigned(e.key, e.version_id, e.sha256, e.last_modified, problem) for e, problem in taken if problem]
    return [e for e, problem in taken if not problem], unsigned, until


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
