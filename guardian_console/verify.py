"""``guardian verify``: read the digest chain and the evidence of a period, online (S3, KMS) or from a downloaded copy
with an exported public key, and hand them to :func:`guardian_console.integrity.judge`."""

from __future__ import annotations

import base64
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian.model import signing
from guardian.model.digests import DIGEST_PREFIX, DIGEST_SCHEMA, Link, sequence_of
from guardian_console.errors import ConsoleError
from guardian_console.integrity import Found, Retention, Verdict, judge
from guardian_console.records import day_prefixes
from guardian_console.stack import public_key

if TYPE_CHECKING:
    from pathlib import Path

    from guardian_console.deployed import Deployed

READERS = 16


def online(session: Any, deployed: Deployed, start: date, end: date) -> Verdict:
    s3 = session.client("s3")
    public = public_key(session, deployed.signing_key)
    links = _links(
        [(key, _read(s3, deployed.evidence_bucket, key)) for key in _digest_keys(s3, deployed.evidence_bucket)],
        public,
        key_id=deployed.signing_key,
    )
    versions = [v for prefix in day_prefixes(start, end) for v in _versions(s3, deployed.evidence_bucket, prefix)]
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        found = list(pool.map(lambda v: _found(s3, deployed.evidence_bucket, v), versions))
    return judge(links, found, start=start, end=end, retention=_retention(s3, deployed.evidence_bucket))


def offline(directory: Path, public_key_file: Path, start: date, end: date) -> Verdict:
    """Over a downloaded copy (``aws s3 sync s3://<bucket> DIR``): the chain's signatures with the exported public
    key, every file's SHA-256; versions and Object Lock cannot be seen in a copy."""
    if not (directory / DIGEST_PREFIX).is_dir():
        raise ConsoleError(f"{directory} has no {DIGEST_PREFIX} folder", "download the whole evidence bucket into it")
    public = _public_key_from_file(public_key_file)
    digests = sorted(p for p in (directory / DIGEST_PREFIX).rglob("*.json"))
    links = _links([(p.relative_to(directory).as_posix(), p.read_bytes()) for p in digests], public, key_id=None)
    found = [
        Found(p.relative_to(directory).as_posix(), None, hashlib.sha256(p.read_bytes()).hexdigest(), None)
        for p in sorted((directory / "evidence").rglob("*.json"))
    ]
    return judge(links, found, start=start, end=end, retention=None, offline=True)


def _links(bodies: list[tuple[str, bytes]], public: signing.PublicKey, *, key_id: str | None) -> list[Link]:
    links = []
    for key, body in bodies:
        sequence = sequence_of(key)
        if sequence is None:
            continue
        document, problem = _checked(key, body, public, key_id)
        links.append(Link(key, sequence, hashlib.sha256(body).hexdigest(), document, problem))
    return links


def _checked(key: str, body: bytes, public: signing.PublicKey, key_id: str | None) -> tuple[dict[str, Any], str | None]:
    """The digest's document, and why it does not verify (None if it does)."""
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        return {}, f"not JSON ({exc})"
    if not isinstance(parsed, dict) or parsed.get("schema") != DIGEST_SCHEMA:
        return {}, "not a digest document"
    signed_by = key_id or str((parsed.get(signing.SIGNATURE_FIELD) or {}).get("key_id", ""))
    try:
        signing.verify(key, parsed, public, key_id=signed_by)
    except signing.SignatureError as exc:
        return parsed, str(exc)
    return parsed, None


def _digest_keys(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=DIGEST_PREFIX):
            keys += [o["Key"] for o in page.get("Contents", [])]
    except ClientError as exc:
        raise ConsoleError(
            f"cannot list s3://{bucket}/{DIGEST_PREFIX}: {exc}", "the caller needs s3:ListBucket"
        ) from exc
    return keys


def _read(s3: Any, bucket: str, key: str, version: str | None = None) -> bytes:
    extra: Any = {"VersionId": version} if version else {}
    return bytes(s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read())


def _versions(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            found += page.get("Versions", [])
    except ClientError as exc:
        raise ConsoleError(
            f"cannot list the versions of s3://{bucket}/{prefix}: {exc}", "the caller needs s3:ListBucketVersions"
        ) from exc
    return found


def _found(s3: Any, bucket: str, version: dict[str, Any]) -> Found:
    try:
        response = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
        body = response["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        return Found(version["Key"], version["VersionId"], f"unreadable: {exc}", version.get("LastModified"))
    return Found(
        key=version["Key"],
        version_id=version["VersionId"],
        sha256=hashlib.sha256(body).hexdigest(),
        last_modified=_utc(version.get("LastModified")),
        lock_mode=response.get("ObjectLockMode"),
        retain_until=_utc(response.get("ObjectLockRetainUntilDate")),
    )


def _retention(s3: Any, bucket: str) -> Retention | None:
    try:
        rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"].get("Rule", {})
    except (ClientError, BotoCoreError):
        return None
    default = rule.get("DefaultRetention", {})
    days = int(default.get("Days") or 365 * int(default.get("Years") or 0))
    return Retention(str(default.get("Mode", "")), days) if days else None


def _public_key_from_file(path: Path) -> signing.PublicKey:
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
