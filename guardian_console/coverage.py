"""What a report covers, judged from what was read of each account (:mod:`guardian_console.coverage_read`). Pure.

A report vouches only for the time the guardian watched and the signed chain recorded: from the deployment's first
record or its first digest, whichever is later (the first digest lists every record written before it), to the end of
the period or now. Before it, after it, while no sweep ran for more than two intervals, or when the chain does not
verify, nothing is vouched for, and the report says so in words (``not_covered``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class Gap:
    """A stretch longer than the threshold with no trace of a sweep (a run that ended without an error, or, when
    AWS's metrics of the function cannot be read, a digest)."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return round((self.end - self.start).total_seconds() / 60, 1)


@dataclass(frozen=True)
class Runs:
    """The sweep's traces, as read: its runs that ended without an error (``AWS/Lambda`` Invocations less Errors of
    its function, which nobody in the account can publish; each point the start of a period of ``resolution``
    seconds) and the digests it wrote, with its schedule's interval."""

    interval_seconds: int
    interval_source: str
    metric_points: tuple[tuple[datetime, float], ...] = ()
    resolution_seconds: int = 300
    digest_times: tuple[datetime, ...] = ()
    metric_problem: str | None = None  # why the metrics could not be read (the digests alone are then used)


@dataclass(frozen=True)
class Sweeps:
    interval_seconds: int
    interval_source: str
    runs: int  # runs that ended without an error, as AWS/Lambda counts them, in the covered time
    digests: int  # digests written in the covered time
    threshold_seconds: int  # a gap is a stretch longer than this with no trace of a sweep
    source: str
    gaps: tuple[Gap, ...]


@dataclass(frozen=True)
class Chain:
    """The digest chain's verification (``guardian verify`` over the period) and its head."""

    result: str  # INTACT, BROKEN, or "not verified"
    digests: int = 0
    records: int = 0
    breaks: tuple[str, ...] = ()
    head_key: str | None = None
    head_time: str | None = None
    head_sha256: str | None = None
    note: str = ""  # why it was not verified, or what of the head verify does not report
    warnings: tuple[str, ...] = ()  # what verify warns of without failing (records from before signing existed)


@dataclass(frozen=True)
class Settings:
    """The exemptions and approvers in force: the sweep function's settings, vouched for when their digest is the
    one the guardian's signed baseline of the function records."""

    exemptions: tuple[str, ...]
    approvers: tuple[str, ...]
    source: str
    vouched: bool
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountCoverage:
    account: str
    generated_by: str  # the caller's ARN, from STS GetCallerIdentity
    first_record: datetime | None  # the deployment's first record (an evidence record or a digest)
    first_digest: datetime | None
    covered_from: datetime | None  # None: nothing of the period is covered
    covered_to: datetime | None
    sweeps: Sweeps
    chain: Chain
    settings: Settings
    not_covered: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.not_covered


@dataclass(frozen=True)
class Coverage:
    start: date
    end: date
    generated_at: str
    accounts: tuple[AccountCoverage, ...]
    guardian_versions: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return bool(self.accounts) and all(a.complete for a in self.accounts)

    @property
    def not_covered(self) -> list[str]:
        several = len(self.accounts) > 1
        return [f"{a.account}: {s}" if several else s for a in self.accounts for s in a.not_covered]


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period asked, in UTC: from the first day's start to the last day's end (exclusive)."""
    return datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)


def account_coverage(
    *,
    account: str,
    start: date,
    end: date,
    now: datetime,
    generated_by: str,
    first_record: datetime | None,
    first_digest: datetime | None,
    runs: Runs,
    chain: Chain,
    settings: Settings,
) -> AccountCoverage:
    asked_from, asked_to = bounds(start, end)
    began = None if first_digest is None else max(first_digest, first_record or first_digest)
    covered_from: datetime | None = None if began is None else max(asked_from, began)
    covered_to: datetime | None = min(asked_to, now)
    if covered_from is None or covered_to is None or covered_from >= covered_to:
        covered_from = covered_to = None
    sweeps = sweeps_of(runs, covered_from, covered_to)
    words = _before(asked_from, asked_to, began, first_record)
    if covered_to is not None and covered_to < asked_to:
        words.append(f"Not covered: after {_at(covered_to)}: the period is not over yet.")
    if covered_from is not None:
        words += [
            f"Not covered: {_at(g.start)} to {_at(g.end)}: no sweep ran for {g.minutes} minutes "
            f"(more than {sweeps.threshold_seconds // 60} minutes)."
            for g in sweeps.gaps
        ]
        if chain.result != "INTACT":
            words.append(f"Not vouched for: the evidence chain is {chain.result}{_why(chain)}.")
    return AccountCoverage(
        account=account,
        generated_by=generated_by,
        first_record=first_record,
        first_digest=first_digest,
        covered_from=covered_from,
        covered_to=covered_to,
        sweeps=sweeps,
        chain=chain,
        settings=settings,
        not_covered=tuple(words),
    )


def _before(asked_from: datetime, asked_to: datetime, began: datetime | None, first: datetime | None) -> list[str]:
    if began is None:
        what = "no digest" + ("" if first is None else f" (its first record is {_at(first)})")
        return [f"Not covered: the guardian has written {what} in this account; nothing is vouched for."]
    if began <= asked_from:
        return []
    said = f"the guardian's first record is {began:%Y-%m-%d} ({began:%H:%M}Z); nothing before it is vouched for."
    if began >= asked_to:
        return [f"Not covered: the whole period: {said}"]
    return [f"Not covered: {asked_from:%Y-%m-%d} to {_at(began)}: {said}"]


def sweeps_of(runs: Runs, since: datetime | None, until: datetime | None) -> Sweeps:
    """The runs in the covered time and every gap: a stretch longer than two intervals (or the metrics' resolution,
    if coarser) with no run of the sweep function that ended without an error, as AWS's own metrics count them
    (nothing anyone in the account publishes counts: not the guardian's SweepSucceeded, not a digest listed). With
    those metrics unreadable, the digests alone: every run writes one (digest schema 1.1), so the same two
    intervals; a chain from before 1.1, a digest a day when quiet, shows its quiet hours as gaps."""
    twice = 2 * runs.interval_seconds
    if runs.metric_problem is None:
        threshold = max(twice, runs.resolution_seconds)
        source = (
            f"AWS/Lambda Invocations less Errors of the sweep function ({runs.resolution_seconds // 60}-minute points)"
        )
        times = [t for t, total in runs.metric_points if total >= 1]
    else:
        threshold = twice
        source = f"the signed digests only (AWS/Lambda's metrics could not be read: {runs.metric_problem})"
        times = list(runs.digest_times)
    if since is None or until is None:
        return Sweeps(runs.interval_seconds, runs.interval_source, 0, 0, threshold, source, ())
    inside = sorted(t for t in times if since <= t <= until)
    edges = [since, *inside, until]
    gaps = tuple(Gap(a, b) for a, b in itertools.pairwise(edges) if (b - a).total_seconds() > threshold)
    counted = round(sum(total for t, total in runs.metric_points if since <= t <= until))
    digests = sum(since <= t <= until for t in runs.digest_times)
    return Sweeps(runs.interval_seconds, runs.interval_source, counted, digests, threshold, source, gaps)


def _why(chain: Chain) -> str:
    if chain.breaks:
        return f" ({len(chain.breaks)} breaks; the first: {chain.breaks[0]})"
    return f" ({chain.note})" if chain.note else ""


def _at(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M}Z"
