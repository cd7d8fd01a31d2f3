"""Sign an evidence object once it is written and its alert is out: the sidecar of
:mod:`guardian.model.record_signatures`, written once.

Called after the alert is published (or refused, or held for its group's digest), so no heal or alert waits on KMS.
A failure is logged and returned, never raised: the record stays (unsigned, its sidecar naming the error where it can
be written), and the next sweep alerts it HIGH and keeps it out of the digest chain, so the gap is seen.
Any object the guardian writes under ``evidence/`` is signed this way (:func:`sign_object`).

The sidecar carries its own COMPLIANCE lock for :data:`SIDECAR_LOCK_DAYS`: no one, break-glass or root, deletes it
before a digest takes its record, so deleting the record (every version, under a GOVERNANCE bypass) leaves the
sidecar behind, and the sweep's orphan check alerts the deletion.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.ports.calls import Delivery, Signer
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
# How long a sidecar cannot be deleted by anyone: far longer than a sweep interval, so a digest takes the record (or
# names its deletion) first. Short, so a COMPLIANCE lock on every sidecar does not bind the bucket for long.
SIDECAR_LOCK_DAYS = 2


class WriteOnce(Protocol):
    def put_if_absent(self, key: str, document: dict[str, Any], *, locked_until: datetime | None = None) -> bool: ...


def sign_object(key: str, body: bytes, signer: Signer, store: WriteOnce, *, at: datetime) -> str | None:
    """Sign ``body`` as stored at ``key`` and write its sidecar: None, or what failed (logged)."""
    from guardian.model.record_signatures import record_message, sidecar, sidecar_key  # noqa: PLC0415

    signature, error = None, None
    if not signer.signing_key:
        error = "no signing key (GUARDIAN_SIGNING_KEY_ARN)"
    else:
        try:
            signature = signer.sign(record_message(key, body))
        except Exception as exc:  # noqa: BLE001 - after the alert: an unsigned record is alerted by the sweep
            error = f"KMS Sign failed: {describe_failure(exc)}"
    try:
        document = sidecar(key, body, key_id=signer.signing_key, signature=signature, at=at, error=error)
        until = at + timedelta(days=SIDECAR_LOCK_DAYS)
        if not store.put_if_absent(sidecar_key(key), document, locked_until=until):  # only the guardian writes it
            error = (error + "; " if error else "") + "a signature was there already (not this call's)"
    except Exception as exc:  # noqa: BLE001 - the missing sidecar is the sign, seen by the sweep and by verify
        error = (error + "; " if error else "") + f"the signature was not written: {describe_failure(exc)}"
    if error:
        LOG.error(
            "evidence record not signed: the sweep alerts it and leaves it out of the chain",
            extra={"evidence_key": key, "error": error},
        )
    return error


def sign_written(key: str, written: list[dict[str, Any]], aws: Delivery, run: Invocation) -> list[str]:
    """Sign the evidence record this call created (``written``: empty when the record was there already, which anyone
    could have written: it is never signed). The failed step, if signing failed."""
    if not written:
        return []
    from guardian.model.safe import json_bytes  # noqa: PLC0415 - the bytes HealAdapter.put_if_absent wrote

    body = json_bytes(written[-1], indent=1)
    try:
        signer = aws.ledger()
    except Exception as exc:  # noqa: BLE001 - after the alert: reported, never raised
        LOG.error("evidence record not signed: no signer", extra={"evidence_key": key, "error": describe_failure(exc)})
        return ["sign the evidence record"]
    return ["sign the evidence record"] if sign_object(key, body, signer, aws, at=run.clock()) else []
