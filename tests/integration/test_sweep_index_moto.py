"""The Region's baseline index (guardian.model.baseline_index): a clean sweep reads it in place of each trail's
baseline, but only for a trail whose baseline S3 still lists under the ETag the index holds; a forged index is
refused, alerted and written again; speed never comes from holding a trail to an older baseline."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.integration.conftest import TRAIL, Account, subject_and_message
from tests.support import fits

INDEX = "baselines/trail-index/us-east-1.json"


def _tags(account: Account) -> list[tuple[str, str]]:
    arn = account.trail()["TrailARN"]
    listed = account.ct().list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    return sorted((t["Key"], t["Value"]) for t in listed)


def test_the_index_is_written_by_the_sweep_and_signed(account: Account) -> None:
    account.sweep()  # the first read every baseline once: this one indexes them
    index = json.loads(boto3.client("s3").get_object(Bucket=account.bucket, Key=INDEX)["Body"].read())
    assert (index["kind"], index["region"], sorted(index["trails"])) == ("trail_index", "us-east-1", [TRAIL])
    assert index["trails"][TRAIL]["baseline"]["trail"]["name"] == TRAIL
    assert index["signature"]["value"]


@pytest.mark.threat("index-forge")
def test_a_baseline_newer_than_the_index_is_read_so_a_trail_is_never_held_to_an_older_one(account: Account) -> None:
    """A tag added strengthens the trail: the sweep records a new baseline, so the index's copy is old. Removing the
    tag again would look 'in baseline' against the index's copy; against the newest baseline it is a weakening."""
    account.sweep()
    arn = account.trail()["TrailARN"]
    account.ct().add_tags(ResourceId=arn, TagsList=[{"Key": "reviewed", "Value": "2026"}])
    assert account.sweep()["statuses"] == {"strengthened": 1, "in_baseline": 1}
    account.ct().remove_tags(ResourceId=arn, TagsList=[{"Key": "reviewed", "Value": "2026"}])
    assert account.sweep()["statuses"] == {"healed": 1, "in_baseline": 1}
    assert ("reviewed", "2026") in _tags(account)
    assert account.sweep()["statuses"] == {"in_baseline": 2}


@pytest.mark.threat("index-forge")
def test_a_forged_index_is_refused_alerted_and_written_again(account: Account) -> None:
    account.sweep()
    s3 = boto3.client("s3")
    forged = json.loads(s3.get_object(Bucket=account.bucket, Key=INDEX)["Body"].read())
    forged["trails"][TRAIL]["baseline"]["trail"]["logging"] = False  # an insider's index: the trail may stay stopped
    s3.put_object(Bucket=account.bucket, Key=INDEX, Body=json.dumps(forged).encode())
    account.alerts()
    account.ct().stop_logging(Name=TRAIL)
    assert account.sweep()["statuses"] == {"healed": 1, "in_baseline": 1}  # held to the verified baseline
    subjects = sorted(subject_and_message(n)[0] for n in account.alerts())
    assert any(s.startswith("[CRITICAL]") and "baseline" in s.lower() for s in subjects), subjects
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is True
    account.sweep()
    assert account.alerts() == []  # the index written again verifies: no second alert


@pytest.mark.threat("baseline-delete")
def test_a_deleted_baseline_is_put_back_from_the_index_and_alerted(account: Account) -> None:
    """Deleting a trail's baseline (a delete marker) used to make the next sweep take the live trail as a new one;
    the index still holds the verified baseline: it is written back, alerted CRITICAL, and the trail held to it."""
    account.sweep()
    account.alerts()
    boto3.client("s3").delete_object(Bucket=account.bucket, Key=f"baselines/us-east-1/{TRAIL}.json")
    account.ct().update_trail(Name=TRAIL, EnableLogFileValidation=False)  # and weaken the trail
    assert account.sweep()["statuses"] == {"healed": 1, "in_baseline": 1}
    assert account.trail()["LogFileValidationEnabled"] is True
    subjects = sorted(subject_and_message(n)[0] for n in account.alerts())
    assert len(subjects) == 2, subjects  # the deleted baseline, and the heal
    head, tail = "[CRITICAL] 123456789012 Baseline ", " deleted: put back from the index"
    assert fits(subjects[0], head, f"baselines/us-east-1/{TRAIL}.json", tail)
    assert "log_file_validation" in subjects[1], subjects
    assert account.baseline()["trail"]["log_file_validation"] is True  # written back
    assert account.sweep()["statuses"] == {"in_baseline": 2}
    assert account.alerts() == []
