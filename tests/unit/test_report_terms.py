"""Issue 22: every term the report shows is defined in docs/console.md ("The report": its columns and its terms),
as tests/unit/test_docs.py keeps other docs true to the code."""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

from guardian.model.rules import Outcome, Severity
from guardian_console import render
from guardian_console.printable import EVENT_WORDS
from guardian_console.report import Row
from scripts.report_print import demo_report
from tests.support import REPO_ROOT
from tests.unit.test_report_print import parsed

TERM_CELLS = ("c-severity", "c-outcome", "c-detected_by", "c-purpose", "c-lock_mode", "c-verified")


def documented() -> set[str]:
    """Every term the first cell of a table row in "## The report" of docs/console.md names (in backticks)."""
    text = (REPO_ROOT / "docs" / "console.md").read_text()
    section = text.split("\n## The report\n", 1)[1].split("\n## ", 1)[0]
    firsts = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {term for cell in firsts for term in re.findall(r"`([^`]+)`", cell)}


def shown(html: str) -> set[str]:
    """The terms a rendered report shows: every heading cell, the words of the enumerated columns, and the
    guardian's own event names."""
    page = parsed(html)
    terms = {text.strip() for _, text in page.find("th")}
    for cls in TERM_CELLS:
        terms |= {re.sub(r" \(\d+ checks\)$", "", text.strip()) for _, text in page.find("td", cls) if text.strip()}
    terms |= {text.strip() for _, text in page.find("span", "field")}
    return terms | {"blind window"}


def defined(term: str, terms: set[str]) -> bool:
    """``term`` is documented, as it is or by a pattern whose ``N`` stands for a number (``gaps longer than N min``)."""
    patterns = [re.escape(t).replace(r"\ N\ ", r"\ \d+\ ") for t in terms if " N " in t]
    return term in terms or any(re.fullmatch(p, term) for p in patterns)


def test_every_term_the_report_shows_is_defined_in_docs_console() -> None:
    terms = shown(render.as_html(demo_report()))
    assert {"healed", "CRITICAL", "sweep", "GOVERNANCE", "DriftDetected", "blind window (s)", "records"} <= terms
    known = documented()
    missing = sorted(t for t in terms if not defined(t, known))
    assert missing == [], f"define these in docs/console.md, ### Terms in the report: {missing}"


def test_every_outcome_severity_and_own_event_name_is_defined() -> None:
    """The demo shows some of each; the report can show any of them."""
    needed = {o.value for o in Outcome} | {s.value for s in Severity} | set(EVENT_WORDS)
    assert sorted(needed - documented()) == []


def test_incidents_name_the_guardians_own_events_in_words() -> None:
    """`guardian incidents` says "change found by the sweep", as the report does, not the record's DriftDetected."""
    values: dict[str, Any] = {f.name: None for f in fields(Row)}
    values.update(time="2026-12-06T10:00:00Z", severity="HIGH", outcome="healed", event="DriftDetected", actor="x")
    table = render.incidents_table([Row(**values)])
    assert "change found by the sweep" in table
    assert "DriftDetected" not in table
