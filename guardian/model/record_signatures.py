"""Evidence records signed when written: a signature sidecar beside each record, and how it is checked. Pure.

The guardian signs a record right after its alert is published (never before: the heal and the alert wait for no
KMS call), so the signature cannot be in the record, whose bytes are written first and are locked: it goes in a
sidecar object, ``<record key>.sig``, written once (``IfNoneMatch``) under the same Object Lock. The signature covers
SHA-256 of the record's key, a newline and its exact bytes (:func:`record_message`), with the key the baselines use
(KMS, RSA, which only the guardian's roles may use to sign): a record written by anyone else, a byte changed, or a
valid record copied to another key fails. A sign that failed still leaves a sidecar, with ``signature`` null and the
error, so the gap is stated where the record is. A document signed inline (``signature`` in its JSON, as a baseline
is, over its own key) counts as signed too. Schema ``cloudtrail-guardian/record-signature``; docs/evidence.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from guardian.model import signing
from guardian.model.results import iso

if TYPE_CHECKING:
    from datetime import datetime

SIDECAR_SCHEMA = "cloudtrail-guardian/record-signature"
SIDECAR_SCHEMA_VERSION = "1.0"
SUFFIX = ".sig"
# A record's sidecar is written by the invocation that wrote the record, after its alert: within Lambda's 15-minute
# limit. The sweep waits this long for it before it calls a record unsigned (and leaves the chain's cut-off before it).
SIGN_GRACE = timedelta(minutes=15)
SIGNED_SINCE = "1.5"  # the evidence schema version from which every record is signed when written


def sidecar_key(record_key: str) -> str:
    return record_key + SUFFIX


def is_sidecar(key: str) -> bool:
    return key.endswith(SUFFIX)


def record_message(key: str, body: bytes) -> bytes:
    """What KMS signs (as a RAW message, which it hashes once more): SHA-256 of ``key``, a newline and ``body``."""
    return hashlib.sha256(key.encode("utf-8", "backslashreplace") + b"\n" + body).digest()


def sidecar(
    key: str, body: bytes, *, key_id: str | None, signature: bytes | None, at: datetime, error: str | None = None
) -> dict[str, Any]:
    """The sidecar of ``key``: its signature, or (``signature`` None) why there is none."""
    return {
        "schema": SIDECAR_SCHEMA,
        "schema_version": SIDECAR_SCHEMA_VERSION,
        "record": {"key": key, "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)},
        "signed_at": iso(at),
        "signature": None
        if signature is None
        else {
            "key_id": key_id,
            "algorithm": signing.ALGORITHM,
            "value": base64.b64encode(signature).decode("ascii"),
        },
        "error": error,
    }


def problem(
    key: str, body: bytes, sidecar_body: bytes | None, public: signing.PublicKey, *, key_id: str | None
) -> str | None:
    """Why the record at ``key`` with these bytes is not signed by the guardian's key (``key_id``; None offline: the
    exported public key alone decides), or None if it is."""
    if sidecar_body is None:
        return None if _signed_inline(key, body, public, key_id) else "not signed (no signature beside it)"
    try:
        found = json.loads(sidecar_body)
    except ValueError:
        return "signature unreadable (its sidecar is not JSON)"
    if not isinstance(found, dict) or found.get("schema") != SIDECAR_SCHEMA:
        return "signature unreadable (its sidecar is not a record signature)"
    value = found.get("signature")
    if not isinstance(value, dict):
        return f"not signed: signing failed when it was written ({found.get('error') or 'no reason given'})"
    if key_id is not None and value.get("key_id") != key_id:
        return f"signature invalid: made with another key ({value.get('key_id')!r}), not the guardian's"
    if value.get("algorithm") != signing.ALGORITHM:
        return f"signature invalid: unexpected algorithm {value.get('algorithm')!r}"
    try:
        raw = base64.b64decode(str(value.get("value", "")), validate=True)
    except ValueError:
        return "signature invalid: not base64"
    if not signing.pkcs1_sha256_valid(record_message(key, body), raw, public):
        return "signature invalid: it does not match the record's key and bytes (forged, changed, or renamed)"
    return None


def _signed_inline(key: str, body: bytes, public: signing.PublicKey, key_id: str | None) -> bool:
    """A document signed the way a baseline is (its own ``signature`` field, over its key and canonical JSON)."""
    if b'"signature"' not in body:
        return False
    try:
        document = json.loads(body)
        if not isinstance(document, dict):
            return False
        claimed = key_id or str((document.get(signing.SIGNATURE_FIELD) or {}).get("key_id", ""))
        signing.verify(key, document, public, key_id=claimed)
    except (ValueError, AttributeError, signing.SignatureError):
        return False
    return True


def legacy(body: bytes) -> str | None:
    """For a record from before signing existed (evidence schema older than :data:`SIGNED_SINCE`): "guardian <version>
    (evidence schema <x.y>)", which wrote it; else None. A record can claim any version: only the chain makes this a
    warning rather than a failure (``guardian verify``)."""
    try:
        record = json.loads(body)
        schema = str(record["schema_version"])
        version = str((record.get("guardian") or {}).get("version", "?"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return f"guardian {version} (evidence schema {schema})" if _older(schema, SIGNED_SINCE) else None


def _older(version: str, than: str) -> bool:
    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(p) if p.isdigit() else 0 for p in text.split("."))

    return parts(version) < parts(than)
