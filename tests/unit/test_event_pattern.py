"""The watch rules' matcher has EventBridge's semantics: checked against moto's implementation of EventBridge
pattern matching (``moto.events.models.EventPattern``) over the shared corpus, cases of our own, and generated
patterns and events; and, where moto differs from EventBridge's documented behaviour, against the documentation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.events.models import EventPattern

from guardian.model.event_pattern import envelope, explain, matches
from tests.support import REPO_ROOT, corpus_files, corpus_id
from watch_rules.compile import compile_rules
from watch_rules.schema import load


def moto_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return bool(EventPattern(json.dumps(pattern), pattern).matches_event(event))  # type: ignore[arg-type]


def default_patterns() -> dict[str, Any]:
    return dict(compile_rules(load(REPO_ROOT / "rules" / "watch.json")).patterns)


OWN_PATTERNS: list[dict[str, Any]] = [
    {"detail": {"eventName": [{"prefix": "Delete"}]}},
    {"detail": {"eventName": [{"suffix": "Key"}], "errorCode": [{"exists": True}]}},
    {"detail": {"eventName": [{"wildcard": "*Bucket*"}]}},
    {"detail": {"eventSource": [{"anything-but": ["s3.amazonaws.com", "kms.amazonaws.com"]}]}},
    {"detail": {"eventSource": [{"anything-but": {"prefix": "cloudtrail"}}]}},
    {"detail": {"userIdentity": {"type": [{"equals-ignore-case": "iamuser"}]}}},
    {"detail": {"userIdentity": {"arn": [{"wildcard": "arn:aws:iam::*:user/*"}]}}},
    {"detail": {"sourceIPAddress": [{"cidr": "203.0.113.0/24"}]}},
    {"detail": {"requestParameters": {"name": [{"exists": True}]}}},
    {"detail": {"requestParameters": [{"exists": False}]}},  # an object is not a leaf: it does not "exist"
    {"detail": {"responseElements": [None]}},
    {"detail-type": ["AWS Console Sign In via CloudTrail"], "detail": {"eventName": ["ConsoleLogin"]}},
    {"detail": {"$or": [{"eventName": ["StopLogging"]}, {"errorCode": [{"prefix": "AccessDenied"}]}]}},
    {"detail": {"readOnly": [False], "eventType": ["AwsApiCall"]}},
]


def corpus_events() -> list[tuple[str, dict[str, Any]]]:
    return [(corpus_id(p), dict(envelope(json.loads(p.read_text())))) for p in corpus_files()]


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_id)
def test_every_corpus_record_is_matched_as_moto_matches_it(path: Path) -> None:
    event = dict(envelope(json.loads(path.read_text())))
    patterns = [*default_patterns().values(), *OWN_PATTERNS]
    mine = [matches(p, event) for p in patterns]
    assert mine == [moto_matches(dict(p), event) for p in patterns]


def test_the_cross_check_has_teeth() -> None:
    """Over the corpus the own patterns both match and miss: an always-true or always-false matcher would fail."""
    events = [e for _, e in corpus_events()]
    if not events:
        pytest.skip("the CloudTrail corpus is absent (../shared)")
    verdicts = {json.dumps(p): {matches(p, e) for e in events} for p in OWN_PATTERNS}
    assert sum(v == {True, False} for v in verdicts.values()) >= 8


EVENT = {
    "detail-type": "AWS API Call via CloudTrail",
    "source": "aws.cloudtrail",
    "detail": {
        "eventName": "StopLogging",
        "eventSource": "cloudtrail.amazonaws.com",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory"},
        "sourceIPAddress": "203.0.113.66",
        "requestParameters": {"name": "org-audit", "count": 3, "tags": ["a", "b"]},
        "responseElements": None,
        "readOnly": False,
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"detail": {"eventName": ["StopLogging"]}}, True),
        ({"detail": {"eventName": ["StartLogging"]}}, False),
        ({"detail": {"eventName": ["StopLogging"], "errorCode": [{"exists": False}]}}, True),
        ({"detail": {"errorCode": [{"exists": True}]}}, False),
        ({"detail": {"errorCode": [{"anything-but": "AccessDenied"}]}}, False),  # anything-but needs a value
        ({"detail": {"requestParameters": {"count": [{"numeric": [">", 2, "<=", 3]}]}}}, True),
        ({"detail": {"requestParameters": {"count": [{"numeric": [">", 3]}]}}}, False),
        ({"detail": {"requestParameters": {"name": [{"numeric": [">", 0]}]}}}, False),  # a string is not a number
        ({"detail": {"requestParameters": {"tags": ["b"]}}}, True),  # an array matches if any element does
        ({"detail": {"requestParameters": {"tags": [{"anything-but": ["a", "b"]}]}}}, False),
        ({"detail": {"requestParameters": {"tags": [{"exists": True}]}}}, True),
        ({"detail": {"responseElements": [None]}}, True),
        ({"detail": {"responseElements": [{"exists": True}]}}, True),  # null is a value
        ({"detail": {"userIdentity": {"arn": [{"wildcard": "*:user/m*"}]}}}, True),
        ({"detail": {"userIdentity": {"arn": [{"wildcard": "*:role/*"}]}}}, False),
        ({"detail": {"userIdentity": {"type": [{"prefix": {"equals-ignore-case": "iam"}}]}}}, True),
        ({"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/8"}]}}, False),
        ({"detail": {"readOnly": [False]}}, True),
        ({"detail": {"eventName": ["StopLogging"]}, "detail-type": ["AWS Console Sign In via CloudTrail"]}, False),
        ({"detail": {"$or": [{"eventName": ["X"]}, {"sourceIPAddress": [{"prefix": "203."}]}]}}, True),
        ({"detail": {"$or": [{"eventName": ["X"]}, {"sourceIPAddress": [{"prefix": "10."}]}]}}, False),
    ],
)
def test_our_cases_match_as_moto_and_as_expected(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected
    assert moto_matches(pattern, EVENT) is expected


def test_where_moto_differs_the_documented_eventbridge_behaviour_holds() -> None:
    """moto compares ``true == 1`` (Python equality) and does not look into arrays of objects; EventBridge
    matches values by JSON type, and a pattern's field inside an array of objects matches any element's."""
    event = {"detail": {"flag": True, "resources": [{"ARN": "arn:a"}, {"ARN": "arn:b"}]}}
    assert moto_matches({"detail": {"flag": [1]}}, event) is True
    assert matches({"detail": {"flag": [1]}}, event) is False
    assert matches({"detail": {"flag": [True]}}, event) is True
    assert moto_matches({"detail": {"resources": {"ARN": ["arn:b"]}}}, event) is False
    assert matches({"detail": {"resources": {"ARN": ["arn:b"]}}}, event) is True


def test_explain_names_each_field_that_matched_and_the_first_that_did_not() -> None:
    hit, why = explain({"detail": {"eventName": ["StopLogging"], "errorCode": [{"exists": False}]}}, EVENT)
    assert hit is True
    assert why == [
        'detail.eventName = "StopLogging" matches "StopLogging"',
        'detail.errorCode is absent: matches {"exists": false}',
    ]
    hit, why = explain({"detail": {"eventName": ["StopLogging"], "sourceIPAddress": ["10.0.0.1"]}}, EVENT)
    assert hit is False
    assert why[-1] == 'detail.sourceIPAddress is ["203.0.113.66"]: matches none of ["10.0.0.1"]'


def test_a_bare_record_is_wrapped_as_eventbridge_wraps_it() -> None:
    record = {"eventSource": "signin.amazonaws.com", "eventType": "AwsConsoleSignIn", "awsRegion": "us-east-1"}
    wrapped = envelope(record)
    assert (wrapped["detail-type"], wrapped["source"], wrapped["detail"]) == (
        "AWS Console Sign In via CloudTrail",
        "aws.signin",
        record,
    )
    assert envelope(EVENT) is EVENT  # an envelope as it is


# Generated patterns and events: the two implementations agree on every one.
WORDS = st.sampled_from(["StopLogging", "stoplogging", "DeleteTrail", "Delete", "x*y", "", "a\\*b", "AccessDenied"])
NUMBERS = st.one_of(st.integers(-3, 3), st.floats(-3, 3, allow_nan=False, allow_infinity=False))
LEAF: st.SearchStrategy[Any] = st.one_of(WORDS, NUMBERS, st.none(), st.lists(WORDS, max_size=3), st.just({}))


def _filter() -> st.SearchStrategy[Any]:
    text = WORDS.filter(lambda w: "**" not in w)
    return st.one_of(
        WORDS,
        NUMBERS,
        st.none(),
        text.map(lambda w: {"prefix": w}),
        text.map(lambda w: {"suffix": w}),
        text.map(lambda w: {"wildcard": w}),
        text.map(lambda w: {"equals-ignore-case": w}),
        text.map(lambda w: {"prefix": {"equals-ignore-case": w}}),
        st.lists(WORDS, min_size=1, max_size=3).map(lambda ws: {"anything-but": ws}),
        text.map(lambda w: {"anything-but": {"prefix": w}}),
        st.booleans().map(lambda b: {"exists": b}),
        st.tuples(st.sampled_from(["<", "<=", "=", ">=", ">"]), NUMBERS).map(lambda t: {"numeric": list(t)}),
    )


FIELDS = st.sampled_from(["eventName", "errorCode", "n", "tags", "nested"])
EVENTS = st.dictionaries(FIELDS, st.one_of(LEAF, st.dictionaries(st.sampled_from(["k", "j"]), LEAF, max_size=2)))
LEAF_PATTERN = st.lists(_filter(), min_size=1, max_size=3)
DETAIL_PATTERN = st.dictionaries(
    FIELDS,
    st.one_of(LEAF_PATTERN, st.dictionaries(st.sampled_from(["k", "j"]), LEAF_PATTERN, min_size=1, max_size=2)),
    min_size=1,
    max_size=3,
)


@settings(max_examples=400, deadline=None)
@given(detail=EVENTS, pattern=DETAIL_PATTERN, alternative=st.none() | DETAIL_PATTERN)
def test_generated_patterns_match_as_moto_matches_them(
    detail: dict[str, Any], pattern: dict[str, Any], alternative: dict[str, Any] | None
) -> None:
    full: dict[str, Any] = {"detail": pattern if alternative is None else {"$or": [pattern, alternative]}}
    event = {"detail-type": "AWS API Call via CloudTrail", "detail": detail}
    assert matches(full, event) is moto_matches(full, event)
