"""The security account's view of each guardian's evidence chain: the heads its sweeps send, kept, and judged.

Pure. Each sweep puts its chain's new head (digest key, sequence, time, SHA-256) on the security account's bus
(source ``cloudtrail-guardian.chain``). Here, per origin (account, Region, stack), the last :data:`WINDOW` heads are
kept, and a new head is judged against them. A chain is append-only: sequence and time rise together, and a sequence
once seen never changes its digest. So a head **regresses** (CRITICAL) when:

- its sequence was seen with another key or hash (the digests from there on were deleted and written again);
- it is newer by sequence but older by time than a kept head, by more than :data:`MARGIN`;
- it is older by sequence but newer by time than a kept head: the chain was shortened and grew again.

A head is **refused** (CRITICAL, never kept, so it evicts no real head) when it cannot be a sweep's: written after the
event carrying it was sent (the envelope's ``time``, and the receiver's clock, plus :data:`MARGIN`), or its sequence
ahead of the newest kept by more than one a minute since that head (the sweep runs at most once a minute) plus
:data:`SLACK`. Without these bounds heads "from 2100" with huge sequences would fill the window, and a real chain
shortened later would be judged older, not a regression. A window is trimmed of its oldest heads only.

EventBridge does not keep order, so an older head arriving late is not a regression: its time is older than those
of the newer heads kept. The window (not only the last head) lets the same-sequence check see a rewrite of a head a
few sweeps back, which is the shortening the time check may miss when the new digest is written within the margin.

The origin's account is the event envelope's ``account``, which EventBridge sets to the sender's account: never a
field of ``detail``, which the sender writes (a guardian could otherwise vouch for, or spoil, another's chain).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

HEAD_SOURCE = "cloudtrail-guardian.chain"  # as guardian.adapters.heartbeat sends it
HEAD_DETAIL_TYPE = "Guardian Evidence Chain Head"
WINDOW = 16  # heads kept per origin: a few hours of sweeps, the reordering EventBridge and Lambda's retries make
MARGIN = timedelta(minutes=2)  # a newer head this much older in time than one kept is tolerated (clocks)
SWEEP_EVERY = timedelta(minutes=1)  # the sweep runs (and writes a digest) at most this often
SLACK = WINDOW  # digests beyond one per SWEEP_EVERY a head may be ahead by (runs by hand, retries)
ALERT_SCHEMA = "cloudtrail-guardian/chain-head-alert"
ALERT_SCHEMA_VERSION = "1.0"
_ACCOUNT = re.compile(r"\d{12}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9-]{0,128}")


class HeadError(ValueError):
    """The event is not a chain head this function can judge (it is logged and dropped: retrying cannot help)."""


@dataclass(frozen=True)
class Origin:
    account: str
    region: str
    stack: str = ""

    @property
    def id(self) -> str:
        return f"{self.account}#{self.region}#{self.stack}"


@dataclass(frozen=True)
class Head:
    key: str
    sequence: int
    written_at: datetime
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "sequence": self.sequence, "written_at": _iso(self.written_at), "sha256": self.sha256}

    @classmethod
    def from_json(cls, value: Any) -> Head:
        if not isinstance(value, dict):
            raise HeadError("a head must be an object")
        key, sequence, written, sha = (value.get(k) for k in ("key", "sequence", "written_at", "sha256"))
        if not isinstance(key, str) or not key.startswith("digests/") or len(key) > 1024:
            raise HeadError(f"a head's key must be a digest's key, got {key!r:.80}")
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
            raise HeadError(f"a head's sequence must be a positive integer, got {sequence!r:.40}")
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise HeadError("a head's sha256 must be 64 lowercase hex digits")
        try:
            at = datetime.fromisoformat(str(written).replace("Z", "+00:00"))
        except ValueError as exc:
            raise HeadError(f"a head's written_at must be an ISO 8601 time, got {written!r:.40}") from exc
        if at.tzinfo is None:
            raise HeadError("a head's written_at must carry its time zone")
        return cls(key, sequence, at, sha)


@dataclass(frozen=True)
class Kept:
    """What the security account keeps for one origin: the newest heads (by sequence), and the regressions seen."""

    heads: tuple[Head, ...] = ()
    version: int = 0  # the item's version, for the conditional write
    regressions: int = 0

    @property
    def last(self) -> Head | None:
        return max(self.heads, key=lambda h: h.sequence) if self.heads else None


@dataclass(frozen=True)
class Verdict:
    kept: Kept  # what to keep now
    regression: str | None = None  # why the head is CRITICAL, if it is
    changed: bool = True  # False: a head seen before (a duplicate delivery): nothing to write
    refused: bool = False  # True: the head cannot be a sweep's (``regression`` says why): alerted, never kept


def origin_of(event: Any) -> tuple[Origin, Head]:
    """The origin and head of a chain-head event: the account from the envelope, the Region and stack from detail
    (only the guardian's roles of that account can send: the bus admits nobody else)."""
    if not isinstance(event, dict) or event.get("source") != HEAD_SOURCE:
        raise HeadError(f"not a chain head: source {event.get('source') if isinstance(event, dict) else None!r}")
    account = event.get("account")
    if not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
        raise HeadError("a chain head's envelope has no account")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise HeadError("a chain head has no detail")
    region, stack = detail.get("region"), detail.get("stack", "")
    if not isinstance(region, str) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d{1,2}", region):
        raise HeadError(f"a chain head's region is not a Region: {region!r:.40}")
    if not isinstance(stack, str) or not _NAME.fullmatch(stack):
        raise HeadError(f"a chain head's stack is not a stack name: {stack!r:.40}")
    return Origin(account, region, stack), Head.from_json(detail.get("head"))


def sent_at(event: Any) -> datetime:
    """When the event was put on the bus (its envelope's ``time``, which EventBridge always sets)."""
    text = event.get("time") if isinstance(event, dict) else None
    try:
        at = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise HeadError(f"a chain head's envelope has no time: {text!r:.40}") from exc
    if at.tzinfo is None:
        raise HeadError("a chain head's envelope time must carry its time zone")
    return at


def judge(kept: Kept, head: Head, *, sent: datetime | None = None) -> Verdict:
    """The new head against the heads kept (see the module): the state to keep, and the regression if any.
    ``sent``: the latest the head can have been written (the envelope's time, or the receiver's clock if earlier)."""
    refused = _impossible(kept, head, sent)
    if refused is not None:
        return Verdict(kept, regression=refused, refused=True)
    for seen in kept.heads:
        if seen.sequence == head.sequence:
            if (seen.key, seen.sha256) == (head.key, head.sha256):
                return Verdict(kept, changed=False)
            why = (
                f"sequence {head.sequence} was {seen.key} (SHA-256 {seen.sha256[:12]}…), now {head.key} (SHA-256 "
                f"{head.sha256[:12]}…): the chain was rewritten from there (digests deleted and written again)"
            )
            return _restart(kept, head, why)
    for seen in kept.heads:
        if seen.sequence < head.sequence and head.written_at < seen.written_at - MARGIN:
            why = (
                f"head {head.key} (sequence {head.sequence}) is dated {_iso(head.written_at)}, before sequence "
                f"{seen.sequence} kept here ({_iso(seen.written_at)}): its time went backwards"
            )
            return _restart(kept, head, why)
        if seen.sequence > head.sequence and head.written_at > seen.written_at:
            why = (
                f"head {head.key} has sequence {head.sequence}, below the {seen.sequence} kept here ({seen.key}, "
                f"{_iso(seen.written_at)}), and was written after it: the chain was shortened (digests deleted)"
            )
            return _restart(kept, head, why)
    heads = sorted((*kept.heads, head), key=lambda h: h.sequence)[-WINDOW:]
    return Verdict(Kept(tuple(heads), kept.version, kept.regressions))


def _impossible(kept: Kept, head: Head, sent: datetime | None) -> str | None:
    """Why ``head`` cannot be a sweep's (refused), or None."""
    if sent is not None and head.written_at > sent + MARGIN:
        return (
            f"refused head {head.key:.200} (sequence {head.sequence}): dated {_iso(head.written_at)}, after the event "
            f"carrying it was sent ({_iso(sent)}): forged, and not kept"
        )
    last = kept.last
    if last is None or head.sequence <= last.sequence:
        return None
    elapsed = max(timedelta(0), head.written_at - last.written_at)
    allowed = elapsed // SWEEP_EVERY + SLACK
    if head.sequence - last.sequence > allowed:
        return (
            f"refused head {head.key:.200} (sequence {head.sequence}): {head.sequence - last.sequence} digests after "
            f"sequence {last.sequence} ({_iso(last.written_at)}), at most {allowed} possible in that time: forged, "
            "and not kept"
        )
    return None


def _restart(kept: Kept, head: Head, why: str) -> Verdict:
    """After a regression the new chain is the one followed (alarmed once per regression, not at every sweep until it
    passes the old one); the count of regressions stays on the item."""
    return Verdict(Kept((head,), kept.version, kept.regressions + 1), regression=why)


def alert_message(origin: Origin, head: Head, why: str, last: Head | None, *, refused: bool = False) -> tuple[str, str]:
    """The CRITICAL alert's subject (within SNS's 100 characters) and JSON message."""
    what = "refused a forged evidence chain head" if refused else "evidence chain went backwards"
    subject = f"[CRITICAL] {origin.account} {origin.region} {what}"[:99]
    document = {
        "schema": ALERT_SCHEMA,
        "schema_version": ALERT_SCHEMA_VERSION,
        "severity": "CRITICAL",
        "account": origin.account,
        "region": origin.region,
        "stack": origin.stack,
        "summary": f"The evidence chain of the guardian in {origin.account} {origin.region} "
        f"{'was sent a head it cannot have' if refused else 'went backwards'}: {why}",
        "head": head.to_json(),
        "last_kept": last.to_json() if last is not None else None,
        "next_steps": "Run `guardian verify` in that account (it names the missing digests and records); find who "
        "deleted them in its CloudTrail data events or the evidence bucket's access logs.",
    }
    return subject, json.dumps(document, indent=1)


def kept_to_json(kept: Kept) -> str:
    return json.dumps([h.to_json() for h in kept.heads], separators=(",", ":"))


def kept_from_json(text: str, version: int, regressions: int) -> Kept:
    try:
        heads = tuple(Head.from_json(h) for h in json.loads(text))
    except (ValueError, TypeError) as exc:  # not a HeadError: the event is fine, the table is not (retried, DLQ)
        raise RuntimeError(f"the kept heads do not parse: {exc}") from exc
    return Kept(heads, version, regressions)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
