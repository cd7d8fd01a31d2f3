"""Why a record exists besides tampering. Pure data, apart so the results model can name it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Purpose:
    """Why a record exists besides tampering: an operator's approval or a self-test. Reports count these apart."""

    kind: str  # "approval" or "selftest"
    id: str
    by: str  # the operator's ARN, as STS named it
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "by": self.by, "reason": self.reason}
