"""A trail's S3 bucket as the guardian protects it, and what a change to it does: weaken or strengthen.

Pure: no boto3, no environment. Judged on the bucket's live configuration, never on a request's parameters.

What counts as weakening (docs/operations.md has the same table):
- the bucket is gone (DeleteBucket): it is recreated with its baseline configuration.
- policy, judged by its effect on who writes and reads the logs: a baseline statement granting
  ``cloudtrail.amazonaws.com`` anything is gone or changed (narrower resources, actions or conditions cannot be
  proven to cover as much); a CloudTrail call it allowed is no longer allowed; a new Deny that applies, or may
  apply, to CloudTrail's writes or ACL read or to the security readers' reads (an IAM policy evaluator decides:
  wildcards, NotPrincipal, NotAction, conditions it cannot prove false);
  an Allow statement names a principal that no baseline Allow named (``*``, another account, a new role); or a
  baseline Deny statement is gone. Any other policy change is kept as the new baseline.
- default encryption: any change to a baseline's (removed, or another key, which CloudTrail may not be allowed to
  use); added where the baseline had none strengthens.
- lifecycle: the shortest expiry of any enabled rule (current or noncurrent versions; a fixed date counts as
  0 days) is shorter than the baseline's, or so is the first move to an archive (a transition to GLACIER,
  DEEP_ARCHIVE or INTELLIGENT_TIERING, whose archive tiers one call turns on: every log and digest file then needs
  hours of restore before anyone reads or validates it; GLACIER_IR is read in milliseconds, so not an archive).
  Every rule is counted whatever its filter: a rule on another prefix can still be widened later, so it is judged
  as if it applied to the logs. Removing expiry or an archive transition strengthens.
- versioning: Enabled → Suspended weakens; enabling strengthens.
- public access block: any of the four settings true → false (or the block removed) weakens.
- ACL: a grant to a grantee the baseline did not grant (everyone, any authenticated user, another account)
  weakens; removing grants strengthens.
Anything that strengthens is kept and becomes the new baseline; anything that weakens is put back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from guardian.model.changes import Change, Effect
from guardian.model.log_access import LogAccess, bucket_requests, completed, new_deny_cuts_access, writes_lost

CLOUDTRAIL_PRINCIPAL = "cloudtrail.amazonaws.com"
NO_EXPIRY = 1_000_000  # days: "never" compares as longer than any real expiry
# Storage classes a log file cannot be read from without a restore of hours (INTELLIGENT_TIERING: its Archive and
# Deep Archive Access tiers, turned on by one PutBucketIntelligentTieringConfiguration the guardian does not baseline).
ARCHIVE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE", "INTELLIGENT_TIERING"})


@dataclass(frozen=True)
class BucketState:
    """The settings of a trail bucket that decide whether its logs are kept and kept private."""

    name: str
    region: str
    exists: bool = True
    policy: str | None = None  # the policy document as canonical JSON (sorted keys), None if none
    lifecycle_rules: tuple[Mapping[str, Any], ...] | None = None
    versioning: str | None = None  # "Enabled", "Suspended", or None (never enabled)
    public_access_block: Mapping[str, bool] | None = None
    acl_grants: tuple[Mapping[str, Any], ...] = ()
    acl_owner: Mapping[str, Any] | None = None
    encryption: tuple[Mapping[str, Any], ...] | None = None  # default encryption rules; None: none read

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["lifecycle_rules"] = None if self.lifecycle_rules is None else [dict(r) for r in self.lifecycle_rules]
        data["encryption"] = None if self.encryption is None else [dict(r) for r in self.encryption]
        data["public_access_block"] = None if self.public_access_block is None else dict(self.public_access_block)
        data["acl_grants"] = [dict(g) for g in self.acl_grants]
        data["acl_owner"] = None if self.acl_owner is None else dict(self.acl_owner)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BucketState:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("lifecycle_rules") is not None:
            values["lifecycle_rules"] = tuple(values["lifecycle_rules"])
        if values.get("encryption") is not None:
            values["encryption"] = tuple(values["encryption"])
        values["acl_grants"] = tuple(values.get("acl_grants") or ())
        return cls(**values)


def canonical_policy(document: str | Mapping[str, Any] | None) -> str | None:
    if document is None or document == "":
        return None
    parsed = json.loads(document) if isinstance(document, str) else document
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"))


def canonical(value: Any) -> Any:
    """A JSON round trip with sorted keys: values read from AWS compare equal to values read from a baseline."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def compare_bucket(baseline: BucketState, current: BucketState, access: LogAccess | None = None) -> tuple[Change, ...]:
    """Every difference, each weakened or strengthened. ``access`` names the trails and readers the policy must
    keep serving; what it leaves out is taken from the baseline policy."""
    if not current.exists:
        return (Change("exists", True, False, Effect.WEAKENED),) if baseline.exists else ()
    changes: list[Change] = []
    if baseline.policy != current.policy:
        weak = policy_weakened(baseline.policy, current.policy, access, bucket=current.name, region=current.region)
        effect = Effect.WEAKENED if weak else Effect.STRENGTHENED
        changes.append(Change("policy", _loads(baseline.policy), _loads(current.policy), effect))
    if _lifecycle_key(baseline.lifecycle_rules) != _lifecycle_key(current.lifecycle_rules):
        shorter = shortest_expiry(current.lifecycle_rules) < shortest_expiry(baseline.lifecycle_rules) or (
            first_archive(current.lifecycle_rules) < first_archive(baseline.lifecycle_rules)
        )
        changes.append(
            Change(
                "lifecycle_rules",
                baseline.lifecycle_rules,
                current.lifecycle_rules,
                Effect.WEAKENED if shorter else Effect.STRENGTHENED,
            )
        )
    if baseline.versioning != current.versioning:
        effect = Effect.WEAKENED if baseline.versioning == "Enabled" else Effect.STRENGTHENED
        changes.append(Change("versioning", baseline.versioning, current.versioning, effect))
    if dict(baseline.public_access_block or {}) != dict(current.public_access_block or {}):
        was, now = baseline.public_access_block or {}, current.public_access_block or {}
        lost = any(on and not now.get(name, False) for name, on in was.items())
        changes.append(
            Change("public_access_block", was or None, now or None, Effect.WEAKENED if lost else Effect.STRENGTHENED)
        )
    if _dump(baseline.encryption) != _dump(current.encryption):
        effect = Effect.STRENGTHENED if baseline.encryption is None else Effect.WEAKENED
        changes.append(Change("encryption", baseline.encryption, current.encryption, effect))
    before_grants, after_grants = _grant_keys(baseline.acl_grants), _grant_keys(current.acl_grants)
    if before_grants != after_grants:
        effect = Effect.WEAKENED if after_grants - before_grants else Effect.STRENGTHENED
        changes.append(Change("acl_grants", baseline.acl_grants, current.acl_grants, effect))
    return tuple(changes)


