"""Every KMS key the protected trails depend on (issue 20): a key put on a trail's log group is taken off on the
event (AssociateKmsKey), unless an exempt principal's change is confirmed by CloudTrail; and the sweep keeps every
key a trail depends on enabled and usable by the service that writes with it: the trail's own, its log group's (as
baselined), the CIS alarms' log group's and the Lake stores'. moto lacks Associate/DisassociateKmsKey (bridged in
simulation/moto_server.py) and CloudTrail Lake (a dictionary behind the adapter's Lake calls, as in
test_lake_settings_moto.py)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import boto3
import pytest

from guardian.adapters.lake import LakeAdapter
from guardian.adapters.services import ServiceAdapter
from guardian.entrypoints import handler, runtime
from tests.integration.conftest import TRAIL, Account, History, subject_and_message
from tests.support import ACCOUNT, load_event

GROUP = "/aws/cloudtrail/org-audit"
GROUP_ARN = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{GROUP}"
CIS_GROUP = "cis-alarms-logs"
STORE = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
ROOT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*"}


def logs_statement(group: str = "*") -> dict[str, Any]:
    """AWS's documented statement letting CloudWatch Logs use a key for this account's log groups."""
    return {
        "Sid": "CloudWatchLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:{group}"}},
    }


LAKE_STATEMENT = {
    "Sid": "CloudTrailLake",
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
    "Resource": "*",
}


def new_key(*statements: dict[str, Any]) -> str:
    policy = {"Version": "2012-10-17", "Statement": [ROOT, *statements]}
    return str(boto3.client("kms").create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"])


def logs_event(name: str, event_id: str, **request: Any) -> dict[str, Any]:
    event = load_event("stop_logging")
    event["source"] = "aws.logs"
    event["detail"].update(
        eventSource="logs.amazonaws.com", eventName=name, eventID=event_id, requestParameters=request
    )
    return event


def attach_group(account: Account, *, key: str | None = None) -> None:
    """org-audit also delivers to a log group (with ``key`` from the start: the baseline the sweep records)."""
    logs = boto3.client("logs")
    extra: Any = {"kmsKeyId": key} if key else {}
    logs.create_log_group(logGroupName=GROUP, **extra)
    role = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role"
    account.ct().update_trail(Name=TRAIL, CloudWatchLogsLogGroupArn=f"{GROUP_ARN}:*", CloudWatchLogsRoleArn=role)
    assert account.sweep()["resources"][f"log_group:{GROUP}"] == "baseline_recorded"
    account.alerts()


def group_key() -> str | None:
    [group] = boto3.client("logs").describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
    return group.get("kmsKeyId")


def group_baseline(account: Account) -> dict[str, Any]:
    key = f"baselines/log-groups/us-east-1/{GROUP.replace('/', '%2F')}.json"
    document: dict[str, Any] = json.loads(boto3.client("s3").get_object(Bucket=account.bucket, Key=key)["Body"].read())
    return document


def evidence_ids(account: Account) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=account.bucket, Prefix="evidence/").get("Contents", [])
    return [o["Key"] for o in listed if not o["Key"].endswith(".sig")]  # the records, not their signatures


def key_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


# -- on the event ------------------------------------------------------------------------------------------------


@pytest.mark.threat("log-group-key")
@pytest.mark.parametrize("named_by", ["logGroupName", "resourceIdentifier"])
def test_a_key_put_on_the_trails_log_group_is_taken_off_on_the_event(account: Account, named_by: str) -> None:
    """Insider review (issue 20): a key of the insider's on the trail's log group, disabled later, mutes the CIS
    alarms. Before, only the sweep took it off (AssociateKmsKey was no row): up to one sweep interval of silence."""
    attach_group(account)
    key = new_key(logs_statement())
    boto3.client("logs").associate_kms_key(logGroupName=GROUP, kmsKeyId=key)
    where = {"logGroupName": GROUP} if named_by == "logGroupName" else {"resourceIdentifier": GROUP_ARN}
    result = handler.lambda_handler(logs_event("AssociateKmsKey", f"assoc-{named_by}", kmsKeyId=key, **where), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert group_key() is None
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject.startswith("[HIGH] 123456789012 KMS key of a trail's log group changed on trail org-audit")
    assert message["action"]["taken"] == ["DisassociateKmsKey"]
    assert [(c["field"], c["before"], c["after"]) for c in message["changes"]] == [("kms_key_id", None, key)]
    assert any(f"assoc-{named_by}" in k for k in evidence_ids(account))
    assert group_baseline(account)["state"]["kms_key_id"] is None  # never the baseline


@pytest.mark.threat("log-group-key")
def test_an_exempt_principals_key_becomes_the_baseline_once_cloudtrail_confirms_it(
    account: Account, monkeypatch: pytest.MonkeyPatch, history: History
) -> None:
    """The path every restorable log-group change takes: alerted, left in place, pending; the sweep makes it the
    baseline once LookupEvents confirms the call, and from then on keeps that key enabled."""
    attach_group(account)
    monkeypatch.setenv("GUARDIAN_EXEMPT_PRINCIPALS", json.dumps(["glob:arn:aws:iam::*:user/mallory"]))
    runtime.reset()
    key = new_key(logs_statement())
    boto3.client("logs").associate_kms_key(logGroupName=GROUP, kmsKeyId=key)
    event = logs_event("AssociateKmsKey", "assoc-exempt", logGroupName=GROUP, kmsKeyId=key)
    assert handler.lambda_handler(event, None)["outcome"] == "exempt"
    assert group_key() == key
    assert group_baseline(account)["pending_approval"]["event_id"] == "assoc-exempt"
    account.alerts()
    assert account.sweep()["resources"][f"log_group:{GROUP}"] == "approval_pending"
    history.add(event)
    assert account.sweep()["resources"][f"log_group:{GROUP}"] == "in_baseline"
    assert group_baseline(account)["state"]["kms_key_id"] == key
    assert group_key() == key  # never undone
    boto3.client("kms").disable_key(KeyId=key_id(key))
    assert account.sweep()["resources"][f"key:{key_id(key)}"] == "healed"  # now a key the trail depends on
    assert boto3.client("kms").describe_key(KeyId=key_id(key))["KeyMetadata"]["KeyState"] == "Enabled"


@pytest.mark.threat("log-group-key")
def test_the_baselined_key_disassociated_is_put_back_on_the_event(account: Account) -> None:
    key = new_key(logs_statement())
    attach_group(account, key=key)
    boto3.client("logs").disassociate_kms_key(logGroupName=GROUP)
    result = handler.lambda_handler(logs_event("DisassociateKmsKey", "disassoc-1", logGroupName=GROUP), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert group_key() == key
    _, message = subject_and_message(account.alerts()[0])
    assert message["action"]["taken"] == ["AssociateKmsKey"]


# -- the sweep: every key a trail depends on ---------------------------------------------------------------------


@pytest.mark.threat("log-group-key")
def test_the_log_groups_baselined_key_disabled_is_enabled_again_by_the_sweep(account: Account) -> None:
    """Before, the sweep kept only the trails' own keys enabled: a disabled log-group key stopped CloudWatch Logs
    taking the trail's events (the CIS alarms mute) and nothing put it back."""
    key = new_key(logs_statement())
    attach_group(account, key=key)
    boto3.client("kms").disable_key(KeyId=key_id(key))
    assert account.sweep()["resources"][f"key:{key_id(key)}"] == "healed"
    assert boto3.client("kms").describe_key(KeyId=key_id(key))["KeyMetadata"]["KeyState"] == "Enabled"
    [notification] = account.alerts()
    subject, message = subject_and_message(notification)
    assert subject.startswith("[CRITICAL] 123456789012 ")
    assert message["action"]["taken"] == ["EnableKey"]
    assert f"log group {GROUP}" in message["reason"]
    assert account.sweep()["resources"][f"key:{key_id(key)}"] == "in_baseline"


