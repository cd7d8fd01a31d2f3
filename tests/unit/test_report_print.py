"""Issue 22, "a report that prints": the HTML report on one page width in landscape A4 and US Letter, long values
wrapped at separators and never inside a word, hashes shortened with the whole value one click away, every blind
window drawn so a reader sees it; and the controls it names, current and wider, the same as docs/evidence.md."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from guardian_console import render
from guardian_console.controls import CONTROLS
from guardian_console.printable import CHART_BARS, CHART_FONT, IN_APPENDIX, STYLE, breakable
from guardian_console.report import build
from scripts import report_print
from scripts.report_print import DAY, demo_report, record
from tests.support import REPO_ROOT

if TYPE_CHECKING:
    from guardian_console.report import Report


class Page(HTMLParser):
    """The elements of a rendered report: each with its attributes and its text (tags inside ignored)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self.open: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("wbr", "meta", "br", "line"):
            return
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))
        self.open.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("wbr", "meta", "br", "line") and self.open:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        for index in self.open:
            self.elements[index][2].append(data)

    def find(self, tag: str, cls: str | None = None) -> list[tuple[dict[str, str], str]]:
        """The elements of ``tag`` (with ``cls`` among their classes), each with its attributes and text."""
        return [
            (a, "".join(text))
            for t, a, text in self.elements
            if t == tag and (cls is None or cls in a.get("class", "").split())
        ]


