"""CloudTrail's own digest files, validated offline: the logic of ``aws cloudtrail validate-logs``.

Pure. With log file validation on, CloudTrail delivers every hour, per Region, a gzipped digest file that lists the
log files it delivered (key and SHA-256 of the uncompressed file) and links to the previous digest (its key and
signature). CloudTrail signs each digest (SHA256withRSA, the signature hex in the object's ``signature`` metadata)
with a per-Region key whose public half only CloudTrail's ListPublicKeys gives. An insider able to delete or
overwrite objects (``s3:*``, or bypassing GOVERNANCE retention) cannot write a digest that verifies, so a log file
deleted or changed, or a digest deleted or changed, shows as a break. The signed string, per the CLI:
``digestEndTime \\n bucket/key \\n sha256(uncompressed digest) \\n previousDigestSignature`` (``null`` for the first).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from guardian.model.signing import PublicKey, SignatureError, parse_rsa_public_key, pkcs1_sha256_valid

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

STATE_SCHEMA = "cloudtrail-guardian/log-validation"
FIRST_WINDOW = timedelta(hours=24)  # with nothing validated yet: the digests of the last day
MAX_DIGESTS = 6  # per trail and Region and sweep: a backlog is taken over several sweeps, in bounded time
LISTED = 1000  # keys per listing (one ListObjectsV2 page) of a Region's digest folder
ALGORITHM = "SHA256withRSA"
STALE_AFTER = timedelta(hours=2)  # digests are hourly: none newer this long after the last one means deleted
_STAMP = re.compile(r"(\d{8}T\d{6}Z)\.json\.gz")


def state_key(home_region: str, trail: str) -> str:
    """Where the sweep remembers, signed, the last digest it validated of each Region of a trail."""
    return f"baselines/log-validation/{home_region}/{trail}.json"


def digest_root(prefix: str | None, account: str) -> str:
    """``[prefix/]AWSLogs/<account>/CloudTrail-Digest/``: a folder per Region below it."""
    base = f"{prefix.strip('/')}/" if prefix and prefix.strip("/") else ""
    return f"{base}AWSLogs/{account}/CloudTrail-Digest/"


def digest_folder(prefix: str | None, account: str, region: str) -> str:
    """``[prefix/]AWSLogs/<account>/CloudTrail-Digest/<Region>/``: one Region's digests, by day then by name."""
    return f"{digest_root(prefix, account)}{region}/"


def regions_in(root: str, folders: Sequence[str]) -> set[str]:
    """The Regions whose digest folders are listed (``folders``: the common prefixes below ``root``)."""
    return {f[len(root) :].strip("/") for f in folders if f.startswith(root) and f[len(root) :].strip("/")}


def first_start_after(folder: str, now: datetime) -> str:
    """With nothing validated yet, list from the day :data:`FIRST_WINDOW` ago (keys sort by day)."""
    return f"{folder}{now - FIRST_WINDOW:%Y/%m/%d}/"


def is_trail_digest(key: str, *, account: str, region: str, trail: str, home_region: str) -> bool:
    """Whether ``key`` is one of this trail's hourly digests in ``region`` (backfill digests have their own
    ``_backfill`` suffix and are not links of the chain)."""
    name = key.rsplit("/", 1)[-1]
    head = f"{account}_CloudTrail-Digest_{region}_{trail}_{home_region}_"
    return name.startswith(head) and _STAMP.fullmatch(name[len(head) :]) is not None


def digest_end(key: str) -> datetime | None:
    """The digest's end time, from its name."""
    found = _STAMP.search(key.rsplit("/", 1)[-1])
    return datetime.strptime(found.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) if found else None


@dataclass(frozen=True)
class Digest:
    """One digest file as read: its key, its uncompressed bytes and document, and the signature S3 keeps with it."""

    bucket: str
    key: str
    body: bytes  # uncompressed
    document: Mapping[str, Any]
    signature: str  # hex, from the object's metadata
    algorithm: str

    @property
    def previous_key(self) -> str | None:
        found = self.document.get("previousDigestS3Object")
        return str(found) if found else None

    @property
    def fingerprint(self) -> str:
        return str(self.document.get("digestPublicKeyFingerprint", ""))

    def log_files(self) -> list[tuple[str, str, str]]:
        """(bucket, key, SHA-256 hex) of each log file the digest lists."""
        listed = self.document.get("logFiles") or []
        return [(str(f.get("s3Bucket", "")), str(f.get("s3Object", "")), str(f.get("hashValue", ""))) for f in listed]


def read_digest(bucket: str, key: str, compressed: bytes, metadata: Mapping[str, str]) -> Digest | str:
    """The digest, or why it cannot be read (not gzip, not JSON): a digest CloudTrail wrote always can be."""
    try:
        body = gzip.decompress(compressed)
        document = json.loads(body)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        return f"digest file {key} is not a gzipped JSON document ({type(exc).__name__}): it was replaced"
    if not isinstance(document, dict):
        return f"digest file {key} is not a JSON object: it was replaced"
    lowered = {k.lower(): v for k, v in metadata.items()}
    return Digest(bucket, key, body, document, lowered.get("signature", ""), lowered.get("signature-algorithm", ""))


