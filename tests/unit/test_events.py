"""The parser: every fixture and every published record parses; bad input fails with a message naming the field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.model.events import MalformedEvent, parse_event
from tests.support import ACCOUNT, corpus_files, corpus_id, fixture_names, load_event, require_corpus


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_parses_with_its_trail_and_actor(name: str) -> None:
    event = parse_event(load_event(name))
    assert event.account_id == ACCOUNT
    assert event.actor.arn is not None
    assert event.problems == ()
    if name == "guardduty_delete_detector":  # a watch rule's event (docs/watch-rules.md): no trail in it
        assert (event.event_source, event.trail) == ("guardduty.amazonaws.com", None)
        return
    assert event.event_source == "cloudtrail.amazonaws.com"
    if name != "stop_logging_parameters_omitted":
        assert event.trail is not None


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_id)
def test_every_published_record_parses(path: Path) -> None:
    raw = json.loads(path.read_text())
    event = parse_event(raw)
    record = raw.get("detail", raw)
    assert event.raw is raw
    assert event.event_name == record.get("eventName")
    assert event.event_source == record.get("eventSource")
    assert event.error_code == record.get("errorCode")
    assert event.problems == ()
    assert event.event_id == record.get("eventID", event.event_id)


def test_the_corpus_is_there_and_complete() -> None:
    require_corpus()
    assert len(corpus_files()) == 56


def test_trail_given_by_name_takes_the_region_of_the_call_and_builds_the_arn() -> None:
    trail = parse_event(load_event("stop_logging")).trail
    assert trail is not None
    assert (trail.name, trail.region, trail.account_id, trail.given) == (
        "management-trail",
        "us-east-1",
        ACCOUNT,
        "management-trail",
    )
    assert trail.arn == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/management-trail"


def test_trail_given_by_arn_takes_its_home_region_from_the_arn() -> None:
    event = parse_event(load_event("stop_logging_arn_home_elsewhere"))
    assert event.aws_region == "us-east-1"
    assert event.trail is not None
    assert (event.trail.name, event.trail.region) == ("audit-west", "us-west-2")
    assert event.trail.identifier == f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/audit-west"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("update_trail", "management-trail"),
        ("put_event_selectors", "management-trail"),
        ("add_tags", "management-trail"),
        ("remove_tags", "management-trail"),
        ("create_trail", "exfil-trail"),
    ],
)
def test_trail_is_found_in_whichever_field_the_event_name_uses(name: str, expected: str) -> None:
    trail = parse_event(load_event(name)).trail
    assert trail is not None
    assert trail.name == expected


def test_console_session_with_mfa_is_recognised() -> None:
    actor = parse_event(load_event("stop_logging_console_arn")).actor
    assert actor.console is True
    assert actor.mfa_authenticated is True
    assert actor.display == "SecurityAdmin/alice@example.com"
    assert actor.session_issuer_arn == f"arn:aws:iam::{ACCOUNT}:role/SecurityAdmin"


def test_a_bare_record_is_read_like_an_envelope() -> None:
    envelope = load_event("stop_logging")
    bare = parse_event(envelope["detail"])
    wrapped = parse_event(envelope)
    assert bare.detail_type is None
    assert (bare.event_id, bare.event_name, bare.trail, bare.actor) == (
        wrapped.event_id,
        wrapped.event_name,
        wrapped.trail,
        wrapped.actor,
    )


def test_an_arn_that_is_not_a_trail_gives_no_trail() -> None:
    raw = load_event("add_tags")
    raw["detail"]["requestParameters"]["resourceId"] = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:eventdatastore/abc"
    assert parse_event(raw).trail is None


def test_missing_event_id_gets_a_stable_derived_id() -> None:
    raw = load_event("stop_logging")
    del raw["detail"]["eventID"]
    first, second = parse_event(raw), parse_event(json.loads(json.dumps(raw)))
    assert first.event_id_derived
    assert first.event_id == second.event_id
    assert first.event_id.startswith("sha256-")


def test_unparseable_event_time_is_kept_raw() -> None:
    raw = load_event("stop_logging")
    raw["detail"]["eventTime"] = "Apr 12, 2021 18:58:30 PM"
    event = parse_event(raw)
    assert event.event_time is None
    assert event.event_time_raw == "Apr 12, 2021 18:58:30 PM"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([1, 2], "event must be a JSON object, got list"),
        ("StopLogging", "event must be a JSON object, got str"),
        (None, "event must be a JSON object, got NoneType"),
        ({"detail-type": "AWS API Call via CloudTrail"}, "event has no 'detail'"),
        ({"detail-type": "AWS API Call via CloudTrail", "detail": "x"}, "detail must be a JSON object, got str"),
        ({"hello": "world"}, "event is neither an EventBridge event"),
        ({"detail": {"eventName": 7}}, "detail.eventName must be a string, got int"),
        ({"eventName": ["StopLogging"]}, "eventName must be a string, got list"),
    ],
)
def test_malformed_input_raises_a_message_naming_what_is_wrong(raw: Any, message: str) -> None:
    with pytest.raises(MalformedEvent, match="^" + re.escape(message)):
        parse_event(raw)


def test_wrong_types_on_other_fields_are_listed_not_fatal() -> None:
    raw = load_event("stop_logging")
    raw["detail"]["requestParameters"] = "name=management-trail"
    raw["detail"]["userIdentity"]["arn"] = {"not": "a string"}
    event = parse_event(raw)
    assert event.trail is None
    assert event.actor.arn is None
    assert set(event.problems) == {
        "detail.requestParameters must be an object, got str",
        "detail.userIdentity.arn must be a string, got dict",
    }


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
keys = st.sampled_from(
    [
        "detail",
        "detail-type",
        "eventName",
        "eventSource",
        "requestParameters",
        "userIdentity",
        "awsRegion",
        "eventID",
        "eventTime",
        "errorCode",
        "recipientAccountId",
        "sessionContext",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, json_values, max_size=8) | json_values)
def test_arbitrary_json_either_parses_or_raises_malformed_event(raw: Any) -> None:
    try:
        event = parse_event(raw)
    except MalformedEvent as exc:
        message = str(exc)
        assert message  # every rejection says what is wrong
    else:
        assert event.event_id


@pytest.mark.parametrize(
    "name",
    ["t" * 129, "ab", "-starts-with-a-hyphen", "has space", "arn:aws:cloudtrail:us-east-1:123456789012:trail/x\ud800"],
)
def test_a_name_cloudtrail_would_refuse_names_no_trail_and_is_a_problem(name: str) -> None:
    raw = load_event("stop_logging")
    raw["detail"]["requestParameters"] = {"name": name}
    event = parse_event(raw)
    assert event.trail is None
    [problem] = event.problems
    assert problem.endswith("is no trail name CloudTrail accepts: the event names no trail")


def test_the_longest_name_cloudtrail_accepts_is_a_trail() -> None:
    raw = load_event("stop_logging")
    raw["detail"]["requestParameters"] = {"name": "a" * 128}
    assert parse_event(raw).trail is not None
