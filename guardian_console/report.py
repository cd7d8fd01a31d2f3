"""The auditor's report of a period, and the incidents list: rows from evidence records and a summary (the controls
the evidence supports are :mod:`guardian_console.controls`). Pure; rendered by :mod:`guardian_console.render`.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date, datetime

    from guardian_console.coverage import Coverage
    from guardian_console.records import Stored, Unread
    from guardian_console.while_off import Window

COLUMNS = (
    "time",
    "account",
    "region",
    "trail",
    "event",
    "severity",
    "outcome",
    "actor",
    "action",
    "verified",
    "blind_window_seconds",
    "restore_seconds",
    "detected_by",
    "purpose",
    "evidence_key",
    "version_id",
    "sha256",
    "lock_mode",
    "retain_until",
    "guardian_version",
)


@dataclass(frozen=True)
class Row:
    """One alerted event, as the report lists it."""

    time: str
    account: str
    region: str
    trail: str
    event: str
    severity: str
    outcome: str
    actor: str
    action: str
    verified: str
    blind_window_seconds: float | None
    restore_seconds: float | None
    detected_by: str
    purpose: str  # "" for tampering; "approval" or "selftest", counted apart
    evidence_key: str
    version_id: str
    sha256: str
    lock_mode: str
    retain_until: str
    guardian_version: str

    def values(self) -> list[object]:
        return [getattr(self, name) for name in COLUMNS]


@dataclass(frozen=True)
class Summary:
    records: int  # every record; the counts and spreads below are of tampering only (no approval, no self-test)
    incidents: int
    by_outcome: dict[str, int]
    by_severity: dict[str, int]
    blind_window: dict[str, float | None]  # median, p95, max (seconds), over healed events with a window
    restore: dict[str, float | None]  # the same, from the event to the verified restore
    detected_by: dict[str, int]
    sweep_findings: int
    self_tests: dict[str, int]  # run, passed (healed)
    approvals: int
    guardian_versions: list[str]
    unread: int


@dataclass(frozen=True)
class Report:
    start: date
    end: date
    generated_at: str
    accounts: list[str]
    rows: list[Row]
    summary: Summary
    unread: list[dict[str, str]]
    coverage: Coverage | None = None  # what the report vouches for (None: not established, and it says so)
    blind_windows: tuple[Window, ...] = ()  # what the account did while logging was off (guardian_console.while_off)

    @property
    def partial(self) -> bool:
        return bool(self.unread)

    @property
    def covered(self) -> bool:
        """The whole period is covered: watched, swept without gaps, the chain intact."""
        return self.coverage is not None and self.coverage.complete


def row(stored: Stored) -> Row:
    summary = stored.summary
    return Row(
        time=str(summary.get("time") or ""),
        account=str(summary.get("account") or stored.account),
        region=str(summary.get("region") or ""),
        trail=str(summary.get("trail") or ""),
        event=str(summary.get("event") or ""),
        severity=str(summary.get("severity") or ""),
        outcome=str(summary.get("outcome") or ""),
        actor=str(summary.get("actor") or ""),
        action=str(summary.get("action") or "none"),
        verified=str(summary.get("verified") or ""),
        blind_window_seconds=_number(summary.get("blind_window_seconds")),
        restore_seconds=_number(summary.get("restore_seconds")),
        detected_by=str(summary.get("detected_by") or "event"),
        purpose=str(summary.get("purpose") or ""),
        evidence_key=stored.key,
        version_id=stored.version_id or "",
        sha256=stored.sha256,
        lock_mode=stored.lock_mode or "",
        retain_until=stored.retain_until.isoformat().replace("+00:00", "Z") if stored.retain_until else "",
        guardian_version=str(summary.get("guardian_version") or ""),
    )


def build(
    records: list[Stored], unread: list[Unread], *, start: date, end: date, accounts: list[str], now: datetime
) -> Report:
    rows = [row(s) for s in records]
    incidents = [r for r in rows if not r.purpose]
    tests = [r for r in rows if r.purpose == "selftest"]
    windows = [r.blind_window_seconds for r in incidents if r.blind_window_seconds is not None]
    restores = [r.restore_seconds for r in incidents if r.restore_seconds is not None]
    summary = Summary(
        records=len(rows),
        incidents=len(incidents),
        by_outcome=dict(Counter(r.outcome for r in incidents).most_common()),
        by_severity=dict(Counter(r.severity for r in incidents).most_common()),
        blind_window=_spread(windows),
        restore=_spread(restores),
        detected_by=dict(Counter(r.detected_by for r in incidents).most_common()),
        sweep_findings=sum(r.detected_by == "sweep" for r in incidents),
        self_tests={"run": len(tests), "passed": sum(r.outcome == "healed" for r in tests)},
        approvals=sum(r.purpose == "approval" for r in rows),
        guardian_versions=sorted({r.guardian_version for r in rows if r.guardian_version}),
        unread=len(unread),
    )
    return Report(
        start=start,
        end=end,
        generated_at=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        accounts=accounts,
        rows=rows,
        summary=summary,
        unread=[{"key": u.key, "account": u.account, "problem": u.problem} for u in unread],
    )


def with_coverage(report: Report, coverage: Coverage) -> Report:
    """The report with what it covers; the guardian versions are those of the period's records."""
    versions = tuple(report.summary.guardian_versions)
    return replace(report, coverage=replace(coverage, guardian_versions=versions))


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"count": 0, "median": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"count": len(ordered), "median": round(statistics.median(ordered), 3), "p95": p95, "max": ordered[-1]}


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
