"""``guardian verify``: read the digest chain and the evidence of a period (each record with its signature), online
(S3, KMS) or from a downloaded copy with an exported public key, and hand them to
:func:`guardian_console.integrity.judge`."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardian.model import signing
from guardian.model.digests import DIGEST_PREFIX, DIGEST_SCHEMA, Link, sequence_of
from guardian.model.record_signatures import is_sidecar, sidecar_key
from guardian_console import security_heads
from guardian_console import verify_read as read
from guardian_console.errors import ConsoleError
from guardian_console.integrity import Found, Verdict, judge
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
    listed_keys = read.digest_keys(s3, bucket)
    keys, from_middle = _chain_from(listed_keys, start)
    if noted is not None and noted[0] in listed_keys and noted[0] not in keys:
        keys = [noted[0], *keys]  # read too, though older than the period's part of the chain
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        bodies = list(pool.map(lambda key: (key, read.read(s3, bucket, key)), keys))
    links = _links(bodies, public, key_id=deployed.signing_key)
    prefixes = day_prefixes(start, end)
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        listing = list(pool.map(lambda p: read.versions(s3, bucket, p), prefixes + read.window_prefixes(prefixes)))
    listed = [v for versions in listing[: len(prefixes)] for v in versions]
    sidecars = {v["Key"] for v in listed if is_sidecar(v["Key"])}
    versions = [v for v in listed if not is_sidecar(v["Key"])]
    blind = [v for found in listing[len(prefixes) :] for v in found]

    def found(version: dict[str, Any]) -> Found:
        has_sidecar = sidecar_key(version["Key"]) in sidecars
        return read.found(s3, bucket, version, public, deployed.signing_key, has_sidecar)

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        items = list(pool.map(found, versions))
        windows = tuple(pool.map(found, blind))
    seconds, source = interval_of(session, deployed)
    return judge(
        links,
        items,
        start=start,
        end=end,
        retention=read.retention(s3, bucket),
        now=now or datetime.now(UTC),
        interval=(timedelta(seconds=seconds), source),
        from_middle=from_middle,
        noted=noted,
        orphaned=read.orphaned(listed),
        windows=windows,
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
    public = read.public_key_from_file(public_key_file)
    digests = sorted(p for p in (directory / DIGEST_PREFIX).rglob("*.json"))
    links = _links([(p.relative_to(directory).as_posix(), p.read_bytes()) for p in digests], public, key_id=None)
    found, gone = read.offline_found(directory, public, "evidence")
    windows, _ = read.offline_found(directory, public, "blind-windows")
    return judge(
        links,
        found,
        start=start,
        end=end,
        retention=None,
        offline=True,
        noted=noted,
        orphaned=gone,
        windows=tuple(windows),
    )


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
    if verdict.signature_pending:
        out.append(
            f"  {len(verdict.signature_pending)} signature pending (under 15 min old, no signature yet: the sweep "
            "alerts and refuses any still unsigned after that)"
        )
    if verdict.ok:
        out.append("  INTACT: every record is there, unchanged, and locked; each signed; the head is fresh")
    else:
        unsigned = f" ({len(verdict.unsigned)} records not signed by the guardian)" if verdict.unsigned else ""
        out.append(f"  BROKEN:{unsigned}")
    out += [f"  - {b}" for b in verdict.breaks]
    out += [f"  WARNING: {w}" for w in verdict.warnings]
    return out


def as_json(name: str, verdict: Verdict) -> str:
    return json.dumps({"evidence": name, "ok": verdict.ok, **asdict(verdict)}, indent=2, default=json_value)


def json_value(value: object) -> object:
    """A verdict's times and durations as JSON: ISO 8601 in UTC, and seconds."""
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
