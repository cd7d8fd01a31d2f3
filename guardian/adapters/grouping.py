"""The activity table's opening items and the evidence bucket's window objects for alert groups, and the per-second
publish cap (implements
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
    _bucket: str

    def group_item(self, table: str, group_id: str) -> dict[str, Any] | None:
        """The group's opening item (its signed document), or None."""
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

    def group_keys(self, prefix: str, limit: int) -> list[str]:
        """The evidence bucket's keys under ``prefix`` (1,000 to a ListObjectsV2 call), at most about ``limit``."""
        found: list[str] = []
        paginator = self._clients.s3().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            found += [str(o["Key"]) for o in page.get("Contents", [])]
            if len(found) >= limit:
                break
        return found

    def group_document(self, key: str) -> dict[str, Any] | None:
        """A window's ``opening.json`` (None if it is not there, or not JSON)."""
        try:
            body = self._clients.s3().get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        return _json(body.decode("utf-8", "replace"))

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
    return None if document is None else {"document": document}


def _json(raw: object) -> dict[str, Any] | None:
    if not isinstance(raw, str):
        return None
    try:
        found = json.loads(raw)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
