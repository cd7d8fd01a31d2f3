"""The sweep against moto: tampering that no event reported is found and put back, the same trail, as it was."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from guardian.adapters.full import FullAdapter
from guardian.entrypoints import handler, runtime, sweep
from guardian.model.approvals import WAIT
from tests.integration.conftest import ALL_MANAGEMENT, TRAIL, WEST, Account, History, subject_and_message
from tests.support import ACCOUNT, load_event


def test_first_sweep_records_a_baseline_per_trail_and_alerts_nothing(account: Account) -> None:
    assert account.alerts() == []
    baseline = account.baseline()["trail"]
    assert baseline["logging"] is True
    assert (baseline["multi_region"], baseline["log_file_validation"], baseline["s3_prefix"]) == (True, True, "audit")
    assert baseline["insight_types"] == ["ApiCallRateInsight"]
    assert baseline["event_selectors"][0]["DataResources"][0]["Values"] == ["arn:aws:s3:::payroll-bucket/"]
    assert account.baseline(WEST, "us-west-2")["trail"]["home_region"] == "us-west-2"
    summary = account.sweep()
    assert summary["statuses"] == {"in_baseline": 2}


@pytest.mark.threat("trail-tamper")
def test_lost_stop_logging_event_is_healed_by_the_sweep(account: Account) -> None:
    account.ct("us-west-2").stop_logging(Name=WEST)  # no event reaches the guardian
    summary = account.sweep()
    assert summary["statuses"] == {"healed": 1, "in_baseline": 1}
    assert account.ct("us-west-2").get_trail_status(Name=WEST)["IsLogging"] is True
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject == "[HIGH] 123456789012 Trail audit-west weakened (logging) — healed by sweep"
    assert message["detected_by"] == "sweep"
    assert message["changes"] == [{"field": "logging", "before": True, "after": False, "effect": "weakened"}]
    assert message["action"]["taken"] == ["StartLogging"]
    assert "not seen as an event" in message["reason"]


def test_deleted_trail_is_recreated_as_it_was(account: Account) -> None:
    before = account.trail()
    account.ct().delete_trail(Name=TRAIL)  # Stratus: cloudtrail-delete
    account.sweep()
    after = account.trail()
    assert {k: after[k] for k in before} == before
    ct = account.ct()
    assert ct.get_trail_status(Name=TRAIL)["IsLogging"] is True
    assert ct.get_event_selectors(TrailName=TRAIL)["EventSelectors"] == ALL_MANAGEMENT
    assert ct.get_insight_selectors(TrailName=TRAIL)["InsightSelectors"] == [{"InsightType": "ApiCallRateInsight"}]
    tags = ct.list_tags(ResourceIdList=[before["TrailARN"]])["ResourceTagList"][0]["TagsList"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("guardian:protect", "true"), ("owner", "security")]
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject == "[CRITICAL] 123456789012 Trail org-audit deleted — healed by sweep"
    assert message["action"]["taken"] == ["CreateTrail", "StartLogging", "PutEventSelectors", "PutInsightSelectors"]


def test_a_recreated_trail_is_in_its_baseline_and_no_noise_version_is_written(account: Account) -> None:
    """audit-west has no event selectors; recreated, it gets CloudTrail's default selectors, which cover the same
    events: the next sweep finds it in its baseline, and writes no baseline version ("strengthening kept: ")."""
    s3, key = boto3.client("s3"), "baselines/us-west-2/audit-west.json"
    account.ct("us-west-2").delete_trail(Name=WEST)
    assert account.sweep()["statuses"] == {"healed": 1, "in_baseline": 1}
    versions = len(s3.list_object_versions(Bucket=account.bucket, Prefix=key)["Versions"])
    assert account.sweep()["statuses"] == {"in_baseline": 2}
    assert len(s3.list_object_versions(Bucket=account.bucket, Prefix=key)["Versions"]) == versions
    assert all(v["reason"] for v in _versions(account, key))


def _versions(account: Account, key: str) -> list[dict[str, Any]]:
    s3 = boto3.client("s3")
    found = s3.list_object_versions(Bucket=account.bucket, Prefix=key)["Versions"]
    return [
        json.loads(s3.get_object(Bucket=account.bucket, Key=key, VersionId=v["VersionId"])["Body"].read())
        for v in found
    ]


def test_weakening_update_is_undone_and_strengthening_kept(account: Account) -> None:
    boto3.client("sns").create_topic(Name="trail-notifications")
    account.ct().update_trail(
        Name=TRAIL, EnableLogFileValidation=False, IsMultiRegionTrail=False, SnsTopicName="trail-notifications"
    )
    account.sweep()
    trail = account.trail()
    assert (trail["LogFileValidationEnabled"], trail["IsMultiRegionTrail"]) == (True, True)
    assert trail["SnsTopicARN"].endswith(":trail-notifications")  # added: strengthens, so it stays
    [notification] = account.alerts()
    _, message = subject_and_message(notification)
    assert {(c["field"], c["effect"]) for c in message["changes"]} == {
        ("log_file_validation", "weakened"),
        ("multi_region", "weakened"),
        ("sns_topic_arn", "strengthened"),
    }
    assert account.baseline()["trail"]["sns_topic_arn"].endswith(":trail-notifications")
    assert account.sweep()["statuses"] == {"in_baseline": 2}


def test_selectors_that_drop_management_events_are_restored(account: Account) -> None:
    account.ct().put_event_selectors(
        TrailName=TRAIL,
        EventSelectors=[  # Stratus: cloudtrail-event-selectors
            {"ReadWriteType": "ReadOnly", "IncludeManagementEvents": False, "DataResources": []}
        ],
    )
    account.ct().put_insight_selectors(TrailName=TRAIL, InsightSelectors=[])
    account.sweep()
    ct = account.ct()
    assert ct.get_event_selectors(TrailName=TRAIL)["EventSelectors"] == ALL_MANAGEMENT
    assert ct.get_insight_selectors(TrailName=TRAIL)["InsightSelectors"] == [{"InsightType": "ApiCallRateInsight"}]
    assert len(account.alerts()) == 1


def test_removing_the_protection_tag_does_not_unprotect(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDIAN_PROTECT_TAG", "guardian:protect=true")
    arn = account.trail()["TrailARN"]
    account.ct().remove_tags(ResourceId=arn, TagsList=[{"Key": "guardian:protect", "Value": "true"}])
    account.ct().stop_logging(Name=TRAIL)
    summary = account.sweep()
    assert summary["statuses"] == {"healed": 1, "not_protected": 1}  # audit-west has no tag: never protected
    tags = account.ct().list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    assert {"Key": "guardian:protect", "Value": "true"} in tags
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is True


def test_trails_outside_the_protected_names_are_left_alone(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDIAN_PROTECT_TRAILS", json.dumps([TRAIL]))
    account.ct("us-west-2").stop_logging(Name=WEST)
    assert account.sweep()["statuses"] == {"in_baseline": 1, "not_protected": 1}
    assert account.ct("us-west-2").get_trail_status(Name=WEST)["IsLogging"] is False
    assert account.alerts() == []


def test_a_failed_heal_alerts_critical_and_fails_the_run_without_the_success_metric(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    account.ct().delete_trail(Name=TRAIL)

    def denied(self: FullAdapter, state: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "explicit deny in an SCP"}}, "CreateTrail")

    monkeypatch.setattr(FullAdapter, "create_trail", denied)
    with pytest.raises(sweep.SweepFailed, match="heal_failed"):
        account.sweep()
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject.startswith("[CRITICAL] 123456789012 Trail org-audit deleted — HEAL FAILED (sweep)")
    assert message["action"]["result"] == "failed"
    assert message["action"]["diagnosis"] == "CreateTrail failed: AccessDenied: explicit deny in an SCP"
    metrics = boto3.client("cloudwatch").list_metrics(Namespace="CloudTrailGuardian")["Metrics"]
    names = {m["MetricName"] for m in metrics}
    assert "HealFailures" in names


def test_a_trail_deleted_with_its_bucket_comes_back_with_the_bucket_first(account: Account) -> None:
    """Stratus cloudtrail-delete, then the bucket emptied and deleted: one sweep brings back both, in order."""
    account.ct().delete_trail(Name=TRAIL)
    s3 = boto3.client("s3")
    for obj in s3.list_objects_v2(Bucket="org-audit-logs").get("Contents", []):
        s3.delete_object(Bucket="org-audit-logs", Key=obj["Key"])
    s3.delete_bucket(Bucket="org-audit-logs")
    summary = account.sweep()
    assert summary["statuses"] == {"healed": 1, "in_baseline": 1}
    assert summary["resources"]["bucket:org-audit-logs"] == "in_baseline"  # already back when its turn came
    s3.head_bucket(Bucket="org-audit-logs")
    assert account.trail()["S3BucketName"] == "org-audit-logs"
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is True
    subjects = sorted(n["Subject"] for n in account.alerts())
    assert subjects == [
        "[CRITICAL] 123456789012 Bucket org-audit-logs of trail org-audit deleted — healed by sweep",
        "[CRITICAL] 123456789012 Trail org-audit deleted — healed by sweep",
    ]


def test_each_successful_run_publishes_the_success_metric(account: Account) -> None:
    account.sweep()
    metrics = boto3.client("cloudwatch").list_metrics(Namespace="CloudTrailGuardian")["Metrics"]
    assert {"SweepSucceeded", "TrailsChecked", "TrailsHealed", "HealFailures"} <= {m["MetricName"] for m in metrics}


def test_one_regions_failure_does_not_stop_the_others(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    original = FullAdapter.list_trails

    def failing(self: FullAdapter, region: str) -> list[dict[str, Any]]:
        if region == "us-west-2":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "SCP"}}, "DescribeTrails")
        return original(self, region)

    monkeypatch.setattr(FullAdapter, "list_trails", failing)
    account.ct().stop_logging(Name=TRAIL)
    with pytest.raises(sweep.SweepFailed, match="us-west-2"):
        account.sweep()
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is True


def exempt(fixture: str, **request: Any) -> dict[str, Any]:
    """A fixture event by the exempt CI role, aimed at org-audit."""
    event = load_event(fixture)
    event["detail"]["requestParameters"] = {"name": TRAIL, **request}
    return event


def test_an_exempt_stop_is_left_alone_but_the_floor_holds(
    account: Account, monkeypatch: pytest.MonkeyPatch, history: History
) -> None:
    """An exemption cannot turn logging off for good: once CloudTrail confirms the stop, it is approved, but the
    baseline keeps the floor, and the sweep starts the trail again."""
    monkeypatch.setenv("GUARDIAN_EXEMPT_PRINCIPALS", json.dumps(["glob:arn:aws:iam::*:role/ci-*"]))
    account.ct().stop_logging(Name=TRAIL)
    event = exempt("stop_logging_exempt_ci")
    assert handler.lambda_handler(event, None)["outcome"] == "exempt"
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is False  # the event does not undo it
    assert account.baseline()["pending_approval"]["event_id"] == event["detail"]["eventID"]
    history.add(event)
    assert account.sweep()["statuses"] == {"healed": 1, "in_baseline": 1}
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is True
    baseline = account.baseline()
    assert baseline["trail"]["logging"] is True
    assert "pending_approval" not in baseline
    assert any(
        "confirmed by CloudTrail" in v["reason"] for v in _versions(account, f"baselines/us-east-1/{TRAIL}.json")
    )


def test_an_exempt_change_becomes_the_baseline_once_cloudtrail_confirms_it(
    account: Account, monkeypatch: pytest.MonkeyPatch, history: History
) -> None:
    monkeypatch.setenv("GUARDIAN_EXEMPT_PRINCIPALS", json.dumps(["glob:arn:aws:iam::*:role/ci-*"]))
    account.ct().update_trail(Name=TRAIL, EnableLogFileValidation=False)
    event = exempt("stop_logging_exempt_ci")
    event["detail"]["eventName"] = "UpdateTrail"
    assert handler.lambda_handler(event, None)["outcome"] == "exempt"
    account.alerts()
    # LookupEvents shows a record minutes after the call: until then the sweep leaves the trail as it is.
    assert account.sweep()["statuses"] == {"approval_pending": 1, "in_baseline": 1}
    assert account.trail()["LogFileValidationEnabled"] is False
    history.add(event)
    assert account.sweep()["statuses"] == {"in_baseline": 2}
    baseline = account.baseline()
    assert baseline["trail"]["log_file_validation"] is False
    assert baseline["recorded_by"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deployer/pipeline-run-42"
    [confirmed] = account.alerts()
    assert "confirmed" in confirmed["Subject"]
    assert account.sweep()["statuses"] == {"in_baseline": 2}


@pytest.mark.threat("forged-exempt")
def test_a_forged_exempt_event_is_refused_and_the_change_healed(
    account: Account, monkeypatch: pytest.MonkeyPatch, history: History
) -> None:
    """Anyone able to invoke the function can claim an exempt identity; CloudTrail's record cannot be forged."""
    monkeypatch.setenv("GUARDIAN_EXEMPT_PRINCIPALS", json.dumps(["glob:arn:aws:iam::*:role/ci-*"]))
    account.ct().update_trail(Name=TRAIL, EnableLogFileValidation=False)  # in truth by mallory
    forged = exempt("stop_logging_exempt_ci")
    forged["detail"]["eventName"] = "UpdateTrail"
    history.add({**forged["detail"], "userIdentity": {"arn": f"arn:aws:iam::{ACCOUNT}:user/mallory"}})
    assert handler.lambda_handler(forged, None)["outcome"] == "exempt"
    account.alerts()
    later = datetime.now(UTC) + WAIT + timedelta(minutes=1)
    monkeypatch.setattr(runtime, "now", lambda: later)
    assert account.sweep()["statuses"] == {"healed": 1, "in_baseline": 1}
    assert account.trail()["LogFileValidationEnabled"] is True
    assert "pending_approval" not in account.baseline()
    subjects = [n["Subject"] for n in account.alerts()]
    assert "[CRITICAL] 123456789012 Exempt UpdateTrail on org-audit NOT confirmed by CloudTrail: refused" in subjects