def target_bucket(baseline: BucketState, current: BucketState, changes: Sequence[Change]) -> BucketState:
    """Baseline values where a change weakened the bucket, live values where it strengthened it."""
    if not current.exists:
        return baseline
    values = {c.field: getattr(baseline, c.field) for c in changes if c.effect is Effect.WEAKENED}
    if "acl_grants" in values:
        values["acl_owner"] = baseline.acl_owner or current.acl_owner
    return replace(current, **values)


def policy_weakened(
    before: str | None, after: str | None, access: LogAccess | None = None, *, bucket: str = "", region: str = ""
) -> bool:
    """Judged by effect (:mod:`guardian.model.log_access`): CloudTrail's writes and the readers' reads must stay
    allowed and not denied; a new Deny that may apply to any of them weakens, whatever its Resource wildcard."""
    was, now = _statements(before), _statements(after)
    if {_dump(_unnamed(s)) for s in _for_cloudtrail(was)} - {_dump(_unnamed(s)) for s in _for_cloudtrail(now)}:
        return True
    if not _cloudtrail_writes(now) and _cloudtrail_writes(was):
        return True
    requests = bucket_requests(bucket, region, completed(access, was), was)
    if writes_lost(was, now, requests):
        return True
    known = {_dump(_unnamed(s)) for s in was}
    if any(new_deny_cuts_access(s, requests) for s in now if _dump(_unnamed(s)) not in known):
        return True
    if _principals(now, "Allow") - _principals(was, "Allow"):
        return True
    denies_before = {_dump(_unnamed(s)) for s in was if s.get("Effect") == "Deny"}
    denies_after = {_dump(_unnamed(s)) for s in now if s.get("Effect") == "Deny"}
    return bool(denies_before - denies_after)


