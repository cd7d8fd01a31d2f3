"""The report as JSON, CSV (opens in a spreadsheet) or one self-contained HTML file (no external assets, an inline
SVG chart of the blind windows, a print stylesheet); the incidents as a table. Pure."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from html import escape
from typing import TYPE_CHECKING

from guardian_console import coverage_render, printable, while_off
from guardian_console.controls import CONTROLS
from guardian_console.report import COLUMNS

REPORT_SCHEMA = "cloudtrail-guardian/report"
REPORT_SCHEMA_VERSION = "1.0"

if TYPE_CHECKING:
    from guardian_console.report import Report, Row


def as_json(report: Report) -> str:
    document = {
        "schema": REPORT_SCHEMA,
        "schema_version": REPORT_SCHEMA_VERSION,
        "period": {"from": report.start.isoformat(), "to": report.end.isoformat()},
        "generated_at": report.generated_at,
        "accounts": report.accounts,
        "partial": report.partial,
        "coverage": coverage_render.as_dict(report.coverage),
        "summary": asdict(report.summary),
        "controls": [c.to_json() for c in CONTROLS],
        "rows": [dict(zip(COLUMNS, r.values(), strict=True)) for r in report.rows],
        "unread": report.unread,
        "while_logging_was_off": while_off.as_json(report.blind_windows),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def as_csv(report: Report) -> str:
    """One row per alerted event, the header first; a partial report says so in a last row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in report.rows:
        writer.writerow(["" if v is None else v for v in r.values()])
    for u in report.unread:
        writer.writerow(["UNREAD", u["account"], "", "", "", "", "", "", u["problem"], *[""] * 4, u["key"]])
    return buffer.getvalue()


def incidents_table(rows: list[Row]) -> str:
    """One line per event, newest first: time, severity, outcome, event, trail, actor, blind window."""
    header = ("time", "severity", "outcome", "event", "trail", "actor", "blind window")
    lines = [
        (
            r.time,
            r.severity,
            r.outcome,
            printable.EVENT_WORDS.get(r.event, r.event) + (f" ({r.purpose})" if r.purpose else ""),
            r.trail or "-",
            _short_actor(r.actor),
            "-" if r.blind_window_seconds is None else f"{r.blind_window_seconds:.1f} s",
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    out += ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    return "\n".join(out) + "\n"


def _short_actor(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn or "-"


def as_html(report: Report) -> str:
    s = report.summary
    title = f"CloudTrail Guardian report {report.start} to {report.end}"
    partial = (
        f'<p class="partial">PARTIAL: {len(report.unread)} evidence objects could not be read; see the end.</p>'
        if report.partial
        else ""
    )
    unread = "\n".join(
        f"<tr><td>{escape(u['account'])}</td><td>{escape(u['key'])}</td><td>{escape(u['problem'])}</td></tr>"
        for u in report.unread
    )
    controls = "\n".join(
        f"<tr><td>{escape(c.framework)}</td><td>{escape(c.ref)}</td><td>{escape(c.title)}</td>"
        f"<td>{escape(c.how)}</td></tr>"
        for c in CONTROLS
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)}</title>
<style>{printable.STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
{coverage_render.html_block(report.coverage)}
<p>Accounts: {escape(", ".join(report.accounts))}. Generated {escape(report.generated_at)} from the Object Lock
evidence; each record with its object version, SHA-256 and retention.</p>
{partial}
<h2>Summary</h2>
<table>
<tr><th>records</th><td>{s.records}: {s.incidents} tampering, {s.approvals} approvals, {s.self_tests["run"]} self-tests
({s.self_tests["passed"]} passed); the counts below are of tampering only</td></tr>
<tr><th>by outcome</th><td>{escape(_counts(s.by_outcome))}</td></tr>
<tr><th>by severity</th><td>{escape(_counts(s.by_severity))}</td></tr>
<tr><th>detected by</th><td>{escape(_counts(s.detected_by))}</td></tr>
<tr><th>blind window (s)</th><td>{escape(_spread(s.blind_window))}</td></tr>
<tr><th>event to verified restore (s)</th><td>{escape(_spread(s.restore))}</td></tr>
<tr><th>found by the sweep</th><td>{s.sweep_findings}</td></tr>
<tr><th>approvals, self-tests</th><td>{s.approvals} approvals; {s.self_tests["run"]} self-tests,
{s.self_tests["passed"]} passed (listed below, counted apart)</td></tr>
<tr><th>guardian versions</th><td>{escape(", ".join(s.guardian_versions) or "-")}</td></tr>
</table>
<h2>Blind windows over the period</h2>
{printable.blind_windows(report)}
{while_off.section(report.blind_windows, report.rows)}
<h2>Controls supported</h2>
{coverage_render.controls_note(report.coverage)}
<table class="controls">
<tr><th>framework</th><th>control</th><th>title</th><th>how the evidence supports it</th></tr>
{controls}
</table>
<h2>Every alerted event</h2>
{printable.events_table(report)}
<h2 id="objects">Evidence objects</h2>
<p>Each row's evidence object in full, numbered as the rows above: their numbers and shortened hashes link
here, each number here links back (printed, the rows above leave these columns to this table).</p>
{printable.appendix(report)}
<h2>Evidence that could not be read</h2>
<table>
<tr><th>account</th><th>key</th><th>problem</th></tr>
{unread}
</table>
</body>
</html>
"""


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"


def _spread(spread: dict[str, float | None]) -> str:
    if not spread.get("count"):
        return "-"
    return f"median {spread['median']}, p95 {spread['p95']}, max {spread['max']} (n={spread['count']})"
