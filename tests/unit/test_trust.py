"""The pure rules of trust: signatures (tampering, another key, another object key), the floor, and CloudTrail's
confirmation of an exempt change."""

from __future__ import annotations

import copy
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from guardian.model import signing
from guardian.model.approvals import CHANGED_BY, WAIT, Pending, approved, confirmation
from guardian.model.bucket import BucketState
from guardian.model.floor import FLOOR_SELECTOR, below_floor, raise_to_floor
from guardian.model.log_group import LogGroupState
from guardian.model.rules import RULES, Subject
from guardian.model.trail import TrailState

PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
DER = PRIVATE.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
KEY_ID = "arn:aws:kms:us-east-1:123456789012:key/guardian"
KEY = "baselines/us-east-1/org-audit.json"
DOCUMENT: dict[str, Any] = {"schema": "cloudtrail-guardian/baseline", "trail": {"name": "org-audit", "logging": True}}


def kms_sign(message: bytes) -> bytes:
    """What KMS Sign does with a RAW message and RSASSA_PKCS1_V1_5_SHA_256: hash it, then sign."""
    return PRIVATE.sign(message, padding.PKCS1v15(), hashes.SHA256())


def signed_document(key: str = KEY, document: dict[str, Any] = DOCUMENT) -> dict[str, Any]:
    return signing.signed(document, key_id=KEY_ID, signature=kms_sign(signing.digest(key, document)))


def test_the_public_key_is_read_from_kms_der() -> None:
    public = signing.parse_public_key(DER)
    assert public == signing.PublicKey(PRIVATE.public_key().public_numbers().n, 65537)
    with pytest.raises(signing.SignatureError, match="not an RSA public key"):
        signing.parse_public_key(b"\x30\x03\x02\x01\x01")


def test_a_signed_document_verifies_and_any_change_is_refused() -> None:
    public = signing.parse_public_key(DER)
    document = signed_document()
    signing.verify(KEY, document, public, key_id=KEY_ID)
    changed = copy.deepcopy(document)
    changed["trail"]["logging"] = False
    with pytest.raises(signing.SignatureError, match="does not match"):
        signing.verify(KEY, changed, public, key_id=KEY_ID)


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda d: d.pop("signature"), "not signed"),
        (lambda d: d["signature"].update(key_id="arn:aws:kms:us-east-1:123456789012:key/attacker"), "another key"),
        (lambda d: d["signature"].update(value="not base64!"), "not base64"),
        (lambda d: d["signature"].update(algorithm="RSASSA_PSS_SHA_256"), "unexpected signing algorithm"),
    ],
)
def test_unsigned_or_foreign_signatures_are_refused(mutate: Any, problem: str) -> None:
    document = signed_document()
    mutate(document)
    with pytest.raises(signing.SignatureError, match=problem):
        signing.verify(KEY, document, signing.parse_public_key(DER), key_id=KEY_ID)


def test_a_genuine_document_under_another_key_is_refused() -> None:
    west = signed_document("baselines/us-west-2/audit-west.json")
    with pytest.raises(signing.SignatureError, match="does not match"):
        signing.verify(KEY, west, signing.parse_public_key(DER), key_id=KEY_ID)


def test_text_that_cannot_be_encoded_is_still_signed_and_verified() -> None:
    document = {"trail": {"tags": ["\ud800", "é"]}}
    signing.verify(KEY, signed_document(document=document), signing.parse_public_key(DER), key_id=KEY_ID)


BASE = TrailState(
    name="t", arn="arn:aws:cloudtrail:us-east-1:1:trail/t", home_region="us-east-1", logging=True, s3_bucket="b"
)


