"""Odd input for the fuzz tests: JSON an attacker (or a faulty publisher) could send, and real events with fields
replaced by such values, deleted, or joined by unknown ones.

Hypothesis's text strategy leaves out lone surrogates; these strategies put them back, with the sizes that break
stores (a 90,000-character name, a 1,500-byte eventID) and times that cannot be.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from tests.support import fixture_names, load_event

ODD_STRINGS = st.sampled_from(
    [
        "\ud800",
        "a\udfffb",
        "x" * 90_000,
        "e" * 1_500,
        "arn:aws:iam::123456789012:user/" + "m" * 3_000,
        "",
        " ",
        "\x00\x1b[31m\r\n",
        "\u202eevil\u202c",
        "日本語のトレイル",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2026-02-30T10:00:00Z",
        "2026-11-20T10:00:00",
        "2026-11-20T10:00:00+14:00",
        "not a time",
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/",
        "arn:aws:cloudtrail:xx-nowhere-9:123456789012:trail/t",
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/" + "t" * 5_000,
        "management-trail",
        "StopLogging",
        "DeleteTrail",
        "cloudtrail.amazonaws.com",
    ]
)
STRINGS = st.one_of(ODD_STRINGS, st.text(max_size=40), st.text(st.characters(codec="utf-8"), max_size=8))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    STRINGS,
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(STRINGS, children, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside an event (keys of objects, indexes of lists)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _set(event: Any, path: tuple[Any, ...], value: Any, delete: bool) -> None:
    parent = event
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value


@st.composite
def mutated_events(draw: st.DrawFn, unique_id: bool = True) -> dict[str, Any]:
    """A real event (one of tests/events) with one to four fields replaced, deleted or added."""
    event = copy.deepcopy(load_event(draw(st.sampled_from(fixture_names()))))
    if unique_id:  # each example its own event, so "one alert each" can be checked
        event["detail"]["eventID"] = f"fuzz-{draw(st.integers(min_value=0, max_value=10**12))}"
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(event)
        path = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["replace", "delete", "add"]))
        if how == "add":
            parent = path[:-1]
            target = event
            for step in parent:
                target = target[step]
            if isinstance(target, dict):
                target[draw(STRINGS)] = draw(JSON)
            continue
        _set(event, path, draw(JSON), delete=how == "delete")
    return event


ANY_INPUT = st.one_of(JSON, mutated_events())
