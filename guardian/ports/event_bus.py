"""The default event bus's encryption, read by the sweep (its own module: :mod:`guardian.ports.calls` is full)."""

from __future__ import annotations

from typing import Protocol


class EventBusCalls(Protocol):
    """DescribeEventBus on ``default``, one call a Region."""

    def default_bus_key(self, region: str) -> str | None: ...
