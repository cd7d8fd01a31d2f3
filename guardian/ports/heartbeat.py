"""The sweep's heartbeat to the security account: its chain's head, sent where this account's insiders cannot reach."""

from __future__ import annotations

from typing import Any, Protocol


class ChainHeartbeat(Protocol):
    def send_chain_head(self, bus_arn: str, detail: dict[str, Any]) -> None: ...
