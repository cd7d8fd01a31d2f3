"""Effects judged by who can still read and receive (issue 20, items 3 and 8), against moto.

A trail's KMS key is a destination: a key only the insider can decrypt with is not a strengthening. A bucket-policy
Deny is judged by what it does to CloudTrail's writes and the security readers' reads, however its Resource is
written (``arn:aws:s3:::bucket*``)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from guardian.entrypoints import handler
from tests.integration.conftest import TRAIL, Account, subject_and_message, trail_bucket_policy
from tests.integration.test_storage_moto import BUCKET, bucket_baseline, policy, s3_event
from tests.integration.test_sweep_moto import ADMIN, CLOUDTRAIL_ENCRYPTS, event_on, key_event, key_policy, policy_of
from tests.support import ACCOUNT

INSIDER = f"arn:aws:iam::{ACCOUNT}:user/mallory"
ONLY_THE_INSIDER = {  # the insider's key: CloudTrail encrypts, only the insider decrypts and administers
    "Sid": "Mine",
    "Effect": "Allow",
    "Principal": {"AWS": INSIDER},
    "Action": "kms:*",
    "Resource": "*",
}


def insiders_key() -> str:
    document = json.dumps(key_policy(ONLY_THE_INSIDER, CLOUDTRAIL_ENCRYPTS))
    key_id: str = boto3.client("kms").create_key(Description="mine", Policy=document)["KeyMetadata"]["KeyId"]
    return key_id


@pytest.mark.threat("trail-key-swap")
def test_a_key_only_the_insider_can_decrypt_is_taken_off_the_trail_high(account: Account) -> None:
    """Item 3: UpdateTrail to such a key was "strengthening" (INFO) and became the baseline."""
    account.ct().update_trail(Name=TRAIL, KmsKeyId=insiders_key())
    result = handler.lambda_handler(event_on("update_trail"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert not account.trail().get("KmsKeyId")
    assert account.baseline()["trail"]["kms_key_id"] is None
    _, message = subject_and_message(account.alerts()[0])
    assert [(c["field"], c["before"], c["effect"]) for c in message["changes"]] == [("kms_key_id", None, "weakened")]
    assert message["action"]["taken"] == ["UpdateTrail"]


@pytest.mark.threat("trail-key-swap")
def test_a_key_of_imported_material_is_taken_off_however_open_its_policy(account: Account) -> None:
    """Material the insider imported can be deleted by them (DeleteImportedKeyMaterial) whatever the policy says:
    such a key is no destination the guardian can vouch for."""
    imported = boto3.client("kms").create_key(
        Policy=json.dumps(key_policy(ADMIN, CLOUDTRAIL_ENCRYPTS)), Origin="EXTERNAL"
    )["KeyMetadata"]["KeyId"]
    account.ct().update_trail(Name=TRAIL, KmsKeyId=imported)
    result = handler.lambda_handler(event_on("update_trail"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert not account.trail().get("KmsKeyId")


@pytest.mark.threat("trail-key-swap")
def test_the_sweep_takes_the_insiders_key_off_when_the_event_is_lost(account: Account) -> None:
    account.ct().update_trail(Name=TRAIL, KmsKeyId=insiders_key())
    summary = account.sweep()
    assert summary["statuses"] == {"healed": 1, "in_baseline": 1}
    assert not account.trail().get("KmsKeyId")
    subject, _ = subject_and_message(account.alerts()[0])
    assert subject.startswith("[HIGH]")


def test_a_key_the_account_can_decrypt_with_is_kept_as_a_strengthening(account: Account) -> None:
    key_id = boto3.client("kms").create_key(Policy=json.dumps(key_policy(ADMIN, CLOUDTRAIL_ENCRYPTS)))["KeyMetadata"][
        "KeyId"
    ]
    account.ct().update_trail(Name=TRAIL, KmsKeyId=key_id)
    result = handler.lambda_handler(event_on("update_trail"), None)
    assert (result["outcome"], result["severity"]) == ("alerted", "INFO")
    assert account.baseline()["trail"]["kms_key_id"].endswith(key_id)


@pytest.mark.threat("trail-key-policy-readers")
def test_a_key_policy_that_shuts_the_account_out_gets_its_decrypt_back(account: Account) -> None:
    key_id: str = boto3.client("kms").create_key(Policy=json.dumps(key_policy(ADMIN, CLOUDTRAIL_ENCRYPTS)))[
        "KeyMetadata"
    ]["KeyId"]
    account.ct().update_trail(Name=TRAIL, KmsKeyId=key_id)
    account.sweep()
    account.alerts()
    boto3.client("kms").put_key_policy(
        KeyId=key_id, PolicyName="default", Policy=json.dumps(key_policy(ONLY_THE_INSIDER, CLOUDTRAIL_ENCRYPTS))
    )
    result = handler.lambda_handler(key_event("PutKeyPolicy", key_id, "k-readers"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "CRITICAL")
    statements = policy_of(key_id)["Statement"]
    assert statements[:2] == [ONLY_THE_INSIDER, CLOUDTRAIL_ENCRYPTS]  # the rest left as it is
    assert statements[2]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert "kms:Decrypt" in statements[2]["Action"]


@pytest.mark.threat("trail-key-policy-readers")
def test_the_sweep_gives_the_account_its_decrypt_back_when_the_key_policy_event_is_lost(account: Account) -> None:
    key_id: str = boto3.client("kms").create_key(Policy=json.dumps(key_policy(ADMIN, CLOUDTRAIL_ENCRYPTS)))[
        "KeyMetadata"
    ]["KeyId"]
    account.ct().update_trail(Name=TRAIL, KmsKeyId=key_id)
    account.sweep()
    account.alerts()
    boto3.client("kms").put_key_policy(
        KeyId=key_id, PolicyName="default", Policy=json.dumps(key_policy(ONLY_THE_INSIDER, CLOUDTRAIL_ENCRYPTS))
    )
    account.sweep()  # no event
    assert policy_of(key_id)["Statement"][2]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    subject, message = subject_and_message(account.alerts()[0])
    assert subject.startswith("[CRITICAL]")
    assert "the security team cannot read them" in message["reason"]


def wildcard_deny(action: str = "s3:*") -> dict[str, Any]:
    blocked = trail_bucket_policy(BUCKET)
    blocked["Statement"].append(
        {
            "Sid": "Hardening",
            "Effect": "Deny",
            "Principal": "*",
            "Action": action,
            "Resource": f"arn:aws:s3:::{BUCKET}*",
        }
    )
    return blocked


@pytest.mark.threat("bucket-policy-wildcard")
def test_a_deny_on_bucket_wildcard_is_put_back_high_and_never_the_baseline(account: Account) -> None:
    """Item 8: a Deny on ``arn:aws:s3:::bucket*`` was judged harmless, became the baseline, and was put back when
    the team removed it."""
    recorded = bucket_baseline(account)["state"]["policy"]
    boto3.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(wildcard_deny()))
    result = handler.lambda_handler(s3_event("PutBucketPolicy", "s3-wild"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert policy() == trail_bucket_policy(BUCKET)
    assert bucket_baseline(account)["state"]["policy"] == recorded


@pytest.mark.threat("bucket-policy-wildcard")
def test_a_deny_on_the_readers_reads_is_found_by_the_sweep(account: Account) -> None:
    boto3.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(wildcard_deny("s3:GetObject")))
    account.sweep()  # no event
    assert policy() == trail_bucket_policy(BUCKET)
    subject, _ = subject_and_message(account.alerts()[0])
    assert subject.startswith("[HIGH]")


# -- the readers when ``logReaders`` is unset: the root and any role of the account (insider review, finding 1) -------

ROOT = f"arn:aws:iam::{ACCOUNT}:root"
INSIDERS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Insider"
# Two ways to deny every role of the account but the insider's while sparing the root user (who never reads logs).
SPARING_ROOT_AND_INSIDER: dict[str, dict[str, Any]] = {
    "not-principal": {
        "NotPrincipal": {"AWS": [ROOT, INSIDERS_ROLE, f"arn:aws:sts::{ACCOUNT}:assumed-role/Insider/me"]}
    },
    "principal-arn": {"Principal": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": [ROOT, INSIDERS_ROLE]}}},
}


def only_root_and_insider(shape: str, action: Any, resource: Any) -> dict[str, Any]:
    return {
        "Sid": "OnlyMe",
        "Effect": "Deny",
        **SPARING_ROOT_AND_INSIDER[shape],
        "Action": action,
        "Resource": resource,
    }


def trail_key(account: Account, *extra: dict[str, Any]) -> str:
    """A key the account can decrypt with, put on the trail and recorded by a sweep; ``extra`` statements added."""
    document = json.dumps(key_policy(ADMIN, CLOUDTRAIL_ENCRYPTS, *extra))
    key_id: str = boto3.client("kms").create_key(Policy=document)["KeyMetadata"]["KeyId"]
    account.ct().update_trail(Name=TRAIL, KmsKeyId=key_id)
    return key_id


@pytest.mark.parametrize("shape", sorted(SPARING_ROOT_AND_INSIDER))
@pytest.mark.threat("trail-key-swap")
def test_a_key_that_denies_decrypt_to_every_role_but_the_insiders_is_taken_off_the_trail(
    account: Account, shape: str
) -> None:
    """Move (a): the root was the only reader checked, so a Deny that spared it was "strengthening" (INFO)."""
    trail_key(account, only_root_and_insider(shape, "kms:Decrypt", "*"))
    result = handler.lambda_handler(event_on("update_trail"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert not account.trail().get("KmsKeyId")
    assert account.baseline()["trail"]["kms_key_id"] is None


@pytest.mark.parametrize("shape", sorted(SPARING_ROOT_AND_INSIDER))
@pytest.mark.threat("bucket-policy-wildcard")
def test_a_deny_on_reads_for_every_role_but_the_insiders_is_put_back_and_never_the_baseline(
    account: Account, shape: str
) -> None:
    """Move (b): the same Deny on the readers' GetObject and ListBucket in the trail bucket's policy."""
    recorded = bucket_baseline(account)["state"]["policy"]
    blocked = trail_bucket_policy(BUCKET)
    blocked["Statement"].append(
        only_root_and_insider(
            shape, ["s3:GetObject", "s3:ListBucket"], [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]
        )
    )
    boto3.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(blocked))
    result = handler.lambda_handler(s3_event("PutBucketPolicy", "s3-only-me"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert policy() == trail_bucket_policy(BUCKET)
    assert bucket_baseline(account)["state"]["policy"] == recorded


@pytest.mark.parametrize("shape", sorted(SPARING_ROOT_AND_INSIDER))
@pytest.mark.threat("trail-key-policy-readers")
def test_the_sweep_drops_a_key_policy_deny_that_shuts_the_readers_out(account: Account, shape: str) -> None:
    """Move (c): PutKeyPolicy adds that Deny to the baselined key and the event is lost: the sweep reported the key
    in_baseline. Now the Deny is dropped, the rest of the policy left as it is, CRITICAL."""
    key_id = trail_key(account)
    account.sweep()
    account.alerts()
    deny = only_root_and_insider(shape, "kms:Decrypt", "*")
    boto3.client("kms").put_key_policy(
        KeyId=key_id, PolicyName="default", Policy=json.dumps(key_policy(ADMIN, CLOUDTRAIL_ENCRYPTS, deny))
    )
    summary = account.sweep()  # no event
    assert summary["resources"][f"key:{key_id}"] == "healed"
    statements = policy_of(key_id)["Statement"]
    assert deny not in statements
    assert statements[:2] == [ADMIN, CLOUDTRAIL_ENCRYPTS]
    subject, message = subject_and_message(account.alerts()[0])
    assert subject.startswith("[CRITICAL]")
    assert "the security team cannot read them" in message["reason"]


@pytest.mark.threat("trail-key-policy-readers")
def test_a_key_policy_deny_that_shuts_the_readers_out_is_dropped_on_the_event(account: Account) -> None:
    key_id = trail_key(account)
    account.sweep()
    account.alerts()
    deny = only_root_and_insider("not-principal", "kms:Decrypt", "*")
    boto3.client("kms").put_key_policy(
        KeyId=key_id, PolicyName="default", Policy=json.dumps(key_policy(ADMIN, CLOUDTRAIL_ENCRYPTS, deny))
    )
    result = handler.lambda_handler(key_event("PutKeyPolicy", key_id, "k-only-me"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "CRITICAL")
    assert deny not in policy_of(key_id)["Statement"]


@pytest.mark.threat("bucket-policy-wildcard")
def test_a_resource_of_thousands_of_characters_is_judged_and_the_deny_put_back(account: Account) -> None:
    """Finding 3: a Resource this long made the evaluator raise RecursionError (HEAL FAILED, and every sweep)."""
    blocked = trail_bucket_policy(BUCKET)
    long = f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/" + "x" * 3000
    blocked["Statement"].insert(
        0, {"Sid": "Long", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": long}
    )
    blocked["Statement"].append(
        {
            "Sid": "Cut",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        }
    )
    boto3.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(blocked))
    result = handler.lambda_handler(s3_event("PutBucketPolicy", "s3-long"), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert policy() == trail_bucket_policy(BUCKET)
