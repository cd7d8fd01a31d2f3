"""The default event bus of a Region and a forwarder's dead-letter queue, as the sweep reads them
(:class:`guardian.ports.event_bus.EventBusCalls`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from guardian.ports.errors import error_code

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider


class EventBusAdapter:
    _clients: ClientProvider

    def default_bus_key(self, region: str) -> str | None:
        """The customer managed key the default bus encrypts with; None for EventBridge's AWS owned key (then
        DescribeEventBus returns no KmsKeyIdentifier)."""
        found = self._clients.events(region).describe_event_bus(Name="default")
        return found.get("KmsKeyIdentifier") or None

    def queue_depth(self, region: str, account_id: str, name: str) -> int | None:
        """The messages a queue of this account holds (ApproximateNumberOfMessages, those visible: nobody receives
        from a dead-letter queue, so none are in flight); None when there is no such queue. One GetQueueAttributes,
        on the URL SQS gives every queue: its endpoint, the account, the name."""
        sqs = self._clients.sqs(region)
        url = f"{sqs.meta.endpoint_url}/{account_id}/{name}"
        try:
            found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        except ClientError as exc:
            if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                return None
            raise
        return int(found.get("Attributes", {}).get("ApproximateNumberOfMessages", "0"))
