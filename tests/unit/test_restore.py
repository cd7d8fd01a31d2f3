"""The restore engine over a fake trail API that answers as AWS does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from guardian.flows.restore_trail import Restoration, restore
from guardian.model.config import Config
from guardian.model.refs import KeyRef, TrailRef
from guardian.model.trail import TrailState
from guardian.ports.invocation import Invocation

BASELINE = TrailState(
    name="org-audit",
    arn="arn:aws:cloudtrail:us-east-1:123456789012:trail/org-audit",
    home_region="us-east-1",
    logging=True,
    s3_bucket="logs",
    log_file_validation=True,
    tags=(("owner", "security"),),
)


class FakeTrails:
    def __init__(self, state: TrailState | None, *, create_error: str | None = None) -> None:
        self.state = state
        self.calls: list[str] = []
        self.create_error = create_error

    def trail_state(self, region: str, name: str) -> TrailState | None:
        self.calls.append("read the whole trail")
        return self.state

    def trail_status(self, trail: TrailRef) -> dict[str, Any]:
        self.calls.append("GetTrailStatus")
        assert self.state is not None
        assert (trail.region, trail.identifier) == (self.state.home_region, self.state.arn)
        return {"IsLogging": self.state.logging, "LatestDeliveryError": "AccessDenied"}

    def create_trail(self, state: TrailState) -> None:
        self.calls.append("CreateTrail")
        if self.create_error:
            raise ClientError({"Error": {"Code": self.create_error, "Message": "no"}}, "CreateTrail")
        self.state = replace(state, logging=False)

    def update_trail(self, state: TrailState, *, clear_prefix: bool) -> None:
        self.calls.append("UpdateTrail")
        assert self.state is not None
        self.state = replace(self.state, log_file_validation=state.log_file_validation)

    def put_event_selectors(self, state: TrailState) -> None:
        self.calls.append("PutEventSelectors")

    def put_insight_selectors(self, state: TrailState) -> None:
        self.calls.append("PutInsightSelectors")

    def add_tags(self, state: TrailState, tags: list[tuple[str, str]]) -> None:
        self.calls.append("AddTags")
        assert self.state is not None
        self.state = replace(self.state, tags=tuple(sorted(set(self.state.tags) | set(tags))))

    def start_trail(self, state: TrailState) -> None:
        self.calls.append("StartLogging")
        assert self.state is not None
        self.state = replace(self.state, logging=True)

    # A trail's key is judged only where a restore adds one; none of these restores does.
    def key_state(self, key: KeyRef) -> str:
        raise AssertionError("no key is read in these restores")

    def key_origin(self, key: KeyRef) -> str:
        raise AssertionError("no key is read in these restores")

    def enable_key(self, key: KeyRef) -> None:
        raise AssertionError("no key is changed in these restores")

    def cancel_key_deletion(self, key: KeyRef) -> None:
        raise AssertionError("no key is changed in these restores")

    def key_policy(self, key: KeyRef) -> str:
        raise AssertionError("no key policy is read in these restores")

    def put_key_policy(self, key: KeyRef, policy: str) -> None:
        raise AssertionError("no key policy is changed in these restores")


def run(trails: FakeTrails, found: TrailState | None) -> Restoration:
    config = Config(
        topic_arn="arn:aws:sns:us-east-1:123456789012:t",
        evidence_bucket="ev",
        self_role_arn=None,
        exempt_principals=(),
        verify_attempts=2,
        verify_delay_seconds=0,
    )
    return restore(
        trails, BASELINE, found, config, Invocation(lambda: datetime(2026, 11, 24, tzinfo=UTC), lambda _: None)
    )


def test_a_trail_recreated_meanwhile_is_repaired_not_reported_as_a_failed_heal() -> None:
    """The sweep and an event can race to recreate a deleted trail: the loser finds it there and repairs it."""
    plain = TrailState(name="org-audit", arn=BASELINE.arn, home_region="us-east-1", logging=False, s3_bucket="logs")
    trails = FakeTrails(plain, create_error="TrailAlreadyExistsException")
    restoration = run(trails, None)
    assert restoration.verified
    assert [c for c in trails.calls if c != "read the whole trail"] == [
        "CreateTrail",
        "StartLogging",
        "UpdateTrail",
        "AddTags",
    ]
    assert trails.state == BASELINE


def test_a_failed_create_is_recorded_and_not_verified() -> None:
    trails = FakeTrails(None, create_error="InsufficientS3BucketPolicyException")
    restoration = run(trails, None)
    assert not restoration.verified
    [action] = restoration.actions
    assert (action.action, action.succeeded, action.error_code) == (
        "CreateTrail",
        False,
        "InsufficientS3BucketPolicyException",
    )


def test_equal_coverage_is_no_change_and_keeps_nothing() -> None:
    """No selectors and CloudTrail's default selectors log the same events: nothing to undo, nothing to record."""
    default = ({"ReadWriteType": "All", "IncludeManagementEvents": True},)
    restoration = run(FakeTrails(None), replace(BASELINE, event_selectors=default))
    assert not restoration.needed
    assert restoration.changes == ()
    assert restoration.kept == ()


def test_a_real_strengthening_is_kept_and_named() -> None:
    restoration = run(FakeTrails(None), replace(BASELINE, multi_region=True))
    assert not restoration.needed
    assert [(c.field, c.effect.value) for c in restoration.kept] == [("multi_region", "strengthened")]


def test_a_logging_only_heal_is_verified_with_get_trail_status_alone() -> None:
    """StartLogging touched nothing else, and the rest was read just before: one GetTrailStatus verifies it."""
    stopped = replace(BASELINE, logging=False, multi_region=True)  # stopped, and strengthened meanwhile
    trails = FakeTrails(stopped)
    restoration = run(trails, stopped)
    assert restoration.verified
    assert trails.calls == ["StartLogging", "GetTrailStatus"]
    assert restoration.after == replace(stopped, logging=True)
    assert restoration.after is not None
    assert restoration.after.delivery_error == "AccessDenied"


def test_a_heal_beyond_logging_reads_the_whole_trail_again() -> None:
    weakened = replace(BASELINE, logging=False, log_file_validation=False)
    trails = FakeTrails(weakened)
    restoration = run(trails, weakened)
    assert restoration.verified
    assert trails.calls == ["StartLogging", "UpdateTrail", "read the whole trail"]
