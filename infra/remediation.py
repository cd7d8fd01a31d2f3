"""The remediation function (one per CloudTrail event) and its least-privilege role."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment as Ack
from aws_cdk import ArnFormat, Duration, Fn, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.evidence_store import EvidenceStore
from infra.guardian_function import GuardianFunction
from infra.nag import any_resource, localized
from infra.runtime_asset import CHAIN_HEADS_ONLY, NOTIFIER_ONLY, SWEEP_ONLY
from infra.security_hub import grant_findings

HANDLER = "guardian.entrypoints.handler.lambda_handler"
# Reserved concurrency (docs/operations.md, "Under a burst"): enough for a flood of 10,000 denied calls a minute
# (about 35 in flight at 0.2 s each) beside 10 trails healing at once; bounded, so a flood of events takes at most this
# many of the account's executions (1,000 by default) and CloudTrail's write quota sees at most this many heals; and
# held for the guardian, so an insider who exhausts the account's concurrency cannot throttle the heals. Events
# beyond it wait in Lambda's asynchronous queue (retried up to the 6-hour event age), none dropped. Lambda keeps 100
# unreserved: the account's concurrency must be at least 151 (this, the sweep's 1, and 100). A heal waiting its turn
# on the write quota (guardian.flows.write_turns) holds its execution: N trails stopped over and over hold about
# (stops a second) x N/2 s of them. The default of the `remediationConcurrency` setting (0: unreserved).
RESERVED_CONCURRENCY = 50
TRAIL_READS = ["cloudtrail:GetEventSelectors", "cloudtrail:GetInsightSelectors", "cloudtrail:ListTags"]
# What putting a trail back to its baseline takes; nothing that stops, deletes or untags a trail.
TRAIL_REPAIRS = [
    "cloudtrail:GetTrailStatus",
    "cloudtrail:StartLogging",
    "cloudtrail:CreateTrail",
    "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:PutInsightSelectors",
    "cloudtrail:AddTags",
]


def grant_trail_repairs(role: iam.IRole, stack: Stack) -> None:
    """Read any trail of this account and put it back; pass a trail's own CloudWatch Logs role to CloudTrail."""
    trails = stack.format_arn(service="cloudtrail", region="*", resource="trail", resource_name="*")
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="ReadAndRepairThisAccountsTrails", actions=[*TRAIL_READS, *TRAIL_REPAIRS], resources=[trails]
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PassTrailLogsRoleToCloudTrailOnly",
            actions=["iam:PassRole"],
            resources=[stack.format_arn(service="iam", region="", resource="role", resource_name="*")],
            conditions={"StringEquals": {"iam:PassedToService": "cloudtrail.amazonaws.com"}},
        )
    )


# A trail's bucket: read its protected settings, put them back, recreate it. DeleteBucketLifecycle and
# DeletePublicAccessBlock are authorised by the Put actions.
BUCKET_REPAIRS = [
    "s3:GetBucketLocation",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:GetLifecycleConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:GetBucketVersioning",
    "s3:PutBucketVersioning",
    "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
    "s3:GetBucketAcl",
    "s3:PutBucketAcl",
    "s3:GetEncryptionConfiguration",
    "s3:PutEncryptionConfiguration",  # also DeleteBucketEncryption
]
LOG_GROUP_REPAIRS = [
    "logs:DescribeLogGroups",
    "logs:CreateLogGroup",
    "logs:*RetentionPolicy",  # Put, Delete (wildcards keep the roles' inline policies within IAM's size)
    "logs:*KmsKey",  # Associate, Disassociate: a key put on a trail's log group by anyone but `guardian approve`
    "logs:*Transformer",  # Get, Delete (and Put, an approved one back): a transformer rewrites the trail's records
]
# GetKeyPolicy and PutKeyPolicy: only ever to give CloudTrail back its use of a trail's key (nothing else is put).
KEY_REPAIRS = ["kms:DescribeKey", "kms:EnableKey", "kms:CancelKeyDeletion", "kms:GetKeyPolicy", "kms:PutKeyPolicy"]
DATA_STORE_REPAIRS = [
    "cloudtrail:GetEventDataStore",
    "cloudtrail:StartEventDataStoreIngestion",
    "cloudtrail:RestoreEventDataStore",
    "cloudtrail:UpdateEventDataStore",  # only its recorded settings back (retention, protection, selectors)
]