def string_to_sign(digest: Digest) -> bytes:
    previous = digest.document.get("previousDigestSignature")
    return "\n".join(
        (
            str(digest.document.get("digestEndTime")),
            f"{digest.document.get('digestS3Bucket')}/{digest.document.get('digestS3Object')}",
            hashlib.sha256(digest.body).hexdigest(),
            "null" if previous is None else str(previous),
        )
    ).encode("utf-8")


def digest_problems(digest: Digest, keys: Mapping[str, PublicKey]) -> list[str]:
    """Why the digest does not verify (``keys``: CloudTrail's public keys by fingerprint), empty if it does."""
    where = (digest.document.get("digestS3Bucket"), digest.document.get("digestS3Object"))
    if where != (digest.bucket, digest.key):
        return [f"digest file {digest.key} says it is s3://{where[0]}/{where[1]}: a digest copied over another"]
    if digest.algorithm != ALGORITHM or not digest.signature:
        return [f"digest file {digest.key} has no CloudTrail signature in its metadata: it was replaced"]
    key = keys.get(digest.fingerprint)
    if key is None:
        return [f"digest file {digest.key} is signed with a key CloudTrail does not list ({digest.fingerprint!r})"]
    try:
        signature = bytes.fromhex(digest.signature)
    except ValueError:
        signature = b""
    if not pkcs1_sha256_valid(string_to_sign(digest), signature, key):
        return [f"digest file {digest.key} does not verify: changed after CloudTrail delivered it"]
    return []


@dataclass(frozen=True)
class Link:
    """The last digest validated in one Region: the next one must name it, and carry its signature."""

    key: str
    signature: str

    def to_json(self) -> dict[str, str]:
        return {"digest": self.key, "signature": self.signature}


def link_problems(digest: Digest, before: Link | None) -> list[str]:
    """Whether ``digest`` follows ``before`` (None: nothing validated before it in this Region). A digest with no
    previous one starts a chain (CloudTrail starts one when logging starts again): its own signature still holds."""
    if before is None or digest.previous_key is None:
        return []
    if digest.previous_key != before.key:
        return [
            f"digest file {digest.previous_key} is missing (digest file {digest.key} follows it; the last one "
            f"validated is {before.key})"
        ]
    if str(digest.document.get("previousDigestSignature")) != before.signature:
        return [f"digest file {before.key} was replaced after it was validated (digest file {digest.key} follows it)"]
    return []


def log_problems(digest: Digest, found: Mapping[str, bytes | None], unreadable: Collection[str] = ()) -> list[str]:
    """Each log file the digest lists that is missing (``found`` maps its key to None) or whose SHA-256 differs;
    one in ``unreadable`` exists but could not be read (a KMS key the sweep may not use): it is not compared."""
    problems: list[str] = []
    for _, key, expected in digest.log_files():
        if key in unreadable:
            continue
        compressed = found.get(key)
        if compressed is None:
            problems.append(f"log file {key} is missing (deleted after delivery; listed in {digest.key})")
            continue
        try:
            actual = hashlib.sha256(gzip.decompress(compressed)).hexdigest()
        except (OSError, EOFError, zlib.error):
            actual = ""
        if actual != expected:
            problems.append(f"log file {key} was changed after delivery (its SHA-256 differs from {digest.key})")
    return problems


def digests_vanished(delivered_at: datetime | None, newest: datetime | None) -> list[str]:
    """CloudTrail says it delivered a digest file (GetTrailStatus ``LatestDigestDeliveryTime``) later than any the
    bucket holds: the newer ones were deleted as they arrived. ``newest``: the end of the newest digest found.
    :data:`STALE_AFTER` covers the hour between digests and their delivery delay."""
    if delivered_at is None or newest is None or delivered_at <= newest + STALE_AFTER:
        return []
    return [
        f"CloudTrail delivered a digest file at {delivered_at:%Y-%m-%dT%H:%M:%SZ}, but the newest in the bucket ends "
        f"at {newest:%Y-%m-%dT%H:%M:%SZ}: the digest files delivered since were deleted"
    ]


def state_document(trail_arn: str, links: Mapping[str, Link], *, recorded_at: str) -> dict[str, Any]:
    return {
        "schema": STATE_SCHEMA,
        "trail": trail_arn,
        "regions": {region: link.to_json() for region, link in sorted(links.items())},
        "recorded_at": recorded_at,
    }


def links_of(document: Mapping[str, Any] | None) -> dict[str, Link]:
    if not document or document.get("schema") != STATE_SCHEMA:
        return {}
    regions = document.get("regions") or {}
    return {
        str(region): Link(str(found.get("digest", "")), str(found.get("signature", "")))
        for region, found in regions.items()
        if isinstance(found, dict)
    }


def public_keys(listed: Sequence[Mapping[str, Any]]) -> dict[str, PublicKey]:
    """ListPublicKeys' keys by fingerprint; a key that does not parse is left out (its digests then fail)."""
    found: dict[str, PublicKey] = {}
    for entry in listed:
        try:
            found[str(entry.get("Fingerprint", ""))] = parse_rsa_public_key(bytes(entry.get("Value", b"")))
        except SignatureError:
            continue
    return found
