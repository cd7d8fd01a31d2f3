"""A rule's targets as the security-rule inventory keeps them: (Id, Arn, a SHA-256 of what it delivers).

Pure. A target keeping its Id and Arn can still be made to deliver nothing the team can act on: ``Input`` set to a
constant, an ``InputTransformer``, ``InputPath: "$.version"``, another role. Those (:data:`HASHED`) are hashed, keys
normalised (first letter lower case) so CloudTrail's ``requestParameters`` (``inputPath``) and ListTargetsByRule's
answer (``InputPath``) hash alike; the keys of a map the team names itself (``InputPathsMap``) are kept as written.
``RetryPolicy``, ``DeadLetterConfig`` and ``*Parameters`` are left out: until paired real records show CloudTrail's
PutTargets and ListTargetsByRule carry them alike (AWS fills defaults in), comparing them would alert on noise.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

Target = tuple[str, str, str]  # (Id, Arn, configuration SHA-256; "" where not recorded: an older inventory)
USER_MAPS = frozenset({"inputPathsMap", "headerParameters", "queryStringParameters"})
HASHED = frozenset({"input", "inputPath", "inputTransformer", "roleArn"})  # both forms carry; AWS defaults none


def config_sha256(target: Mapping[str, Any]) -> str:
    """SHA-256 of a target's :data:`HASHED` configuration, alike from CloudTrail and from ListTargetsByRule."""
    rest = {_lower(k): _normal(v, _lower(k)) for k, v in target.items() if _lower(k) in HASHED}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


def target_of(given: Any) -> Target | None:
    """(Id, Arn, configuration hash) of a target as ListTargetsByRule or CloudTrail's PutTargets gives it; None if
    it cannot be read."""
    if not isinstance(given, dict):
        return None
    target_id, arn = given.get("Id", given.get("id")), given.get("Arn", given.get("arn"))
    if not isinstance(target_id, str) or not isinstance(arn, str):
        return None
    return target_id, arn, config_sha256(given)


def targets_of(given: Iterable[Mapping[str, Any]]) -> tuple[Target, ...]:
    """Every readable target, by Id."""
    return tuple(sorted(t for t in (target_of(dict(g)) for g in given) if t is not None))


def targets_lost(recorded: Sequence[Target], now: Sequence[Target], *, whole: bool) -> list[str]:
    """Recorded targets re-pointed (same Id, another ARN) or re-configured (same Id, another configuration) in
    ``now``; with ``whole`` (``now`` is every target the rule has), removed ones too."""
    current = {t[0]: t for t in now}
    problems = []
    for target_id, arn, sha in recorded:
        found = current.get(target_id)
        if found is not None and found[1] != arn:
            problems.append(f"target {target_id!r} re-pointed from {arn} to {found[1]}")
        elif found is not None and sha and found[2] != sha:
            problems.append(
                f"target {target_id!r} ({arn}) re-configured (its input, input path, transformer or role changed: "
                "it may deliver nothing the team can act on)"
            )
        elif whole and found is None:
            problems.append(f"target {target_id!r} ({arn}) removed")
    return problems


def merged(recorded: Sequence[Target], given: Sequence[Target]) -> tuple[Target, ...]:
    """``recorded`` with ``given`` put (PutTargets adds or replaces by Id)."""
    held = {t[0]: t for t in recorded}
    held.update({t[0]: t for t in given})
    return tuple(sorted(held.values()))


def _lower(key: str) -> str:
    return key[:1].lower() + key[1:]


def _normal(value: Any, key: str) -> Any:
    if key in USER_MAPS:
        return value
    if isinstance(value, dict):
        return {_lower(str(k)): _normal(v, _lower(str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v, "") for v in value]
    return value
