"""Evidence records signed at write (guardian/model/record_signatures.py, guardian/flows/record_signing.py) and what
``guardian verify`` concludes of their signatures and of the chain's head (guardian_console/integrity.py). Issue 22."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from guardian.flows.record_signing import SIDECAR_LOCK_DAYS, sign_object
from guardian.model.digests import Link, digest_key
from guardian.model.record_signatures import legacy, problem, record_message, sidecar, sidecar_key
from guardian.model.signing import PublicKey
from guardian_console.integrity import Found, Retention, judge

KEY_ID = "arn:aws:kms:us-east-1:123456789012:key/guardian"
PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NUMBERS = PRIVATE.public_key().public_numbers()
PUBLIC = PublicKey(NUMBERS.n, NUMBERS.e)
RECORD = "evidence/2026/11/27/e1.json"
BODY = json.dumps({"schema": "cloudtrail-guardian/evidence", "schema_version": "1.5", "outcome": "healed"}).encode()
T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


class Kms:
    """KMS Sign as the guardian's key does it: RSASSA-PKCS1-v1_5 SHA-256 over a RAW message (hashed by KMS)."""

    signing_key: str | None = KEY_ID

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def sign(self, message: bytes) -> bytes:
        if self.error:
            raise self.error
        return PRIVATE.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def public_key(self) -> PublicKey:
        return PUBLIC


class Store:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.locked: dict[str, datetime | None] = {}

    def put_if_absent(self, key: str, document: dict[str, Any], *, locked_until: datetime | None = None) -> bool:
        if key in self.objects:
            return False
        self.objects[key] = document
        self.locked[key] = locked_until
        return True

    def body(self, key: str) -> bytes:
        return json.dumps(self.objects[key]).encode()


@pytest.mark.threat("evidence-delete-young")
def test_the_signature_is_written_under_its_own_compliance_lock_for_two_days() -> None:
    """Review 5: under the bucket's GOVERNANCE lock a break-glass deleted the record and its signature together, and
    the sweep saw nothing. Its own lock (COMPLIANCE, in the adapter) keeps the signature for the orphan check."""
    store = Store()
    assert sign_object(RECORD, BODY, Kms(), store, at=T0) is None
    assert store.locked[sidecar_key(RECORD)] == T0 + timedelta(days=SIDECAR_LOCK_DAYS)
    assert SIDECAR_LOCK_DAYS == 2


def signed_sidecar(key: str = RECORD, body: bytes = BODY) -> bytes:
    store = Store()
    assert sign_object(key, body, Kms(), store, at=T0) is None
    return store.body(sidecar_key(key))


@pytest.mark.threat("evidence-forge-between-sweeps")
def test_the_signature_covers_the_key_and_the_bytes() -> None:
    side = signed_sidecar()
    assert problem(RECORD, BODY, side, PUBLIC, key_id=KEY_ID) is None
    assert problem(RECORD, BODY, side, PUBLIC, key_id=None) is None  # offline: the exported public key decides
    tampered = BODY.replace(b"healed", b"hea1ed")
    assert "does not match the record's key and bytes" in str(problem(RECORD, tampered, side, PUBLIC, key_id=KEY_ID))
    renamed = "evidence/2026/11/27/e2.json"  # a valid record and its signature copied under another key
    assert "does not match" in str(problem(renamed, BODY, side, PUBLIC, key_id=KEY_ID))
    assert problem(RECORD, BODY, None, PUBLIC, key_id=KEY_ID) == "not signed (no signature beside it)"
    other = "arn:aws:kms:us-east-1:123456789012:key/insiders"
    assert "made with another key" in str(problem(RECORD, BODY, side, PUBLIC, key_id=other))
    assert record_message(RECORD, BODY) != record_message(renamed, BODY)


def test_a_sidecar_that_is_not_a_signature_is_refused() -> None:
    assert "not JSON" in str(problem(RECORD, BODY, b"{", PUBLIC, key_id=KEY_ID))
    assert "not a record signature" in str(problem(RECORD, BODY, b"{}", PUBLIC, key_id=KEY_ID))
    forged = sidecar(RECORD, BODY, key_id=KEY_ID, signature=b"\x01" * 256, at=T0)
    assert "does not match" in str(problem(RECORD, BODY, json.dumps(forged).encode(), PUBLIC, key_id=KEY_ID))


def test_a_failed_sign_leaves_the_record_unsigned_with_the_error_beside_it_and_never_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store()
    error = sign_object(RECORD, BODY, Kms(RuntimeError("KMS is down")), store, at=T0)
    assert error is not None
    assert "KMS Sign failed" in error
    side = store.objects[sidecar_key(RECORD)]
    assert (side["signature"], side["record"]["key"]) == (None, RECORD)
    assert "KMS is down" in side["error"]
    found = problem(RECORD, BODY, store.body(sidecar_key(RECORD)), PUBLIC, key_id=KEY_ID)
    assert str(found).startswith("not signed: signing failed when it was written (KMS Sign failed")
    assert "evidence record not signed" in caplog.text


