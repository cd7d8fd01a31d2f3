"""The report's "While logging was off" section: per blind window, the calls by principal and event name, the events
object's key and whether its signature verifies."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

from guardian.model import signing
from guardian_console import render, while_off
from guardian_console.report import build

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
