"""Who must still be able to write and read a trail's logs, as requests a policy is judged against.

Pure. A trail's bucket policy and KMS key policy are judged by effect (:mod:`guardian.model.iam_eval`), not by how
they are written: CloudTrail must still write its log and digest files and read the bucket's ACL; the account's
security readers (the account root, which delegates to IAM, and every role of the ``logReaders`` setting) must
still read the files and list the bucket, and decrypt with the trail's key. A policy change that takes any of
that away weakens, however stricter it looks. Without ``logReaders`` the readers are the root and "any role the
account delegates to", an unnamed role whose ARN is unknown: the root user never reads logs in practice, so a Deny
that spares the root (and the insider) but may stop a role of the account weakens.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guardian.model.iam_eval import Applies, Request, allowed, applies, as_list, denied, statements_of

CLOUDTRAIL = "cloudtrail.amazonaws.com"
_ACCOUNT_IN_KEY = re.compile(r"AWSLogs/(\d{12})/")


@dataclass(frozen=True)
class LogAccess:
    """The account whose logs these are, its trails (ARNs) and its security readers (role ARNs)."""

    account_id: str | None = None
    trail_arns: tuple[str, ...] = ()
    readers: tuple[str, ...] = ()
    partition: str = "aws"

    @property
    def root(self) -> str | None:
        return f"arn:{self.partition}:iam::{self.account_id}:root" if self.account_id else None

    @property
    def any_role(self) -> str | None:
        """The unnamed reader (``role/*``: some role of the account, ARN unknown) when ``logReaders`` is unset."""
        return f"arn:{self.partition}:iam::{self.account_id}:role/*" if self.account_id and not self.readers else None

    def everyone_reading(self) -> tuple[str, ...]:
        return tuple(p for p in (self.root, *self.readers, self.any_role) if p)

    def reader_context(self, reader: str) -> tuple[dict[str, tuple[str, ...]], bool]:
        """What a reader's request is known to carry, and whether the reader is the unnamed role: its ARN, user id
        and name are unknown, so conditions on them come out MAYBE."""
        own = reader.split(":")[4]  # a reader's own account, which may not be the log account
        context: dict[str, tuple[str, ...]] = {"aws:securetransport": ("true",), "aws:principalaccount": (own,)}
        if reader == self.any_role:
            return context, True
        return {**context, "aws:principalarn": (reader,)}, False


def completed(access: LogAccess | None, baseline: Sequence[Mapping[str, Any]]) -> LogAccess:
    """``access`` with what it leaves out taken from the baseline's own CloudTrail statements: the account (from
    ``AWSLogs/<account>/`` or ``aws:SourceAccount``) and the trails (``aws:SourceArn``)."""
    access = access or LogAccess()
    account, trails = access.account_id, access.trail_arns
    for statement in _for_cloudtrail(baseline):
        tests = {
            k.lower(): v
            for op in (statement.get("Condition") or {}).values()
            if isinstance(op, Mapping)
            for k, v in op.items()
        }
        found = [str(v) for v in as_list(tests.get("aws:sourcearn", [])) if "*" not in str(v)]
        trails = trails or tuple(found)
        for resource in (str(r) for r in as_list(statement.get("Resource", []))):
            match = _ACCOUNT_IN_KEY.search(resource)
            account = account or (match[1] if match else None)
        source = [str(v) for v in as_list(tests.get("aws:sourceaccount", []))]
        account = account or (source[0] if source else None)
    if account is None and trails:
        account = trails[0].split(":")[4]
    partition = trails[0].split(":")[1] if trails else access.partition
    return LogAccess(account, tuple(trails), access.readers, partition)


def bucket_requests(
    bucket: str, region: str, access: LogAccess, baseline: Sequence[Mapping[str, Any]]
) -> list[Request]:
    """CloudTrail's writes and ACL read, and the readers' reads, on this bucket."""
    account = access.account_id or "000000000000"
    arn = f"arn:{access.partition}:s3:::{bucket}"
    # Every log and digest file CloudTrail may write, as one set: a Deny on any part of it may cut some of them.
    objects = [f"{arn}/{p}AWSLogs/{account}/*" for p in _prefixes(bucket, baseline)]
    found: list[Request] = []
    for trail in access.trail_arns or (None,):
        context: dict[str, tuple[str, ...]] = {
            "aws:securetransport": ("true",),
            "aws:principalservicename": (CLOUDTRAIL,),
        }
        if access.account_id:
            context["aws:sourceaccount"] = (access.account_id,)
        if trail:
            context["aws:sourcearn"] = (trail,)
        acl = {**context, "s3:x-amz-acl": ("bucket-owner-full-control",)}
        found += [Request(CLOUDTRAIL, "s3:PutObject", key, acl) for key in objects]
        found.append(Request(CLOUDTRAIL, "s3:GetBucketAcl", arn, {**context, "s3:x-amz-acl": ()}))
    for reader in access.everyone_reading():
        context, unnamed = access.reader_context(reader)
        found += [Request(reader, "s3:GetObject", key, context, unnamed) for key in objects]
        found.append(Request(reader, "s3:ListBucket", arn, context, unnamed))
    return found


def new_deny_cuts_access(statement: Mapping[str, Any], requests: Sequence[Request]) -> bool:
    """A Deny that applies, or may apply, to any request CloudTrail or a reader must be able to make."""
    return statement.get("Effect") == "Deny" and any(applies(statement, r) is not Applies.NO for r in requests)


def writes_lost(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]], requests: Sequence[Request]
) -> bool:
    """A CloudTrail call the old policy surely allowed that the new one does not."""
    return any(allowed(before, r) and not allowed(after, r) for r in requests if r.is_service)


def decrypt_requests(key_arn: str, trail_arns: Sequence[str], access: LogAccess) -> list[Request]:
    """Each reader decrypting each trail's log files, as S3 asks KMS to when the reader reads one."""
    region = key_arn.split(":")[3] if key_arn.count(":") >= 5 else "us-east-1"
    found = []
    for reader in access.everyone_reading():
        account = reader.split(":")[4]
        known, unnamed = access.reader_context(reader)
        for trail in trail_arns or ("",):
            context = {
                **known,
                "kms:calleraccount": (account,),
                "kms:viaservice": (f"s3.{region}.amazonaws.com",),
                "kms:encryptioncontext:aws:cloudtrail:arn": (trail,) if trail else (),
            }
            found.append(Request(reader, "kms:Decrypt", key_arn, context, unnamed))
    return found


def readers_who_cannot_decrypt(
    policy: Mapping[str, Any], key_arn: str, trail_arns: Sequence[str], access: LogAccess
) -> list[str]:
    """The readers the key policy does not let decrypt the trails' log files: the account root needs an Allow (it
    is how IAM policies are let in); a role needs an Allow to itself or the root, and no Deny that may apply (the
    unnamed role, ``role/*``: an Allow to the root or the account, and no Deny that may apply to some role)."""
    statements = statements_of(policy)
    lost = [r.principal for r in decrypt_requests(key_arn, trail_arns, access) if not allowed(statements, r)]
    return list(dict.fromkeys(lost))


def denies_to_readers(
    policy: Mapping[str, Any], key_arn: str, trail_arns: Sequence[str], access: LogAccess
) -> list[Mapping[str, Any]]:
    """The Deny statements that may stop a reader decrypting (what a repair drops)."""
    requests = decrypt_requests(key_arn, trail_arns, access)
    return [s for s in statements_of(policy) if s.get("Effect") == "Deny" and any(denied([s], q) for q in requests)]


def _for_cloudtrail(statements: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        s
        for s in statements
        if s.get("Effect") == "Allow"
        and isinstance(s.get("Principal"), Mapping)
        and CLOUDTRAIL in [str(v) for v in as_list(s["Principal"].get("Service", []))]
    ]


def _prefixes(bucket: str, baseline: Sequence[Mapping[str, Any]]) -> list[str]:
    """The key prefixes CloudTrail writes under, as the baseline's CloudTrail Allow names them ("" if none do)."""
    found = []
    for statement in _for_cloudtrail(baseline):
        for resource in (str(r) for r in as_list(statement.get("Resource", []))):
            head, sep, _ = resource.partition("AWSLogs/")
            start = f":::{bucket}/"
            if sep and start in head and "*" not in head:
                found.append(head.split(start, 1)[1])
    return sorted(set(found)) or [""]