def test_a_document_signed_inline_like_a_baseline_counts_as_signed() -> None:
    from guardian.model import signing  # noqa: PLC0415

    document = {"schema": "x", "value": 1}
    key = "evidence/2026/11/27/e1.window.json"
    signature = Kms().sign(signing.digest(key, document))
    body = json.dumps(signing.signed(document, key_id=KEY_ID, signature=signature)).encode()
    assert problem(key, body, None, PUBLIC, key_id=KEY_ID) is None
    assert problem("evidence/2026/11/27/other.json", body, None, PUBLIC, key_id=KEY_ID) is not None


def test_a_record_from_before_signing_names_its_writer() -> None:
    old = json.dumps({"schema_version": "1.4", "guardian": {"version": "0.1.0"}}).encode()
    assert legacy(old) == "guardian 0.1.0 (evidence schema 1.4)"
    assert legacy(BODY) is None
    assert legacy(b"not json") is None


# -- what verify concludes -------------------------------------------------------------------------------------

DAY = date(2026, 11, 27)
LOCK = Retention("GOVERNANCE", 365)
INTERVAL = (timedelta(minutes=5), "rule CloudTrailGuardian-sweep-schedule: rate(5 minutes)")


def chain(*listed: list[str]) -> list[Link]:
    links: list[Link] = []
    for n, keys in enumerate(listed, start=1):
        previous = links[-1] if links else None
        document: dict[str, Any] = {
            "sequence": n,
            "covers": {"to": (T0 + timedelta(minutes=5 * n - 1)).isoformat()},
            "written_at": (T0 + timedelta(minutes=5 * n)).isoformat(),
            "previous": None if previous is None else {"key": previous.key, "sha256": previous.body_sha256},
            "records": [{"key": k, "version_id": "v1", "sha256": "s1"} for k in keys],
        }
        links.append(Link(digest_key(n, T0), n, f"sha-{n}", document, None))
    return links


def found(key: str = RECORD, *, unsigned: str | None = None, legacy_by: str | None = None) -> Found:
    return Found(key, "v1", "s1", T0, "GOVERNANCE", T0 + timedelta(days=365), unsigned=unsigned, legacy=legacy_by)


def verdict_of(links: list[Link], items: list[Found], now: datetime) -> Any:
    return judge(links, items, start=DAY, end=DAY, retention=LOCK, now=now, interval=INTERVAL)


def test_verify_reports_the_head_and_passes_a_signed_chain_with_a_fresh_head() -> None:
    links = chain([RECORD], [])
    verdict = verdict_of(links, [found()], T0 + timedelta(minutes=12))
    assert (verdict.ok, verdict.breaks, verdict.unsigned) == (True, [], [])
    assert verdict.head is not None
    assert (verdict.head.key, verdict.head.sequence, verdict.head.sha256) == (links[1].key, 2, "sha-2")
    assert verdict.head.written_at == T0 + timedelta(minutes=10)
    assert verdict.max_head_age == timedelta(minutes=10)


@pytest.mark.threat("evidence-forge-between-sweeps")
def test_verify_names_every_unsigned_record_whatever_the_chain_says() -> None:
    forged = "evidence/2026/11/27/forged.json"
    links = chain([RECORD, forged])  # even a record the chain lists (a chain written before signing existed)
    items = [found(), found(forged, unsigned="not signed (no signature beside it)")]
    verdict = verdict_of(links, items, T0 + timedelta(minutes=6))
    assert not verdict.ok
    assert verdict.unsigned == [forged]
    assert f"{forged}: not signed (no signature beside it)" in verdict.breaks


def test_an_unsigned_record_from_before_signing_that_the_chain_took_is_a_warning_not_a_pass_or_a_failure() -> None:
    old, outside = "evidence/2026/11/27/old.json", "evidence/2026/11/27/old-unchained.json"
    writer = "guardian 0.1.0 (evidence schema 1.4)"
    items = [
        found(old, unsigned="not signed (no signature beside it)", legacy_by=writer),
        found(outside, unsigned="not signed (no signature beside it)", legacy_by=writer),  # claims it, unchained
    ]
    verdict = verdict_of(chain([old]), items, T0 + timedelta(minutes=6))
    assert verdict.warnings == [
        f"{old}: unsigned, written by {writer} before signing existed: chained by digest {chain([old])[0].key}"
    ]
    assert verdict.unsigned == [outside]
    assert not verdict.ok


@pytest.mark.threat("evidence-chain-shorten")
def test_a_head_older_than_two_sweep_intervals_fails() -> None:
    links = chain([RECORD], [])
    assert verdict_of(links, [found()], T0 + timedelta(minutes=20)).ok  # written at +10: 10 minutes old
    late = verdict_of(links, [found()], T0 + timedelta(minutes=21))
    assert not late.ok
    assert late.breaks[0].startswith(f"the chain's head {links[1].key} (sequence 2) was written 2026-11-27T02:10:00Z")
    assert (
        "older than two sweep intervals (10 min; interval from rule CloudTrailGuardian-sweep-schedule"
        in (late.breaks[0])
    )
    assert verdict_of([], [], T0).breaks == ["the chain has no digest that verifies: nothing vouches for the evidence"]


