"""Whether a KMS key put on a trail that had none is fit to keep: shared by the trail's restore (event and sweep).

A trail's key is a destination, like its bucket: the log files become readable only to whoever may decrypt with it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

from guardian.model.changes import Change, Effect
from guardian.model.key_policy import cloudtrail_can_encrypt
from guardian.model.log_access import LogAccess, readers_who_cannot_decrypt
from guardian.model.refs import KeyRef
from guardian.ports.errors import AWS_ERRORS

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.trail import TrailState
    from guardian.ports.calls import KeyCalls


def judge_new_key(aws: KeyCalls, changes: tuple[Change, ...], found: TrailState, config: Config) -> tuple[Change, ...]:
    """A key put on a trail that had none is a new destination, not a strengthening, unless CloudTrail can encrypt
    with it and the account's security readers (its root, and ``logReaders`` or else any role of the account) can
    decrypt with it. A key of another account, or one whose policy the guardian cannot read, cannot be vouched for:
    it weakens (issue 20, item 3)."""
    added = [c for c in changes if c.field == "kms_key_id" and c.effect is Effect.STRENGTHENED]
    if not added:
        return changes
    arn = str(found.kms_key_id)
    access = LogAccess(config.account_id, (found.arn,), config.log_readers, found.arn.split(":")[1])
    if ":" not in arn:
        arn = f"arn:{access.partition}:kms:{found.home_region}:{config.account_id}:key/{arn.rsplit('/', 1)[-1]}"
    fit = False
    if arn.split(":")[4] == config.account_id:  # another account's key: its policy cannot even be read
        key = KeyRef(key_id=arn.rsplit("/", 1)[-1], region=arn.split(":")[3], account_id=config.account_id)
        try:
            policy = json.loads(aws.key_policy(key))
            # Key material the insider imported (and may delete) or keeps in a key store of theirs: whoever holds it
            # decides whether the logs can ever be read again, whatever the policy says.
            own_material = aws.key_origin(key) == "AWS_KMS"
        except AWS_ERRORS:
            policy, own_material = None, False  # a key the guardian cannot read is one it cannot vouch for
        fit = (
            own_material
            and isinstance(policy, dict)
            and cloudtrail_can_encrypt(policy, found.arn, config.account_id)
            and not readers_who_cannot_decrypt(policy, arn, [found.arn], access)
        )
    if fit:
        return changes
    return tuple(replace(c, effect=Effect.WEAKENED) if c in added else c for c in changes)
