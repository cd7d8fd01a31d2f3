"""The read-only role the org-wide console reads each account through (``guardian status --org``, ``incidents --org``,
``report --org``, ``verify --org``): ``<stackName>-console-read``, the stack's ``ConsoleReadRole`` output, trusted by
one account only (the security account, or the StackSet's ``ConsoleReadAccount``); no role when none is named. By
default any principal of that account may assume it; ``consoleReaders`` (StackSet: ``ConsoleReaders``) narrows the
trust to those roles of it (``aws:PrincipalArn``, which names a role whatever session it is assumed with).

Least privilege: the reads those commands make (:data:`READS`, each with what reads it; a test records the console's
calls against it), on the guardian's own stack, functions, bucket, key, queue, alarms and rules where IAM can name
them. No write. The role carries the guardian's tag, as every role of the stack: the service control policy then
denies an insider any change to it, and its policy, reads only, makes the SCP's exemptions of the tag moot.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment as Ack
from aws_cdk import ArnFormat, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import any_resource, localized

ROLE_SUFFIX = "-console-read"
OUTPUT = "ConsoleReadRole"
# Every action the role allows, and which of the console's reads needs it.
READS: dict[str, str] = {
    "cloudformation:DescribeStacks": "stack.find: the stack's outputs",
    "cloudformation:ListStacks": "org: a StackSet instance's name (StackSet-<set>-<id>), to describe it",
    "cloudformation:GetTemplate": "schedule: the sweep's interval as deployed (report coverage, verify)",
    "lambda:GetFunctionConfiguration": "status, report: the functions' settings and mode",
    "s3:ListBucket": "incidents, report, verify: the evidence and digests of a period",
    "s3:ListBucketVersions": "verify, report: every version of a record",
    "s3:GetBucketObjectLockConfiguration": "verify: the bucket's default retention",
    "s3:GetObject": "status (baselines), incidents, report, verify: the records and digests",
    "s3:GetObjectVersion": "verify: each version of a record",
    "s3:GetObjectRetention": "incidents, report, verify: each record's Object Lock mode and date",
    "kms:GetPublicKey": "the signing key's public half: signatures are verified locally",
    "cloudwatch:GetMetricStatistics": "status, report: the sweep's runs (AWS/Lambda Invocations less Errors)",
    "cloudwatch:DescribeAlarms": "status: the guardian's alarms",
    "sqs:GetQueueAttributes": "status: the dead-letter queue's depth",
    "cloudtrail:DescribeTrails": "status: the trails of each Region",
    "cloudtrail:GetTrailStatus": "status: logging or not, delivery errors",
    "cloudtrail:GetEventSelectors": "status: a trail's configuration against its baseline",
    "cloudtrail:GetInsightSelectors": "status: a trail's configuration against its baseline",
    "cloudtrail:ListTags": "status: whether a trail is protected (protectTag)",
    "events:DescribeRule": "status, report: the guardian's rules, the sweep's schedule",
    "events:ListTargetsByRule": "status: each rule's targets",
    "events:ListRules": "status --org: the rules' states, 100 a request",
    "securityhub:DescribeHub": "status: whether Security Hub findings are on",
}


def role_name(stack_name: str) -> str:
    return f"{stack_name}{ROLE_SUFFIX}"


def trusted(reader_account: str, readers: Any = None) -> iam.IPrincipal:
    """The reading account; with ``readers`` (role ARNs of it, or a token for them), only those roles of it."""
    principal = iam.AccountPrincipal(reader_account)
    if not readers:
        return principal
    listed = list(readers) if isinstance(readers, tuple | list) else readers
    return principal.with_conditions({"ArnEquals": {"aws:PrincipalArn": listed}})


class ConsoleReadRole(Construct):
    """The role, its policy (:data:`READS` on the guardian's own resources) and the ``ConsoleReadRole`` output."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stack_name: str,
        reader_account: str,
        readers: Any = None,
        evidence_bucket: s3.IBucket,
        signing_key_arn: str,
        dead_letter_queue_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        evidence_bucket_arn = evidence_bucket.bucket_arn
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name(stack_name),
            assumed_by=trusted(reader_account, readers),
            description="CloudTrail Guardian: read-only, for the org-wide console (guardian status --org)",
            max_session_duration=Duration.hours(1),
        )

        def arn(service: str, resource: str, name: str, region: str | None = None, sep: str = "/") -> str:
            form = ArnFormat.COLON_RESOURCE_NAME if sep == ":" else ArnFormat.SLASH_RESOURCE_NAME
            return stack.format_arn(service=service, resource=resource, resource_name=name, region=region,
                                    arn_format=form)  # fmt: skip

        grants: list[tuple[list[str], list[str]]] = [
            (["cloudformation:DescribeStacks", "cloudformation:GetTemplate"], [stack.stack_id]),
            (
                ["lambda:GetFunctionConfiguration"],
                [arn("lambda", "function", f"{stack_name}-{f}", sep=":") for f in ("sweep", "remediation")],
            ),
            (["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketObjectLockConfiguration"], [evidence_bucket_arn]),
            (["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention"], [f"{evidence_bucket_arn}/*"]),
            (["kms:GetPublicKey"], [signing_key_arn]),
            (["cloudwatch:DescribeAlarms"], [arn("cloudwatch", "alarm", f"{stack_name}-*", sep=":")]),
            (["sqs:GetQueueAttributes"], [dead_letter_queue_arn]),
            (
                [
                    "cloudtrail:GetTrailStatus",
                    "cloudtrail:GetEventSelectors",
                    "cloudtrail:GetInsightSelectors",
                    "cloudtrail:ListTags",
                ],
                [f"arn:{stack.partition}:cloudtrail:*:*:trail/*"],
            ),
            (["events:DescribeRule", "events:ListTargetsByRule"], [arn("events", "rule", f"{stack_name}-*", "*")]),
            (["events:ListRules"], [arn("events", "rule", "*", "*")]),  # authorized on rule/*, whatever the prefix
            (["securityhub:DescribeHub"], [arn("securityhub", "hub", "default", "*")]),
            (["cloudtrail:DescribeTrails", "cloudwatch:GetMetricStatistics", "cloudformation:ListStacks"], ["*"]),
        ]
        policy = iam.Policy(self, "Reads", roles=[self.role])
        for actions, resources in grants:
            policy.add_statements(iam.PolicyStatement(actions=actions, resources=resources))
        any_resource(
            policy,
            "cloudtrail:DescribeTrails, cloudwatch:GetMetricStatistics and cloudformation:ListStacks have no resource "
            "type (the stacks' names only; DescribeStacks is this stack's alone).",
        )
        bucket_id = stack.resolve(stack.get_logical_id(evidence_bucket.node.default_child))  # type: ignore[arg-type]
        wildcards = {
            f"<{bucket_id}.Arn>/*": "every evidence record and digest is read (the bucket is the guardian's own)",
            f"arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:{stack_name}-*": "its alarms",
            "arn:<AWS::Partition>:cloudtrail:*:*:trail/*": "every trail (an organization trail's ARN is another "
            "account's), read only: status says whether each is logging and whole",
            f"arn:<AWS::Partition>:events:*:<AWS::AccountId>:rule/{stack_name}-*": "its own rules, in every Region",
            "arn:<AWS::Partition>:events:*:<AWS::AccountId>:rule/*": "ListRules is authorized on every rule; names "
            "and states only (the console asks for its own prefix)",
            "arn:<AWS::Partition>:securityhub:*:<AWS::AccountId>:hub/default": "the account's hub, in every Region",
        }
        acks = [
            Ack(id=f"AwsSolutions-IAM5[Resource::{r}]", reason=f"Read only: {why}.") for r, why in wildcards.items()
        ]
        Validations.of(policy).acknowledge(*localized(stack, acks))
        self.output = CfnOutput(scope, OUTPUT, value=self.role.role_name)
