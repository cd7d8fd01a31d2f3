"""The floor for the guardian's own sentinel is management write events; every other trail, a namesake in another
Region or account included, keeps read and write (issue 23)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from guardian.model.floor import (
    SENTINEL_FLOOR_SELECTOR,
    Sentinel,
    below_floor,
    raise_to_floor,
    sentinel,
)
from guardian.model.trail import TrailState

NAME = "CloudTrailGuardian-sentinel"
ACCOUNT = "123456789012"
GUARDIAN = Sentinel(NAME, "eu-west-1", ACCOUNT)
WRITES = ({"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True},)
SENTINEL_STATE = TrailState(
    name=NAME,
    arn=f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/{NAME}",
    home_region="eu-west-1",
    logging=True,
    s3_bucket="sentinel-bucket",
    multi_region=True,
    event_selectors=WRITES,
)
READS = "management events (read and write) are not recorded"


def test_the_sentinel_recording_write_events_is_at_its_floor() -> None:
    assert below_floor(SENTINEL_STATE, GUARDIAN) == ()
    assert raise_to_floor(SENTINEL_STATE, GUARDIAN) == SENTINEL_STATE
    assert below_floor(SENTINEL_STATE) == (READS,)  # without knowing the sentinel: the floor of every trail


@pytest.mark.threat("sentinel-namesake")
@pytest.mark.parametrize(
    "namesake",
    [
        replace(SENTINEL_STATE, home_region="us-east-1", arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{NAME}"),
        replace(SENTINEL_STATE, arn=f"arn:aws:cloudtrail:eu-west-1:999999999999:trail/{NAME}"),  # another account's
        replace(SENTINEL_STATE, organization=True),
        replace(SENTINEL_STATE, name="CloudTrailGuardian-sentinel-2"),
    ],
    ids=["another-region", "another-account", "organization-trail", "another-name"],
)
def test_a_namesake_is_not_the_sentinel_and_keeps_read_and_write(namesake: TrailState) -> None:
    assert below_floor(namesake, GUARDIAN) == (READS,)
    raised = raise_to_floor(namesake, GUARDIAN)
    assert below_floor(raised, GUARDIAN) == ()
    assert below_floor(raised) == ()


def test_a_sentinel_recording_nothing_is_raised_to_write_events_only() -> None:
    stopped = replace(SENTINEL_STATE, logging=False, event_selectors=({"IncludeManagementEvents": False},))
    assert below_floor(stopped, GUARDIAN) == ("logging is off", "management events (write) are not recorded")
    raised = raise_to_floor(stopped, GUARDIAN)
    assert raised.logging
    assert raised.event_selectors == (*(stopped.event_selectors or ()), *WRITES)
    advanced = replace(SENTINEL_STATE, event_selectors=None, advanced_event_selectors=())
    assert raise_to_floor(advanced, GUARDIAN).advanced_event_selectors == (SENTINEL_FLOOR_SELECTOR,)
    assert below_floor(raise_to_floor(advanced, GUARDIAN), GUARDIAN) == ()


def test_advanced_selectors_narrowed_to_reads_and_to_writes_cover_both() -> None:
    def narrowed(value: str) -> dict[str, object]:
        return {
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Management"]},
                {"Field": "readOnly", "Equals": [value]},
            ]
        }

    trail = replace(SENTINEL_STATE, name="audit", event_selectors=None)
    assert below_floor(replace(trail, advanced_event_selectors=(narrowed("false"),))) == (READS,)
    assert below_floor(replace(trail, advanced_event_selectors=(narrowed("true"), narrowed("false")))) == ()
    assert (
        below_floor(
            replace(SENTINEL_STATE, event_selectors=None, advanced_event_selectors=(narrowed("false"),)), GUARDIAN
        )
        == ()
    )
    assert below_floor(
        replace(SENTINEL_STATE, event_selectors=None, advanced_event_selectors=(narrowed("true"),)), GUARDIAN
    ) == ("management events (write) are not recorded",)


def test_the_sentinel_comes_from_the_functions_configuration() -> None:
    assert sentinel(None, "eu-west-1") is None
    assert sentinel(NAME, "eu-west-1", ACCOUNT) == GUARDIAN
