"""The sentinel's floor is management write events (issue 23): the sweep records the guardian's own write-only
sentinel as it is and leaves it so, while a trail of the same name outside the home Region is not the sentinel and
is raised to read and write."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.integration.conftest import Account

SENTINEL = "CloudTrailGuardian-sentinel"
WRITE_ONLY = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]


def write_only_trail(region: str, bucket: str) -> Any:
    s3 = boto3.client("s3", region_name=region)
    located: Any = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **located)
    ct = boto3.client("cloudtrail", region_name=region)
    ct.create_trail(Name=SENTINEL, S3BucketName=bucket, IsMultiRegionTrail=region == "us-east-1")
    ct.put_event_selectors(TrailName=SENTINEL, EventSelectors=WRITE_ONLY)  # type: ignore[arg-type]
    ct.start_logging(Name=SENTINEL)
    return ct


def kinds(ct: Any) -> list[str]:
    return [s["ReadWriteType"] for s in ct.get_event_selectors(TrailName=SENTINEL)["EventSelectors"]]


@pytest.mark.threat("sentinel-namesake")
def test_the_sentinel_is_held_to_write_events_and_a_namesake_elsewhere_to_read_and_write(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUARDIAN_SENTINEL_TRAIL", SENTINEL)
    home = write_only_trail("us-east-1", "sentinel-logs")  # the guardian's home Region: its topic's
    other = write_only_trail("us-west-2", "namesake-logs")  # the same name in another Region: not the sentinel
    account.sweep()
    assert kinds(home) == ["WriteOnly"]
    assert [s["ReadWriteType"] for s in account.baseline(SENTINEL)["trail"]["event_selectors"]] == ["WriteOnly"]
    assert "All" in kinds(other)  # raised to the floor of every other trail
    account.alerts()
    assert account.sweep()["statuses"].get("healed", 0) == 0  # the sentinel stays write-only, sweep after sweep
    assert kinds(home) == ["WriteOnly"]
