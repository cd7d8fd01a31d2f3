"""One difference between a baseline and what is live, and what it does: weaken or strengthen.

Pure. Every kind of state the guardian protects (a trail, its bucket, log group and key, its own rules) reports its
differences as :class:`Change` values, so the restore, the alert and the evidence record speak one language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Effect(StrEnum):
    WEAKENED = "weakened"
    STRENGTHENED = "strengthened"


@dataclass(frozen=True)
class Change:
    """One difference between the baseline and the live trail."""

    field: str
    before: Any
    after: Any
    effect: Effect

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "before": plain(self.before),
            "after": plain(self.after),
            "effect": self.effect.value,
        }


def weakened(changes: Sequence[Change]) -> tuple[Change, ...]:
    return tuple(c for c in changes if c.effect is Effect.WEAKENED)


def strengthened(changes: Sequence[Change]) -> tuple[Change, ...]:
    return tuple(c for c in changes if c.effect is Effect.STRENGTHENED)


def plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value
