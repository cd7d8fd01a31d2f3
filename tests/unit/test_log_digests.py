"""CloudTrail digest validation, offline (guardian.model.log_digests): the signature as CloudTrail makes it, verified
in plain Python with the PKCS#1 key ListPublicKeys gives; the chain's links; the log files' SHA-256."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from guardian.model import log_digests as ld
from guardian.model.signing import PublicKey, SignatureError, parse_rsa_public_key

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
DER = KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
BUCKET = "logs"
DIGEST = (
    "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2026/12/06/"
    "111122223333_CloudTrail-Digest_us-east-2_my_trail_us-east-1_20261206T110131Z.json.gz"
)
LOG = "AWSLogs/111122223333/CloudTrail/us-east-2/2026/12/06/111122223333_CloudTrail_us-east-2_x.json.gz"
RAW_LOG = b'{"Records": []}'


def digest(previous: str | None = None, **changes: Any) -> tuple[bytes, dict[str, str]]:
    document: dict[str, Any] = {
        "digestEndTime": "2026-12-06T11:01:31Z",
        "digestS3Bucket": BUCKET,
        "digestS3Object": DIGEST,
        "digestPublicKeyFingerprint": "fp",
        "previousDigestS3Object": "prev-key" if previous else None,
        "previousDigestSignature": previous,
        "logFiles": [{"s3Bucket": BUCKET, "s3Object": LOG, "hashValue": hashlib.sha256(RAW_LOG).hexdigest()}],
    }
    body = json.dumps(document).encode()
    signed = f"{document['digestEndTime']}\n{BUCKET}/{DIGEST}\n{hashlib.sha256(body).hexdigest()}\n{previous or 'null'}"
    signature = KEY.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256()).hex()
    if changes:
        body = json.dumps({**document, **changes}).encode()
    return gzip.compress(body), {"signature": signature, "signature-algorithm": "SHA256withRSA"}


def read(previous: str | None = None, **changes: Any) -> ld.Digest:
    found = ld.read_digest(BUCKET, DIGEST, *digest(previous, **changes))
    assert isinstance(found, ld.Digest)
    return found


def keys() -> dict[str, PublicKey]:
    return ld.public_keys([{"Fingerprint": "fp", "Value": DER}])


def test_the_pkcs1_key_cloudtrail_lists_is_parsed() -> None:
    numbers = KEY.public_key().public_numbers()
    assert parse_rsa_public_key(DER) == PublicKey(numbers.n, numbers.e)
    with pytest.raises(SignatureError):
        parse_rsa_public_key(b"\x02\x01\x00")


def test_a_digest_signed_as_cloudtrail_signs_verifies_first_of_a_chain_and_later() -> None:
    assert ld.digest_problems(read(), keys()) == []
    assert ld.digest_problems(read(previous="ab12"), keys()) == []


def test_a_changed_digest_or_an_unknown_key_or_a_digest_moved_elsewhere_does_not_verify() -> None:
    assert "does not verify" in ld.digest_problems(read(logFiles=[]), keys())[0]
    assert "does not list" in ld.digest_problems(read(), {})[0]
    moved = ld.read_digest(BUCKET, DIGEST.replace("20261206T110131Z", "20261206T120131Z"), *digest())
    assert isinstance(moved, ld.Digest)
    assert "copied over another" in ld.digest_problems(moved, keys())[0]
    assert "not a gzipped JSON" in str(ld.read_digest(BUCKET, DIGEST, b"plain", {}))


def test_links_name_the_missing_digest_and_a_replaced_one() -> None:
    later = read(previous="ab12")
    assert ld.link_problems(later, None) == []
    assert ld.link_problems(later, ld.Link("prev-key", "ab12")) == []
    assert "digest file prev-key is missing" in ld.link_problems(later, ld.Link("older-key", "cd34"))[0]
    assert "was replaced" in ld.link_problems(later, ld.Link("prev-key", "ffff"))[0]


def test_a_missing_or_changed_log_file_is_named() -> None:
    d = read()
    assert ld.log_problems(d, {LOG: gzip.compress(RAW_LOG)}) == []
    assert ld.log_problems(d, {LOG: None}) == [
        f"log file {LOG} is missing (deleted after delivery; listed in {DIGEST})"
    ]
    assert "was changed" in ld.log_problems(d, {LOG: gzip.compress(b"{}")})[0]


def test_only_this_trails_hourly_digests_of_this_region_are_links() -> None:
    mine = {"account": "111122223333", "region": "us-east-2", "trail": "my_trail", "home_region": "us-east-1"}
    assert ld.is_trail_digest(DIGEST, **mine)
    assert not ld.is_trail_digest(DIGEST.replace("my_trail", "other"), **mine)
    assert not ld.is_trail_digest(DIGEST.replace(".json.gz", "_backfill.json.gz"), **mine)
    assert ld.digest_end(DIGEST) == datetime(2026, 12, 6, 11, 1, 31, tzinfo=UTC)
    assert ld.digest_folder("/audit/", "1", "eu-west-1") == "audit/AWSLogs/1/CloudTrail-Digest/eu-west-1/"
    assert ld.first_start_after("f/", datetime(2026, 12, 6, 1, tzinfo=UTC)) == "f/2026/12/05/"


def test_the_position_round_trips_and_ignores_other_documents() -> None:
    links = {"us-east-1": ld.Link("k", "s")}
    assert ld.links_of(ld.state_document("arn", links, recorded_at="t")) == links
    assert ld.links_of({"schema": "other"}) == {}
    assert ld.links_of(None) == {}


def test_a_digest_cloudtrail_delivered_but_the_bucket_lacks_is_found_from_the_delivery_time() -> None:
    newest = datetime(2026, 12, 6, 11, 1, 31, tzinfo=UTC)
    assert ld.digests_vanished(None, newest) == []
    assert ld.digests_vanished(newest + ld.STALE_AFTER, newest) == []  # the next one may still be on its way
    [found] = ld.digests_vanished(newest + ld.STALE_AFTER + timedelta(minutes=1), newest)
    assert "were deleted" in found


def test_the_regions_a_trail_wrote_digests_for_are_read_from_its_folders() -> None:
    root = ld.digest_root("audit", "1")
    assert root == "audit/AWSLogs/1/CloudTrail-Digest/"
    assert ld.regions_in(root, [f"{root}eu-west-3/", f"{root}us-east-1/", "elsewhere/x/"]) == {"eu-west-3", "us-east-1"}
