"""The security account's table of chain heads and its central topic (implements
:class:`guardian.ports.chain_heads.HeadStore` and :class:`~guardian.ports.chain_heads.CentralTopic`).

One item per origin (``origin``: account#Region#stack): the heads kept (JSON), the newest head's fields on their
own (what ``guardian verify --security-profile`` would read), the count of regressions, and a version: each write
is conditional on the version read, so two invocations never overwrite each other's head.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.model.chain_heads import Kept, Origin, kept_from_json, kept_to_json

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider


class ChainHeadsAdapter:
    def __init__(self, clients: ClientProvider, table: str, topic_arn: str) -> None:
        self._clients = clients
        self._table = table
        self._topic = topic_arn

    def kept(self, origin: Origin) -> Kept:
        item = (
            self._clients.dynamodb()
            .get_item(TableName=self._table, Key={"origin": {"S": origin.id}}, ConsistentRead=True)
            .get("Item")
        )
        if not item:
            return Kept()
        return kept_from_json(item["heads"]["S"], int(item["version"]["N"]), int(item["regressions"]["N"]))

    def keep(self, origin: Origin, kept: Kept, *, regression: str | None) -> bool:
        last = kept.last
        assert last is not None
        item: dict[str, Any] = {
            "origin": {"S": origin.id},
            "account": {"S": origin.account},
            "region": {"S": origin.region},
            "stack": {"S": origin.stack or "-"},
            "heads": {"S": kept_to_json(kept)},
            "version": {"N": str(kept.version + 1)},
            "regressions": {"N": str(kept.regressions)},
            "last_key": {"S": last.key},
            "last_sequence": {"N": str(last.sequence)},
            "last_written_at": {"S": last.to_json()["written_at"]},
            "last_sha256": {"S": last.sha256},
        }
        if regression is not None:
            item["last_regression"] = {"S": regression[:1000]}
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(origin)"}
            if kept.version == 0
            else {
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": {"N": str(kept.version)}},
            }
        )
        try:
            self._clients.dynamodb().put_item(TableName=self._table, Item=item, **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def publish(self, subject: str, message: str) -> None:
        self._clients.sns(self._topic.split(":")[3]).publish(
            TopicArn=self._topic,
            Subject=subject,
            Message=message,
            MessageAttributes={"severity": {"DataType": "String", "StringValue": "CRITICAL"}},
        )
