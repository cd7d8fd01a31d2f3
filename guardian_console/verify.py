"""``guardian verify``: read the digest chain and the evidence of a period (each record with its signature), online
(S3, KMS) or from a downloaded copy with an exported public key, and hand them to
:func:`guardian_console.integrity.judge`."""

from __future__ import annotations

import base64
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian.model import signing
from guardian.model.digests import DIGEST_PREFIX, DIGEST_SCHEMA, Link, sequence_of
from guardian.model.record_signatures import SUFFIX, is_sidecar, sidecar_key
from guardian.model.record_signatures import legacy as legacy_writer
from guardian.model.record_signatures import problem as record_problem
from guardian_console import security_heads
from guardian_console.errors import ConsoleError
from guardian_console.integrity import Found, Retention, Verdict, judge
from guardian_console.records import day_prefixes
from guardian_console.stack import public_key

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from guardian_console.deployed import Deployed

READERS = 16


def online(
    session: Any,
    deployed: Deployed,
    start: date,
    end: date,
    *,
    now: datetime | None = None,
    noted: tuple[str, str | None] | None = None,
) -> Verdict:
    """The chain and the period's records as S3 holds them, every record's signature checked, and the head's age
    against two sweep intervals (read from the deployed schedule rule, ``<stack>-sweep-schedule``); ``noted``: a head
    seen before (``--head``), which must still be in the chain."""
    from guardian_console.coverage_read import interval_of  # noqa: PLC0415 - the one reading of the schedule

    s3 = session.client("s3")
    public = public_key(session, deployed.signing_key)
    bucket = deployed.evidence_bucket
    listed_keys = _digest_keys(s3, bucket)
    keys, from_middle = _chain_from(listed_keys, start)
    if noted is not None and noted[0] in listed_keys and noted[0] not in keys:
        keys = [noted[0], *keys]  # read too, though older than the period's part of the chain
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        bodies = list(pool.map(lambda key: (key, _read(s3, bucket, key)), keys))
    links = _links(bodies, public, key_id=deployed.signing_key)
    listed = [v for prefix in day_prefixes(start, end) for v in _versions(s3, bucket, prefix)]
    sidecars = {v["Key"] for v in listed if is_sidecar(v["Key"])}
    versions = [v for v in listed if not is_sidecar(v["Key"])]

    def found(version: dict[str, Any]) -> Found:
        return _found(s3, bucket, version, public, deployed.signing_key, sidecar_key(version["Key"]) in sidecars)

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        items = list(pool.map(found, versions))
    seconds, source = interval_of(session, deployed)
    return judge(
        links,
        items,
        start=start,
        end=end,
        retention=_retention(s3, bucket),
        now=now or datetime.now(UTC),
        interval=(timedelta(seconds=seconds), source),
        from_middle=from_middle,
        noted=noted,
    )


def _chain_from(keys: list[str], start: date) -> tuple[list[str], bool]:
    """The digests a period needs (a record is digested after its day): from the one before the first written on the
    day before ``start``, to the head; and whether that is mid-chain. A sweep writes one every run, so reading them
    all would grow with the deployment's age."""
    numbered = sorted(k for k in keys if sequence_of(k) is not None)
    first = f"{DIGEST_PREFIX}{start - timedelta(days=1):%Y/%m/%d}/"
    index = next((n for n, key in enumerate(numbered) if key >= first), len(numbered))
    begin = max(index - 1, 0)
    return numbered[begin:], begin > 0


def offline(
    directory: Path, public_key_file: Path, start: date, end: date, *, noted: tuple[str, str | None] | None = None
) -> Verdict:
    """Over a downloaded copy (``aws s3 sync s3://<bucket> DIR``): the chain's signatures with the exported public
    key, every file's SHA-256 and signature (its ``.sig`` beside it); versions and Object Lock cannot be seen in a
    copy, nor how old its head was when it was taken."""
    if not (directory / DIGEST_PREFIX).is_dir():
        raise ConsoleError(f"{directory} has no {DIGEST_PREFIX} folder", "download the whole evidence bucket into it")
    public = _public_key_from_file(public_key_file)
    digests = sorted(p for p in (directory / DIGEST_PREFIX).rglob("*.json"))
    links = _links([(p.relative_to(directory).as_posix(), p.read_bytes()) for p in digests], public, key_id=None)
    found = []
    for path in sorted((directory / "evidence").rglob("*.json")):
        key, body, side = path.relative_to(directory).as_posix(), path.read_bytes(), path.with_name(path.name + SUFFIX)
        problem = record_problem(key, body, side.read_bytes() if side.is_file() else None, public, key_id=None)
        legacy = None if problem is None else legacy_writer(body)
        found.append(Found(key, None, hashlib.sha256(body).hexdigest(), None, unsigned=problem, legacy=legacy))
    return judge(links, found, start=start, end=end, retention=None, offline=True, noted=noted)


