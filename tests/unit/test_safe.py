"""Values from events made safe to write (guardian/model/safe.py) and log lines that cannot fail on them."""

from __future__ import annotations

import json
import logging

import pytest

from guardian.entrypoints.logs import JsonFormatter, SafeFields, configure
from guardian.model.activity import principal_key, sort_key, window_end, window_start
from guardian.model.event_time import check_time
from guardian.model.events import parse_event
from guardian.model.safe import cut, digest, fit, json_bytes, json_text, key_part, text
from tests.support import load_event


def test_text_escapes_a_lone_surrogate_and_nothing_else() -> None:
    assert text("caf\u00e9 \ud800 \U0001f600") == "caf\u00e9 \\ud800 \U0001f600"
    assert text("plain") == "plain"


def test_json_text_writes_a_lone_surrogate_as_its_escape_so_it_reads_back_the_same() -> None:
    document = {"agent": "a\udfffb", "name": "日本"}
    rendered = json_text(document)
    rendered.encode()  # does not raise
    assert "日本" in rendered  # readable: non-ASCII is kept as it is
    assert json.loads(rendered) == document
    assert json.loads(json_bytes(document, indent=1)) == document


def test_cut_keeps_the_start_and_says_how_much_was_cut() -> None:
    assert cut("x" * 10, 10) == "x" * 10
    shortened = cut("a" * 1_000, 100)
    assert shortened == "a" * 80 + "…[920 chars cut]"


def test_key_part_keeps_short_printable_ascii_and_hashes_the_rest_the_same_way_each_time() -> None:
    assert key_part("0a000001-1111", 200) == "0a000001-1111"
    for odd in ("e" * 1_500, "a\ud800", "日本", "a b\n"):
        assert key_part(odd, 200) == key_part(odd, 200) == digest(odd)
        assert digest(odd).startswith("sha256-")
        assert len(digest(odd)) == 47


def test_fit_cuts_in_stages_and_lists_what_it_cut() -> None:
    document = {"name": "t" * 90_000, "small": "ok", "list": list(range(500))}
    fitted, paths = fit(document, 10_000)
    assert len(json_bytes(fitted)) <= 10_000
    assert fitted["small"] == "ok"
    assert "name" in paths
    assert fitted["name"].endswith("chars cut]")


def test_fit_ends_with_markers_when_nothing_else_fits() -> None:
    document = {f"k{n}": {f"j{m}": "v" * 60 for m in range(200)} for n in range(10)}
    fitted, paths = fit(document, 600)
    assert len(json_bytes(fitted)) <= 600
    assert "*" in paths


def test_activity_keys_fit_dynamodb_and_a_second_counts_whatever_the_event_ids() -> None:
    event = parse_event(load_event("stop_logging"))
    assert event.event_time is not None
    assert len(principal_key("arn:aws:iam::1:user/" + "m" * 3_000).encode()) <= 2048
    assert principal_key("#alerts") != "#alerts"  # the ledger's partition is never a principal's
    ids = ["a", "zzzz", "e" * 1_500, "\ud800"]
    keys = [sort_key(event.event_time, i) for i in ids]
    assert all(len(k.encode("utf-8", "surrogatepass")) <= 1024 for k in keys)
    assert all(window_start(event.event_time, 10) <= k <= window_end(event.event_time) for k in keys)


@pytest.mark.parametrize(
    ("moment", "problem"),
    [
        ("0001-01-01T00:00:00Z", "before CloudTrail existed"),
        ("2026-02-30T10:00:00Z", "is not an ISO 8601 time"),
        ("9999-12-31T23:59:59Z", "is in the future"),
    ],
)
def test_an_impossible_event_time_is_a_named_problem_and_the_event_undated(moment: str, problem: str) -> None:
    raw = load_event("stop_logging")
    raw["detail"]["eventTime"] = moment
    event = check_time(parse_event(raw), parse_event(load_event("stop_logging")).event_time)  # type: ignore[arg-type]
    assert event.event_time is None
    assert event.event_time_raw == moment
    assert [p for p in event.problems if problem in p and moment in p]


def test_a_time_within_the_clock_skew_is_kept() -> None:
    event = parse_event(load_event("stop_logging"))
    assert event.event_time is not None
    assert check_time(event, event.event_time) is event


def test_safe_fields_escape_and_cut_every_extra_field_of_a_log_line() -> None:
    record = logging.makeLogRecord({"msg": "odd", "value": "\ud800" + "y" * 20_000, "raw": {"agent": "\udfff"}, "n": 3})
    assert SafeFields().filter(record)
    line = JsonFormatter().format(record)
    line.encode()  # writable
    entry = json.loads(line)
    assert entry["value"].startswith("\\ud800yyy")
    assert entry["value"].endswith("chars cut]")
    assert entry["raw"] == '{"agent":"\\udfff"}'  # an object that would not encode, rendered as its JSON text
    assert entry["n"] == 3


def test_configure_puts_the_filter_on_every_handler_once() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler()
    root.addHandler(handler)
    try:
        configure()
        configure()
        assert sum(isinstance(f, SafeFields) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)
