"""An evidence record's SHA-256 as its signature sidecar names it, for the alert's copies (Security Hub findings, OCSF
objects, own events): the sidecar is written by the guardian alone, signed after the alert, before the copies."""

from __future__ import annotations

import logging
from typing import Any, Protocol

LOG = logging.getLogger(__name__)


class ReadsJson(Protocol):
    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None: ...


def signed_sha256(key: str, aws: ReadsJson, copy: str) -> str | None:
    """The record's SHA-256; None where there is none (no signing key, the write failed) or it cannot be read: the
    ``copy`` still goes, saying the digest is unknown."""
    from guardian.model.record_signatures import sidecar_key  # noqa: PLC0415

    try:
        document = aws.read_json(sidecar_key(key))
    except Exception:  # noqa: BLE001 - the copy still goes, saying the digest is unknown
        LOG.warning("evidence signature not readable", extra={"evidence_key": key, "copy": copy})
        return None
    record = (document or {}).get("record")
    if isinstance(record, dict) and record.get("key") == key and isinstance(record.get("sha256"), str):
        return str(record["sha256"])
    return None
