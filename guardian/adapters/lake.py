"""CloudTrail Lake's event data stores, listed and held to their settings (the sweep and the settings' undo)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.model.lake import SETTINGS
from guardian.ports.errors import error_code

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider
    from guardian.model.refs import ResourceRef


class LakeAdapter:
    _clients: ClientProvider

    def data_stores(self, region: str) -> list[str]:
        """The ARNs of the account's event data stores in ``region`` (those pending deletion included)."""
        client, found, token = self._clients.cloudtrail(region), [], None
        while True:
            request: Any = {"NextToken": token} if token else {}
            page = client.list_event_data_stores(**request)
            found += [str(s["EventDataStoreArn"]) for s in page.get("EventDataStores", [])]
            token = page.get("NextToken")
            if not token:
                return found

    def data_store(self, store: ResourceRef) -> dict[str, Any] | None:
        """GetEventDataStore's answer (its status and settings); None if there is no such store."""
        assert store.region is not None
        try:
            found = self._clients.cloudtrail(store.region).get_event_data_store(EventDataStore=store.name)
        except ClientError as exc:
            if error_code(exc) == "EventDataStoreNotFoundException":
                return None
            raise
        return {k: v for k, v in found.items() if k != "ResponseMetadata"}

    def update_data_store(self, store: ResourceRef, settings: dict[str, Any]) -> None:
        """UpdateEventDataStore with a store's recorded settings."""
        assert store.region is not None
        request: Any = {k: settings[k] for k in SETTINGS if k in settings}
        self._clients.cloudtrail(store.region).update_event_data_store(EventDataStore=store.name, **request)