@pytest.mark.threat("log-group-key")
def test_a_log_group_key_policy_that_shuts_cloudwatch_logs_out_gets_its_statement_back(account: Account) -> None:
    key = new_key(logs_statement())
    attach_group(account, key=key)
    kms = boto3.client("kms")
    kms.put_key_policy(
        KeyId=key_id(key), PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [ROOT]})
    )
    assert account.sweep()["resources"][f"key:{key_id(key)}"] == "healed"
    policy = json.loads(kms.get_key_policy(KeyId=key_id(key), PolicyName="default")["Policy"])
    [restored] = [s for s in policy["Statement"] if str(s.get("Sid", "")).startswith("CloudTrailGuardianLetsLogs")]
    assert restored["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert restored["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": GROUP_ARN}}
    assert ROOT in policy["Statement"]  # the rest left as it is
    subject, message = subject_and_message(account.alerts()[0])
    assert subject.startswith("[CRITICAL] ")
    assert message["action"]["taken"] == ["PutKeyPolicy"]
    assert account.sweep()["resources"][f"key:{key_id(key)}"] == "in_baseline"


@pytest.mark.threat("log-group-key")
def test_the_cis_alarms_log_group_key_is_kept_enabled(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    key = new_key(logs_statement())
    boto3.client("logs").create_log_group(logGroupName=CIS_GROUP, kmsKeyId=key)
    monkeypatch.setenv("GUARDIAN_ALERT_PATH", json.dumps({"logGroup": CIS_GROUP}))
    runtime.reset()
    assert account.sweep()["resources"][f"key:{key_id(key)}"] == "in_baseline"
    account.alerts()
    boto3.client("kms").schedule_key_deletion(KeyId=key_id(key), PendingWindowInDays=7)
    assert account.sweep()["resources"][f"key:{key_id(key)}"] == "healed"
    assert boto3.client("kms").describe_key(KeyId=key_id(key))["KeyMetadata"]["KeyState"] == "Enabled"
    _, message = subject_and_message(account.alerts()[0])
    assert message["action"]["taken"] == ["CancelKeyDeletion", "EnableKey"]
    assert f"log group {CIS_GROUP} (CIS alarms)" in message["reason"]


@pytest.fixture
def lake_key(account: Account, monkeypatch: pytest.MonkeyPatch) -> str:
    """A Lake store encrypted with a key of its own (moto has no Lake: the store is a dictionary)."""
    key = new_key(LAKE_STATEMENT)
    store = {"EventDataStoreArn": STORE, "Status": "ENABLED", "RetentionPeriod": 2557, "KmsKeyId": key}
    monkeypatch.setattr(LakeAdapter, "data_stores", lambda _, region: [STORE] if region == "us-east-1" else [])
    monkeypatch.setattr(LakeAdapter, "data_store", lambda _, ref: copy.deepcopy(store))
    monkeypatch.setenv("GUARDIAN_LAKE", "1")
    runtime.reset()
    summary = account.sweep()
    assert summary["resources"][f"event_data_store:{STORE}"] == "baseline_recorded"
    assert summary["resources"][f"key:{key_id(key)}"] == "in_baseline"
    account.alerts()
    return key


@pytest.mark.threat("lake-key")
def test_a_lake_stores_disabled_key_is_enabled_again_by_the_sweep(account: Account, lake_key: str) -> None:
    """Insider review (issue 20): a Lake store's key was held in its baseline but never kept enabled; disabled, the
    store stops ingesting and cannot be queried."""
    boto3.client("kms").disable_key(KeyId=key_id(lake_key))
    assert account.sweep()["resources"][f"key:{key_id(lake_key)}"] == "healed"
    assert boto3.client("kms").describe_key(KeyId=key_id(lake_key))["KeyMetadata"]["KeyState"] == "Enabled"
    subject, message = subject_and_message(account.alerts()[0])
    assert subject.startswith("[CRITICAL] 123456789012 ")
    assert f"event data store {STORE}" in message["reason"]


@pytest.mark.threat("lake-key")
def test_a_lake_key_policy_that_shuts_cloudtrail_out_gets_its_statement_back(account: Account, lake_key: str) -> None:
    kms = boto3.client("kms")
    kms.put_key_policy(
        KeyId=key_id(lake_key), PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [ROOT]})
    )
    assert account.sweep()["resources"][f"key:{key_id(lake_key)}"] == "healed"
    policy = json.loads(kms.get_key_policy(KeyId=key_id(lake_key), PolicyName="default")["Policy"])
    [restored] = [s for s in policy["Statement"] if str(s.get("Sid", "")).startswith("CloudTrailGuardianLets")]
    assert restored["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert set(restored["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}


