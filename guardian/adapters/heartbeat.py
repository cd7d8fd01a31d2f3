"""The chain's head, put on the security account's event bus (implements
:class:`guardian.ports.heartbeat.ChainHeartbeat`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider

SOURCE = "cloudtrail-guardian.chain"  # not aws.*: only the guardians' roles may put events on the security bus
DETAIL_TYPE = "Guardian Evidence Chain Head"


class HeartbeatAdapter:
    _clients: ClientProvider

    def send_chain_head(self, bus_arn: str, detail: dict[str, Any]) -> None:
        """One event on the bus (a client in the bus's Region); raises if EventBridge did not take it."""
        entry: Any = {
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(detail),
            "EventBusName": bus_arn,
        }
        answer = self._clients.events(bus_arn.split(":")[3]).put_events(Entries=[entry])
        if answer.get("FailedEntryCount"):
            failed = (answer.get("Entries") or [{}])[0]
            raise RuntimeError(f"the security account's bus refused the chain head: {failed.get('ErrorCode')}")
