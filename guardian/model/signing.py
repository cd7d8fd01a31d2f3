"""Signed documents: what the guardian alone may write (baselines, approvals), authenticated so that a copy written
by anyone else is refused.

Pure. The guardian signs with a KMS asymmetric key (RSA, ``RSASSA_PKCS1_V1_5_SHA_256``) that only its own roles may
use to sign; anyone verifies with the public key, here in plain Python (the standard library has no RSA, and the
guardian takes no dependency beyond boto3): one modular exponentiation, about 50 microseconds. A signature covers
the document's canonical JSON and the object key it is stored under, so a valid baseline of one trail copied over
another's is refused too.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

ALGORITHM = "RSASSA_PKCS1_V1_5_SHA_256"
SIGNATURE_FIELD = "signature"
# DER of DigestInfo { sha256, NULL } that precedes the 32-byte hash in a PKCS#1 v1.5 signature (RFC 8017, 9.2).
_SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


class PublicKey(NamedTuple):
    modulus: int
    exponent: int


class SignatureError(ValueError):
    """A document's signature is missing, malformed, made with another key, or does not match its content."""


def canonical(document: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: sorted keys, no whitespace, ASCII only (so no text can fail to encode)."""
    body = {k: v for k, v in document.items() if k != SIGNATURE_FIELD}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str).encode("ascii")


def digest(key: str, document: Mapping[str, Any]) -> bytes:
    """SHA-256 of the storage key and the canonical document: the 32 bytes KMS is asked to sign.

    They go to KMS as a RAW message (KMS takes at most 4 KiB raw, and a baseline can be larger), so KMS hashes them
    once more before signing; :func:`verify` does the same. (``MessageType=DIGEST`` would avoid that second hash,
    but moto, which the tests use, treats it as RAW: signing RAW behaves the same in both.)"""
    return hashlib.sha256(key.encode("utf-8", "backslashreplace") + b"\n" + canonical(document)).digest()


def signed(document: Mapping[str, Any], *, key_id: str, signature: bytes) -> dict[str, Any]:
    return {
        **{k: v for k, v in document.items() if k != SIGNATURE_FIELD},
        SIGNATURE_FIELD: {
            "key_id": key_id,
            "algorithm": ALGORITHM,
            "value": base64.b64encode(signature).decode("ascii"),
        },
    }


def verify(key: str, document: Mapping[str, Any], public_key: PublicKey, *, key_id: str) -> None:
    """Raise :class:`SignatureError` unless ``document`` carries a valid signature by ``key_id`` for ``key``."""
    found = document.get(SIGNATURE_FIELD)
    if not isinstance(found, Mapping):
        raise SignatureError("the document is not signed")
    if found.get("key_id") != key_id:
        raise SignatureError(f"signed with another key ({found.get('key_id')!r}), not the guardian's ({key_id})")
    if found.get("algorithm") != ALGORITHM:
        raise SignatureError(f"unexpected signing algorithm {found.get('algorithm')!r}")
    try:
        value = base64.b64decode(str(found.get("value", "")), validate=True)
    except ValueError as exc:
        raise SignatureError("the signature is not base64") from exc
    if not _pkcs1_sha256_valid(hashlib.sha256(digest(key, document)).digest(), value, public_key):
        raise SignatureError("the signature does not match the document (changed after it was signed)")


def _pkcs1_sha256_valid(hashed: bytes, signature: bytes, public_key: PublicKey) -> bool:
    size = (public_key.modulus.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    number = int.from_bytes(signature, "big")
    if number >= public_key.modulus:
        return False
    encoded = pow(number, public_key.exponent, public_key.modulus).to_bytes(size, "big")
    expected = b"\x00\x01" + b"\xff" * (size - len(_SHA256_PREFIX) - len(hashed) - 3) + b"\x00"
    return encoded == expected + _SHA256_PREFIX + hashed


def parse_public_key(der: bytes) -> PublicKey:
    """An RSA key from KMS GetPublicKey's DER SubjectPublicKeyInfo (RFC 5280; the key itself per RFC 8017 A.1.1)."""
    try:
        info, _ = _element(der, 0x30)
        _, after_algorithm = _element(info, 0x30)
        bits, _ = _element(after_algorithm, 0x03)
        rsa_key, _ = _element(bits[1:], 0x30)  # a BIT STRING starts with its count of unused bits (0)
        modulus, rest = _element(rsa_key, 0x02)
        exponent, _ = _element(rest, 0x02)
    except (IndexError, ValueError) as exc:
        raise SignatureError(f"not an RSA public key: {exc}") from exc
    return PublicKey(int.from_bytes(modulus, "big"), int.from_bytes(exponent, "big"))


def pkcs1_sha256_valid(message: bytes, signature: bytes, public_key: PublicKey) -> bool:
    """Whether ``signature`` is an RSASSA-PKCS1-v1_5 SHA-256 signature of ``message`` (CloudTrail's digest files)."""
    return _pkcs1_sha256_valid(hashlib.sha256(message).digest(), signature, public_key)


def parse_rsa_public_key(der: bytes) -> PublicKey:
    """An RSA key from the DER of a PKCS#1 RSAPublicKey (RFC 8017 A.1.1): what CloudTrail's ListPublicKeys gives."""
    try:
        rsa_key, _ = _element(der, 0x30)
        modulus, rest = _element(rsa_key, 0x02)
        exponent, _ = _element(rest, 0x02)
    except (IndexError, ValueError) as exc:
        raise SignatureError(f"not an RSA public key: {exc}") from exc
    return PublicKey(int.from_bytes(modulus, "big"), int.from_bytes(exponent, "big"))


def _element(data: bytes, tag: int) -> tuple[bytes, bytes]:
    """(content, what follows) of the DER element at the start of ``data``, which must carry ``tag``."""
    if data[0] != tag:
        raise ValueError(f"expected DER tag {tag:#04x}, found {data[0]:#04x}")
    length, offset = data[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, offset = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
    if offset + length > len(data):
        raise ValueError("truncated DER element")
    return data[offset : offset + length], data[offset + length :]
