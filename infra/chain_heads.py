"""The security account keeps every guardian's evidence chain head and alarms when one goes backwards (issue 22).

Each guardian's sweep puts its chain's new head on the security account's bus (source ``cloudtrail-guardian.chain``,
from its own role: the bus admits the guardians' roles only). A rule hands the heads of the admitted guardian
accounts (never the security account's own: anyone there could put one) to a small function, which keeps the last
heads of each origin (account, Region, stack) in a DynamoDB table with conditional writes and publishes CRITICAL to
the central topic when a head goes backwards (``guardian.model.chain_heads``). The account it keys by is the
event's, which EventBridge sets to the sender's: a guardian cannot speak for another account.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Duration, RemovalPolicy, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.alarms import queue_alarm
from infra.dead_letters import DeadLetterQueue
from infra.guardian_function import GuardianFunction
from infra.runtime_asset import NOTIFIER_ONLY, REMEDIATION_ONLY, SWEEP_ONLY

HANDLER = "guardian.entrypoints.chain_heads.lambda_handler"
HEAD_SOURCE = "cloudtrail-guardian.chain"  # guardian.adapters.heartbeat sends it (infra never imports guardian)
HEAD_DETAIL_TYPE = "Guardian Evidence Chain Head"
NAME = "cloudtrail-guardian-chain-heads"
MAX_LISTED_ACCOUNTS = 100  # beyond, the pattern nears EventBridge's 2,048 characters: the bus policy admits alone
LOG_RETENTION_DAYS = 365


def chain_head_pattern(security_account: str, accounts: Sequence[str] | None) -> events.EventPattern:
    """The heads of the admitted guardian accounts (``None``: any account but this one, the bus policy admitting
    only the organization's guardians)."""
    listed = sorted(set(accounts or ()) - {security_account})
    return events.EventPattern(
        source=[HEAD_SOURCE],
        detail_type=[HEAD_DETAIL_TYPE],
        account=listed
        if accounts is not None and 0 < len(listed) <= MAX_LISTED_ACCOUNTS
        else events.Match.anything_but(security_account),
    )


class ChainHeads(Construct):
    """The table, the function, its rule, its dead-letter queue and that queue's alarm."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        security_account: str,
        accounts: Sequence[str] | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=NAME,  # `guardian verify --security-profile` reads it by name
            partition_key=dynamodb.Attribute(name="origin", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,  # the heads are what a shortened chain is compared with
            deletion_protection=True,
        )
        self.dead_letters = DeadLetterQueue(
            self, "DeadLetters", of="the chain-heads function", queue_name=f"{NAME}-dead-letters"
        ).queue
        self.function = GuardianFunction(
            self,
            "Function",
            handler=HANDLER,
            description="CloudTrail Guardian: keep each guardian's evidence chain head, alarm when one goes backwards",
            environment={"GUARDIAN_HEADS_TABLE": self.table.table_name, "GUARDIAN_CENTRAL_TOPIC_ARN": topic.topic_arn},
            log_retention_days=LOG_RETENTION_DAYS,
            timeout=Duration.seconds(30),
            retry_attempts=2,
            dead_letter_queue=self.dead_letters,
            function_name=NAME,
            leave_out=(*SWEEP_ONLY, *REMEDIATION_ONLY, *NOTIFIER_ONLY),
            memory_size=128,
        )
        role = self.function.role
        self.table.grant(role, "dynamodb:GetItem", "dynamodb:PutItem")
        topic.grant_publish(role)  # and, the topic being encrypted, its key's GenerateDataKey*/Decrypt
        Validations.of(role).acknowledge(
            Ack(
                id="AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                reason="Publishing to the central topic, encrypted with its own key, needs GenerateDataKey and "
                "GenerateDataKeyWithoutPlaintext on that one key only (its ARN is the resource).",
            )
        )
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=NAME,
            description="CloudTrail Guardian: each guardian's evidence chain head, to be kept and compared",
            event_pattern=chain_head_pattern(security_account, accounts),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.function.function,
                dead_letter_queue=self.dead_letters,
                retry_attempts=8,
                max_event_age=Duration.hours(6),
            )
        )
        self.alarm = queue_alarm(
            self,
            self.dead_letters,
            "CloudTrail Guardian could not keep or compare a guardian's evidence chain head: the event is in the "
            f"dead-letter queue {NAME}-dead-letters (check the function's logs, then replay it)",
            topic,
            name=f"{NAME}-dead-letters",
        )
