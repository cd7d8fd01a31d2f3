"""The HTML report's layout for screen and paper: the stylesheet, the events table, the blind-window chart and the
appendix of evidence objects. Pure; :mod:`guardian_console.render` puts the page together.

It prints on one page width in landscape A4 and US Letter (checked in headless Chromium by scripts/report_print.py):
long values wrap only after a separator (``/ : - _ .``, a comma) or between the words of a CamelCase name, never
inside a word; hashes and object versions show their first 12 characters, the whole value in their ``title`` and in
the appendix they link to. The chart draws one labelled bar per blind window, however short (a window under a
second is a visible bar, not a pixel on the axis), and says so in words when there is none. On paper nothing is
smaller than 8 pt: the events table keeps what a reader scans and leaves each evidence object's columns to the
appendix, which prints each object on two lines (its key above its version, SHA-256 and lock), numbered as the events
and linking back to them. The screen keeps the one wide table.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from guardian_console.report import COLUMNS

if TYPE_CHECKING:
    from guardian_console.report import Report, Row

SHORT = 12  # characters of a hash or version id shown in the table
CHART_BARS = 40  # windows drawn one by one; more: the longest, and a line saying how many are left to the table
CHART_FONT = 11  # px: 8.25 pt on paper, where the chart is drawn at its size (narrower than the page)
# The guardian's own event names, in words (the record keeps the name: it is shown beside them).
EVENT_WORDS = {
    "DriftDetected": "change found by the sweep",
    "ApproveBaseline": "baseline approved",
    "OperatorRequestRefused": "operator request refused",
}
_SHORTENED = ("version_id", "sha256")
_WHOLE = ("blind_window_seconds", "restore_seconds", "guardian_version")  # numbers: never wrapped
_TIMES = ("time", "retain_until")  # ISO 8601: wrapped between the date and the time only
# The evidence object's columns: in the appendix; on paper only there (the events table keeps what a reader scans).
IN_APPENDIX = ("evidence_key", "version_id", "sha256", "lock_mode", "retain_until", "guardian_version")
PRINT_PT = 8  # the printed tables' font size in points: the smallest text on paper (it was 7 px, 5.25 pt)
_BREAK_AFTER = re.compile(r"([/:\-_.,])(?=[^\s<])")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")

STYLE = """
body { font: 13px/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 1.5em; margin: 0 0 .3em; }
h2 { font-size: 1.15em; margin: 1.2em 0 .3em; break-after: avoid; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #bbb; padding: 2px 4px; text-align: left; vertical-align: top;
  overflow-wrap: normal; word-break: normal; hyphens: manual; }
