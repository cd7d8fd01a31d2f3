"""Holding against an insider (issue 13), against moto: what someone in the account can write is never trusted.

Each test is a move a PowerUser can make in the account; each fails on a guardian that trusts what it reads."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.integration.conftest import TRAIL, WEST, Account, subject_and_message

KEY = f"baselines/us-east-1/{TRAIL}.json"


def stored(account: Account, key: str = KEY) -> dict[str, Any]:
    body = boto3.client("s3").get_object(Bucket=account.bucket, Key=key)["Body"].read()
    document: dict[str, Any] = json.loads(body)
    return document


def overwrite(account: Account, document: dict[str, Any], key: str = KEY) -> None:
    """What any principal allowed s3:PutObject on the bucket could do (the bucket policy now denies it)."""
    boto3.client("s3").put_object(Bucket=account.bucket, Key=key, Body=json.dumps(document).encode())


@pytest.mark.threat("evidence-overwrite")
def test_a_forged_baseline_is_refused_and_never_applied(account: Account) -> None:
    """Issue 13, item 1: selectors without management events and another bucket, written over the baseline."""
    forged = stored(account)
    forged["trail"]["event_selectors"] = [{"ReadWriteType": "All", "IncludeManagementEvents": False}]
    forged["trail"]["s3_bucket"] = "attacker-bucket"
    overwrite(account, forged)
    before = account.trail()
    summary = account.sweep()
    assert summary["statuses"] == {"in_baseline": 2}
    assert account.trail() == before  # nothing of the forged baseline was applied
    selectors = account.ct().get_event_selectors(TrailName=TRAIL)["EventSelectors"]
    assert selectors[0]["IncludeManagementEvents"] is True
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject == f"[CRITICAL] 123456789012 Baseline {KEY} refused (failed verification)"
    assert "the signature does not match" in message["reason"]
    assert stored(account)["trail"]["s3_bucket"] == "org-audit-logs"  # the verified version is the newest again
    assert account.sweep()["statuses"] == {"in_baseline": 2}
    assert account.alerts() == []  # once per forged version


def test_a_forged_retirement_cannot_retire_a_trail(account: Account) -> None:
    """A baseline set to "trail": null would retire the trail: deleted afterwards, it would never come back."""
    overwrite(account, {**stored(account), "trail": None, "signature": None})
    account.ct().delete_trail(Name=TRAIL)
    summary = account.sweep()
    assert summary["statuses"] == {"healed": 1, "in_baseline": 1}
    assert account.trail()["Name"] == TRAIL


@pytest.mark.threat("evidence-overwrite")
def test_a_valid_baseline_copied_over_another_trails_is_refused(account: Account) -> None:
    """The signature covers the object key too: audit-west's genuine baseline is no baseline for org-audit."""
    west = stored(account, f"baselines/us-west-2/{WEST}.json")
    overwrite(account, west)
    account.sweep()
    subjects = [subject_and_message(n)[0] for n in account.alerts()]
    assert f"[CRITICAL] 123456789012 Baseline {KEY} refused (failed verification)" in subjects
    assert stored(account)["trail"]["name"] == TRAIL


def test_a_baseline_below_the_floor_is_raised_and_alerted(account: Account) -> None:
    """Even a baseline the guardian signed (from before the floor, or a bug) never takes a trail below it."""
    from guardian.entrypoints import runtime  # noqa: PLC0415
    from guardian.flows import baselines  # noqa: PLC0415
    from guardian.model.baselines import trail_document  # noqa: PLC0415

    adapter = runtime.full_adapter(runtime.config())
    document = stored(account)
    document["trail"]["event_selectors"] = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
    document.pop("signature")
    baselines.write_signed(
        adapter, KEY, {**trail_document(None, recorded_at="", recorded_by="", reason=""), **document}
    )
    account.ct().put_event_selectors(
        TrailName=TRAIL, EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
    )
    account.sweep()
    selectors = account.ct().get_event_selectors(TrailName=TRAIL)["EventSelectors"]
    assert any(s["ReadWriteType"] == "All" and s["IncludeManagementEvents"] for s in selectors)
    subjects = [subject_and_message(n)[0] for n in account.alerts()]
    assert f"[CRITICAL] 123456789012 Baseline {KEY} raised" in subjects
    assert "raised to the floor" in stored(account)["reason"]
