"""The sweep: a scheduled function that checks every protected trail against its baseline and heals drift,
the backstop for changes EventBridge never delivered. It also runs as soon as the stack is created or updated
(CloudFormation's own Stack Status Change event), so baselines are recorded at deployment. No custom resource:
nothing extra to deploy, and nothing that can fail a deployment."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Duration, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.evidence_store import EvidenceStore
from infra.guardian_function import GuardianFunction
from infra.nag import any_resource, localized
from infra.names import under_prefix
from infra.remediation import PASS_ROLE_ACK, RESOURCE_ACKS, TOPIC_KEY_ACK, grant_resource_repairs, grant_trail_repairs
from infra.runtime_asset import CHAIN_HEADS_ONLY, NOTIFIER_ONLY, REMEDIATION_ONLY
from infra.security_hub import findings_statements

SWEEP_MEMORY_MB = 1024
HANDLER = "guardian.entrypoints.sweep.lambda_handler"
METRIC_NAMESPACE = "CloudTrailGuardian"


class SweepSchedule(GuardianFunction):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        evidence: EvidenceStore,
        regions: Sequence[str],
        minutes: int,
        protect_trails: Sequence[str],
        protect_tag: str,
        exempt_principals: Sequence[str | dict[str, str]],
        log_retention_days: int,
        rule_prefix: str,
        own_rules: Sequence[str] = (),
        inline_extra: Mapping[str, str] | None = None,
        function_name: str | None = None,
        mode: str = "heal",
        security_hub: str = "auto",
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            handler=HANDLER,
            description="CloudTrail Guardian sweep: restores protected trails to their baselines",
            environment={
                "GUARDIAN_TOPIC_ARN": topic.topic_arn,
                "GUARDIAN_EVIDENCE_BUCKET": evidence.bucket.bucket_name,
                "GUARDIAN_SWEEP_REGIONS": json.dumps(list(regions), separators=(",", ":")),
                "GUARDIAN_PROTECT_TRAILS": json.dumps(list(protect_trails)),
                "GUARDIAN_PROTECT_TAG": protect_tag,
                "GUARDIAN_EXEMPT_PRINCIPALS": json.dumps(list(exempt_principals)),
                # observe: the trails' repairs recorded, not made (guardian.model.mode); unset is heal
                **({"GUARDIAN_MODE": mode} if mode != "heal" else {}),
                # off: `guardian status` says so (the sweep's environment is what it reads); unset is auto
                **({"GUARDIAN_SECURITY_HUB": "off"} if security_hub == "off" else {}),
            },
            log_retention_days=log_retention_days,
            timeout=Duration.seconds(min(max(60, minutes * 60 - 10), 900)),
            retry_attempts=0,  # the next scheduled run is the retry
            function_name=function_name,
            reserved_concurrency=1,  # never two sweeps at once
            # Chosen from `make bench`: a 17-Region sweep of 20 trails each is bound by CPU below about 1.1 GB (its
            # CPU time x 1,769 MB / its wall time), so 1 GB runs it near its wall time at the cost of 256 MB.
            memory_size=SWEEP_MEMORY_MB,
            leave_out=(*REMEDIATION_ONLY, *NOTIFIER_ONLY, *CHAIN_HEADS_ONLY),
            inline_extra=inline_extra,
        )
        self.function.add_environment("GUARDIAN_SELF_ROLE_ARN", self.role.role_arn)
        self.function.add_environment(  # compact: the environment holds 4 KB
            "GUARDIAN_OWN_RULES", json.dumps(under_prefix(own_rules, f"{rule_prefix}-"), separators=(",", ":"))
        )
        stack = Stack.of(self)
        # What the sweep checks of the guardian itself and of CloudTrail Lake (infra.own_checks, infra.forwarder): a
        # customer managed policy the guardian names, as its role's inline policies are near IAM's 10,240 characters
        # in all (left to CDK, the excess spilled into a managed policy of a generated name that nothing guarded). Its
        # name is known to the IAM guard and the SCP (`<stackName>-` policies): a new default version of it, or its
        # detachment from the role, is alerted CRITICAL and denied like a change to the role's own policies. IAM
        # names are global: the Region in it keeps two homes of one account apart.
        self.checks = iam.ManagedPolicy(
            self,
            "Checks",
            managed_policy_name=f"{rule_prefix}-sweep-checks-{stack.region}",
            description="CloudTrail Guardian: what the sweep checks of the guardian itself and of CloudTrail Lake",
            roles=[self.role],
        )
        if security_hub != "off":  # the sweep's alerts as findings too (guardian.flows.sweep_findings)
            self.checks.add_statements(*findings_statements(stack))
        # Keep the guardian's own rules as deployed, in its home Region and each forwarder's (names are fixed:
        # "<stackName>-..."): their state, pattern and targets.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="KeepTheGuardiansOwnRulesWorking",
                actions=[
                    "events:DescribeRule",
                    "events:EnableRule",
                    "events:ListTargetsByRule",
                    "events:PutRule",
                    "events:PutTargets",
                    "events:RemoveTargets",
                ],
                resources=[
                    stack.format_arn(service="events", region="*", resource="rule", resource_name=f"{rule_prefix}-*")
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PutBackTheForwardersRole",
                actions=["iam:PassRole"],
                resources=[
                    stack.format_arn(
                        service="iam", region="", resource="role", resource_name=f"{rule_prefix}-forwarder-*"
                    )
                ],
                conditions={"StringEquals": {"iam:PassedToService": "events.amazonaws.com"}},
            )
        )
        grant_trail_repairs(self.role, stack)
        grant_resource_repairs(self.role, stack)  # the trails' buckets, log groups and keys
        # Listing trails (DescribeTrails with no names) is granted on *: it is read-only, and the sweep must see
        # every trail of the Region whatever resource-level support listing has. LookupEvents (CloudTrail's record
        # of an exempt change, before its approval) has no resource type at all; nor have CloudWatch Logs' account
        # policies (DescribeAccountPolicies, with GetDataProtectionPolicy and GetTransformer to see each type).
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListTrailsAndAccountLogPolicies",
                actions=[
                    "cloudtrail:DescribeTrails",
                    "cloudtrail:LookupEvents",
                    "logs:DescribeAccountPolicies",
                    "logs:GetDataProtectionPolicy",
                    "logs:GetTransformer",
                ],
                resources=["*"],
            )
        )
        # Each protected trail's own log and digest files, validated against CloudTrail's signed digests
        # (guardian.flows.log_files): list and read under AWSLogs/ in this account's buckets, and CloudTrail's public
        # keys (ListPublicKeys has no resource type).
        this_account = {"StringEquals": {"s3:ResourceAccount": stack.account}}
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadTrailLogFiles",
                actions=["s3:GetObject"],
                resources=[
                    stack.format_arn(service="s3", region="", account="", resource="*", resource_name="AWSLogs/*")
                ],
                conditions=this_account,
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListTrailDigestFiles",
                actions=["s3:ListBucket"],
                resources=[stack.format_arn(service="s3", region="", account="", resource="*")],
                conditions=this_account,
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(sid="ReadCloudTrailsPublicKeys", actions=["cloudtrail:ListPublicKeys"], resources=["*"])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishSweepMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
            )
        )
        evidence.grant_evidence(self.role)
        evidence.grant_blind_windows(self.role, settle=True)
        evidence.grant_baselines(self.role, list_them=True)
        evidence.grant_digests(self.role)
        evidence.grant_selftests(self.role, write=True)  # `guardian selftest` registers one
        topic.grant_publish(self.role)
        self.schedule = events.Rule(
            self,
            "Schedule",
            rule_name=f"{rule_prefix}-sweep-schedule",
            description=f"CloudTrail Guardian sweep, every {minutes} minute(s)",
            schedule=events.Schedule.rate(Duration.minutes(minutes)),
        )
        self.schedule.add_target(targets.LambdaFunction(self.function, retry_attempts=0))
        # At deployment: record every protected trail's baseline now, not at the first scheduled run.
        self.after_deploy = events.Rule(
            self,
            "AfterDeploy",
            rule_name=f"{rule_prefix}-sweep-after-deploy",
            description="CloudTrail Guardian sweep, as soon as its stack is created or updated",
            event_pattern=events.EventPattern(
                source=["aws.cloudformation"],
                detail_type=["CloudFormation Stack Status Change"],
                detail={
                    "stack-id": [stack.stack_id],
                    "status-details": {"status": ["CREATE_COMPLETE", "UPDATE_COMPLETE"]},
                },
            ),
        )
        self.after_deploy.add_target(targets.LambdaFunction(self.function, retry_attempts=2))
        any_resource(
            self.role,
            "Only read and metric actions: cloudtrail:DescribeTrails to list the Region's trails, "
            "cloudtrail:LookupEvents (no resource type) to confirm an exempt change from CloudTrail's own record, "
            "cloudtrail:ListPublicKeys (no resource type) to verify CloudTrail's signed digest files, "
            "and cloudwatch:PutMetricData, which has no resource type and is limited by a namespace condition.",
        )
        acknowledgements = [
            Ack(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudtrail:*:<AWS::AccountId>:trail/*]",
                reason="The sweep checks and repairs every trail of this account in every Region, including trails "
                "created after deployment; the account is fixed, only trail names and Regions are open.",
            ),
            PASS_ROLE_ACK,
            *RESOURCE_ACKS,
            Ack(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::*/AWSLogs/*]",
                reason="A trail may deliver to any bucket of this account (s3:ResourceAccount): the sweep reads only "
                "its log and digest files, under AWSLogs/, to validate them against CloudTrail's signed digests.",
            ),
            Ack(
                id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:*:<AWS::AccountId>:rule/{rule_prefix}-*]",
                reason="The guardian's own rules, all named after its stack, in its home Region and every "
                "forwarder's: the sweep puts their state, pattern and targets back if someone changed them.",
            ),
            Ack(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/"
                f"{rule_prefix}-forwarder-*]",
                reason="The forwarders' own roles (their stacks are named after the guardian's): put back as a "
                "forwarding rule's target role, and passed to EventBridge only.",
            ),
            *evidence.acknowledgements(baselines=True, digests=True, selftests=True),
            TOPIC_KEY_ACK,
        ]
        Validations.of(self.role).acknowledge(*localized(stack, acknowledgements))
