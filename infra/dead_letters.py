"""The dead-letter queue that keeps every event the guardian could not handle, for replay."""

from __future__ import annotations

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Duration, Validations
from aws_cdk import aws_sqs as sqs
from constructs import Construct


class DeadLetterQueue(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, of: str = "the guardian", queue_name: str | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        # SQS-managed encryption: EventBridge can deliver to it without a key policy (a CMK would need one).
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            queue_name=queue_name,
        )
        Validations.of(self.queue).acknowledge(
            Ack(id="AwsSolutions-SQS3", reason=f"This queue is itself the dead-letter queue of {of}.")
        )
