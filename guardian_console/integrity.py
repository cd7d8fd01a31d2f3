"""What ``guardian verify`` concludes, from the digest chain and the evidence objects as found. Pure.

A record listed by a verified digest must still be there, with the same SHA-256, under Object Lock for its full
retention; an object that no digest lists is either newer than the chain's head (pending: the next sweep adds it;
"signature pending" if it is under 15 minutes old and unsigned) or added outside the chain; a key with a second
version was changed after it was recorded. A signature whose record is gone, or a record a digest names ``deleted``,
is a deleted record; a blind-window object a digest lists must still be there, unchanged. Every record must carry
the guardian's signature (guardian.model.record_signatures), whatever the chain says: one without is named, but for
a record from before signing existed that the chain took then (a warning). The chain's head must be younger than two
sweep intervals (the sweep writes a digest every run): an older head means the sweep stopped, or the newest digests
were deleted (a shortened chain).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from guardian.model.digests import Link, chain_breaks
from guardian.model.record_signatures import SIGN_GRACE


@dataclass(frozen=True)
class Found:
    """An evidence object version as found (online: S3; offline: a file, without version or lock)."""

    key: str
    version_id: str | None
    sha256: str
    last_modified: datetime | None
    lock_mode: str | None = None
    retain_until: datetime | None = None
    unsigned: str | None = None  # why its signature is missing or invalid; None: signed by the guardian
    legacy: str | None = None  # the guardian that wrote it, for a record from before signing existed
    no_sidecar: bool = False  # no signature beside it (one may still come, for a record under 15 minutes old)


@dataclass(frozen=True)
class Head:
    """The chain's newest digest that verifies: its key, sequence, when it was written, the SHA-256 of its bytes."""

    key: str
    sequence: int
    written_at: datetime | None
    sha256: str


@dataclass(frozen=True)
class Retention:
    mode: str
    days: int


@dataclass
class Verdict:
    digests: int = 0
    records: int = 0
    breaks: list[str] = field(default_factory=list)  # each one names what is wrong
    pending: list[str] = field(default_factory=list)  # written after the chain's head: the next sweep adds them
    signature_pending: list[str] = field(default_factory=list)  # under 15 minutes old, no signature beside it yet
    unsigned: list[str] = field(default_factory=list)  # records whose signature is missing or invalid (in breaks too)
    warnings: list[str] = field(default_factory=list)  # unsigned records from before signing existed, chained then
    head: Head | None = None
    max_head_age: timedelta | None = None  # two sweep intervals; None: not checked (a downloaded copy)
    interval_source: str = ""  # where the sweep's interval was read

    @property
    def ok(self) -> bool:
        return not self.breaks


def day_of(key: str) -> date | None:
    parts = key.split("/")
    try:
        return date(int(parts[1]), int(parts[2]), int(parts[3]))
    except (IndexError, ValueError):
        return None


