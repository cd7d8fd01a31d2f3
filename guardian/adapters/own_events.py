"""The guardian's own events (implements :class:`guardian.ports.finding_copies.OwnEventCalls`): one PutEvents entry
per alert mailed, on the bus the ``ownEvents`` setting names, with a client in that bus's Region."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider


class OwnEventsAdapter:
    _clients: ClientProvider

    def put_own_event(self, entry: dict[str, Any]) -> None:
        """PutEvents answers 200 with FailedEntryCount when it refuses an entry: raised, so the step is reported."""
        region = str(entry["EventBusName"]).split(":")[3]
        answer = self._clients.events(region).put_events(Entries=[entry])  # type: ignore[list-item]
        if answer.get("FailedEntryCount"):
            failed = (answer.get("Entries") or [{}])[0]
            raise RuntimeError(
                f"EventBridge refused the guardian's event: {failed.get('ErrorCode')}: {failed.get('ErrorMessage')}"
            )
