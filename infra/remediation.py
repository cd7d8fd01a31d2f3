"""The remediation function (one per CloudTrail event) and its least-privilege role."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Duration, Fn, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.evidence_store import EvidenceStore
from infra.guardian_function import GuardianFunction

HANDLER = "guardian.handler.lambda_handler"
TRAIL_READS = ["cloudtrail:GetEventSelectors", "cloudtrail:GetInsightSelectors", "cloudtrail:ListTags"]


class RemediationFunction(GuardianFunction):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        evidence: EvidenceStore,
        dead_letter_queue: sqs.IQueue,
        exempt_principals: Sequence[str | dict[str, str]],
        log_retention_days: int,
        other_guardian_roles: Sequence[str] = (),
        repeat_threshold: int = 3,
        repeat_window_minutes: int = 10,
    ) -> None:
        self._environment = {
            "GUARDIAN_TOPIC_ARN": topic.topic_arn,
            "GUARDIAN_EVIDENCE_BUCKET": evidence.bucket.bucket_name,
            "GUARDIAN_EXEMPT_PRINCIPALS": json.dumps(list(exempt_principals)),
        }
        super().__init__(
            scope,
            construct_id,
            handler=HANDLER,
            description="CloudTrail Guardian: heals stopped trails, alerts, keeps evidence",
            environment=self._environment,
            log_retention_days=log_retention_days,
            timeout=Duration.seconds(60),
            retry_attempts=2,
            dead_letter_queue=dead_letter_queue,
        )
        # The function's own role first, then the guardian's other roles: calls made with any of them are its own.
        self.function.add_environment(
            "GUARDIAN_SELF_ROLE_ARN", Fn.join(",", [self.role.role_arn, *other_guardian_roles])
        )
        stack = Stack.of(self)
        self.trail_arns = stack.format_arn(service="cloudtrail", region="*", resource="trail", resource_name="*")
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="HealAndVerifyThisAccountsTrails",
                actions=["cloudtrail:StartLogging", "cloudtrail:GetTrailStatus", "cloudtrail:DescribeTrails"],
                resources=[self.trail_arns],
            )
        )
        # After a change by an exempt principal, the trail as it now is becomes its baseline.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadTrailsToApproveExemptChanges", actions=TRAIL_READS, resources=[self.trail_arns]
            )
        )
        evidence.grant_evidence(self.role)
        evidence.grant_baselines(self.role, read=False)
        topic.grant_publish(self.role)  # sns:Publish on this topic, and the KMS actions its key needs
        # Repeated tampering: one item per counted change, keyed by principal and time, expiring by itself.
        self.activity = dynamodb.Table(
            self,
            "Activity",
            partition_key=dynamodb.Attribute(name="principal", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="at", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="expires_at",
            removal_policy=RemovalPolicy.DESTROY,  # a rolling window, not evidence: the evidence bucket keeps that
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="CountChangesPerPrincipal",
                actions=["dynamodb:PutItem", "dynamodb:Query"],
                resources=[self.activity.table_arn],
            )
        )
        self.function.add_environment("GUARDIAN_ACTIVITY_TABLE", self.activity.table_name)
        self.function.add_environment("GUARDIAN_REPEAT_THRESHOLD", str(repeat_threshold))
        self.function.add_environment("GUARDIAN_REPEAT_WINDOW_MINUTES", str(repeat_window_minutes))
        Validations.of(self.role).acknowledge(
            Ack(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudtrail:*:<AWS::AccountId>:trail/*]",
                reason="The guardian must heal any trail of this account, in any Region, including trails created "
                "after deployment; the account is fixed, only trail names and Regions are open.",
            ),
            *evidence.acknowledgements(baselines=True),
            Ack(
                id="AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                reason="Publishing to the KMS-encrypted alerts topic needs the GenerateDataKey family on the topic's "
                "own customer managed key, and only that key (granted by topic.grant_publish).",
            ),
        )