def grant_resource_repairs(role: iam.IRole, stack: Stack) -> None:
    """A trail's bucket, log group and KMS key: read them and put them back. Buckets are limited to this account's
    by ``s3:ResourceAccount``; recreating a deleted bucket (CreateBucket) cannot be, as it has no owner yet."""
    buckets = stack.format_arn(service="s3", region="", account="", resource="*")
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="RepairThisAccountsTrailBuckets",
            actions=BUCKET_REPAIRS,
            resources=[buckets],
            conditions={"StringEquals": {"s3:ResourceAccount": stack.account}},
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(sid="RecreateADeletedTrailBucket", actions=["s3:CreateBucket"], resources=[buckets])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="RepairTrailLogGroups",
            actions=LOG_GROUP_REPAIRS,
            resources=[
                stack.format_arn(
                    service="logs",
                    region="*",
                    resource="log-group",
                    resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PutATrailsKeyBack",
            actions=KEY_REPAIRS,
            resources=[stack.format_arn(service="kms", region="*", resource="key", resource_name="*")],
        )
    )


RESOURCE_ACKS = [
    Ack(
        id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::*]",
        reason="A trail may deliver to any bucket; every bucket action but CreateBucket is limited to this "
        "account's buckets (s3:ResourceAccount), and CreateBucket only recreates a deleted trail bucket.",
    ),
    Ack(
        id="AwsSolutions-IAM5[Action::logs:*RetentionPolicy]",
        reason="Put and Delete RetentionPolicy, on a trail's log group: the baseline's retention, or never expire.",
    ),
    Ack(
        id="AwsSolutions-IAM5[Action::logs:*KmsKey]",
        reason="Associate and Disassociate KmsKey, on a trail's log group: its baseline key, or none.",
    ),
    Ack(
        id="AwsSolutions-IAM5[Action::logs:*Transformer]",
        reason="Get, Delete and Put Transformer, on a trail's log group: none, or the baseline's approved one.",
    ),
    Ack(
        id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:*:<AWS::AccountId>:log-group:*]",
        reason="A trail may deliver to any log group of this account; only retention, key, transformer and "
        "re-creation.",
    ),
    Ack(
        id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:<AWS::AccountId>:key/*]",
        reason="A trail's key can be any key of this account; only describe, enable, or cancel a deletion, and "
        "only after finding that the key encrypts a protected trail.",
    ),
]

TOPIC_KEY_ACK = Ack(
    id="AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
    reason="Publishing to the KMS-encrypted alerts topic needs the GenerateDataKey family on the topic's own customer "
    "managed key, and only that key (granted by topic.grant_publish).",
)
PASS_ROLE_ACK = Ack(
    id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*]",
    reason="A recreated or repaired trail passes its own CloudWatch Logs role, whatever its name; iam:PassRole is "
    "limited to this account and to the cloudtrail.amazonaws.com service.",
)


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
        alert_group_minutes: int = 5,
        reserved_concurrency: int = RESERVED_CONCURRENCY,
        function_name: str | None = None,
        activity_table_name: str | None = None,
        extra_files: Mapping[str, str] | None = None,
        mode: str = "heal",
        security_hub: str = "auto",
    ) -> None:
        """``extra_files``: the compiled watch rules, shipped in the asset as ``guardian/watch_rules.json``;
        ``security_hub``: auto (each alert copied as a finding where Security Hub is enabled) or off;
        ``activity_table_name``: ``<stackName>-activity``, the name the SCP denies writes to it by (its tag may not
        count: DynamoDB's tag conditions can be off for an account)."""
        self._environment = {
            "GUARDIAN_TOPIC_ARN": topic.topic_arn,
            "GUARDIAN_EVIDENCE_BUCKET": evidence.bucket.bucket_name,
            "GUARDIAN_EXEMPT_PRINCIPALS": json.dumps(list(exempt_principals)),
            # observe: undo nothing, alert what would be undone (guardian.model.mode); unset is heal (4 KB is tight)
            **({"GUARDIAN_MODE": mode} if mode != "heal" else {}),
            **({"GUARDIAN_SECURITY_HUB": "off"} if security_hub == "off" else {}),  # unset is auto
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
            reserved_concurrency=reserved_concurrency or None,  # 0: unreserved (remediationConcurrency)
            function_name=function_name,
            leave_out=(*SWEEP_ONLY, *NOTIFIER_ONLY, *CHAIN_HEADS_ONLY),
            extra_files=extra_files,
            cold_path_bytecode=True,  # its cold start is the heal's (infra.bytecode)
        )
        # The function's own role first, then the guardian's other roles: calls made with any of them are its own.
        self.function.add_environment(
            "GUARDIAN_SELF_ROLE_ARN", Fn.join(",", [self.role.role_arn, *other_guardian_roles])
        )
        stack = Stack.of(self)
        self.trail_arns = stack.format_arn(service="cloudtrail", region="*", resource="trail", resource_name="*")
        # Heal, verify, explain a failed heal; restore a trail to its baseline; record approved changes.
        grant_trail_repairs(self.role, stack)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeTheseTrails", actions=["cloudtrail:DescribeTrails"], resources=[self.trail_arns]
            )
        )
        evidence.grant_evidence(self.role)
        evidence.grant_blind_windows(self.role)
        # A healed trail's blind window, read back from CloudTrail's Event history (LookupEvents has no resource type).
        self.role.add_to_policy(
            iam.PolicyStatement(sid="ReadTheBlindWindow", actions=["cloudtrail:LookupEvents"], resources=["*"])
        )
        any_resource(
            self.role,
            "cloudtrail:LookupEvents (no resource type) reads back what the account did while a healed trail was off.",
        )
        evidence.grant_baselines(self.role, list_them=True)  # which trails a KMS key protects
        evidence.grant_selftests(self.role, write=False)  # is a StopLogging of the sentinel a self-test?
        grant_resource_repairs(self.role, stack)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="RestartCloudTrailLake",
                actions=DATA_STORE_REPAIRS,
                resources=[
                    stack.format_arn(service="cloudtrail", region="*", resource="eventdatastore", resource_name="*")
                ],
            )
        )
        topic.grant_publish(self.role)  # sns:Publish on this topic, and the KMS actions its key needs
        if security_hub != "off":
            grant_findings(self, self.role, evidence)  # infra.security_hub: nothing broader
        # Repeated tampering: one item per counted change, keyed by principal and time, expiring by itself.
        self.activity = dynamodb.Table(
            self,
            "Activity",
            table_name=activity_table_name,
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
                # GetItem: the alert ledger; UpdateItem: alert groups' digests claimed, the publish cap's counter
                actions=["dynamodb:PutItem", "dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[self.activity.table_arn],
            )
        )
        self.function.add_environment("GUARDIAN_ACTIVITY_TABLE", self.activity.table_name)
        self.function.add_environment("GUARDIAN_REPEAT_THRESHOLD", str(repeat_threshold))
        self.function.add_environment("GUARDIAN_REPEAT_WINDOW_MINUTES", str(repeat_window_minutes))
        self.function.add_environment("GUARDIAN_ALERT_GROUP_MINUTES", str(alert_group_minutes))
        acknowledgements = [
            Ack(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudtrail:*:<AWS::AccountId>:trail/*]",
                reason="The guardian must heal any trail of this account, in any Region, including trails created "
                "after deployment; the account is fixed, only trail names and Regions are open.",
            ),
            *evidence.acknowledgements(baselines=True, selftests=True),
            PASS_ROLE_ACK,
            *RESOURCE_ACKS,
            Ack(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudtrail:*:<AWS::AccountId>:eventdatastore/*]",
                reason="Every CloudTrail Lake event data store of this account is protected, in any Region; only "
                "read, start ingestion, restore and put back its recorded settings.",
            ),
            TOPIC_KEY_ACK,
        ]
        Validations.of(self.role).acknowledge(*localized(stack, acknowledgements))

    def let_flush_alert_groups(self, sweep: GuardianFunction) -> None:
        """The sweep sends closed windows' digests (one Query of the table a sweep), under the same publish cap,
        and keeps its alerts' ledger in the table: the table and these four calls on it, nothing else. A policy of its
        own: the sweep role's default policy is at the size where the CDK spills it into managed policies."""
        iam.Policy(
            Stack.of(self),
            "SweepAlertGroups",
            roles=[sweep.role],
            statements=[
                iam.PolicyStatement(
                    sid="FlushAlertGroups",
                    actions=["dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                    resources=[self.activity.table_arn],
                )
            ],
        )
        sweep.function.add_environment("GUARDIAN_ACTIVITY_TABLE", self.activity.table_name)
