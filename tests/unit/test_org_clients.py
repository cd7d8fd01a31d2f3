"""The org reads' clients (guardian_console/org_clients.py): each made once per target, STS once per account, and
what botocore would build for every client (service model, class) built once, for these clients only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3

from guardian_console.org_clients import Shared, timestamp


def keys(account: str) -> dict[str, Any]:
    return {"AccessKeyId": f"ASIA{account}", "SecretAccessKey": "secret", "SessionToken": "token"}


def test_a_target_makes_each_client_once_and_sts_once_per_account() -> None:
    shared = Shared()
    east, west = shared.session(keys("111"), "us-east-1"), shared.session(keys("111"), "us-west-2")
    other = shared.session(keys("222"), "us-east-1")
    assert east.client("lambda") is east.client("lambda", region_name="us-east-1")
    assert east.client("lambda") is not west.client("lambda")
    assert east.client("lambda") is not other.client("lambda")
    assert east.client("sts") is west.client("sts")  # GetCallerIdentity answers the same in every Region
    assert east.client("sts") is not other.client("sts")
    assert other.client("sts")._request_signer._credentials.access_key == "ASIA222"


def test_the_service_model_and_class_are_made_once_for_the_org_clients_only() -> None:
    shared = Shared()
    first = shared.session(keys("111"), "us-east-1").client("cloudtrail")
    second = shared.session(keys("222"), "eu-west-1").client("cloudtrail")
    assert first.meta.service_model is second.meta.service_model
    assert type(first) is type(second)
    plain = boto3.session.Session(region_name="us-east-1").client("cloudtrail")  # any other client: botocore's own
    assert plain.meta.service_model is not first.meta.service_model
    assert type(plain) is not type(first)


def test_timestamps_in_epoch_seconds_and_iso_8601_are_read_as_botocore_reads_them() -> None:
    assert timestamp(1_765_000_000) == datetime(2025, 12, 6, 5, 46, 40, tzinfo=UTC)
    assert timestamp(1_765_000_000.5).microsecond == 500_000
    assert timestamp("2026-12-06T21:00:00Z") == datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