th { background: #eee; font-weight: 600; }
table.events { width: 100%; font-size: 11px; }
td.num, th.num { text-align: right; }
.hash, .field { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.field { color: #555; font-size: .9em; }
.words { display: block; }
table.objects td.hash { white-space: nowrap; }
.partial, .none { font-weight: bold; }
.partial { color: #a00; }
svg.chart { display: block; max-width: 100%; height: auto; border: 1px solid #bbb; }
a { color: inherit; }
@page { size: landscape; margin: 10mm; }
@media print {
  body { margin: 0; font-size: 9pt; line-height: 1.3; }
  table.events, table.objects { font-size: $PRINT_PTpt; }
  table.events th, table.events td, table.objects th, table.objects td { padding: 1px 3px; }
  $IN_APPENDIX { display: none; }
  .field { font-size: 1em; }
  tr, table.objects tbody { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  a { text-decoration: none; }
}
""".replace("$PRINT_PT", str(PRINT_PT)).replace("$IN_APPENDIX", ", ".join(f"table.events .c-{c}" for c in IN_APPENDIX))


def breakable(text: str) -> str:
    """``text`` escaped, with a break opportunity (``<wbr>``) after each separator and between CamelCase words."""
    return _CAMEL.sub("<wbr>", _BREAK_AFTER.sub(r"\1<wbr>", escape(text)))


def events_table(report: Report) -> str:
    """Every row, all the report's columns, numbered: its number and hash link to its object in the appendix,
    which links back. On paper the object's columns are left to the appendix (:data:`IN_APPENDIX`)."""
    head = '<th class="n num">#</th>' + "".join(f'<th class="c-{c}{_num(c)}">{breakable(c)}</th>' for c in COLUMNS)
    body = "\n".join(
        f'<tr id="event-{n}"><td class="n num"><a href="#object-{n}">{n}</a></td>'
        + "".join(_cell(n, c, v) for c, v in zip(COLUMNS, r.values(), strict=True))
        + "</tr>"
        for n, r in enumerate(report.rows, 1)
    )
    return f'<table class="events">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>'


def _num(column: str) -> str:
    return " num" if column.endswith("_seconds") else ""


def _cell(n: int, column: str, value: object) -> str:
    text = "" if value is None else str(value)
    if column in _SHORTENED and len(text) > SHORT:
        shown = f'<a href="#object-{n}" title="{escape(text)}">{escape(text[:SHORT])}…</a>'
        return f'<td class="c-{column} hash">{shown}</td>'
    if column == "event" and text in EVENT_WORDS:
        shown = f'<span class="words">{escape(EVENT_WORDS[text])}</span><span class="field">{breakable(text)}</span>'
        return f'<td class="c-{column}">{shown}</td>'
    if column in _TIMES:
        return f'<td class="c-{column}">{_moment(text)}</td>'
    if column in _WHOLE:
        return f'<td class="c-{column}{_num(column)}">{escape(text)}</td>'
    return f'<td class="c-{column}">{breakable(text)}</td>'


def _moment(text: str) -> str:
    return escape(text).replace("T", "<wbr>T", 1)


def appendix(report: Report) -> str:
    """Each row's evidence object in full (key, version, SHA-256, Object Lock, the guardian's version), numbered as
    the events table, each number linking back to its event: two lines an object (its key above), so that a whole
    SHA-256 and version id fit on a printed page at a readable size."""
    if not report.rows:
        return "<p>No evidence object in this period.</p>"
    key, *rest = IN_APPENDIX
    objects = "\n".join(
        f'<tbody id="object-{n}"><tr><td class="num" rowspan="2"><a href="#event-{n}">{n}</a></td>'
        f'<td class="key" colspan="{len(rest)}">{breakable(r.evidence_key)}</td></tr>\n'
        f'<tr><td class="hash">{escape(r.version_id)}</td><td class="hash">{escape(r.sha256)}</td>'
        f"<td>{escape(r.lock_mode)}</td><td>{_moment(r.retain_until)}</td><td>{escape(r.guardian_version)}</td></tr>"
        "</tbody>"
        for n, r in enumerate(report.rows, 1)
    )
    head = (
        f'<tr><th class="num" rowspan="2">#</th><th colspan="{len(rest)}">{breakable(key)}</th></tr>\n'
        "<tr>" + "".join(f"<th>{breakable(c)}</th>" for c in rest) + "</tr>"
    )
    return f'<table class="objects">\n<thead>{head}</thead>\n{objects}\n</table>'


def blind_windows(report: Report, width: int = 760) -> str:
    """One horizontal bar per blind window of a healed tampering event (self-tests and approvals apart), labelled
    with its time, trail and seconds, on a scale from 0 to the longest; a line in words when there is none."""
    windows = [r for r in report.rows if r.blind_window_seconds is not None and r.time and not r.purpose]
    if not windows:
        return '<p class="none">No blind window in this period: no stop of logging was healed in it.</p>'
    shown = sorted(windows, key=lambda r: -(r.blind_window_seconds or 0.0))[:CHART_BARS]
    shown.sort(key=lambda r: r.time)
    longest = max(r.blind_window_seconds or 0.0 for r in windows)
    scale = max(longest, 1.0)
    label_w, value_w, row_h = 280, 70, 18
    bar_room = width - label_w - value_w - 10
    height = 28 + row_h * len(shown)
    rows = [_bar(r, i, scale, (label_w, bar_room, row_h)) for i, r in enumerate(shown)]
    note = (
        f"<p>{len(windows)} blind windows; the {CHART_BARS} longest are drawn, every one is in the table.</p>"
        if len(windows) > CHART_BARS
        else ""
    )
    axis = (
        f'<line x1="{label_w}" y1="16" x2="{label_w}" y2="{height - 4}" stroke="#333"/>'
        f'<text x="{label_w}" y="11" font-size="{CHART_FONT}">0 s</text>'
        f'<text x="{label_w + bar_room}" y="11" font-size="{CHART_FONT}" text-anchor="end">{scale:.1f} s</text>'
        f'<text x="4" y="11" font-size="{CHART_FONT}">when (UTC), trail</text>'
    )
    return (
        f"<p>{len(windows)} blind window{'s' if len(windows) != 1 else ''} in this period; the longest "
        f"{longest:.1f} s.</p>\n{note}"
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="blind window of each healed event, in seconds">'
        + axis
        + "".join(rows)
        + "</svg>"
    )


def _bar(row: Row, index: int, scale: float, layout: tuple[int, int, int]) -> str:
    label_w, bar_room, row_h = layout
    seconds = row.blind_window_seconds or 0.0
    y = 22 + index * row_h
    length = max(3.0, seconds / scale * bar_room)  # a window under the scale's step is still a visible bar
    moment = _when(row.time)
    trail = row.trail or "-"
    label = f"{moment} {trail if len(trail) <= 24 else trail[:23] + '…'}"
    return (
        f"<g><title>{escape(f'{row.time} {row.event} on {trail}: {seconds:.3f} s')}</title>"
        f'<text x="4" y="{y + 11}" font-size="{CHART_FONT}">{escape(label)}</text>'
        f'<rect x="{label_w + 1}" y="{y + 2}" width="{length:.1f}" height="{row_h - 6}" fill="#c33"/>'
        f'<text x="{label_w + length + 5:.1f}" y="{y + 11}" font-size="{CHART_FONT}">{seconds:.1f} s</text></g>'
    )


def _when(time: str) -> str:
    try:
        return datetime.fromisoformat(time.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return time
