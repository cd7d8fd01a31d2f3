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
- ``<stack>-guard-cfn-exec-borrowed``: the same operations on any other stack *without* ``roleARN`` (CloudFormation
  then reuses the stack's own role, which needs no ``iam:PassRole``): to the remediation function, which reads the
  stack's role (DescribeStacks) and alerts HIGH when it is the CDK execution role or cannot be told
  (``guardian.flows.stack_roles``). CreateStack is left out: a new stack has no role to reuse.
- ``<stack>-guard-iam-tag``: the guardian's tag (``cloudtrail-guardian``, any case) given to a role or user, by
  anyone but CloudFormation: CRITICAL, straight to the topic and the security account (the SCPs spare principals
  with that tag; the security account admits them). ``<stack>-guard-cfn-iam-tag``: the same by CloudFormation, to
  the remediation function, which confirms it only if the guardian's own stack was making that role then.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Aws, Duration, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.first_line import SubjectFirst
from infra.self_protection import (
    API_CALL,
    CFN_SUFFIXES,
    SCHEMA,
    SCHEMA_VERSION,
    TAG_SUFFIX,
    VIA_CLOUDFORMATION,
    Watch,
    denied_patterns,
    pattern,
)

F = events.EventField.from_path


def to_function(
    confirm: lambda_.IFunction, dead_letter_queue: sqs.IQueue, marker: str, **extra: str
) -> targets.LambdaFunction:
    """The function as a rule's target, the event's detail marked with what it is (``{"guardian": marker}``), so it
    never takes the heal path; retried for a day by EventBridge, then kept in the dead-letter queue."""
    return targets.LambdaFunction(
        confirm,
        event=events.RuleTargetInput.from_object({"guardian": marker, **extra, "detail": F("$.detail")}),
        retry_attempts=185,
        max_event_age=Duration.hours(24),
        dead_letter_queue=dead_letter_queue,
    )


STACK_CALL = "stack-call"  # = guardian.model.stack_changes.STACK_CALL (infra does not import guardian)
GUARD_DENIED = "guard-denied"  # = guardian.flows.guard_denied.GUARD_DENIED: a refused call on the guardian
STACK_ROLE = "stack-role"  # = guardian.model.stack_roles.STACK_ROLE: a role-less stack operation, to be judged
CFN_RULE_INFIX = "-guard-cfn-"
EXEC_ROLE_SUFFIX, BORROWED_SUFFIX, CFN_TAG_SUFFIX = CFN_SUFFIXES[-3:]  # "cfn-exec-role", "cfn-exec-borrowed", ...
GUARDIAN_TAG = "cloudtrail-guardian"  # = infra.settings.GUARDIAN_TAG: the SCPs and the security account trust it
TAG_CALLS = ("CreateRole", "CreateUser", "TagRole", "TagUser")  # = guardian.model.stack_roles.TAG_CALLS
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
            "errorCode": [{"exists": False}],  # straight to the topic: a refused call (changed nothing) is no flood
            "requestParameters": {
                "roleARN": [{"prefix": exec_role_prefix(qualifier)}],
                "stackName": [{"anything-but": [Aws.STACK_NAME, stack_id]}],
            },
        },
    )


def borrowed_role_pattern(stack_id: str) -> events.EventPattern:
    """A stack operation on any stack but the guardian's that passes no role (CloudFormation reuses the stack's),
    and succeeded (a refused call changed nothing)."""
    return events.EventPattern(
        source=["aws.cloudformation"],
        detail_type=[API_CALL],
        detail={
            "eventSource": ["cloudformation.amazonaws.com"],
            "eventName": [n for n in EXEC_ROLE_CALLS if n != "CreateStack"],  # a new stack has no role to reuse
            "errorCode": [{"exists": False}],
            "requestParameters": {
                "roleARN": [{"exists": False}],
                "stackName": [{"anything-but": [Aws.STACK_NAME, stack_id]}],
            },
        },
    )


def guardian_tag_pattern(*, via_stack: bool) -> events.EventPattern:
    """The guardian's tag key (in any case: IAM's condition keys ignore it) given to a role or user: EventBridge
    matches ``tags.key`` in each object of the array. By anyone but CloudFormation, or (``via_stack``) by it."""
    source = [VIA_CLOUDFORMATION] if via_stack else [{"anything-but": VIA_CLOUDFORMATION}]
    return events.EventPattern(
        source=["aws.iam"],
        detail_type=[API_CALL],
        detail={
            "eventSource": ["iam.amazonaws.com"],
            "eventName": list(TAG_CALLS),
            "sourceIPAddress": source,
            "errorCode": [{"exists": False}],  # a refused call gave no tag: never a flood of CRITICAL alerts
            "requestParameters": {"tags": {"key": [{"equals-ignore-case": GUARDIAN_TAG}]}},
        },
    )


