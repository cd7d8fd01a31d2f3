"""CloudFormation as a caller. The self-protection rules leave out the calls CloudFormation makes (their
``sourceIPAddress`` is ``cloudformation.amazonaws.com``), but CloudFormation works for any stack of the account, an
insider's own as well as the guardian's. So:

- ``<stack>-guard-cfn-<kind>``: the same patterns, CloudFormation's calls only, go to the remediation function
  (marked ``{"guardian": "stack-call"}``, so they never take the heal path, and not to the sweep, whose successful
  runs feed the dead man's switch), which asks the guardian's own stack whether it was deploying that resource at
  that time (``guardian.flows.deployments``) and alerts CRITICAL when it was not, or when it cannot tell.
  These rules' names share one prefix, which the rule guard names once (an EventBridge pattern holds 2,048 chars).
- ``<stack>-guard-cfn-exec-role``: any stack operation, by any other stack, that passes the CDK's CloudFormation
  execution role (an administrator role every principal that may assume the CDK deploy role can use): HIGH, from
  EventBridge straight to the topic, and to the security account with the other guards.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.first_line import SubjectFirst
from infra.self_protection import API_CALL, CFN_SUFFIXES, SCHEMA, SCHEMA_VERSION, Watch, pattern

F = events.EventField.from_path
STACK_CALL = "stack-call"  # = guardian.model.stack_changes.STACK_CALL (infra does not import guardian)
CFN_RULE_INFIX = "-guard-cfn-"
EXEC_ROLE_SUFFIX = CFN_SUFFIXES[-1]  # "cfn-exec-role"
# The calls that take a role for CloudFormation to act with (recorded as requestParameters.roleARN).
EXEC_ROLE_CALLS = (
    "CreateStack",
    "UpdateStack",
    "CreateChangeSet",
    "DeleteStack",
    "ContinueUpdateRollback",
    "RollbackStack",
)


def exec_role_prefix(qualifier: str) -> str:
    """The CDK execution role of this account, in any Region: ``cdk-<qualifier>-cfn-exec-role-<account>-<region>``."""
    return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/cdk-{qualifier}-cfn-exec-role-"


def exec_role_pattern(qualifier: str, stack_id: str) -> events.EventPattern:
    """Any stack but the guardian's (named as the CDK CLI names it, or by its id) given the execution role."""
    return events.EventPattern(
        source=["aws.cloudformation"],
        detail_type=[API_CALL],
        detail={
            "eventSource": ["cloudformation.amazonaws.com"],
            "eventName": list(EXEC_ROLE_CALLS),
            "requestParameters": {
                "roleARN": [{"prefix": exec_role_prefix(qualifier)}],
                "stackName": [{"anything-but": [Aws.STACK_NAME, stack_id]}],
            },
        },
    )


def exec_role_message(stack_name: str) -> events.RuleTargetInput:
    who = F("$.detail.userIdentity.arn")
    subject = (
        f"[HIGH] {F('$.detail.recipientAccountId')} Stack run with the CDK execution role: "
        f"{F('$.detail.eventName')} {F('$.detail.requestParameters.stackName')} by {who}"
    )
    return SubjectFirst(
        events.RuleTargetInput.from_object(
            {
                "subject": subject,
                "schema": SCHEMA,
                "schema_version": SCHEMA_VERSION,
                "severity": "HIGH",
                "guardian": stack_name,
                "resource_kind": "CloudFormation execution role",
                "what": f"{F('$.detail.eventName')}",
                "event_id": f"{F('$.detail.eventID')}",
                "event_time": f"{F('$.detail.eventTime')}",
                "region": f"{F('$.detail.awsRegion')}",
                "account": f"{F('$.detail.recipientAccountId')}",
                "cloudtrail_record": F("$.detail"),
                "note": (
                    "A stack other than the guardian's was given the CDK's CloudFormation execution role, which can "
                    "change anything in the account, the guardian included. Confirm who deployed it and why; "
                    "restrict who may assume the CDK deploy role (docs/deploy-and-configure.md)."
                ),
            }
        )
    )


class StackCallers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        watched: Sequence[Watch],
        confirm: lambda_.Function,
        dead_letter_queue: sqs.IQueue,
        stack_name: str,
        stack_id: str,
        qualifier: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.confirming: list[events.Rule] = []
        for watch in watched:
            if watch.via_cloudformation:  # the deployment alert is about CloudFormation's own calls already
                continue
            rule = events.Rule(
                self,
                "".join(part.title() for part in f"cfn-{watch.suffix}".split("-")),
                rule_name=f"{stack_name}{CFN_RULE_INFIX}{watch.suffix}",
                description=f"CloudTrail Guardian: CloudFormation's changes to its {watch.kind}, to be confirmed",
                event_pattern=pattern(watch, via_stack=True),
            )
            rule.add_target(
                targets.LambdaFunction(
                    confirm,
                    event=events.RuleTargetInput.from_object({"guardian": STACK_CALL, "detail": F("$.detail")}),
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                    dead_letter_queue=dead_letter_queue,
                )
            )
            self.confirming.append(rule)
        confirm.add_environment("GUARDIAN_STACK_ID", stack_id)
        confirm.add_to_role_policy(
            iam.PolicyStatement(
                sid="ConfirmAStackChange",
                actions=["cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents"],
                resources=[stack_id],
            )
        )
        self.exec_role = events.Rule(
            self,
            "CfnExecRole",
            rule_name=f"{stack_name}-guard-{EXEC_ROLE_SUFFIX}",
            description="CloudTrail Guardian: another stack given the CDK's CloudFormation execution role",
            event_pattern=exec_role_pattern(qualifier, stack_id),
        )
        self.exec_role.add_target(targets.SnsTopic(topic, message=exec_role_message(stack_name)))