def command(
    args: argparse.Namespace, start: date, end: date, now: datetime, accounts: Callable[[argparse.Namespace], list[Any]]
) -> int:
    """``guardian verify``: each account's verdict (or the copy's), printed; 1 if any is broken. ``accounts``: the
    sessions and stacks to read (guardian_console.sessions)."""
    noted = noted_head(args.head)
    if args.offline:
        if not args.public_key:
            raise ConsoleError(
                "--offline needs --public-key", "export it: aws kms get-public-key --key-id <SigningKeyArn>"
            )
        copy = offline(Path(args.offline), Path(args.public_key), start, end, noted=noted)
        verdicts = [(f"copy in {args.offline}", copy)]
    else:
        found = [(a.deployed, online(a.session, a.deployed, start, end, now=now, noted=noted)) for a in accounts(args)]
        security_heads.check(getattr(args, "security_profile", None), found)  # the head the security account kept
        verdicts = [(f"{deployed.account} ({deployed.stack})", verdict) for deployed, verdict in found]
    for name, verdict in verdicts:
        print(as_json(name, verdict) if args.json else "\n".join(lines(name, verdict, start, end)))
    return 0 if all(v.ok for _, v in verdicts) else 1


def noted_head(text: str | None) -> tuple[str, str | None] | None:
    """``--head KEY[:SHA256]``: a head printed by an earlier ``verify`` (or a report), kept outside the account."""
    if not text:
        return None
    key, found, sha = text.partition(".json:")
    return (key + ".json", sha or None) if found else (text, None)


def lines(name: str, verdict: Verdict, start: date, end: date) -> list[str]:
    """What ``guardian verify`` prints for one account (or copy): counts, the chain's head, the verdict, each break."""
    out = [f"{name}: {verdict.digests} digests, {verdict.records} records of {start} to {end} in the chain"]
    head = verdict.head
    if head is None:
        out.append("  head: none (no digest verifies)")
    else:
        written = f"{head.written_at:%Y-%m-%dT%H:%M:%SZ}" if head.written_at else "unknown"
        out.append(f"  head: {head.key} (sequence {head.sequence}), written {written}, sha256 {head.sha256}")
    if verdict.max_head_age is not None:
        minutes = int(verdict.max_head_age.total_seconds() // 60)
        out.append(f"  a head older than {minutes} min fails (two sweep intervals; {verdict.interval_source})")
    else:
        out.append("  the head's age is not checked in a downloaded copy: compare it with `guardian verify` online")
    if verdict.pending:
        out.append(f"  {len(verdict.pending)} newer than the chain's head (the next sweep adds them)")
    if verdict.ok:
        out.append("  INTACT: every record is there, unchanged, and locked; each signed; the head is fresh")
    else:
        unsigned = f" ({len(verdict.unsigned)} records not signed by the guardian)" if verdict.unsigned else ""
        out.append(f"  BROKEN:{unsigned}")
    out += [f"  - {b}" for b in verdict.breaks]
    out += [f"  WARNING: {w}" for w in verdict.warnings]
    return out


def as_json(name: str, verdict: Verdict) -> str:
    return json.dumps({"evidence": name, "ok": verdict.ok, **asdict(verdict)}, indent=2, default=_json)


def _json(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)


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


def _found(  # noqa: PLR0917
    s3: Any, bucket: str, version: dict[str, Any], public: signing.PublicKey, key_id: str, has_sidecar: bool
) -> Found:
    key = version["Key"]
    try:
        response = s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
        body = response["Body"].read()
        side = _read(s3, bucket, sidecar_key(key)) if has_sidecar else None
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
