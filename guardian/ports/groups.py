"""The calls for alert groups and the per-second publish cap (:mod:`guardian.flows.grouping`,
:mod:`guardian.flows.rate_cap`).

A separate Protocol, checked at run time on what ``Delivery.ledger()`` hands back: an adapter without these calls
(a test's fake, a function without the table) leaves grouping and the cap off, and every alert goes out at once.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from guardian.ports.calls import Signer


@runtime_checkable
class AlertGroups(Signer, Protocol):
    """Opening items (signed, one per group, in the activity table), the windows' objects in the evidence bucket
    (listed and read here; written once with ``Delivery.put_if_absent``), and publish slots."""

    def group_item(self, table: str, group_id: str) -> dict[str, Any] | None: ...
    def put_group_item(self, table: str, group_id: str, document: dict[str, Any], expires_at: int) -> None: ...
    def group_keys(self, prefix: str, limit: int) -> list[str]: ...
    def group_document(self, key: str) -> dict[str, Any] | None: ...
    def take_publish_slot(self, table: str, topic: str, second: int, cap: int) -> bool: ...