def guardian_tag_message(stack_name: str) -> events.RuleTargetInput:
    who = F("$.detail.userIdentity.arn")
    subject = (
        f"[CRITICAL] {F('$.detail.recipientAccountId')} CloudTrail Guardian's own tag given to a principal: "
        f"{F('$.detail.eventName')} {F('$.detail.requestParameters.roleName')}"
        f"{F('$.detail.requestParameters.userName')} by {who}"
    )
    return SubjectFirst(
        events.RuleTargetInput.from_object(
            {
                "subject": subject,
                "schema": SCHEMA,
                "schema_version": SCHEMA_VERSION,
                "severity": "CRITICAL",
                "guardian": stack_name,
                "resource_kind": f"principal tagged {GUARDIAN_TAG}",
                "what": f"{F('$.detail.eventName')}",
                "event_source": f"{F('$.detail.eventSource')}",
                "event_id": f"{F('$.detail.eventID')}",
                "event_time": f"{F('$.detail.eventTime')}",
                "region": f"{F('$.detail.awsRegion')}",
                "account": f"{F('$.detail.recipientAccountId')}",
                "source_ip": f"{F('$.detail.sourceIPAddress')}",
                "cloudtrail_record": F("$.detail"),
                "note": (
                    f"A role or user was given the guardian's tag ({GUARDIAN_TAG}) outside the guardian's stack. The "
                    "service control policies spare principals with that tag and the security account admits them: "
                    "whoever may assume it is the guardian. Remove the tag or delete the principal now, and find who "
                    "could (the SCP denies it to all but the deployers)."
                ),
            }
        )
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
        regions: Sequence[str] = (),
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
            rule.add_target(to_function(confirm, dead_letter_queue, STACK_CALL))
            self.confirming.append(rule)
        confirm.add_environment("GUARDIAN_STACK_ID", stack_id)
        confirm.add_environment("GUARDIAN_CDK_QUALIFIER", qualifier)
        confirm.add_to_role_policy(
            iam.PolicyStatement(
                sid="ConfirmAStackChange",
                actions=["cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents"],
                resources=[stack_id],
            )
        )
        # Which role another stack lends: DescribeStacks only, stacks of this account in this Region.
        stacks = f"arn:{Aws.PARTITION}:cloudformation:{Aws.REGION}:{Aws.ACCOUNT_ID}:stack/*"
        confirm.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReadWhichRoleAStackLends", actions=["cloudformation:DescribeStacks"], resources=[stacks]
            )
        )
        Validations.of(confirm.role).acknowledge(  # type: ignore[arg-type]
            Ack(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/*]",
                reason="DescribeStacks only, on any stack of this account in this Region: which role a stack updated "
                "without one lends (the CDK execution role is alerted); the stack is named by whoever calls.",
            )
        )
        if len(regions) > 1:  # forwarders: their roles carry the guardian's tag, so their stacks confirm them
            confirm.add_environment("GUARDIAN_SWEEP_REGIONS", json.dumps(list(regions)))
            forwarders = f"arn:{Aws.PARTITION}:cloudformation:*:{Aws.ACCOUNT_ID}:stack/{stack_name}-forwarder/*"
            confirm.add_to_role_policy(
                iam.PolicyStatement(
                    sid="ConfirmAForwarderMadeItsRole",
                    actions=["cloudformation:DescribeStackEvents"],
                    resources=[forwarders],
                )
            )
            Validations.of(confirm.role).acknowledge(  # type: ignore[arg-type]
                Ack(
                    id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:*:<AWS::AccountId>:stack/"
                    f"{stack_name}-forwarder/*]",
                    reason="DescribeStackEvents of the guardian's own forwarder stacks only (their id differs in each "
                    "Region): asked, in the Regions it covers, whether one made a role with the guardian's tag.",
                )
            )
        confirming = to_function(confirm, dead_letter_queue, STACK_CALL, check=STACK_ROLE)
        self.borrowed = events.Rule(
            self,
            "CfnExecBorrowed",
            rule_name=f"{stack_name}-guard-{BORROWED_SUFFIX}",
            description="CloudTrail Guardian: another stack run without a role (it may lend the CDK execution role)",
            event_pattern=borrowed_role_pattern(stack_id),
        )
        self.borrowed.add_target(confirming)
        self.tag = events.Rule(
            self,
            "IamTag",
            rule_name=f"{stack_name}-guard-{TAG_SUFFIX}",
            description="CloudTrail Guardian: its tag given to a role or user",
            event_pattern=guardian_tag_pattern(via_stack=False),
        )
        self.tag.add_target(targets.SnsTopic(topic, message=guardian_tag_message(stack_name)))
        self.cfn_tag = events.Rule(
            self,
            "CfnIamTag",
            rule_name=f"{stack_name}-guard-{CFN_TAG_SUFFIX}",
            description="CloudTrail Guardian: its tag given to a role or user by CloudFormation, to be confirmed",
            event_pattern=guardian_tag_pattern(via_stack=True),
        )
        self.cfn_tag.add_target(to_function(confirm, dead_letter_queue, STACK_CALL))
        self.confirming += [self.borrowed, self.cfn_tag]
        # The guards' calls that AWS refused: one MEDIUM alert each through the function, grouped per principal and
        # capped at 5 a second (the guards match successful calls only; a denied loop would mail CRITICAL each).
        self.denied: list[events.Rule] = []
        for suffix, denied in denied_patterns(watched, stack_name).items():
            rule = events.Rule(
                self,
                "".join(part.title() for part in f"guard-{suffix}".split("-")),
                rule_name=f"{stack_name}-guard-{suffix}",
                description="CloudTrail Guardian: refused calls on its own resources, grouped per principal",
                event_pattern=denied,
            )
            rule.add_target(to_function(confirm, dead_letter_queue, GUARD_DENIED))
            self.denied.append(rule)
        self.exec_role = events.Rule(
            self,
            "CfnExecRole",
            rule_name=f"{stack_name}-guard-{EXEC_ROLE_SUFFIX}",
            description="CloudTrail Guardian: another stack given the CDK's CloudFormation execution role",
            event_pattern=exec_role_pattern(qualifier, stack_id),
        )
        self.exec_role.add_target(targets.SnsTopic(topic, message=exec_role_message(stack_name)))
