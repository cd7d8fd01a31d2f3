"""What ``guardian verify`` reads: digest keys, object versions and bytes, each record's signature, the bucket's
retention, an exported public key (:mod:`guardian_console.verify`)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian.model import signing
from guardian.model.digests import DIGEST_PREFIX
from guardian.model.record_signatures import SUFFIX, is_sidecar, sidecar_key
from guardian.model.record_signatures import legacy as legacy_writer
from guardian.model.record_signatures import problem as record_problem
from guardian_console.errors import ConsoleError
from guardian_console.integrity import Found, Retention

if TYPE_CHECKING:
    from pathlib import Path


def orphaned(listed: list[dict[str, Any]]) -> tuple[str, ...]:
    """The record keys whose signature sidecar is listed but no version of the record: deleted records."""
    records = {v["Key"] for v in listed if not is_sidecar(v["Key"])}
    return tuple(sorted({v["Key"].removesuffix(SUFFIX) for v in listed if is_sidecar(v["Key"])} - records))


def window_prefixes(prefixes: list[str]) -> list[str]:
    """The blind-window objects' prefixes of a period's evidence prefixes (named after their record)."""
    return [f"blind-windows/{p.removeprefix('evidence/')}" for p in prefixes]


def offline_found(directory: Path, public: signing.PublicKey, folder: str) -> tuple[list[Found], tuple[str, ...]]:
    """The files of a downloaded copy under ``folder``, each with its SHA-256 and signature (its ``.sig`` beside
    it); and the record keys whose ``.sig`` is there without them."""
    found = []
    for path in sorted((directory / folder).rglob("*.json")) if (directory / folder).is_dir() else []:
        key, body, side = path.relative_to(directory).as_posix(), path.read_bytes(), path.with_name(path.name + SUFFIX)
        problem = record_problem(key, body, side.read_bytes() if side.is_file() else None, public, key_id=None)
        legacy = None if problem is None else legacy_writer(body)
        sha = hashlib.sha256(body).hexdigest()
        found.append(Found(key, None, sha, None, unsigned=problem, legacy=legacy, no_sidecar=not side.is_file()))
    signatures = sorted((directory / folder).rglob(f"*.json{SUFFIX}")) if (directory / folder).is_dir() else []
    gone = tuple(
        p.relative_to(directory).as_posix().removesuffix(SUFFIX)
        for p in signatures
        if not p.with_name(p.name.removesuffix(SUFFIX)).is_file()
    )
    return found, gone


def digest_keys(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=DIGEST_PREFIX):
            keys += [o["Key"] for o in page.get("Contents", [])]
    except ClientError as exc:
        raise ConsoleError(
            f"cannot list s3://{bucket}/{DIGEST_PREFIX}: {exc}", "the caller needs s3:ListBucket"
        ) from exc
    return keys


def read(s3: Any, bucket: str, key: str, version: str | None = None) -> bytes:
    extra: Any = {"VersionId": version} if version else {}
    return bytes(s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read())


def versions(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            found += page.get("Versions", [])
    except ClientError as exc:
        raise ConsoleError(
            f"cannot list the versions of s3://{bucket}/{prefix}: {exc}", "the caller needs s3:ListBucketVersions"
        ) from exc
    return found


def found(  # noqa: PLR0917
    s3: Any, bucket: str, version: dict[str, Any], public: signing.PublicKey, key_id: str, has_sidecar: bool
) -> Found:
    key = version["Key"]
    try:
        response = s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
        body = response["Body"].read()
        side = read(s3, bucket, sidecar_key(key)) if has_sidecar else None
    except (ClientError, BotoCoreError) as exc:
        return Found(key, version["VersionId"], f"unreadable: {exc}", version.get("LastModified"))
    problem = record_problem(key, body, side, public, key_id=key_id)
    return Found(
        key=key,
        version_id=version["VersionId"],
        sha256=hashlib.sha256(body).hexdigest(),
        last_modified=_utc(version.get("LastModified")),
        lock_mode=response.get("ObjectLockMode"),
        retain_until=_utc(response.get("ObjectLockRetainUntilDate")),
        unsigned=problem,
        legacy=None if problem is None else legacy_writer(body),
        no_sidecar=not has_sidecar,
    )


def retention(s3: Any, bucket: str) -> Retention | None:
    try:
        rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"].get("Rule", {})
    except (ClientError, BotoCoreError):
        return None
    default = rule.get("DefaultRetention", {})
    days = int(default.get("Days") or 365 * int(default.get("Years") or 0))
    return Retention(str(default.get("Mode", "")), days) if days else None


def public_key_from_file(path: Path) -> signing.PublicKey:
    """DER (as ``aws kms get-public-key`` returns it, base64-decoded) or PEM."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConsoleError(f"cannot read {path}: {exc.strerror}", "pass --public-key with the exported key") from exc
    if raw.startswith(b"-----BEGIN"):
        raw = base64.b64decode(b"".join(line for line in raw.splitlines() if not line.startswith(b"-----")))
    try:
        return signing.parse_public_key(raw)
    except (ValueError, IndexError) as exc:
        raise ConsoleError(f"{path} is not an RSA public key (DER or PEM)") from exc


def _utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
