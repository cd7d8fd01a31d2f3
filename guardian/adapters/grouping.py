"""The activity table's items for alert groups and the per-second publish cap (implements
:class:`guardian.ports.groups.AlertGroups`). Loaded with the full adapter, never on the heal path."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.model.safe import json_bytes
from guardian.ports.errors import error_code

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider

GROUPS_PARTITION = "#groups"  # as guardian.model.grouping names it
RATE_PARTITION = "#rate"  # one item per topic and epoch second: the publishes counted in it
RATE_TTL_SECONDS = 3600


class GroupAdapter:
    _clients: ClientProvider

    def group_item(self, table: str, group_id: str) -> dict[str, Any] | None:
        """The group's opening item (its signed document, and ``flushed`` once its digest went out), or None."""
        item = (
            self._clients.dynamodb()
            .get_item(
                TableName=table, Key={"principal": {"S": GROUPS_PARTITION}, "at": {"S": group_id}}, ConsistentRead=True
            )
            .get("Item")
        )
        return _opening(item) if item else None

    def put_group_item(self, table: str, group_id: str, document: dict[str, Any], expires_at: int) -> None:
        """Write (or replace) the group's opening item: a new window."""
        self._clients.dynamodb().put_item(
            TableName=table,
            Item={
                "principal": {"S": GROUPS_PARTITION},
                "at": {"S": group_id},
                "entry": {"S": json_bytes(document).decode()},
                "window_start": {"S": str(document.get("window_start", ""))},
                "expires_at": {"N": str(expires_at)},
            },
        )

    def open_groups(self, table: str) -> list[dict[str, Any]]:
        """Every opening item not yet flushed: one Query (paginated) of the groups' partition."""
        found: list[dict[str, Any]] = []
        paginator = self._clients.dynamodb().get_paginator("query")
        for page in paginator.paginate(
            TableName=table,
            KeyConditionExpression="principal = :p",
            FilterExpression="attribute_not_exists(flushed)",
            ExpressionAttributeValues={":p": {"S": GROUPS_PARTITION}},
        ):
            found += [o for o in (_opening(item) for item in page.get("Items", [])) if o is not None]
        return found

    def claim_group(self, table: str, group_id: str, window_start: str) -> bool:
        """Mark the window's digest as being sent: False if another call claimed it first (or the window changed)."""
        try:
            self._clients.dynamodb().update_item(
                TableName=table,
                Key={"principal": {"S": GROUPS_PARTITION}, "at": {"S": group_id}},
                UpdateExpression="SET flushed = :t",
                ConditionExpression="attribute_not_exists(flushed) AND window_start = :w",
                ExpressionAttributeValues={":t": {"BOOL": True}, ":w": {"S": window_start}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_group(self, table: str, group_id: str) -> None:
        """Undo a claim whose digest could not be sent: the next event or sweep tries again."""
        self._clients.dynamodb().update_item(
            TableName=table,
            Key={"principal": {"S": GROUPS_PARTITION}, "at": {"S": group_id}},
            UpdateExpression="REMOVE flushed",
        )

    def put_group_member(self, table: str, partition: str, sort: str, member: dict[str, Any], expires: int) -> None:
        """One grouped event (a redelivery writes the same item again: never counted twice)."""
        self._clients.dynamodb().put_item(
            TableName=table,
            Item={
                "principal": {"S": partition},
                "at": {"S": sort},
                "entry": {"S": json_bytes(member).decode()},
                "expires_at": {"N": str(expires)},
            },
        )

    def group_members(self, table: str, partition: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        paginator = self._clients.dynamodb().get_paginator("query")
        for page in paginator.paginate(
            TableName=table,
            KeyConditionExpression="principal = :p",
            ExpressionAttributeValues={":p": {"S": partition}},
        ):
            for item in page.get("Items", []):
                member = _json(item.get("entry", {}).get("S"))
                if member is not None:
                    found.append(member)
        return found

    def take_publish_slot(self, table: str, topic: str, second: int, cap: int) -> bool:
        """Count one publish to ``topic`` in epoch ``second``: False if ``cap`` were counted already (conditional
        ADD: concurrent invocations share the count)."""
        try:
            self._clients.dynamodb().update_item(
                TableName=table,
                Key={"principal": {"S": RATE_PARTITION}, "at": {"S": f"{topic}#{second}"}},
                UpdateExpression="ADD sent :one SET expires_at = :ttl",
                ConditionExpression="attribute_not_exists(sent) OR sent < :cap",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":cap": {"N": str(cap)},
                    ":ttl": {"N": str(second + RATE_TTL_SECONDS)},
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _opening(item: dict[str, Any]) -> dict[str, Any] | None:
    document = _json(item.get("entry", {}).get("S"))
    if document is None:
        return None
    return {"document": document, "flushed": bool(item.get("flushed", {}).get("BOOL"))}


def _json(raw: object) -> dict[str, Any] | None:
    if not isinstance(raw, str):
        return None
    try:
        found = json.loads(raw)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