def parsed(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def report_of(*windows: float | None) -> Report:
    rows = [
        record(n, f"2026-12-06T10:{n:02d}:00Z", event="StopLogging", blind_window_seconds=w)
        for n, w in enumerate(windows)
    ]
    return build(rows, [], start=DAY, end=DAY, accounts=["123456789012"], now=datetime(2026, 12, 6, 18, tzinfo=UTC))


def test_the_print_stylesheet_is_landscape_and_never_breaks_inside_a_word() -> None:
    page = render.as_html(demo_report())
    assert re.search(r"@page \{ size: landscape; margin: 10mm; \}", page)
    assert "break-all" not in page  # "StopLoggi ng", "GOVERNAN CE" (issue 22)
    assert "@media print" in page


def test_long_values_wrap_only_after_a_separator_or_between_camel_case_words() -> None:
    assert breakable("arn:aws:iam::123456789012:user/mallory") == (
        "arn:<wbr>aws:<wbr>iam:<wbr>:<wbr>123456789012:<wbr>user/<wbr>mallory"
    )
    assert breakable("evidence/2026/12/06/sweep_a-b.json") == (
        "evidence/<wbr>2026/<wbr>12/<wbr>06/<wbr>sweep_<wbr>a-<wbr>b.<wbr>json"
    )
    assert breakable("StopLogging") == "Stop<wbr>Logging"
    assert breakable("GOVERNANCE") == "GOVERNANCE"
    assert breakable("<b>&") == "&lt;b&gt;&amp;"
    page = render.as_html(demo_report())
    for found in re.finditer(r"<wbr>", page):
        before, after = page[found.start() - 1], page[found.end()]
        assert before in "/:-_.," or (before.islower() and after.isupper()) or after == "T", page[found.start() - 30 :]


def test_hashes_and_versions_are_shortened_with_the_whole_value_in_a_title_and_the_linked_appendix() -> None:
    report = demo_report()
    page = parsed(render.as_html(report))
    for n, row in enumerate(report.rows, 1):
        for value in (row.sha256, row.version_id):
            links = [(a, text) for a, text in page.find("a") if a.get("title") == value]
            assert links, value
            attrs, text = links[0]
            assert text == value[:12] + "…"
            assert attrs["href"] == f"#object-{n}"
        appendix = [text for a, text in page.find("tbody") if a.get("id") == f"object-{n}"]
        assert len(appendix) == 1
        assert row.sha256 in appendix[0]
        assert row.version_id in appendix[0]
        assert row.evidence_key in appendix[0]


def test_every_column_of_the_report_is_on_paper_the_objects_in_the_appendix() -> None:
    """The columns the printout cut (retain_until, guardian_version) are there: on screen in the events table; on
    paper the evidence object's columns are left to the appendix, where every row has them."""
    report = demo_report()
    page = parsed(render.as_html(report))
    headers = [text for a, text in page.find("th") if a.get("class", "").startswith("c-")]
    assert headers[-2:] == ["retain_until", "guardian_version"]
    assert len(page.find("td", "c-guardian_version")) == len(report.rows)
    hidden = re.search(r"@media print \{.*?\n  ([^\n]*) \{ display: none; \}", STYLE, flags=re.DOTALL)
    assert hidden is not None
    assert hidden[1].split(", ") == [f"table.events .c-{c}" for c in IN_APPENDIX]
    appendix = render.as_html(report).split('<table class="objects">')[1].split("</table>")[0]
    assert [text for _, text in parsed(appendix).find("th")] == ["#", *IN_APPENDIX]
    for n, row in enumerate(report.rows, 1):
        cells = [text for _, text in parsed(appendix.split(f'id="object-{n}"')[1].split("</tbody>")[0]).find("td")]
        assert cells[1:] == [row.evidence_key, row.version_id, row.sha256, row.lock_mode, row.retain_until, "0.1.0"]


def test_each_event_and_its_object_link_to_each_other_by_number() -> None:
    """On paper the events table keeps no hash: its row number links to the object, whose number links back."""
    report = demo_report()
    page = parsed(render.as_html(report))
    numbers = [(a, text) for a, text in page.find("td", "n")]
    assert [text for _, text in numbers] == [str(n) for n in range(1, len(report.rows) + 1)]
    links = {a["href"]: text for a, text in page.find("a")}
    ids = {a["id"] for tag in ("tr", "tbody") for a, _ in page.find(tag) if "id" in a}
    for n in range(1, len(report.rows) + 1):
        assert links[f"#object-{n}"] == str(n) or links[f"#object-{n}"].endswith("…")
        assert links[f"#event-{n}"] == str(n)
        assert {f"event-{n}", f"object-{n}"} <= ids


def _points(size: str) -> float:
    found = re.fullmatch(r"([\d.]+)(px|pt)", size)
    assert found is not None, size
    return float(found[1]) * (0.75 if found[2] == "px" else 1.0)


def test_the_print_stylesheet_prints_every_table_at_8_pt_or_more() -> None:
    """The events table printed at 7 px (5.25 pt) to fit its 20 columns: unreadable on paper (issue 22)."""
    printed = STYLE.split("@media print {", 1)[1].split("\n}", 1)[0]
    sizes = dict(re.findall(r"^  ([^{]+?) \{[^}]*?font-size: ([^;]+);", printed, flags=re.MULTILINE))
    assert _points(sizes["table.events, table.objects"]) >= 8
    assert _points(sizes["body"]) >= 8  # the coverage block, the summary, "While logging was off", the controls
    relative = re.findall(r"font-size: ([\d.]+)em", printed)
    assert relative
    assert all(float(em) >= 1 for em in relative)  # nothing printed smaller than its table
    assert CHART_FONT * 0.75 >= 8  # the chart is drawn at its size on paper (narrower than the page)


def _bars(html: str) -> list[tuple[dict[str, str], str]]:
    return parsed(html).find("rect")


def test_a_blind_window_under_a_second_is_a_bar_a_reader_sees_with_its_seconds() -> None:
    """The demo's window is 0.0 s: the chart drew a 1-pixel bar on the axis line, an empty chart (issue 22)."""
    html = render.as_html(report_of(0.0, 2.5, None))
    bars = _bars(html)
    assert len(bars) == 2
    for attrs, _ in bars:
        assert float(attrs["width"]) >= 3
        assert float(attrs["height"]) >= 8
    svg = parsed(html).find("svg")[0][1]
    assert "0.0 s" in svg
    assert "2.5 s" in svg
    assert "2 blind windows in this period; the longest 2.5 s." in html


def test_a_period_without_a_blind_window_says_so_in_words() -> None:
    html = render.as_html(report_of(None))
    assert "No blind window in this period" in html
    assert _bars(html) == []


def test_more_windows_than_bars_draws_the_longest_and_says_how_many() -> None:
    html = render.as_html(report_of(*[float(n) for n in range(CHART_BARS + 5)]))
    bars = _bars(html)
    assert len(bars) == CHART_BARS
    assert f"{CHART_BARS + 5} blind windows; the {CHART_BARS} longest are drawn" in html
    assert f"{CHART_BARS + 4:.1f} s" in parsed(html).find("svg")[0][1]


def test_the_guardians_own_event_names_are_in_words_the_record_name_beside_them() -> None:
    page = render.as_html(demo_report())
    assert "change found by the sweep" in page
    cells = [text for _, text in parsed(page).find("td", "c-event")]
    assert any(text.endswith("DriftDetected") for text in cells)
    assert json.loads(render.as_json(demo_report()))["rows"][3]["event"] == "DriftDetected"  # the record's field


def test_the_controls_are_current_and_wider() -> None:
    names = [c.name for c in CONTROLS]
    for wanted in (
        "PCI DSS v4.0 10.2.1",
        "PCI DSS v4.0 10.2.1.6",
        "PCI DSS v4.0 10.3.2",
        "PCI DSS v4.0 10.3.4",
        "PCI DSS v4.0 10.7.2",
        "PCI DSS v4.0 10.7.3",
        "SOC 2 CC7.2",
        "SOC 2 CC7.3",
        "SOC 2 CC8.1",
        "ISO/IEC 27001:2022 A.8.15",
        "ISO/IEC 27001:2022 A.8.16",
        "NIST SP 800-53 rev. 5 AU-6",
        "NIST SP 800-53 rev. 5 AU-9",
        "NIST SP 800-53 rev. 5 AU-12",
        "NIST SP 800-53 rev. 5 SI-4",
        "CIS AWS Foundations v3.0.0 3.1",
        "CIS AWS Foundations v3.0.0 4.5",
    ):
        assert wanted in names
    assert not any("10.5" in n for n in names)  # PCI DSS v3.2.1's numbering
    assert all(c.how and len(c.how) <= 200 for c in CONTROLS)  # one line each
    document = json.loads(render.as_json(demo_report()))
    assert [c["control"] for c in document["controls"]] == names
    assert document["controls"][1] == CONTROLS[1].to_json()
    page = render.as_html(demo_report())
    assert all(escape(c.how) in page for c in CONTROLS)


def test_docs_evidence_lists_the_controls_the_report_prints() -> None:
    """docs/evidence.md lists each framework's control ids (what an auditor looks up), in the report's order; the
    title and the "how" of each are printed in every report, from CONTROLS."""
    text = (REPO_ROOT / "docs" / "evidence.md").read_text()
    body = text.split("<!-- controls:start -->")[1].split("<!-- controls:end -->")[0]
    rows = [line.strip().strip("|").split(" | ") for line in body.strip().splitlines()[2:]]
    documented = [(framework.strip(), [ref.strip() for ref in refs.split(",")]) for framework, refs in rows]
    by_framework: dict[str, list[str]] = {}
    for control in CONTROLS:
        by_framework.setdefault(control.framework, []).append(control.ref)
    assert documented == list(by_framework.items())


@pytest.mark.skipif(
    report_print.browser() is None, reason="no Chromium on PATH (apt-get install chromium): CI may lack it"
)
@pytest.mark.parametrize("paper", list(report_print.PAPERS))
def test_the_printed_report_fits_one_page_width_in_landscape(paper: str, tmp_path: Path) -> None:
    """Printed to PDF by headless Chromium: pages of that paper, landscape, nothing wider than the page (the
    coverage block and "While logging was off" with it), and no text smaller than 8 pt."""
    chrome = report_print.browser()
    assert chrome is not None
    page = render.as_html(demo_report())
    assert "<th>principal</th>" in page.split("While logging was off")[1]  # its section printed, with a window
    fit = report_print.check(page, paper, tmp_path, chrome)
    assert fit.overflowing == ()
    assert fit.smallest_pt >= 8, fit.smallest  # the events table printed at 5.25 pt
    assert fit.widest_px <= fit.content_px + 1
    assert fit.pages >= 1
    assert fit.page_pt[0] > fit.page_pt[1]  # landscape
    assert fit.fits, fit
    assert (tmp_path / f"report-{paper}.pdf").stat().st_size > 0
