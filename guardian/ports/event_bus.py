"""The default event bus's encryption and the forwarders' dead-letter queues, read by the sweep (their own module:
:mod:`guardian.ports.calls` is full)."""

from __future__ import annotations

from typing import Protocol


class EventBusCalls(Protocol):
    """DescribeEventBus on ``default``, one call a Region."""

    def default_bus_key(self, region: str) -> str | None: ...
    def queue_depth(self, region: str, account_id: str, name: str) -> int | None: ...  # None: no such queue