def test_an_approval_does_not_approve_what_happened_after_the_approved_call(
    account: Account, monkeypatch: pytest.MonkeyPatch, history: History
) -> None:
    """An exempt CI role's genuine UpdateTrail, then, before the sweep confirms it, the insider deletes the trail:
    the deletion is undone like any other, and the approval takes nothing (what it changed is gone with the trail:
    the trail comes back as its baseline, the safe side)."""
    monkeypatch.setenv("GUARDIAN_EXEMPT_PRINCIPALS", json.dumps(["glob:arn:aws:iam::*:role/ci-*"]))
    account.ct().update_trail(Name=TRAIL, EnableLogFileValidation=False)
    event = exempt("stop_logging_exempt_ci")
    event["detail"]["eventName"] = "UpdateTrail"
    assert handler.lambda_handler(event, None)["outcome"] == "exempt"
    history.add(event)
    account.ct().delete_trail(Name=TRAIL)
    assert account.sweep()["statuses"] == {"healed": 1, "in_baseline": 1}
    assert account.trail()["LogFileValidationEnabled"] is True
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is True
    assert account.baseline()["trail"]["log_file_validation"] is True
    subjects = [n["Subject"] for n in account.alerts()]
    assert any(s.startswith(f"[CRITICAL] 123456789012 Trail {TRAIL} deleted") for s in subjects), subjects


