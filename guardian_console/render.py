"""The report as JSON, CSV (opens in a spreadsheet) or one self-contained HTML file (no external assets, an inline
SVG chart of the blind windows, a print stylesheet); the incidents as a table. Pure."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from guardian_console.report import COLUMNS, CONTROLS

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
        "summary": asdict(report.summary),
        "controls": [{"control": c, "how": how} for c, how in CONTROLS],
        "rows": [dict(zip(COLUMNS, r.values(), strict=True)) for r in report.rows],
        "unread": report.unread,
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
            r.event + (f" ({r.purpose})" if r.purpose else ""),
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
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in r.values()) + "</tr>" for r in report.rows
    )
    unread = "\n".join(
        f"<tr><td>{escape(u['account'])}</td><td>{escape(u['key'])}</td><td>{escape(u['problem'])}</td></tr>"
        for u in report.unread
    )
    controls = "\n".join(f"<tr><td>{escape(c)}</td><td>{escape(how)}</td></tr>" for c, how in CONTROLS)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)}</title>
<style>
body {{ font: 13px/1.4 system-ui, sans-serif; margin: 2em; color: #111; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }}
th {{ background: #eee; }}
td {{ word-break: break-all; }}
.partial {{ color: #a00; font-weight: bold; }}
svg {{ border: 1px solid #bbb; }}
@media print {{ body {{ margin: 0; font-size: 9px; }} tr {{ page-break-inside: avoid; }} }}
</style>
</head>
<body>
<h1>{escape(title)}</h1>
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
{chart(report)}
<h2>Controls supported</h2>
<table>
<tr><th>control</th><th>how the evidence supports it</th></tr>
{controls}
</table>
<h2>Every alerted event</h2>
<table>
<tr>{"".join(f"<th>{escape(c)}</th>" for c in COLUMNS)}</tr>
{rows}
</table>
<h2>Evidence that could not be read</h2>
<table>
<tr><th>account</th><th>key</th><th>problem</th></tr>
{unread}
</table>
</body>
</html>
"""


def chart(report: Report, width: int = 720, height: int = 200) -> str:
    """An inline SVG: one bar per healed tampering event with a blind window (self-tests apart), at its time."""
    points = [
        (datetime.fromisoformat(r.time.replace("Z", "+00:00")), r.blind_window_seconds)
        for r in report.rows
        if r.blind_window_seconds is not None and r.time and not r.purpose
    ]
    start = datetime.combine(report.start, datetime.min.time()).timestamp()
    end = datetime.combine(report.end, datetime.max.time()).timestamp()
    span = max(end - start, 1.0)
    top = max([w for _, w in points if w is not None] + [1.0])
    bars = []
    for moment, window in points:
        assert window is not None
        x = 40 + (moment.timestamp() - start) / span * (width - 50)
        h = window / top * (height - 40)
        bars.append(
            f'<rect x="{x:.1f}" y="{height - 20 - h:.1f}" width="3" height="{max(h, 1):.1f}" fill="#c33">'
            f"<title>{escape(moment.isoformat())}: {window:.1f} s</title></rect>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="blind window in seconds over the period">'
        f'<line x1="40" y1="{height - 20}" x2="{width - 10}" y2="{height - 20}" stroke="#333"/>'
        f'<line x1="40" y1="10" x2="40" y2="{height - 20}" stroke="#333"/>'
        f'<text x="2" y="18" font-size="10">{top:.1f} s</text>'
        f'<text x="40" y="{height - 4}" font-size="10">{escape(str(report.start))}</text>'
        f'<text x="{width - 80}" y="{height - 4}" font-size="10">{escape(str(report.end))}</text>'
        + "".join(bars)
        + "</svg>"
    )


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"


def _spread(spread: dict[str, float | None]) -> str:
    if not spread.get("count"):
        return "-"
    return f"median {spread['median']}, p95 {spread['p95']}, max {spread['max']} (n={spread['count']})"
