"""The remediation function and its least-privilege role."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.evidence_store import EVIDENCE_PREFIX, EvidenceStore
from infra.runtime_asset import stage_runtime
from infra.settings import ALL_LOG_RETENTION_DAYS

HANDLER = "guardian.handler.lambda_handler"
RUNTIME = lambda_.Runtime.PYTHON_3_14  # the newest Python runtime (cdk-nag AwsSolutions-L1)


def retention_days(days: int) -> logs.RetentionDays:
    """CDK names retention periods (ONE_YEAR...); they are declared in the same order as the day counts."""
    members = [m for m in logs.RetentionDays if m is not logs.RetentionDays.INFINITE]
    return dict(zip(ALL_LOG_RETENTION_DAYS, members, strict=True))[days]


class RemediationFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        evidence: EvidenceStore,
        dead_letter_queue: sqs.IQueue,
        exempt_principals: Sequence[str],
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.log_group = logs.LogGroup(self, "Logs", retention=retention_days(log_retention_days))
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="CloudTrail Guardian remediation: restart logging, verify, write evidence, alert",
        )
        self.trail_arns = stack.format_arn(service="cloudtrail", region="*", resource="trail", resource_name="*")
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="HealAndVerifyThisAccountsTrails",
                actions=["cloudtrail:StartLogging", "cloudtrail:GetTrailStatus", "cloudtrail:DescribeTrails"],
                resources=[self.trail_arns],
            )
        )
        # Write each record once; tag it with the alert's message id; read that tag on a duplicate delivery.
        # No GetObject, no ListBucket, no delete: the function cannot read or remove past evidence.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteEvidenceOnceAndMarkItAlerted",
                actions=["s3:PutObject", "s3:PutObjectTagging", "s3:GetObjectTagging"],
                resources=[evidence.evidence_objects_arn()],
            )
        )
        topic.grant_publish(self.role)  # sns:Publish on this topic, and the KMS actions its key needs
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            description="CloudTrail Guardian: heals stopped trails, alerts, keeps evidence",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(stage_runtime())),
            role=self.role,
            memory_size=256,
            timeout=Duration.seconds(60),
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=2,
            max_event_age=Duration.hours(6),
            environment={
                "GUARDIAN_TOPIC_ARN": topic.topic_arn,
                "GUARDIAN_EVIDENCE_BUCKET": evidence.bucket.bucket_name,
                "GUARDIAN_SELF_ROLE_ARN": self.role.role_arn,
                "GUARDIAN_EXEMPT_PRINCIPALS": json.dumps(list(exempt_principals)),
            },
        )
        Validations.of(self.role).acknowledge(
            Ack(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudtrail:*:<AWS::AccountId>:trail/*]",
                reason="The guardian must heal any trail of this account, in any Region, including trails created "
                "after deployment; the account is fixed, only trail names and Regions are open.",
            ),
            Ack(
                id=f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(evidence.cfn_bucket)}.Arn>/{EVIDENCE_PREFIX}*]",
                reason="Evidence keys are derived from each event's eventID; the grant is limited to the evidence/ "
                "prefix of the guardian's own bucket.",
            ),
            Ack(
                id="AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                reason="Publishing to the KMS-encrypted alerts topic needs the GenerateDataKey family on the topic's "
                "own customer managed key, and only that key (granted by topic.grant_publish).",
            ),
        )