# -- restore on the event path: the same engine, within seconds of the event -------------------------------------


def event_on(fixture: str, trail: str = TRAIL) -> dict[str, Any]:
    """A fixture event retargeted at one of this account's trails."""
    event = load_event(fixture)
    arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{trail}"
    params = event["detail"]["requestParameters"]
    for key, value in (("name", trail), ("trailName", trail), ("resourceId", arn)):
        if key in params:
            params[key] = value
    if event["detail"].get("responseElements"):
        event["detail"]["responseElements"]["trailARN"] = arn
    return event


@pytest.mark.threat("trail-tamper")
def test_delete_trail_event_recreates_the_trail_within_the_invocation(account: Account) -> None:
    before = account.trail()
    account.ct().delete_trail(Name=TRAIL)
    result = handler.lambda_handler(event_on("delete_trail"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "CRITICAL")
    after = account.trail()
    assert {k: after[k] for k in before} == before
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"] is True
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject.startswith(
        "[CRITICAL] 123456789012 CloudTrail trail deleted on trail org-audit by mallory — restored"
    )
    assert message["detected_by"] == "event"
    assert message["action"]["taken"] == ["CreateTrail", "StartLogging", "PutEventSelectors", "PutInsightSelectors"]


@pytest.mark.threat("trail-tamper")
def test_weakening_update_event_is_undone_with_before_and_after_values(account: Account) -> None:
    account.ct().update_trail(Name=TRAIL, EnableLogFileValidation=False, IsMultiRegionTrail=False)
    result = handler.lambda_handler(event_on("update_trail"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    trail = account.trail()
    assert (trail["LogFileValidationEnabled"], trail["IsMultiRegionTrail"]) == (True, True)
    _, message = subject_and_message(account.alerts()[0])
    assert {(c["field"], c["before"], c["after"], c["effect"]) for c in message["changes"]} == {
        ("log_file_validation", True, False, "weakened"),
        ("multi_region", True, False, "weakened"),
    }
    assert message["action"]["taken"] == ["UpdateTrail"]


@pytest.mark.threat("trail-tamper")
def test_selectors_event_stratus_technique_is_undone(account: Account) -> None:
    account.ct().put_event_selectors(
        TrailName=TRAIL,
        EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": False, "DataResources": []}],
    )
    result = handler.lambda_handler(event_on("put_event_selectors"), None)
    assert result["outcome"] == "healed"
    assert account.ct().get_event_selectors(TrailName=TRAIL)["EventSelectors"] == ALL_MANAGEMENT


def test_strengthening_update_event_is_kept_and_becomes_the_baseline(account: Account) -> None:
    boto3.client("sns").create_topic(Name="trail-notifications")
    account.ct().update_trail(Name=TRAIL, SnsTopicName="trail-notifications")
    result = handler.lambda_handler(event_on("update_trail"), None)
    assert (result["outcome"], result["severity"]) == ("alerted", "INFO")
    assert account.trail()["SnsTopicARN"].endswith(":trail-notifications")
    baseline = account.baseline()
    assert baseline["trail"]["sns_topic_arn"].endswith(":trail-notifications")
    assert baseline["recorded_by"] == f"arn:aws:iam::{ACCOUNT}:user/mallory"
    _, message = subject_and_message(account.alerts()[0])
    assert "strengthens the trail" in message["reason"]


@pytest.mark.threat("trail-tamper")
def test_removed_tags_are_put_back(account: Account) -> None:
    arn = account.trail()["TrailARN"]
    account.ct().remove_tags(ResourceId=arn, TagsList=[{"Key": "owner", "Value": "security"}])
    assert handler.lambda_handler(event_on("remove_tags"), None)["outcome"] == "healed"
    tags = account.ct().list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    assert {"Key": "owner", "Value": "security"} in tags


# -- the trail's KMS key (Stratus: kms disable, kms schedule deletion) --------------------------------------------


def key_event(name: str, key_id: str, event_id: str) -> dict[str, Any]:
    event = load_event("stop_logging")
    event["source"] = "aws.kms"
    event["detail"].update(
        eventSource="kms.amazonaws.com", eventName=name, eventID=event_id, requestParameters={"keyId": key_id}
    )
    return event


@pytest.fixture
def trail_key(account: Account) -> str:
    """The org-audit trail now encrypts with a customer managed key, recorded in its baseline."""
    kms = boto3.client("kms")
    key_id: str = kms.create_key(Description="trail key", Policy=json.dumps(key_policy(ADMIN, CLOUDTRAIL_ENCRYPTS)))[
        "KeyMetadata"
    ]["KeyId"]
    account.ct().update_trail(Name=TRAIL, KmsKeyId=key_id)
    account.sweep()  # adding a key strengthens the trail: kept as its new baseline
    assert account.baseline()["trail"]["kms_key_id"].endswith(key_id)
    account.alerts()
    return key_id


@pytest.mark.threat("trail-key")
def test_disabled_trail_key_is_enabled_again(account: Account, trail_key: str) -> None:
    kms = boto3.client("kms")
    kms.disable_key(KeyId=trail_key)
    result = handler.lambda_handler(key_event("DisableKey", trail_key, "k-1"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "CRITICAL")
    assert kms.describe_key(KeyId=trail_key)["KeyMetadata"]["KeyState"] == "Enabled"
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject == "[CRITICAL] 123456789012 KMS key of a trail disabled on trail org-audit by mallory — restored"
    assert message["action"]["taken"] == ["EnableKey"]
    assert message["changes"] == [
        {"field": "kms_key_state", "before": "Enabled", "after": "Disabled", "effect": "weakened"}
    ]


@pytest.mark.threat("trail-key")
def test_key_scheduled_for_deletion_is_cancelled_then_enabled(account: Account, trail_key: str) -> None:
    kms = boto3.client("kms")
    kms.schedule_key_deletion(KeyId=trail_key, PendingWindowInDays=7)
    result = handler.lambda_handler(key_event("ScheduleKeyDeletion", trail_key, "k-2"), None)
    assert result["outcome"] == "healed"
    assert kms.describe_key(KeyId=trail_key)["KeyMetadata"]["KeyState"] == "Enabled"
    _, message = subject_and_message(account.alerts()[0])
    assert message["action"]["taken"] == ["CancelKeyDeletion", "EnableKey"]


ADMIN = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
CLOUDTRAIL_ENCRYPTS = {  # AWS's documented statement for a trail's key
    "Sid": "Allow CloudTrail to encrypt logs",
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "kms:GenerateDataKey*",
    "Resource": "*",
    "Condition": {
        "StringEquals": {"aws:SourceArn": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{TRAIL}"},
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"},
    },
}


def key_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def policy_of(key_id: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        boto3.client("kms").get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    )
    return document


def test_trail_key_policy_change_that_keeps_cloudtrail_is_a_critical_alert_only(
    account: Account, trail_key: str
) -> None:
    reviewed = key_policy(ADMIN, CLOUDTRAIL_ENCRYPTS, {**ADMIN, "Sid": "Auditors", "Action": "kms:Describe*"})
    boto3.client("kms").put_key_policy(KeyId=trail_key, PolicyName="default", Policy=json.dumps(reviewed))
    result = handler.lambda_handler(key_event("PutKeyPolicy", trail_key, "k-3"), None)
    assert (result["outcome"], result["severity"]) == ("alerted", "CRITICAL")
    _, message = subject_and_message(account.alerts()[0])
    assert "CloudTrail can still use it: review it now" in message["reason"]
    assert message["action"]["taken"] is None
    assert policy_of(trail_key) == reviewed


@pytest.mark.parametrize(
    "locked_out",
    [
        key_policy(ADMIN),  # CloudTrail's statement dropped
        key_policy(ADMIN, CLOUDTRAIL_ENCRYPTS, {**CLOUDTRAIL_ENCRYPTS, "Sid": "Nope", "Effect": "Deny"}),
        key_policy(ADMIN, {**CLOUDTRAIL_ENCRYPTS, "Condition": {"StringEquals": {"aws:SourceArn": "arn:x:other"}}}),
    ],
    ids=["dropped", "denied", "narrowed-to-another-trail"],
)
@pytest.mark.threat("trail-key-policy")
def test_a_key_policy_that_locks_cloudtrail_out_gets_cloudtrails_statement_back(
    account: Account, trail_key: str, locked_out: dict[str, Any]
) -> None:
    """Issue 13, item 6: the trail still says it logs, but no log file can be encrypted, so none is delivered."""
    boto3.client("kms").put_key_policy(KeyId=trail_key, PolicyName="default", Policy=json.dumps(locked_out))
    result = handler.lambda_handler(key_event("PutKeyPolicy", trail_key, "k-5"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "CRITICAL")
    restored = policy_of(trail_key)
    assert ADMIN in restored["Statement"]  # nothing else of the new policy is touched
    assert not [s for s in restored["Statement"] if s["Effect"] == "Deny"]
    [added] = [s for s in restored["Statement"] if s["Sid"] == "CloudTrailGuardianLetsCloudTrailEncrypt"]
    assert added["Condition"]["StringEquals"] == {
        "aws:SourceArn": [f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{TRAIL}"]
    }
    _, message = subject_and_message(account.alerts()[0])
    assert message["action"]["taken"] == ["PutKeyPolicy"]
    assert "no log file could be delivered" in message["reason"]


@pytest.mark.threat("trail-key-policy")
def test_a_lost_key_policy_event_is_found_by_the_sweep(account: Account, trail_key: str) -> None:
    boto3.client("kms").put_key_policy(KeyId=trail_key, PolicyName="default", Policy=json.dumps(key_policy(ADMIN)))
    summary = account.sweep()
    assert (summary["statuses"], summary["resources"][f"key:{trail_key}"]) == ({"in_baseline": 2}, "healed")
    assert any(s.get("Sid") == "CloudTrailGuardianLetsCloudTrailEncrypt" for s in policy_of(trail_key)["Statement"])
    subject, _ = subject_and_message(account.alerts()[0])
    assert subject.startswith("[CRITICAL]")
    again = account.sweep()  # put back once, then left alone
    assert (again["statuses"], again["resources"][f"key:{trail_key}"]) == ({"in_baseline": 2}, "in_baseline")


def test_a_key_that_protects_no_trail_is_ignored(account: Account, trail_key: str) -> None:
    other = boto3.client("kms").create_key(Description="unrelated")["KeyMetadata"]["KeyId"]
    boto3.client("kms").disable_key(KeyId=other)
    result = handler.lambda_handler(key_event("DisableKey", other, "k-4"), None)
    assert (result["outcome"], result["alert_published"]) == ("ignored", False)
    assert account.alerts() == []
    assert boto3.client("kms").describe_key(KeyId=other)["KeyMetadata"]["KeyState"] == "Disabled"


@pytest.mark.threat("trail-key")
def test_a_lost_key_event_is_healed_by_the_sweep(account: Account, trail_key: str) -> None:
    kms = boto3.client("kms")
    kms.schedule_key_deletion(KeyId=trail_key, PendingWindowInDays=7)  # and no event reaches the guardian
    summary = account.sweep()  # the key is checked once for every trail that uses it, beside buckets and log groups
    assert (summary["statuses"], summary["resources"][f"key:{trail_key}"]) == ({"in_baseline": 2}, "healed")
    assert kms.describe_key(KeyId=trail_key)["KeyMetadata"]["KeyState"] == "Enabled"
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject == "[CRITICAL] 123456789012 Trail org-audit weakened (kms_key_state) — healed by sweep"
    assert message["action"]["taken"] == ["CancelKeyDeletion", "EnableKey"]
    again = account.sweep()
    assert (again["statuses"], again["resources"][f"key:{trail_key}"]) == ({"in_baseline": 2}, "in_baseline")


def test_log_files_not_delivered_are_alerted_once_a_day(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto never fails a delivery: CloudTrail's LatestDeliveryError is injected into what the adapter reads."""
    from guardian.model import trail as baseline  # noqa: PLC0415

    original = baseline.state_from_aws

    def undelivered(trail: Any, status: Any, *rest: Any) -> Any:
        if trail["Name"] == WEST:
            status = {**status, "LatestDeliveryError": "AccessDenied"}
        return original(trail, status, *rest)

    monkeypatch.setattr(baseline, "state_from_aws", undelivered)
    account.sweep()
    account.sweep()  # the same error again the same day: no second alert
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject == "[HIGH] 123456789012 Trail audit-west: log files not delivered (AccessDenied)"
    assert "bucket west-logs" in message["reason"]
    assert message["outcome"] == "alerted"
    assert account.baseline(WEST, "us-west-2")["trail"].get("delivery_error") is None  # never part of a baseline


def test_a_key_the_sweep_cannot_read_fails_the_run_but_every_trail_is_checked(
    account: Account, trail_key: str, faults: Any
) -> None:
    """A trail's key checked once for all its trails, beside the buckets: a key in another account, or a denied
    GetKeyPolicy, is a check error of the run (it fails, the sweep-errors alarm), never a Region left unchecked."""
    faults.add("kms.GetKeyPolicy", "denied")
    account.ct("us-west-2").stop_logging(Name=WEST)
    with pytest.raises(sweep.SweepFailed) as failed:
        account.sweep()
    assert "'trail_keys': 'AccessDeniedException" in str(failed.value)
    assert account.ct("us-west-2").get_trail_status(Name=WEST)["IsLogging"] is True  # the trails were still swept
