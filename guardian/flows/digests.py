"""Extend the evidence digest chain (see :mod:`guardian.model.digests`): a step of every sweep.

The sweep runs one at a time (reserved concurrency 1), so the chain has one writer; it extends the chain while it
checks the trails (a digest covers records a minute old and more, :data:`~guardian.model.digests.SETTLE`, so none
the same sweep writes: the next sweep's digest takes them); a digest is written once
(``IfNoneMatch``). Each digest lists the records written since the previous one's cut-off, read once to take their
SHA-256; with nothing new, one is still written every 24 hours, so the head of the chain is never old. At most
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
    HEARTBEAT,
    SETTLE,
    Entry,
    digest_document,
    digest_key,
    sequence_of,
    sha256,
    window_days,
)
from guardian.model.record_summary import summarize
from guardian.model.results import iso
from guardian.model.safe import json_bytes

if TYPE_CHECKING:
    from guardian.ports.calls import DigestStore
    from guardian.ports.invocation import Invocation

MAX_RECORDS = 2000  # per digest: a sweep after a long outage takes the backlog over several runs, in bounded time
READERS = 8


def extend_chain(aws: DigestStore, run: Invocation) -> str:
    """Write the next digest if there is anything new (or the head is a day old): ``written <key>``, or why not."""
    now = run.clock()
    head, head_sha, broken = _head(aws, now)
    since = _parse(head["covers"]["to"]) if head else None
    entries, until = _new_records(aws, since, now - SETTLE)
    if not entries and head is not None and now - _parse(head["written_at"]) < HEARTBEAT and not broken:
        return "nothing new"
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
    )
    signature = aws.sign(signing.digest(key, document))
    assert aws.signing_key is not None
    body = json_bytes(signing.signed(document, key_id=aws.signing_key, signature=signature), indent=1)
    if not aws.put_new(key, body):
        return f"{key} exists already"
    return f"written {key} ({len(entries)} records)"


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


def _new_records(aws: DigestStore, since: datetime | None, until: datetime) -> tuple[list[Entry], datetime]:
    """The record versions written in (``since``, ``until``], each read once for its SHA-256 (in parallel), and the
    cut-off actually covered: at most :data:`MAX_RECORDS` per digest, the oldest first, the rest left to the next."""
    new: list[tuple[datetime, dict[str, Any]]] = []
    with ThreadPoolExecutor(max_workers=READERS) as pool:  # one listing per day: at once, not one after another
        listed = [v for versions in pool.map(aws.object_versions, window_days(until)) for v in versions]
    for version in listed:
        modified = version["LastModified"]
        modified = modified if modified.tzinfo else modified.replace(tzinfo=UTC)
        if (since is None or modified > since) and modified <= until:
            new.append((modified, version))
    new.sort(key=lambda item: (item[0], item[1]["Key"]))
    if len(new) > MAX_RECORDS:
        until = new[MAX_RECORDS - 1][0]  # whole seconds: take every record of the last second taken
        new = [item for item in new if item[0] <= until]

    def entry(item: tuple[datetime, dict[str, Any]]) -> Entry:
        modified, version = item
        body, lock_mode, retain_until = aws.object_read(version["Key"], version["VersionId"])
        try:
            record = json.loads(body)
        except ValueError:
            record = None
        return Entry(
            version["Key"],
            str(version["VersionId"]),
            sha256(body),
            str(iso(modified)),
            lock_mode,
            iso(retain_until),
            summarize(record) if isinstance(record, dict) else None,
        )

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        return list(pool.map(entry, new)), until


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