def _for_cloudtrail(statements: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The Allow statements that grant CloudTrail anything (its bucket ACL check, its writes)."""
    return [
        s
        for s in statements
        if s.get("Effect") == "Allow"
        and isinstance(s.get("Principal"), Mapping)
        and CLOUDTRAIL_PRINCIPAL in _as_list(s["Principal"].get("Service", []))
    ]


def _unnamed(statement: Mapping[str, Any]) -> dict[str, Any]:
    """A statement as what it does: without its Sid, one value and a list of one alike, lists in any order."""
    lists = ("Action", "NotAction", "Resource", "NotResource")
    found: dict[str, Any] = {}
    for key, value in statement.items():
        if key in lists:
            found[key] = sorted(map(str, _as_list(value)))
        elif key in ("Principal", "NotPrincipal") and isinstance(value, Mapping):
            found[key] = {kind: sorted(map(str, _as_list(v))) for kind, v in value.items()}
        elif key != "Sid":
            found[key] = value
    return found


def shortest_expiry(rules: Sequence[Mapping[str, Any]] | None) -> int:
    """Days until the first object version expires under these rules (NO_EXPIRY if none do)."""
    days = [NO_EXPIRY]
    for rule in rules or ():
        if rule.get("Status") != "Enabled":
            continue
        expiration = rule.get("Expiration") or {}
        if "Days" in expiration:
            days.append(int(expiration["Days"]))
        if "Date" in expiration:
            days.append(0)
        noncurrent = rule.get("NoncurrentVersionExpiration") or {}
        if "NoncurrentDays" in noncurrent:
            days.append(int(noncurrent["NoncurrentDays"]))
    return min(days)


def first_archive(rules: Sequence[Mapping[str, Any]] | None) -> int:
    """Days until the first object version is moved where it cannot be read without a restore (NO_EXPIRY if
    never): a transition of current or noncurrent versions to an archive class (:data:`ARCHIVE_CLASSES`)."""
    days = [NO_EXPIRY]
    for rule in rules or ():
        if rule.get("Status") != "Enabled":
            continue
        current = _as_list(rule.get("Transitions") or rule.get("Transition") or [])
        noncurrent = _as_list(rule.get("NoncurrentVersionTransitions") or rule.get("NoncurrentVersionTransition") or [])
        days.extend(
            0 if "Date" in move else int(move.get("Days", move.get("NoncurrentDays", 0)))
            for move in current + noncurrent
            if isinstance(move, Mapping) and move.get("StorageClass") in ARCHIVE_CLASSES
        )
    return min(days)


def _statements(policy: str | None) -> list[Mapping[str, Any]]:
    document = _loads(policy) or {}
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _cloudtrail_writes(statements: list[Mapping[str, Any]]) -> bool:
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        services = _as_list(principal.get("Service", [])) if isinstance(principal, Mapping) else []
        actions = _as_list(statement.get("Action", []))
        if CLOUDTRAIL_PRINCIPAL in services and any(a in ("s3:PutObject", "s3:*", "*") for a in actions):
            return True
    return False


def _principals(statements: list[Mapping[str, Any]], effect: str) -> set[str]:
    """Every non-service principal the statements with this effect name (``*`` for anyone)."""
    found: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != effect:
            continue
        principal = statement.get("Principal")
        if principal == "*":
            found.add("*")
        elif isinstance(principal, Mapping):
            for kind, values in principal.items():
                if kind != "Service":
                    found |= {f"{kind}:{v}" if v != "*" else "*" for v in _as_list(values)}
    return found


def _grant_keys(grants: Sequence[Mapping[str, Any]]) -> set[str]:
    return {_dump(g) for g in grants}


def _lifecycle_key(rules: Sequence[Mapping[str, Any]] | None) -> str | None:
    return None if rules is None else _dump(sorted(rules, key=_dump))


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _loads(policy: str | None) -> Any:
    return None if policy is None else json.loads(policy)
