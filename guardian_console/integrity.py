"""What ``guardian verify`` concludes, from the digest chain and the evidence objects as found. Pure.

A record listed by a verified digest must still be there, with the same SHA-256, under Object Lock for its full
retention; an object that no digest lists is either newer than the chain's head (pending: the next sweep adds it)
or added outside the chain; a key with a second version was changed after it was recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from guardian.model.digests import Link, chain_breaks


@dataclass(frozen=True)
class Found:
    """An evidence object version as found (online: S3; offline: a file, without version or lock)."""

    key: str
    version_id: str | None
    sha256: str
    last_modified: datetime | None
    lock_mode: str | None = None
    retain_until: datetime | None = None


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
) -> Verdict:
    verdict = Verdict(digests=len(links), breaks=chain_breaks(links))
    verified = [link for link in links if link.problem is None]
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
    return verdict


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