def test_a_key_shared_by_the_trail_its_log_group_and_a_lake_store_is_described_once(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep's request budget: one DescribeKey per distinct key, however many depend on it."""
    key = new_key(logs_statement(), LAKE_STATEMENT)
    cloudtrail_statement = {
        "Sid": "CloudTrail",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*",
    }
    kms = boto3.client("kms")
    policy = {"Version": "2012-10-17", "Statement": [ROOT, logs_statement(), LAKE_STATEMENT, cloudtrail_statement]}
    kms.put_key_policy(KeyId=key_id(key), PolicyName="default", Policy=json.dumps(policy))
    account.ct().update_trail(Name=TRAIL, KmsKeyId=key)
    attach_group(account, key=key)
    store = {"EventDataStoreArn": STORE, "Status": "ENABLED", "RetentionPeriod": 2557, "KmsKeyId": key}
    monkeypatch.setattr(LakeAdapter, "data_stores", lambda _, region: [STORE] if region == "us-east-1" else [])
    monkeypatch.setattr(LakeAdapter, "data_store", lambda _, ref: copy.deepcopy(store))
    monkeypatch.setenv("GUARDIAN_LAKE", "1")
    runtime.reset()
    account.sweep()  # the store's baseline
    described: Counter[str] = Counter()
    original = ServiceAdapter.key_state

    def counted(self: ServiceAdapter, ref: Any) -> str:
        described[ref.key_id] += 1
        return original(self, ref)

    monkeypatch.setattr(ServiceAdapter, "key_state", counted)
    assert account.sweep()["resources"][f"key:{key_id(key)}"] == "in_baseline"
    assert described == {key_id(key): 1}
    account.alerts()
    kms.disable_key(KeyId=key_id(key))
    assert account.sweep()["resources"][f"key:{key_id(key)}"] == "healed"
    [notification] = account.alerts()  # one alert for the key, naming everything that uses it
    _, message = subject_and_message(notification)
    assert all(name in message["reason"] for name in (f"trail {TRAIL}", f"log group {GROUP}", STORE))
