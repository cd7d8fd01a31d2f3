"""The calls on a trail's bucket, key and log group the guardian alerts but does not undo (the decision table's
alert-only rows): HIGH when the resource serves a protected trail, none of its business otherwise."""

from __future__ import annotations

import pytest

from guardian.entrypoints import handler
from tests.integration.conftest import Account
from tests.integration.test_storage_moto import log_group, logs_event, s3_event
from tests.integration.test_sweep_moto import key_event, trail_key

__all__ = ["log_group", "trail_key"]  # the fixtures


def alerted_high(event: dict[str, object], account: Account) -> None:
    result = handler.lambda_handler(event, None)
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH")
    [alert] = account.alerts()
    assert alert["Subject"].startswith("[HIGH] ")


@pytest.mark.parametrize("name", ["PutBucketOwnershipControls", "PutObjectLockConfiguration"])
def test_a_trail_buckets_ownership_or_object_lock_changed_is_alerted_high(account: Account, name: str) -> None:
    alerted_high(s3_event(name, f"s3-{name}"), account)


def test_the_same_call_on_another_bucket_is_ignored(account: Account) -> None:
    result = handler.lambda_handler(s3_event("PutObjectLockConfiguration", "s3-other", bucket="app-data"), None)
    assert result["outcome"] == "ignored"


@pytest.mark.parametrize("name", ["CreateGrant", "RetireGrant", "RevokeGrant"])
def test_a_grant_on_a_trails_key_is_alerted_high(account: Account, trail_key: str, name: str) -> None:
    alerted_high(key_event(name, trail_key, f"k-{name}"), account)


def test_a_grant_on_another_key_is_ignored(account: Account, trail_key: str) -> None:
    other = "11111111-2222-3333-4444-555555555555"
    assert handler.lambda_handler(key_event("CreateGrant", other, "k-other"), None)["outcome"] == "ignored"


def test_a_key_taken_off_a_trails_log_group_that_had_none_is_as_its_baseline(account: Account, log_group: str) -> None:
    """DisassociateKmsKey puts the baseline's key back (tests/integration/test_log_group_keys_moto.py); where the
    baseline has none, taking one off leaves the group as it was deployed: noted LOW, nothing to undo."""
    result = handler.lambda_handler(logs_event("DisassociateKmsKey", "l-disassociate"), None)
    assert (result["outcome"], result["severity"]) == ("alerted", "LOW")
