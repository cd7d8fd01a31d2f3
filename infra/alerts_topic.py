"""The alerts topic: KMS-encrypted with a customer managed key, SSL only, one email-json subscription per address, each
with its minimum severity (:mod:`infra.recipients`)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.recipients import Recipient, subscribe

# AWS services that publish to the topic: CloudWatch (alarms) and EventBridge (rules targeting the topic).
SERVICE_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


class AlertsTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, emails: Sequence[Recipient]) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        self.key = kms.Key(
            self,
            "Key",
            description="CloudTrail Guardian alerts topic",
            enable_key_rotation=True,
            # The alias names the key after the stack: the SCP in infra/policies protects it by this alias.
            alias=f"alias/{Stack.of(self).stack_name}-alerts",
        )
        # The AWS managed alias/aws/sns key cannot be used by service publishers; a customer managed key can,
        # with a key policy statement per service, limited to this account.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAwsServicesToPublishToTheEncryptedTopic",
                principals=[iam.ServicePrincipal(p) for p in SERVICE_PUBLISHERS],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="CloudTrail Guardian",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        for recipient in emails:
            subscribe(self.topic, recipient)