def test_a_record_still_waiting_for_its_signature_is_signature_pending_not_unsigned() -> None:
    links = chain([])
    at = T0 + timedelta(minutes=6)
    young = Found("evidence/2026/11/27/new.json", "v1", "s9", at, unsigned="not signed", no_sidecar=True)
    verdict = verdict_of(links, [young], T0 + timedelta(minutes=7))
    assert (verdict.ok, verdict.pending, verdict.signature_pending, verdict.unsigned) == (True, [], [young.key], [])
    assert not verdict_of(links, [young], T0 + timedelta(minutes=6 + 16)).ok  # past the grace: named


@pytest.mark.threat("evidence-chain-shorten")
def test_a_head_noted_before_must_still_be_in_the_chain_unchanged() -> None:
    from guardian_console.verify import noted_head  # noqa: PLC0415

    links = chain([RECORD], [], [])
    at = T0 + timedelta(minutes=16)
    assert verdict_of(links, [found()], at).ok
    key = links[2].key
    assert noted_head(f"{key}:sha-3") == (key, "sha-3")
    assert noted_head(key) == (key, None)
    noted = judge(links, [found()], start=DAY, end=DAY, retention=LOCK, now=at, interval=INTERVAL, noted=(key, "sha-3"))
    assert noted.ok
    shortened = links[:2]  # digest 3 deleted, and a later sweep would write a fresh sequence 3: see the moto test
    gone = judge(shortened, [found()], start=DAY, end=DAY, retention=LOCK, noted=(key, None))
    assert gone.breaks == [
        f"the head noted before, {key}, is not in the chain: the chain was shortened (digests deleted)"
    ]
    rewritten = judge(links, [found()], start=DAY, end=DAY, retention=LOCK, noted=(key, "sha-other"))
    assert rewritten.breaks == [f"the head noted before, {key}, has changed (SHA-256 sha-3, not sha-other): rewritten"]


def test_verify_prints_the_head_its_key_time_and_hash_and_what_a_head_may_be_aged() -> None:
    from guardian_console.verify import as_json, lines  # noqa: PLC0415

    links = chain([RECORD], [])
    verdict = verdict_of(links, [found()], T0 + timedelta(minutes=12))
    printed = lines("123456789012 (CloudTrailGuardian)", verdict, DAY, DAY)
    assert f"  head: {links[1].key} (sequence 2), written 2026-11-27T02:10:00Z, sha256 sha-2" in printed
    aged = "  a head older than 10 min fails (two sweep intervals; rule CloudTrailGuardian-sweep-schedule: "
    assert aged + "rate(5 minutes))" in printed
    assert printed[-1].startswith("  INTACT:")
    document = json.loads(as_json("x", verdict))
    assert document["head"] == {
        "key": links[1].key,
        "sequence": 2,
        "written_at": "2026-11-27T02:10:00Z",
        "sha256": "sha-2",
    }


def test_the_sweep_finds_the_security_account_by_the_rule_the_stack_names() -> None:
    from guardian.flows.unsigned_records import ALARMS_RULE  # noqa: PLC0415
    from infra.security_account import ALARMS_RULE as STACKS  # noqa: PLC0415

    assert ALARMS_RULE == STACKS


def test_a_signature_already_there_is_not_overwritten_and_the_step_is_reported() -> None:
    store = Store()
    store.objects[sidecar_key(RECORD)] = {"placed": "by someone else"}
    assert sign_object(RECORD, BODY, Kms(), store, at=T0) == "a signature was there already (not this call's)"
    assert store.objects[sidecar_key(RECORD)] == {"placed": "by someone else"}


@pytest.mark.threat("evidence-forge-between-sweeps")
def test_a_young_unsigned_record_is_signature_pending_not_next_sweep_and_a_bad_signature_is_named_at_once() -> None:
    from guardian_console.verify import lines  # noqa: PLC0415

    at = T0 + timedelta(minutes=6)
    waiting = Found("evidence/2026/11/27/new.json", "v1", "s9", at, unsigned="not signed", no_sidecar=True)
    forged = Found("evidence/2026/11/27/forged.json", "v1", "s8", at, unsigned="signature invalid: forged")
    verdict = verdict_of(chain([]), [waiting, forged], T0 + timedelta(minutes=7))
    assert (verdict.pending, verdict.signature_pending, verdict.unsigned) == ([], [waiting.key], [forged.key])
    assert verdict.breaks == [f"{forged.key}: signature invalid: forged"]  # the next sweep refuses it: not pending
    printed = lines("x", verdict, DAY, DAY)
    assert any(line.startswith("  1 signature pending (under 15 min old") for line in printed)
    assert not any("the next sweep adds them" in line for line in printed)
