"""A trail's CloudWatch Logs group as the guardian protects it, and what a change to it does.

Pure: no boto3, no environment. Weakening: the group is gone (it is recreated and the trail re-attached), its
retention is shorter than the baseline's (never-expire counts as longer than any number of days), its KMS key
was removed or replaced, or a log transformer was put on it (it rewrites, or deletes, fields of every record at
ingestion: ``deleteKeys`` on ``userIdentity``). Longer retention or a key added strengthens and becomes the baseline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from guardian.model.changes import Change, Effect

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

FOREVER = 1_000_000  # days: "never expire" compares as longer than any retention


@dataclass(frozen=True)
class LogGroupState:
    name: str
    region: str
    exists: bool = True
    retention_days: int | None = None  # None: never expire
    kms_key_id: str | None = None
    transformer: str | None = None  # its log transformer's config, as canonical JSON (:func:`transformer_of`)

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LogGroupState:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def group_of(arn: str | None) -> tuple[str, str] | None:
    """(Region, name) of a trail's CloudWatchLogsLogGroupArn (``arn:aws:logs:R:A:log-group:NAME:*``)."""
    if not arn:
        return None
    parts = arn.split(":", 6)
    if len(parts) < 7 or parts[2] != "logs" or parts[5] != "log-group":
        return None
    name = parts[6][:-2] if parts[6].endswith(":*") else parts[6]
    return parts[3], name


def transformer_of(config: object) -> str | None:
    """A transformer's config (GetTransformer's ``transformerConfig``) as canonical JSON; None when there is none."""
    return json.dumps(config, sort_keys=True, separators=(",", ":")) if config else None


def compare_group(baseline: LogGroupState, current: LogGroupState) -> tuple[Change, ...]:
    if not current.exists:
        return (Change("exists", True, False, Effect.WEAKENED),) if baseline.exists else ()
    changes: list[Change] = []
    if baseline.retention_days != current.retention_days:
        shorter = _days(current.retention_days) < _days(baseline.retention_days)
        effect = Effect.WEAKENED if shorter else Effect.STRENGTHENED
        changes.append(Change("retention_days", baseline.retention_days, current.retention_days, effect))
    if baseline.kms_key_id != current.kms_key_id:
        # A key is a destination, added or changed: whoever holds it decides who reads the logs, and disabling it
        # stops CloudWatch Logs taking the trail's events (the CIS alarms go quiet). Kept only by `guardian approve`.
        changes.append(Change("kms_key_id", baseline.kms_key_id, current.kms_key_id, Effect.WEAKENED))
    if baseline.transformer != current.transformer:  # one put or changed is taken off (`guardian approve` keeps it);
        effect = Effect.STRENGTHENED if current.transformer is None else Effect.WEAKENED  # none: the raw records
        changes.append(Change("transformer", baseline.transformer, current.transformer, effect))
    return tuple(changes)


def target_group(baseline: LogGroupState, current: LogGroupState, changes: Sequence[Change]) -> LogGroupState:
    if not current.exists:
        return baseline
    return replace(current, **{c.field: getattr(baseline, c.field) for c in changes if c.effect is Effect.WEAKENED})


def _days(value: int | None) -> int:
    return FOREVER if value is None else value
