"""Where an alert's optional copies go: OCSF objects in the guardian's own bucket, its own events on a bus."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.lake_delivery import LakeTarget


@runtime_checkable
class OcsfCalls(Protocol):
    """A write-once object in the guardian's bucket (False: it exists), and a signature sidecar read (the evidence
    record's SHA-256). Runtime-checkable: an adapter without them has none."""

    def put_new(self, key: str, body: bytes, *, locked_until: datetime | None = None) -> bool: ...
    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None: ...


@runtime_checkable
class OwnEventCalls(Protocol):
    """PutEvents of one entry (the bus is its ``EventBusName``); raises if EventBridge did not take it."""

    def put_own_event(self, entry: dict[str, Any]) -> None: ...


@runtime_checkable
class LakeDeliveryCalls(Protocol):
    """The OCSF objects in the guardian's bucket (key and when S3 stamped it), their content, and a write into the
    Security Lake custom source as its provider role (``securityLake``: guardian.flows.lake_delivery)."""

    def ocsf_folders(self, prefix: str) -> list[str]: ...
    def ocsf_listing(self, prefix: str, limit: int) -> list[tuple[str, datetime]]: ...
    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None: ...
    def put_lake_object(self, target: LakeTarget, key: str, body: bytes) -> None: ...
