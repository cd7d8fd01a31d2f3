"""Whether a trail key's policy still lets CloudTrail encrypt the trail's log files, and the smallest repair."""

from __future__ import annotations

from typing import Any

import pytest

from guardian.model.key_policy import (
    READERS_SID,
    RESTORED_SID,
    cloudtrail_can_encrypt,
    letting_cloudtrail_encrypt,
    letting_readers_decrypt,
)
from guardian.model.log_access import LogAccess, readers_who_cannot_decrypt

TRAIL = "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-audit"
ADMIN = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}
DOCUMENTED = {
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "kms:GenerateDataKey*",
    "Resource": "*",
    "Condition": {
        "StringEquals": {"aws:SourceArn": TRAIL},
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"},
    },
}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.mark.parametrize(
    ("document", "can"),
    [
        (policy(ADMIN, DOCUMENTED), True),
        (policy(ADMIN), False),  # IAM delegation alone does not admit a service principal
        (policy(ADMIN, {**DOCUMENTED, "Condition": {"StringEquals": {"aws:SourceArn": TRAIL + "-other"}}}), False),
        (policy(ADMIN, {**DOCUMENTED, "Condition": {"StringEquals": {"aws:SourceAccount": "444455556666"}}}), False),
        (policy(ADMIN, {**DOCUMENTED, "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}), True),
        (policy(ADMIN, {**DOCUMENTED, "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}), True),
        (policy(ADMIN, {**DOCUMENTED, "Action": "kms:Encrypt"}), False),
        (policy(ADMIN, {**DOCUMENTED, "Action": "kms:*"}), True),
        (policy(ADMIN, {**DOCUMENTED, "Principal": "*", "Condition": {}}), True),
        (policy(ADMIN, DOCUMENTED, {**DOCUMENTED, "Effect": "Deny"}), False),
        (policy(ADMIN, DOCUMENTED, {**DOCUMENTED, "Effect": "Deny", "Action": "kms:Decrypt"}), True),
        (policy(ADMIN, DOCUMENTED, {**DOCUMENTED, "Effect": "Deny", "NotAction": "kms:GenerateDataKey*"}), True),
        ({"Statement": {**DOCUMENTED}}, True),  # a single statement, not in a list
    ],
)
def test_whether_cloudtrail_can_encrypt(document: dict[str, Any], can: bool) -> None:
    assert cloudtrail_can_encrypt(document, TRAIL, "111122223333") is can


def test_the_repair_adds_cloudtrails_statement_and_drops_only_the_denies_that_stop_it() -> None:
    other_deny = {"Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}
    stopping = {**DOCUMENTED, "Effect": "Deny"}
    fixed = letting_cloudtrail_encrypt(policy(ADMIN, other_deny, stopping), [TRAIL], "111122223333")
    assert cloudtrail_can_encrypt(fixed, TRAIL, "111122223333")
    assert fixed["Statement"][:2] == [ADMIN, other_deny]
    assert [s.get("Sid") for s in fixed["Statement"]] == [None, None, RESTORED_SID]
    again = letting_cloudtrail_encrypt(fixed, [TRAIL], "111122223333")  # idempotent: one guardian statement
    assert again == fixed


def test_the_readers_repair_lets_the_account_in_again_and_drops_only_the_denies_that_stop_them() -> None:
    key = "arn:aws:kms:us-east-1:111122223333:key/k"
    reader = "arn:aws:iam::444455556666:role/auditor"  # a reader in the security account
    access = LogAccess("111122223333", (TRAIL,), (reader,))
    insider = {**ADMIN, "Principal": {"AWS": "arn:aws:iam::111122223333:user/mallory"}}
    keeps_others_out = {"Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}
    stops_readers = {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    before = policy(insider, DOCUMENTED, keeps_others_out, stops_readers)
    assert readers_who_cannot_decrypt(before, key, [TRAIL], access) == ["arn:aws:iam::111122223333:root", reader]
    fixed = letting_readers_decrypt(before, key, [TRAIL], access)
    assert readers_who_cannot_decrypt(fixed, key, [TRAIL], access) == []
    assert fixed["Statement"][:3] == [insider, DOCUMENTED, keeps_others_out]
    assert fixed["Statement"][3]["Sid"] == READERS_SID
    assert fixed["Statement"][3]["Principal"] == {
        "AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]
    }
    assert letting_readers_decrypt(fixed, key, [TRAIL], access) == fixed  # idempotent
    assert cloudtrail_can_encrypt(fixed, TRAIL, "111122223333")
