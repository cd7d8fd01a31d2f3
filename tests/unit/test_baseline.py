"""Baselines: what weakens a trail, what strengthens it, and what the trail must become."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from guardian.model.baselines import trail_document, trail_from_document, trail_key
from guardian.model.changes import Effect, weakened
from guardian.model.trail import TrailState, compare, state_from_aws, target_state

ALL_MANAGEMENT = (
    {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [], "ExcludeManagementEventSources": []},
)
BASE = TrailState(
    name="management-trail",
    arn="arn:aws:cloudtrail:us-east-1:123456789012:trail/management-trail",
    home_region="us-east-1",
    logging=True,
    s3_bucket="trail-logs",
    s3_prefix="audit",
    multi_region=True,
    include_global_service_events=True,
    log_file_validation=True,
    kms_key_id="arn:aws:kms:us-east-1:123456789012:key/k1",
    event_selectors=ALL_MANAGEMENT,
    insight_types=("ApiCallRateInsight",),
    tags=(("guardian:protect", "true"),),
)


def with_(state: TrailState, **values: Any) -> TrailState:
    return replace(state, **values)


def effects(current: TrailState, baseline: TrailState = BASE) -> dict[str, Effect]:
    return {c.field: c.effect for c in compare(baseline, current)}


def test_identical_state_has_no_change() -> None:
    assert compare(BASE, BASE) == ()


@pytest.mark.parametrize("field", ["logging", "multi_region", "include_global_service_events", "log_file_validation"])
def test_switching_a_protection_off_weakens_and_on_strengthens(field: str) -> None:
    off = with_(BASE, **{field: False})
    assert effects(off) == {field: Effect.WEAKENED}
    assert effects(BASE, baseline=off) == {field: Effect.STRENGTHENED}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kms_key_id", "arn:aws:kms:us-east-1:123456789012:key/k2"),
        ("sns_topic_arn", "arn:aws:sns:us-east-1:1:t"),
        ("cloudwatch_logs_group_arn", "arn:aws:logs:us-east-1:1:log-group:g:*"),
    ],
)
def test_attachments_removed_or_replaced_weaken_and_added_strengthen(field: str, value: str) -> None:
    with_it = with_(BASE, **{field: value})
    without = with_(BASE, **{field: None})
    assert effects(without, baseline=with_it) == {field: Effect.WEAKENED}
    assert effects(with_it, baseline=without) == {field: Effect.STRENGTHENED}
    replaced = with_(BASE, **{field: value + "-other"})
    assert effects(replaced, baseline=with_it) == {field: Effect.WEAKENED}


@pytest.mark.parametrize(("field", "value"), [("s3_bucket", "attacker-bucket"), ("s3_prefix", None)])
def test_any_change_of_destination_weakens(field: str, value: Any) -> None:
    assert effects(with_(BASE, **{field: value})) == {field: Effect.WEAKENED}


@pytest.mark.parametrize(
    ("selectors", "effect"),
    [
        ([{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": False}], Effect.WEAKENED),  # Stratus technique
        ([{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}], Effect.WEAKENED),
        (
            [
                {
                    "ReadWriteType": "All",
                    "IncludeManagementEvents": True,
                    "ExcludeManagementEventSources": ["kms.amazonaws.com"],
                }
            ],
            Effect.WEAKENED,
        ),
        (
            [
                {
                    "ReadWriteType": "All",
                    "IncludeManagementEvents": True,
                    "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
                }
            ],
            Effect.STRENGTHENED,
        ),
    ],
)
def test_event_selectors_are_judged_by_what_they_cover(selectors: list[dict[str, Any]], effect: Effect) -> None:
    assert effects(replace(BASE, event_selectors=tuple(selectors))) == {"event_selectors": effect}


def test_same_coverage_written_differently_is_no_change() -> None:
    assert compare(BASE, replace(BASE, event_selectors=({"ReadWriteType": "All"},))) == ()
    assert compare(BASE, replace(BASE, event_selectors=None)) == ()  # no selectors: CloudTrail's default


def test_dropping_a_data_resource_weakens() -> None:
    with_data = replace(
        BASE,
        event_selectors=(
            {
                "ReadWriteType": "All",
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::secrets/"]}],
            },
        ),
    )
    assert effects(BASE, baseline=with_data) == {"event_selectors": Effect.WEAKENED}


def test_advanced_selectors_superset_strengthens_and_switching_kinds_weakens() -> None:
    management = {"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
    data = {"Name": "s3", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}
    advanced = replace(BASE, event_selectors=None, advanced_event_selectors=(management,))
    assert effects(replace(advanced, advanced_event_selectors=(management, data)), baseline=advanced) == {
        "advanced_event_selectors": Effect.STRENGTHENED
    }
    assert effects(replace(advanced, advanced_event_selectors=(data,)), baseline=advanced) == {
        "advanced_event_selectors": Effect.WEAKENED
    }
    assert effects(advanced) == {"event_selectors": Effect.WEAKENED}
    assert effects(BASE, baseline=advanced) == {"advanced_event_selectors": Effect.WEAKENED}


def test_insights_and_tags() -> None:
    assert effects(replace(BASE, insight_types=())) == {"insight_types": Effect.WEAKENED}
    more = replace(BASE, insight_types=("ApiCallRateInsight", "ApiErrorRateInsight"))
    assert effects(more) == {"insight_types": Effect.STRENGTHENED}
    assert effects(replace(BASE, tags=())) == {"tags": Effect.WEAKENED}
    assert effects(replace(BASE, tags=(("guardian:protect", "false"),))) == {"tags": Effect.WEAKENED}
    assert effects(replace(BASE, tags=(("guardian:protect", "true"), ("owner", "sec")))) == {
        "tags": Effect.STRENGTHENED
    }


def test_target_undoes_weakening_and_keeps_strengthening() -> None:
    tampered = replace(
        BASE,
        log_file_validation=False,
        kms_key_id=None,
        sns_topic_arn="arn:aws:sns:us-east-1:1:new",
        tags=(("owner", "mallory"),),
        event_selectors=({"ReadWriteType": "ReadOnly", "IncludeManagementEvents": False},),
    )
    changes = compare(BASE, tampered)
    assert {c.field for c in weakened(changes)} == {"log_file_validation", "kms_key_id", "tags", "event_selectors"}
    target = target_state(BASE, tampered, changes)
    assert target.log_file_validation is True
    assert target.kms_key_id == BASE.kms_key_id
    assert target.sns_topic_arn == "arn:aws:sns:us-east-1:1:new"  # added: kept
    assert target.tags == (("guardian:protect", "true"), ("owner", "mallory"))
    assert target.event_selectors == BASE.event_selectors
    assert weakened(compare(BASE, target)) == ()


def test_state_from_aws_reads_every_field() -> None:
    state = state_from_aws(
        {
            "Name": "t",
            "TrailARN": "arn:aws:cloudtrail:eu-west-1:1:trail/t",
            "HomeRegion": "eu-west-1",
            "S3BucketName": "b",
            "S3KeyPrefix": "",
            "IsMultiRegionTrail": True,
            "IncludeGlobalServiceEvents": True,
            "LogFileValidationEnabled": True,
            "KmsKeyId": "k",
            "IsOrganizationTrail": False,
            "CloudWatchLogsLogGroupArn": "g",
            "CloudWatchLogsRoleArn": "r",
        },
        {"IsLogging": True},
        {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]},
        ["ApiErrorRateInsight", "ApiCallRateInsight"],
        [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}],
    )
    assert state.s3_prefix is None
    assert (state.kms_key_id, state.cloudwatch_logs_group_arn, state.cloudwatch_logs_role_arn) == ("k", "g", "r")
    assert state.insight_types == ("ApiCallRateInsight", "ApiErrorRateInsight")
    assert state.tags == (("a", "1"), ("b", "2"))


def test_baseline_document_round_trips() -> None:
    document = trail_document(BASE, recorded_at="2026-11-24T00:00:00Z", recorded_by="sweep", reason="first seen")
    assert document["schema"] == "cloudtrail-guardian/baseline"
    assert trail_from_document(document) == BASE
    assert trail_key("us-east-1", "management-trail") == "baselines/us-east-1/management-trail.json"
    with pytest.raises(ValueError, match="not a baseline document"):
        trail_from_document({"schema": "other"})
