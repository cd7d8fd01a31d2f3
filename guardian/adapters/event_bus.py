"""The default event bus of a Region, as the sweep reads it (:class:`guardian.ports.event_bus.EventBusCalls`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider


class EventBusAdapter:
    _clients: ClientProvider

    def default_bus_key(self, region: str) -> str | None:
        """The customer managed key the default bus encrypts with; None for EventBridge's AWS owned key (then
        DescribeEventBus returns no KmsKeyIdentifier)."""
        found = self._clients.events(region).describe_event_bus(Name="default")
        return found.get("KmsKeyIdentifier") or None
