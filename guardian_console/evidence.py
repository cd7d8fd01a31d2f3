"""The evidence records of a period, read with their object metadata: version, SHA-256, Object Lock mode and date.

Reads run in parallel (a bounded pool); a record that cannot be read is reported as unread, never dropped, so a
partial report says it is partial.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian.model import signing
from guardian.model.digests import DIGEST_PREFIX, LOOKBACK_DAYS
from guardian.model.evidence import EVIDENCE_SCHEMA
from guardian.model.record_signatures import is_sidecar
from guardian.model.record_summary import parse_time, summarize
from guardian.model.results import iso
from guardian.ports.errors import describe_failure
from guardian_console.errors import ConsoleError
from guardian_console.records import Stored, Unread, day_prefixes, get, newest_first, within

if TYPE_CHECKING:
    from guardian.model.signing import PublicKey

READERS = 16
KNOWN_MAJOR = "1"  # the evidence schema's major version this console reads


@dataclass
class Period:
    """What was read of one account's evidence for a period."""

    records: list[Stored] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)


def read_period(
    s3: Any,
    bucket: str,
    account: str,
    start: date,
    end: date,
    *,
    public_key: PublicKey | None = None,
    key_id: str | None = None,
) -> Period:
    """The record versions of the period, newest first, and what could not be read.

    The bucket's listing says what exists (current versions). With the guardian's public key, a record the signed
    digest chain lists is taken from its digest (one read per digest, not per record); every other one is read
    itself. A digest that does not verify is reported, and its records read one by one.
    """
    period = Period()
    digested = (
        _digested(s3, bucket, account, start, end, public_key=public_key, key_id=key_id, period=period)
        if public_key
        else {}
    )
    objects = [o for prefix in day_prefixes(start, end) for o in _objects(s3, bucket, prefix)]
    found: list[Stored] = []
    missing: list[str] = []
    for item in objects:
        # The current version is the one a digest lists when its time is the one the digest saw (a record written
        # again has a later one); anything else is read itself. `verify` checks every version.
        known = digested.get((item["Key"], str(iso(_utc(item["LastModified"])))))
        if known is None:
            missing.append(item["Key"])
        else:
            found.append(known)
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        for read in pool.map(lambda key: read_one(s3, bucket, account, key), missing):
            if isinstance(read, Unread):
                period.unread.append(read)
            else:
                found.append(read)
    period.records = newest_first([s for s in found if within(s.time, start, end)])
    return period


def _digested(
    s3: Any,
    bucket: str,
    account: str,
    start: date,
    end: date,
    *,
    public_key: PublicKey,
    key_id: str | None,
    period: Period,
) -> dict[tuple[str, str], Stored]:
    """The records the verified digests written in the period (and up to the look-back after it) list."""
    found: dict[tuple[str, str], Stored] = {}
    after = end + timedelta(days=LOOKBACK_DAYS + 1)  # a record is digested up to the look-back after its day
    first, last = f"{DIGEST_PREFIX}{start:%Y/%m/%d}/", f"{DIGEST_PREFIX}{after:%Y/%m/%d}/~"
    keys = [o["Key"] for p in _pages(s3, bucket, DIGEST_PREFIX, first[:-1]) for o in p.get("Contents", [])]
    for key in (k for k in keys if k <= last):
        try:
            document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            signed_by = key_id or str(get(document.get(signing.SIGNATURE_FIELD), "key_id") or "")
            signing.verify(key, document, public_key, key_id=signed_by)
        except (ClientError, BotoCoreError, ValueError, signing.SignatureError) as exc:
            period.unread.append(Unread(key, account, f"digest not usable ({exc}): its records were read one by one"))
            continue
        for entry in document.get("records", []):
            summary = entry.get("summary")
            if isinstance(summary, dict):
                found[(entry["key"], entry["last_modified"])] = Stored(
                    key=entry["key"],
                    account=account,
                    version_id=entry["version_id"],
                    sha256=entry["sha256"],
                    lock_mode=entry.get("lock_mode"),
                    retain_until=parse_time(entry.get("retain_until")),
                    summary=summary,
                )
    return found


def _pages(s3: Any, bucket: str, prefix: str, start_after: str) -> Any:
    try:
        yield from s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, StartAfter=start_after)
    except ClientError as exc:
        raise _denied(exc, f"list s3://{bucket}/{prefix}", "s3:ListBucket") from exc


def _objects(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found += [o for o in page.get("Contents", []) if not is_sidecar(o["Key"])]  # a record's signature
    except ClientError as exc:
        raise _denied(exc, f"list s3://{bucket}/{prefix}", "s3:ListBucket") from exc
    return found


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_one(s3: Any, bucket: str, account: str, key: str) -> Stored | Unread:
    """The object's current version with its metadata; Unread (with why) if it cannot be read or is not a record."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        return Unread(key, account, describe_failure(exc))
    try:
        record = json.loads(body)
    except ValueError:
        return Unread(key, account, "not JSON")
    if not isinstance(record, dict) or record.get("schema") != EVIDENCE_SCHEMA:
        return Unread(key, account, f"not an evidence record (schema {get(record, 'schema')!r})")
    schema_version = str(record.get("schema_version", ""))
    if schema_version.split(".", maxsplit=1)[0] != KNOWN_MAJOR:
        return Unread(key, account, f"evidence schema version {schema_version!r}: this console reads {KNOWN_MAJOR}.x")
    return Stored(
        key=key,
        account=account,
        version_id=response.get("VersionId"),
        sha256=hashlib.sha256(body).hexdigest(),
        lock_mode=response.get("ObjectLockMode"),
        retain_until=response.get("ObjectLockRetainUntilDate"),
        summary=summarize(record),
    )


def _denied(exc: ClientError, what: str, permission: str) -> ConsoleError:
    code = exc.response.get("Error", {}).get("Code", "")
    return ConsoleError(f"cannot {what}: {code}", f"the caller needs {permission}")
