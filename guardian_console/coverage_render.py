"""The coverage block of a report (:mod:`guardian_console.coverage`): first on the HTML page, a ``coverage`` object
in the JSON, a side file beside the CSV; and the caveat of the controls section. Pure."""

from __future__ import annotations

import csv
import io
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from guardian_console.coverage import AccountCoverage, Coverage

NOT_READ = "Not covered: this report's coverage was not established; nothing in it is vouched for."


def as_dict(coverage: Coverage | None) -> dict[str, Any]:
    if coverage is None:
        return {"complete": False, "not_covered": [NOT_READ], "accounts": []}
    return {
        "complete": coverage.complete,
        "period_asked": {"from": coverage.start.isoformat(), "to": coverage.end.isoformat()},
        "generated_at": coverage.generated_at,
        "not_covered": coverage.not_covered,
        "guardian_versions": list(coverage.guardian_versions),
        "accounts": [_account(a) for a in coverage.accounts],
    }


def _account(a: AccountCoverage) -> dict[str, Any]:
    s, c, e = a.sweeps, a.chain, a.settings
    return {
        "account": a.account,
        "generated_by": a.generated_by,
        "first_record": _iso(a.first_record),
        "first_digest": _iso(a.first_digest),
        "covered": None if a.covered_from is None else {"from": _iso(a.covered_from), "to": _iso(a.covered_to)},
        "complete": a.complete,
        "not_covered": list(a.not_covered),
        "sweeps": {
            "interval_seconds": s.interval_seconds,
            "interval_source": s.interval_source,
            "runs": s.runs,
            "digests": s.digests,
            "gap_threshold_seconds": s.threshold_seconds,
            "source": s.source,
            "gaps": [{"from": _iso(g.start), "to": _iso(g.end), "minutes": g.minutes} for g in s.gaps],
        },
        "chain": {
            "result": c.result,
            "digests": c.digests,
            "records": c.records,
            "breaks": list(c.breaks),
            "head": {"key": c.head_key, "time": c.head_time, "sha256": c.head_sha256},
            "note": c.note,
            "warnings": list(c.warnings),
        },
        "settings": {
            "exemptions": list(e.exemptions),
            "approvers": list(e.approvers),
            "source": e.source,
            "vouched": e.vouched,
            "changes": list(e.changes),
        },
    }


def as_csv(coverage: Coverage | None) -> str:
    """``account,field,value``: the side file ``<name>.coverage.csv`` of a CSV report, one line per fact."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(("account", "field", "value"))
    document = as_dict(coverage)
    for line in document["not_covered"]:
        writer.writerow(("", "not_covered", line))
    writer.writerow(("", "complete", str(document["complete"]).lower()))
    for name in ("period_asked", "generated_at", "guardian_versions"):
        if name in document:
            writer.writerow(("", name, _flat(document[name])))
    for account in document["accounts"]:
        for name, value in _pairs(account):
            writer.writerow((account["account"], name, value))
    return buffer.getvalue()


def _pairs(document: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name, value in document.items():
        if name in ("account", "not_covered"):
            continue
        if isinstance(value, dict) and name != "covered":
            found += _pairs(value, f"{prefix}{name}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            found += [(f"{prefix}{name}", _flat(item)) for item in value]
        else:
            found.append((f"{prefix}{name}", _flat(value)))
    return found


def _flat(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return " ".join(f"{k}={_flat(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_flat(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def html_block(coverage: Coverage | None) -> str:
    """The first screen: what is not covered, in words, then the coverage's facts."""
    if coverage is None:
        return f'<section id="coverage"><p class="not-covered" style="color: #a00">{escape(NOT_READ)}</p></section>'
    if coverage.complete:
        said = [f'<p class="covered">Covered: the whole period, {coverage.start} to {coverage.end} (UTC).</p>']
    else:
        said = [
            f'<p class="not-covered" style="color: #a00"><strong>{escape(line)}</strong></p>'
            for line in coverage.not_covered
        ]
    rows = [("period asked", f"{coverage.start} to {coverage.end} (UTC, days inclusive)")]
    for a in coverage.accounts:
        rows += _rows(a, several=len(coverage.accounts) > 1)
    rows += [
        ("generated", f"{coverage.generated_at} by " + ", ".join(a.generated_by for a in coverage.accounts)),
        ("guardian versions", ", ".join(coverage.guardian_versions) or "none in the period's records"),
    ]
    table = "\n".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return (
        '<section id="coverage">\n<h2>What this report covers</h2>\n'
        + "\n".join(said)
        + f'\n<table class="coverage">\n{table}\n</table>\n</section>'
    )


def _rows(a: AccountCoverage, *, several: bool) -> list[tuple[str, str]]:
    at = f" ({a.account})" if several else ""
    s, c, e = a.sweeps, a.chain, a.settings
    covered = "nothing" if a.covered_from is None else f"{_iso(a.covered_from)} to {_iso(a.covered_to)}"
    gaps = "; ".join(f"{_iso(g.start)} to {_iso(g.end)} ({g.minutes} min)" for g in s.gaps) or "none"
    head = f"head {c.head_key} written {c.head_time or '?'}, SHA-256 {c.head_sha256 or '?'}" if c.head_key else c.note
    return [
        (f"period covered{at}", covered),
        (f"first record, first digest{at}", f"{_iso(a.first_record) or 'none'}, {_iso(a.first_digest) or 'none'}"),
        (
            f"sweeps{at}",
            f"{s.runs} successful runs, {s.digests} digests; every {s.interval_seconds // 60} min "
            f"({s.interval_source}); from {s.source}",
        ),
        (f"gaps longer than {s.threshold_seconds // 60} min{at}", gaps),
        (
            f"evidence chain{at}",
            f"{c.result}: {c.digests} digests, {c.records} records of the period; {head}"
            + (f"; {len(c.warnings)} warnings: " + "; ".join(c.warnings) if c.warnings else ""),
        ),
        (f"exemptions in force{at}", ", ".join(e.exemptions) or "none"),
        (f"approvers in force{at}", ", ".join(e.approvers) or "none"),
        (f"settings read from{at}", e.source + ("" if e.vouched else " (not vouched for)")),
        (f"settings changes in the period{at}", "; ".join(e.changes) or "none recorded"),
    ]


def controls_note(coverage: Coverage | None) -> str:
    """Under "Controls supported": what is not covered supports no control."""
    if coverage is not None and coverage.complete:
        return ""
    lines = coverage.not_covered if coverage is not None else [NOT_READ]
    said = " ".join(escape(line) for line in lines)
    return (
        '<p class="not-covered" style="color: #a00">The evidence supports these controls only for the time covered. '
        f"For the rest of the period it shows nothing, not a clean record: {said}</p>"
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds").replace("+00:00", "Z")
