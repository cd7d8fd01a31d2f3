"""The report's "While logging was off" section: per blind window, the calls by principal and event name, the events
object's key and whether its signature verifies."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from guardian.model import signing
from guardian_console import render, while_off
from guardian_console.report import Row, build

KEY = "blind-windows/2026/11/20/abc.json"
DOCUMENT = {
    "schema": "cloudtrail-guardian/blind-window",
    "schema_version": "1.0",
    "evidence_key": "evidence/2026/11/20/abc.json",
    "trail": "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit",
    "window": {"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T10:00:41Z"},
    "summary": "4 calls by 2 principals",
    "truncated": None,
    "counts": [
        {"principal": "arn:aws:iam::123456789012:user/mallory", "event_name": "CreateUser", "count": 3},
        {"principal": "arn:aws:iam::123456789012:user/eve", "event_name": "ListBuckets", "count": 1},
    ],
}


def test_the_section_lists_each_window_its_counts_and_its_events_object() -> None:
    window = while_off.parse(KEY, "123456789012", json.dumps(DOCUMENT).encode(), public_key=None, key_id=None)
    assert window is not None
    report = build([], [], start=date(2026, 11, 1), end=date(2026, 11, 30), accounts=["123456789012"],
                   now=datetime(2026, 12, 1, tzinfo=UTC))  # fmt: skip
    html = render.as_html(replace(report, blind_windows=(window,)))
    section = html[html.index("<h2>While logging was off</h2>") :]
    assert "4 calls by 2 principals" in section
    assert "<td>arn:aws:iam::123456789012:user/mallory</td><td>CreateUser</td><td>3</td>" in section
    assert KEY in section
    assert json.loads(render.as_json(replace(report, blind_windows=(window,))))["while_logging_was_off"][0]["counts"]


def test_an_object_the_guardian_did_not_sign_is_marked_not_verified() -> None:
    forged = {**DOCUMENT, "signature": {"key_id": "k", "algorithm": signing.ALGORITHM, "value": "AAAA"}}
    window = while_off.parse(
        KEY, "123456789012", json.dumps(forged).encode(), public_key=signing.PublicKey(2**2048 - 159, 65537), key_id="k"
    )
    assert window is not None
    assert window.signature.startswith("NOT VERIFIED")
    assert "NOT VERIFIED" in while_off.section([window])


def test_a_window_read_right_after_the_heal_says_its_last_calls_may_be_missing() -> None:
    early = json.dumps({**DOCUMENT, "settled": False}).encode()
    window = while_off.parse(KEY, "123456789012", early, public_key=None, key_id=None)
    assert window is not None
    assert "up to about 15 minutes later" in while_off.section([window])


def _row(key: str, seconds: float | None = 41.0, purpose: str = "") -> Row:
    return Row(
        time="2026-11-20T10:00:00Z", account="123456789012", region="us-east-1", trail="audit", event="StopLogging",
        severity="CRITICAL", outcome="healed", actor="mallory", action="StartLogging", verified="yes",
        blind_window_seconds=seconds, restore_seconds=41.0, detected_by="event", purpose=purpose, evidence_key=key,
        version_id="v", sha256="0" * 64, lock_mode="GOVERNANCE", retain_until="", guardian_version="1",
    )  # fmt: skip


@pytest.mark.threat("blind-window-hide")
def test_a_healed_window_with_no_events_object_is_marked_not_recovered_never_none() -> None:
    """Review 4 finding 1B: the chart drew the window, the section said "No healed blind window in the period"."""
    missing = _row("evidence/2026/11/20/gone.json")
    html = while_off.section([], [missing, _row("evidence/2026/11/20/approval.json", purpose="approval")])
    assert "No healed blind window" not in html
    assert "events not recovered" in html
    assert "evidence/2026/11/20/gone.json" in html
    assert "approval.json" not in html  # the chart leaves approvals out: so does this
    window = while_off.parse(KEY, "123456789012", json.dumps(DOCUMENT).encode(), public_key=None, key_id=None)
    assert window is not None
    assert "events not recovered" not in while_off.section([window], [_row(DOCUMENT["evidence_key"])])  # type: ignore[arg-type]
    report = build([], [], start=date(2026, 11, 1), end=date(2026, 11, 30), accounts=["123456789012"],
                   now=datetime(2026, 12, 1, tzinfo=UTC))  # fmt: skip
    assert "events not recovered" in render.as_html(replace(report, rows=[missing]))