def judge(
    links: list[Link],
    found: list[Found],
    *,
    start: date,
    end: date,
    retention: Retention | None,
    offline: bool = False,
    now: datetime | None = None,
    interval: tuple[timedelta, str] | None = None,
    from_middle: bool = False,
    noted: tuple[str, str | None] | None = None,
    orphaned: tuple[str, ...] = (),
    windows: tuple[Found, ...] = (),
) -> Verdict:
    """``interval``: the sweep's interval and where it was read; with ``now``, a head older than two is a break.
    ``from_middle``: ``links`` are the chain from the digest before the period's first to the head. ``noted``: a head
    seen before (its key, and its SHA-256 if known), kept outside the account: it must still be in the chain.
    ``orphaned``: record keys whose signature sidecar is there but no version of the record; ``windows``: the
    blind-window objects found."""
    verdict = Verdict(digests=len(links), breaks=chain_breaks(links, from_middle=from_middle))
    verified = [link for link in links if link.problem is None]
    verdict.head = _head(verified)
    if interval is not None and now is not None:
        verdict.max_head_age, verdict.interval_source = 2 * interval[0], interval[1]
        verdict.breaks += _stale(verdict.head, now, 2 * interval[0], interval[1])
    if noted is not None:
        verdict.breaks += _noted(noted, links)
    listed: dict[str, list[dict[str, str]]] = {}
    for link in verified:
        for entry in link.document.get("records", []):
            listed.setdefault(str(entry["key"]), []).append({**entry, "digest": link.key})
    cutoffs = [_time(link.document.get("covers", {}).get("to")) for link in verified]
    head_cutoff = max((c for c in cutoffs if c is not None), default=None)
    by_key: dict[str, list[Found]] = {}
    for item in found:
        by_key.setdefault(item.key, []).append(item)
    for key, entries in sorted(listed.items()):
        if _in(key, start, end):
            verdict.records += 1
            verdict.breaks += _listed_problems(key, entries, by_key.get(key, []), retention, offline=offline)
    for item in sorted(found, key=lambda f: f.key):
        if _in(item.key, start, end):
            _unlisted(item, listed.get(item.key, []), head_cutoff, verdict, offline=offline)
            young = now is not None and item.last_modified is not None and now - item.last_modified < SIGN_GRACE
            if item.unsigned and item.key in verdict.pending:  # the next sweep refuses it: not pending
                verdict.pending.remove(item.key)
                if young and item.no_sidecar:  # its signature may still be on its way
                    verdict.signature_pending.append(item.key)
                    continue
            _signature(item, listed.get(item.key, []), verdict, offline=offline)
    verdict.breaks += _deleted(verified, orphaned, set(listed), start, end)
    verdict.breaks += _windows(verified, windows, start, end, offline=offline)
    return verdict


def _deleted(verified: list[Link], orphaned: tuple[str, ...], listed: set[str], start: date, end: date) -> list[str]:
    """Records deleted before a digest took them: a digest names them (``deleted``, schema 1.2), or their signature
    is there without them (one a digest lists is named as deleted already)."""
    named: dict[str, tuple[str, str]] = {}
    for link in verified:
        for gone in link.document.get("deleted") or []:
            named.setdefault(str(gone.get("key")), (link.key, str(gone.get("sha256"))))
    found = [
        f"{key}: deleted before a digest took it (SHA-256 {sha}; named in {digest})"
        for key, (digest, sha) in sorted(named.items())
        if _in(key, start, end)
    ]
    found += [
        f"{key}: deleted: its signature {key}.sig is there, the record is not"
        for key in sorted(set(orphaned) - set(named) - listed)
        if _in(key, start, end)
    ]
    return found


def _windows(verified: list[Link], windows: tuple[Found, ...], start: date, end: date, *, offline: bool) -> list[str]:
    """A blind-window object a digest lists (``windows``, schema 1.2) must still be there, unchanged."""
    found: list[str] = []
    for link in verified:
        for entry in link.document.get("windows") or []:
            key = str(entry.get("key"))
            if not _in(key, start, end):
                continue
            same = [w for w in windows if w.key == key and (offline or w.version_id == entry.get("version_id"))]
            if not same:
                found.append(f"{key}: deleted (version {entry.get('version_id')}, listed in {link.key})")
            elif same[0].sha256 != entry.get("sha256"):
                found.append(f"{key}: altered (its SHA-256 is not the one {link.key} lists)")
    return found


def _head(verified: list[Link]) -> Head | None:
    if not verified:
        return None
    newest = max(verified, key=lambda link: link.sequence)
    return Head(newest.key, newest.sequence, _time(newest.document.get("written_at")), newest.body_sha256)


def _stale(head: Head | None, now: datetime, most: timedelta, source: str) -> list[str]:
    """A head older than two sweep intervals: the sweep writes a digest every run, so digests stopped coming (the
    sweep is down) or the newest ones were deleted (the chain shortened, which no gap in it shows)."""
    if head is None:
        return ["the chain has no digest that verifies: nothing vouches for the evidence"]
    if head.written_at is None or now - head.written_at <= most:
        return []
    age = now - head.written_at
    return [
        f"the chain's head {head.key} (sequence {head.sequence}) was written {head.written_at:%Y-%m-%dT%H:%M:%SZ}, "
        f"{_age(age)} ago: older than two sweep intervals ({_age(most)}; interval from {source}). The sweep has "
        "stopped writing digests, or the newest digests were deleted (a shortened chain)"
    ]


