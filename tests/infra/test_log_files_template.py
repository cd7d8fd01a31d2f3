"""Issue 20, move 4, in the template: the sentinel trail's log files are write-once (Object Lock, COMPLIANCE, as long
as they are kept), and the sweep may read (never write) the trails' log and digest files, and CloudTrail's keys."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.test_template import logical_id, resource

pytestmark = pytest.mark.synth


@pytest.mark.threat("log-files")
def test_the_sentinel_bucket_is_locked_in_compliance_mode_for_as_long_as_it_keeps_files(default_synth: Any) -> None:
    template, _ = default_synth
    bucket = resource(template, "AWS::S3::Bucket", "SentinelBucket")["Properties"]
    assert bucket["ObjectLockEnabled"] is True
    assert bucket["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 90}},  # sentinelRetentionDays
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 90  # the lock never outlives what the lifecycle keeps


def test_the_sweep_reads_log_and_digest_files_of_this_accounts_buckets_only(default_synth: Any) -> None:
    template, _ = default_synth
    policy_id = logical_id(template, "AWS::IAM::Policy", containing="SweepRoleDefaultPolicy")
    statements = template.find_resources("AWS::IAM::Policy")[policy_id]["Properties"]["PolicyDocument"]["Statement"]
    this_account = {"StringEquals": {"s3:ResourceAccount": {"Ref": "AWS::AccountId"}}}
    [files] = [s for s in statements if s.get("Sid") == "ReadTrailLogFiles"]
    objects = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::*/AWSLogs/*"]]}
    assert (files["Action"], files["Resource"], files["Condition"]) == ("s3:GetObject", objects, this_account)
    [listing] = [s for s in statements if s.get("Sid") == "ListTrailDigestFiles"]
    assert (listing["Action"], listing["Condition"]) == ("s3:ListBucket", this_account)
    [keys] = [s for s in statements if s.get("Sid") == "ReadCloudTrailsPublicKeys"]
    assert (keys["Action"], keys["Resource"]) == ("cloudtrail:ListPublicKeys", "*")
    writes = {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"}
    assert not writes & {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        if s.get("Sid") in ("ReadTrailLogFiles", "ListTrailDigestFiles")
    }
