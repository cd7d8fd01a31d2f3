"""The evidence records of a period, read with their object metadata: version, SHA-256, Object Lock mode and date.

Reads run in parallel (a bounded pool); a record that cannot be read is reported as unread, never dropped, so a
partial report says it is partial.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian.model.evidence import EVIDENCE_SCHEMA, PREFIX
from guardian_console.errors import ConsoleError
from guardian_console.records import Stored, Unread, get, when, within

READERS = 16
KNOWN_MAJOR = "1"  # the evidence schema's major version this console reads


@dataclass
class Period:
    """What was read of one account's evidence for a period."""

    records: list[Stored] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)


def keys_between(s3: Any, bucket: str, start: date, end: date) -> list[str]:
    """Every evidence key of the days from ``start`` to ``end`` (inclusive), and every undated one (an event
    without a readable time: its record's ``written_at`` places it)."""
    first = f"{PREFIX}/{start:%Y/%m/%d}/"
    last = f"{PREFIX}/{end:%Y/%m/%d}/\uffff"
    keys: list[str] = []
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{PREFIX}/", StartAfter=first[:-1])
        for page in pages:
            for item in page.get("Contents", []):
                if item["Key"] > last:
                    return keys + _undated(s3, bucket)
                keys.append(item["Key"])
    except ClientError as exc:
        raise _denied(exc, f"list s3://{bucket}/{PREFIX}/", "s3:ListBucket") from exc
    return keys + _undated(s3, bucket)


def _undated(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{PREFIX}/undated/"):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def read_period(s3: Any, bucket: str, account: str, start: date, end: date) -> Period:
    """The records of the period (by event time, else the time written), newest first, and what could not be read."""
    period = Period()
    keys = keys_between(s3, bucket, start, end)
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        for found in pool.map(lambda key: read_one(s3, bucket, account, key), keys):
            if isinstance(found, Unread):
                period.unread.append(found)
            elif within(found.record, start, end):
                period.records.append(found)
    period.records.sort(key=lambda s: when(s.record) or datetime.min.replace(tzinfo=UTC), reverse=True)
    return period


def read_one(s3: Any, bucket: str, account: str, key: str) -> Stored | Unread:
    """One object with its metadata; Unread (with why) if it cannot be read or is not an evidence record."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        return Unread(key, account, _problem(exc))
    try:
        record = json.loads(body)
    except ValueError:
        return Unread(key, account, "not JSON")
    if not isinstance(record, dict) or record.get("schema") != EVIDENCE_SCHEMA:
        return Unread(key, account, f"not an evidence record (schema {get(record, 'schema')!r})")
    version = str(record.get("schema_version", ""))
    if version.split(".", maxsplit=1)[0] != KNOWN_MAJOR:
        return Unread(key, account, f"evidence schema version {version!r}: this console reads {KNOWN_MAJOR}.x")
    return Stored(
        key=key,
        account=account,
        version_id=response.get("VersionId"),
        sha256=hashlib.sha256(body).hexdigest(),
        size=len(body),
        lock_mode=response.get("ObjectLockMode"),
        retain_until=response.get("ObjectLockRetainUntilDate"),
        last_modified=response.get("LastModified"),
        record=record,
    )


def _problem(exc: ClientError | BotoCoreError) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Unknown')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def _denied(exc: ClientError, what: str, permission: str) -> ConsoleError:
    code = exc.response.get("Error", {}).get("Code", "")
    return ConsoleError(f"cannot {what}: {code}", f"the caller needs {permission}")