def _noted(noted: tuple[str, str | None], links: list[Link]) -> list[str]:
    """A head noted before (by an earlier ``verify``, a report, the security team) that is gone or changed: the chain
    was shortened and extended again, which neither a gap nor the head's age shows."""
    key, sha = noted
    found = next((link for link in links if link.key == key), None)
    if found is None:
        return [f"the head noted before, {key}, is not in the chain: the chain was shortened (digests deleted)"]
    if sha and found.body_sha256 != sha:
        return [f"the head noted before, {key}, has changed (SHA-256 {found.body_sha256}, not {sha}): rewritten"]
    return []


def _signature(item: Found, entries: list[dict[str, str]], verdict: Verdict, *, offline: bool) -> None:
    """A record without the guardian's valid signature is named, whatever the chain says; one from before signing
    existed that a digest took (then, when it could not be told from a forgery) is a warning."""
    if item.unsigned is None:
        return
    chained = [e for e in entries if offline or e["version_id"] == item.version_id]
    if chained and item.legacy:
        verdict.warnings.append(
            f"{item.key}: unsigned, written by {item.legacy} before signing existed: chained by digest "
            f"{chained[0]['digest']}"
        )
        return
    verdict.unsigned.append(item.key)
    verdict.breaks.append(f"{item.key}: {item.unsigned}")


def _age(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _listed_problems(
    key: str, entries: list[dict[str, str]], here: list[Found], retention: Retention | None, *, offline: bool
) -> list[str]:
    """A record some digest lists: still there, the same bytes, locked as long as it must be."""
    problems = []
    if len({e["version_id"] for e in entries}) > 1:
        problems.append(f"{key}: recorded in two versions ({_digests(entries)}): changed after it was written")
    for entry in entries:
        same = [f for f in here if offline or f.version_id == entry["version_id"]]
        if not same:
            problems.append(f"{key}: deleted (version {entry['version_id']}, listed in {entry['digest']})")
        elif same[0].sha256 != entry["sha256"]:
            problems.append(f"{key}: altered (its SHA-256 is not the one {entry['digest']} lists)")
        elif retention is not None and not offline:
            problems += _lock_problems(key, same[0], retention)
    return problems


def _unlisted(
    item: Found, entries: list[dict[str, str]], head_cutoff: datetime | None, verdict: Verdict, *, offline: bool
) -> None:
    """An object as found that no digest lists (in this version): pending, or a break."""
    if any(offline or e["version_id"] == item.version_id for e in entries):
        return
    if entries:
        verdict.breaks.append(f"{item.key}: version {item.version_id} is in no digest: changed after it was written")
    elif head_cutoff is None or item.last_modified is None or item.last_modified > head_cutoff:
        verdict.pending.append(item.key)
    else:
        verdict.breaks.append(f"{item.key}: added outside the chain (written before the chain's head, not in it)")


def _lock_problems(key: str, item: Found, retention: Retention) -> list[str]:
    problems = []
    if item.lock_mode != retention.mode:
        problems.append(f"{key}: Object Lock mode {item.lock_mode}, not {retention.mode}")
    if item.last_modified is not None:
        required = item.last_modified + timedelta(days=retention.days) - timedelta(days=1)
        if item.retain_until is None or item.retain_until < required:
            problems.append(f"{key}: retained until {item.retain_until}, less than {retention.days} days")
    return problems


def _in(key: str, start: date, end: date) -> bool:
    day = day_of(key)
    return day is None or start <= day <= end  # undated records belong to every period


def _time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _digests(entries: list[dict[str, str]]) -> str:
    return ", ".join(sorted({e["digest"] for e in entries}))
