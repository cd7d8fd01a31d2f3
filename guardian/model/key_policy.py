"""Whether a trail's KMS key policy still lets CloudTrail encrypt the trail's log files, and the smallest change that
lets it again.

Pure. A policy that no longer lets CloudTrail call ``kms:GenerateDataKey*`` for the trail stops log delivery as
surely as StopLogging, while the trail still reports that it logs. The guardian does not put a whole key policy back
(a wrong one could lock the account out of its key): it only adds AWS's documented CloudTrail statements and drops
the Deny statements that stop CloudTrail, leaving every other statement as it is. Conditions on the trail's ARN and
account are evaluated; any other condition is assumed to hold (no false alarm), and CloudTrail's own delivery error,
which the sweep reads, backs that up. The account's security readers must keep decrypting too
(:mod:`guardian.model.log_access`): a policy that shuts them out gets the account root's Decrypt back and loses the
Denies that may stop them (judged with :mod:`guardian.model.iam_eval`: a Deny it cannot rule out is dropped).
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from guardian.model.log_access import LogAccess

CLOUDTRAIL = "cloudtrail.amazonaws.com"
ENCRYPT = "kms:GenerateDataKey*"
RESTORED_SID = "CloudTrailGuardianLetsCloudTrailEncrypt"
READERS_SID = "CloudTrailGuardianLetsTheAccountDecrypt"
_TRAIL_KEYS = ("kms:encryptioncontext:aws:cloudtrail:arn", "aws:sourcearn")
_HOLDS = {"stringequals", "stringlike", "arnequals", "arnlike"}


def cloudtrail_can_encrypt(policy: Mapping[str, Any], trail_arn: str, account_id: str | None) -> bool:
    """An Allow lets CloudTrail generate data keys for this trail, and no Deny stops it."""
    statements = statements_of(policy)
    allowed = any(_grants(s, trail_arn, account_id) for s in statements if s.get("Effect") == "Allow")
    denied = any(_grants(s, trail_arn, account_id) for s in statements if s.get("Effect") == "Deny")
    return allowed and not denied


def letting_cloudtrail_encrypt(
    policy: Mapping[str, Any], trail_arns: list[str], account_id: str | None
) -> dict[str, Any]:
    """``policy`` with the Deny statements that stop CloudTrail removed and AWS's documented CloudTrail statement
    added (scoped to these trails); every other statement kept as it is."""
    kept = [
        s
        for s in statements_of(policy)
        if not (s.get("Effect") == "Deny" and any(_grants(s, arn, account_id) for arn in trail_arns))
        and s.get("Sid") != RESTORED_SID
    ]
    partition = trail_arns[0].split(":")[1] if trail_arns else "aws"
    account = account_id or (trail_arns[0].split(":")[4] if trail_arns else "*")
    kept.append(
        {
            "Sid": RESTORED_SID,
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": [ENCRYPT, "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": [f"arn:{partition}:cloudtrail:*:{account}:trail/*"]
                },
                "StringEquals": {"aws:SourceArn": sorted(trail_arns)},
            },
        }
    )
    return {**policy, "Statement": kept}


def letting_readers_decrypt(
    policy: Mapping[str, Any], key_arn: str, trail_arns: list[str], access: LogAccess
) -> dict[str, Any]:
    """``policy`` with the Deny statements that may stop a security reader decrypting removed and the readers'
    account roots let in again (through them, IAM lets the reader roles in; a role ARN that no longer exists would
    make KMS refuse the whole policy, so roles are not named); every other statement kept as it is."""
    from guardian.model.log_access import denies_to_readers  # noqa: PLC0415 - the key policy path only

    stopping = [dict(s) for s in denies_to_readers(policy, key_arn, trail_arns, access)]
    partition = key_arn.split(":")[1] if key_arn.startswith("arn:") else access.partition
    roots = sorted({f"arn:{partition}:iam::{r.split(':')[4]}:root" for r in access.everyone_reading()})
    kept = [s for s in statements_of(policy) if dict(s) not in stopping and s.get("Sid") != READERS_SID]
    kept.append(
        {
            "Sid": READERS_SID,
            "Effect": "Allow",
            "Principal": {"AWS": roots[0] if len(roots) == 1 else roots},
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*",
        }
    )
    return {**policy, "Statement": kept}


def statements_of(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A policy's statements, one or a list, leaving out anything that is not an object."""
    found = policy.get("Statement", [])
    return [found] if isinstance(found, dict) else [s for s in found if isinstance(s, dict)]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(statement: Mapping[str, Any], trail_arn: str, account_id: str | None) -> bool:
    """Whether the statement applies to CloudTrail generating a data key for this trail."""
    principal = statement.get("Principal")
    if principal != "*" and not (
        isinstance(principal, dict)
        and (CLOUDTRAIL in as_list(principal.get("Service", [])) or "*" in as_list(principal.get("AWS", [])))
    ):
        return False
    if not allows_action(statement, "kms:GenerateDataKey"):
        return False
    return _conditions_hold(statement.get("Condition") or {}, trail_arn, account_id)


def _conditions_hold(conditions: Mapping[str, Any], trail_arn: str, account_id: str | None) -> bool:
    known = dict.fromkeys(_TRAIL_KEYS, trail_arn) | ({"aws:sourceaccount": account_id} if account_id else {})
    return conditions_hold(conditions, known)


def conditions_hold(conditions: Mapping[str, Any], known: Mapping[str, str | None]) -> bool:
    """Whether a statement's conditions hold for a request whose condition keys (lower case) have ``known`` values;
    a condition on any other key, or with an operator not judged here, is assumed to hold."""
    for operator, tests in conditions.items():
        if not isinstance(tests, dict):
            continue
        op = operator.lower().removeprefix("forallvalues:").removeprefix("foranyvalue:").removesuffix("ifexists")
        for key, values in tests.items():
            actual = known.get(key.lower())
            if actual is None or op not in _HOLDS:
                continue
            like = op.endswith("like") or op.startswith("arn")  # ARN conditions take wildcards too
            wanted = [str(v) for v in as_list(values)]
            if not any(fnmatch.fnmatchcase(actual, v) if like else actual == v for v in wanted):
                return False
    return True


def allows_action(statement: Mapping[str, Any], action: str) -> bool:
    """Whether the statement's Action (or NotAction) covers ``action``."""
    if "NotAction" in statement:
        return not any(_matches(a, action) for a in as_list(statement["NotAction"]))
    return any(_matches(a, action) for a in as_list(statement.get("Action", [])))


def _matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), str(pattern).lower())
