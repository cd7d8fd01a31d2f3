"""Review 2, finding 5: an approval never adopts a bucket or log group weaker than its baseline (an insider's change
made while the approval runs) unless the request names it; and one that does is alerted HIGH, not MEDIUM."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from guardian.flows import operator
from guardian.model.config import Config
from guardian.model.operator_requests import RequestError, parse_request
from tests.integration.test_operator_moto import Adapter, account, baseline_versions, payload, run

__all__ = ["account"]  # the fixture, shared with the other operator tests
LOGS = "org-audit-logs"


def evidence(key: str) -> dict[str, Any]:
    body = boto3.client("s3").get_object(Bucket="evidence", Key=key)["Body"].read()
    return dict(json.loads(body))


def approve(aws: Adapter, config: Config, request_id: str, **extra: str) -> dict[str, Any]:
    return operator.serve(payload(id=request_id, **extra), aws, config, run())


@pytest.mark.threat("approval-adopts")
def test_an_approval_refuses_a_bucket_weakened_since_its_baseline_unless_named_and_then_alerts_high(
    account: tuple[Adapter, Config],
) -> None:
    aws, config = account
    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=LOGS, VersioningConfiguration={"Status": "Enabled"})
    first = approve(aws, config, "11111111-aaaa-4bbb-8ccc-000000000001")
    assert first["ok"] is True, first
    assert evidence(first["approved"]["evidence_key"])["severity"] == "MEDIUM"
    recorded = baseline_versions()
    # The insider suspends versioning while the next, announced approval runs.
    s3.put_bucket_versioning(Bucket=LOGS, VersioningConfiguration={"Status": "Suspended"})
    refused = approve(aws, config, "11111111-aaaa-4bbb-8ccc-000000000002")
    assert refused["ok"] is False
    assert f"bucket {LOGS} is weaker than its baseline (versioning)" in refused["refused"]
    assert "--include-bucket" in refused["refused"]
    assert baseline_versions() == recorded  # nothing adopted
    assert first["approved"]["adopted_weaker"] == []
    named = approve(aws, config, "11111111-aaaa-4bbb-8ccc-000000000003", include="bucket")
    assert named["ok"] is True, named
    assert named["approved"]["adopted_weaker"] == [f"bucket {LOGS} (versioning)"]
    record = evidence(named["approved"]["evidence_key"])
    assert record["severity"] == "HIGH"
    assert "adopted, weaker than its baseline" in json.dumps(record)


def test_naming_a_log_group_does_not_adopt_a_weakened_bucket(account: tuple[Adapter, Config]) -> None:
    aws, config = account
    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=LOGS, VersioningConfiguration={"Status": "Enabled"})
    assert approve(aws, config, "22222222-aaaa-4bbb-8ccc-000000000001")["ok"] is True
    s3.put_bucket_versioning(Bucket=LOGS, VersioningConfiguration={"Status": "Suspended"})
    answer = approve(aws, config, "22222222-aaaa-4bbb-8ccc-000000000002", include="log_group")
    assert answer["ok"] is False
    assert "--include-bucket" in answer["refused"]


def test_a_dependency_as_strong_as_its_baseline_needs_no_naming(account: tuple[Adapter, Config]) -> None:
    aws, config = account
    assert approve(aws, config, "33333333-aaaa-4bbb-8ccc-000000000001")["ok"] is True
    again = approve(aws, config, "33333333-aaaa-4bbb-8ccc-000000000002")
    assert again["ok"] is True
    assert evidence(again["approved"]["evidence_key"])["severity"] == "MEDIUM"


@pytest.mark.parametrize("include", ["trail", "bucket,key", "*"])
def test_include_names_only_a_bucket_or_a_log_group(include: str) -> None:
    body = payload(include=include)
    with pytest.raises(RequestError, match="include may name only bucket, log_group"):
        parse_request(body)
    assert parse_request(payload(include="bucket, log_group")).include == ("bucket", "log_group")
    assert parse_request(payload()).include == ()


@pytest.mark.threat("approval-adopts")
def test_an_approval_refuses_a_log_group_weakened_since_its_baseline_unless_named(
    account: tuple[Adapter, Config],
) -> None:
    aws, config = account
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="org-audit")
    logs.put_retention_policy(logGroupName="org-audit", retentionInDays=365)
    group = logs.describe_log_groups(logGroupNamePrefix="org-audit")["logGroups"][0]["arn"]
    boto3.client("cloudtrail").update_trail(
        Name="org-audit",
        CloudWatchLogsLogGroupArn=group,
        CloudWatchLogsRoleArn="arn:aws:iam::123456789012:role/CloudTrailToLogs",
    )
    assert approve(aws, config, "44444444-aaaa-4bbb-8ccc-000000000001")["ok"] is True
    logs.put_retention_policy(logGroupName="org-audit", retentionInDays=1)
    refused = approve(aws, config, "44444444-aaaa-4bbb-8ccc-000000000002")
    assert refused["ok"] is False
    assert "log_group org-audit is weaker than its baseline" in refused["refused"]
    assert "--include-log-group" in refused["refused"]
    named = approve(aws, config, "44444444-aaaa-4bbb-8ccc-000000000003", include="log_group")
    assert named["ok"] is True, named
    assert evidence(named["approved"]["evidence_key"])["severity"] == "HIGH"
