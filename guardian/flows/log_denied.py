"""A trail's log file the sweep may not read (GetObject refused): CloudTrail writes each file under the trail's own
KMS key (or, without one, the bucket's default encryption), which the security readers can use by design; the sweep
itself is not granted Decrypt on trail keys, so such a file is checked to exist only. A file stored under any other
key, or refused for another reason (a policy hiding that one file), was replaced after delivery: the caller alerts it
HIGH, naming the file, how it is stored and the error (HeadObject tells how, without decrypting).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from guardian.flows import baselines
from guardian.model.bucket import BucketState
from guardian.model.rules import Subject
from guardian.ports.errors import describe_error

if TYPE_CHECKING:
    from collections.abc import Callable

    from guardian.model.trail import TrailState
    from guardian.ports.calls import Everything

DENIED = ("AccessDenied", "AccessDeniedException", "403", "KMS.AccessDeniedException")


def unreadable_file(
    aws: Everything, trail: TrailState, where: tuple[str, str], exc: ClientError, expected: Callable[[], set[str]]
) -> tuple[str | None, bool]:
    """(what is wrong, whether the file is gone) for a log file GetObject refused. CloudTrail writes a trail's files
    under the trail's own key (or, without one, the bucket's default encryption as its signed baseline holds it),
    which the readers can use by design; a file under any other key, or refused for another reason, was replaced."""
    (bucket, key), (code, message) = where, describe_error(exc)
    try:
        head = aws.log_head(bucket, key, trail.home_region)
    except ClientError as again:  # refused even without decryption: a policy hides this one file from the sweep
        if describe_error(again)[0] not in DENIED:
            raise
        head = {"encryption": "", "kms_key": "", "refused": describe_error(again)[0]}  # how it is stored: unknown
    if head is None:
        return None, True
    stored = head["kms_key"]
    if stored and key_id(stored) in expected():
        return None, False  # the trail's own key, which the sweep is not granted: existence is what can be checked
    how = f"stored under KMS key {stored}" if stored else f"stored with {head['encryption'] or 'no'} encryption"
    if "refused" in head:
        how = f"HeadObject refused too ({head['refused']})"
    wanted = f"the trail's key {trail.kms_key_id}" if trail.kms_key_id else "the bucket's default encryption"
    return (
        f"log file {key} cannot be read by the sweep ({code}: {message[:200]}); {how}, not {wanted}: "
        "a file CloudTrail wrote is readable by the security readers, so this one was replaced after delivery"
    ), False


def expected_keys(aws: Everything, trail: TrailState) -> set[str]:
    """The ids of the keys CloudTrail writes the trail's files under: its own, else the bucket's default one as
    recorded in the bucket's signed baseline (never the live setting, which whoever replaced the file may have set)."""
    if trail.kms_key_id:
        return {key_id(trail.kms_key_id)}
    guarded = baselines.load_resource(aws, Subject.BUCKET, trail.s3_bucket, None)
    state = guarded.baseline if guarded is not None else None
    rules = (state.encryption if isinstance(state, BucketState) else None) or ()
    return {
        key_id(str(found))
        for rule in rules
        if (found := dict(rule).get("ApplyServerSideEncryptionByDefault", {}).get("KMSMasterKeyID"))
    }


def key_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if arn.startswith("arn:") and ":key/" in arn else arn
