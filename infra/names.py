"""Names for a function's environment, which holds 4 KB in all: those that share the stack's prefix are written once
under it (``{"prefix": "<stackName>-", "names": [...]}``; guardian.model.config_values.under_prefix reads them), so a
long stack name with every option on still fits (tests/infra/test_aws_limits.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def under_prefix(names: Sequence[str], prefix: str) -> Any:
    """The names under ``prefix`` where every one has it; otherwise the list as it is."""
    if names and all(name.startswith(prefix) for name in names):
        return {"prefix": prefix, "names": [name.removeprefix(prefix) for name in names]}
    return list(names)