@pytest.mark.parametrize(
    ("state", "problems"),
    [
        (BASE, ()),
        (replace(BASE, logging=False), ("logging is off",)),
        (
            replace(BASE, event_selectors=({"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True},)),
            ("management events (read and write) are not recorded",),
        ),
        (
            replace(BASE, event_selectors=({"ReadWriteType": "All", "IncludeManagementEvents": False},)),
            ("management events (read and write) are not recorded",),
        ),
        (
            replace(
                BASE,
                event_selectors=(
                    {"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True},
                    {
                        "ReadWriteType": "WriteOnly",
                        "IncludeManagementEvents": True,
                        "ExcludeManagementEventSources": ["kms.amazonaws.com"],
                    },
                ),
            ),
            (),
        ),
        (replace(BASE, advanced_event_selectors=(FLOOR_SELECTOR,)), ()),
        (
            replace(
                BASE,
                advanced_event_selectors=(
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "readOnly", "Equals": ["true"]},
                        ]
                    },
                ),
            ),
            ("management events (read and write) are not recorded",),
        ),
    ],
)
def test_the_floor(state: TrailState, problems: tuple[str, ...]) -> None:
    assert below_floor(state) == problems
    raised = raise_to_floor(state)
    assert below_floor(raised) == ()
    assert raised == state or problems
    assert (raised.s3_bucket, raised.name) == (state.s3_bucket, state.name)


PENDING = Pending(
    "e-1", "UpdateTrail", "us-east-1", "arn:aws:sts::1:assumed-role/ci-deployer/run", "exempt", "2026-11-26T10:00:00Z"
)
RECORD = {
    "eventID": "e-1",
    "eventName": "UpdateTrail",
    "userIdentity": {
        "arn": "arn:aws:sts::1:assumed-role/ci-deployer/run",
        "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::1:role/ci-deployer"}},
    },
}


def test_cloudtrail_confirms_the_same_event_by_the_same_principal_only() -> None:
    assert confirmation(PENDING, RECORD) is None
    assert confirmation(PENDING, None) == "CloudTrail has no record of the event (yet)"
    assert "not UpdateTrail" in (confirmation(PENDING, {**RECORD, "eventName": "StopLogging"}) or "")
    forged = {**RECORD, "userIdentity": {"arn": "arn:aws:iam::1:user/mallory"}}
    assert "not by arn:aws:sts::1:assumed-role/ci-deployer/run" in (confirmation(PENDING, forged) or "")


def test_an_approval_waits_at_most_the_documented_time() -> None:
    requested = datetime(2026, 11, 26, 10, tzinfo=UTC)
    assert not PENDING.expired(requested + WAIT)
    assert PENDING.expired(requested + WAIT + timedelta(seconds=1))


def test_an_approval_takes_only_what_the_approved_call_changes() -> None:
    """The insider's move: an exempt CI role stops the trail, then the insider also disables log file validation
    and deletes the trail before the sweep confirms the approval. Only the stop is approved."""
    live = replace(BASE, logging=False, log_file_validation=False, tags=(("owner", "mallory"),))
    assert approved("StopLogging", BASE, live) == replace(BASE, logging=False)
    assert approved("StopLogging", BASE, None) == BASE  # deleted by another call: recreated
    assert approved("UpdateTrail", BASE, live) == replace(BASE, log_file_validation=False)
    assert approved("RemoveTags", BASE, live) == replace(BASE, tags=(("owner", "mallory"),))
    assert approved("DeleteTrail", BASE, None) is None  # an approved deletion retires the baseline
    assert approved("CreateTrail", None, live) == live
    assert approved("SomethingElse", BASE, live) == BASE  # a call the table does not know approves nothing


def test_every_approvable_trail_event_says_what_it_changes() -> None:
    """Each exempt-able trail, bucket and log group eventName of the decision table has an entry, naming fields
    that exist: a new row cannot silently approve nothing, or everything."""
    known = {
        Subject.TRAIL: {f.name for f in fields(TrailState)},
        Subject.BUCKET: {f.name for f in fields(BucketState)},
        Subject.LOG_GROUP: {f.name for f in fields(LogGroupState)},
    }
    for name, rule in RULES.items():
        if rule.about in known and (rule.heal is not None or name in ("CreateTrail", "StartLogging", "AddTags")):
            assert name in CHANGED_BY, name
            assert set(CHANGED_BY[name]) <= known[rule.about], name
