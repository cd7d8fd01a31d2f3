"""What the sweep's role may do to check the guardian itself: its functions, its stack, the alert path (its alarms
as defined, the CIS alarms' metric filters, the chat webhooks' secrets by version). Granted in the sweep's customer
managed policy (``checks``, named by the guardian: infra.sweep_schedule), not its role's inline policies, which are near
IAM's 10,240 characters; its functions' settings in a policy of their own."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment as Ack
from aws_cdk import ArnFormat, Stack, Token, Validations
from aws_cdk import aws_iam as iam

from infra.nag import any_resource, localized


def grant_checks_of_itself(
    stack: Stack,
    role: iam.IRole,
    checks: iam.ManagedPolicy,
    *,
    functions: Sequence[str],
    prefix: str,
    topic_arn: str,
    queue_arn: str,
    log_group_arn: str | None = None,
    log_group_name: str | None = None,
    secrets: Sequence[str] = (),
    buckets: Sequence[str] = (),
) -> None:
    statements = [
        (
            "CheckTheGuardiansOwnFunctions",
            [
                "lambda:GetFunctionConfiguration",
                "lambda:GetFunctionConcurrency",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
            ],
            [
                stack.format_arn(
                    service="lambda",
                    resource="function",
                    resource_name=name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
                for name in functions
            ],
        ),
        ("ConfirmADeployment", ["cloudformation:DescribeStacks"], [stack.stack_id]),
        (
            "CheckTheAlertsTopic",
            [
                "sns:ListSubscriptionsByTopic",
                "sns:GetSubscriptionAttributes",
                "sns:SetSubscriptionAttributes",
                "sns:Subscribe",
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
            ],
            [topic_arn],
        ),
        (
            "CheckTheGuardiansAlarms",
            ["cloudwatch:DescribeAlarms", "cloudwatch:EnableAlarmActions", "cloudwatch:PutMetricAlarm"],
            [
                stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name=f"{prefix}-*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        ),
        ("CheckTheDeadLetterQueue", ["sqs:GetQueueAttributes", "sqs:SetQueueAttributes"], [queue_arn]),
        # The default bus of every Region it has rules in (guardian.flows.bus_keys): read, never changed.
        ("ReadTheDefaultEventBuses", ["events:DescribeEventBus"], [_default_buses(stack)]),
        # The team's rules routing security events, inventoried (guardian.flows.security_rules): read only.
        ("InventoryTheRulesRoutingSecurity", ["events:ListRules", "events:ListTargetsByRule"], [_all_rules(stack)]),
        ("ListTheEventBuses", ["events:ListEventBuses"], ["*"]),  # ListEventBuses has no resource type
    ]
    if log_group_arn is not None:
        statements.append(
            ("CheckTheCisMetricFilters", ["logs:DescribeMetricFilters", "logs:PutMetricFilter"], [log_group_arn])
        )
        if log_group_name and not Token.is_unresolved(log_group_name):  # named by cisLogGroup: its ARN ends in :*
            ack = Ack(
                id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
                f"{log_group_name}:*]",
                reason="The CIS alarms' log group, named by cisLogGroup (its ARN ends in :*): only its metric filters "
                "are read and put back as deployed.",
            )
            Validations.of(checks).acknowledge(*localized(stack, [ack]))
    if secrets:  # by version id only: the sweep never reads a webhook's URL
        actions = ["secretsmanager:DescribeSecret", "secretsmanager:UpdateSecretVersionStage"]
        statements.append(("CheckTheWebhookSecrets", [*actions, "secretsmanager:RestoreSecret"], list(secrets)))
    if buckets:  # its own buckets, held as deployed: their other settings are read and put back as a trail bucket's
        lock = ["s3:GetBucketObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration"]
        statements.append(("HoldTheGuardiansBucketsObjectLock", lock, list(buckets)))
    bus = Ack(
        id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:*:<AWS::AccountId>:event-bus/default]",
        reason="DescribeEventBus only, on the default bus of this account in the Regions the guardian has rules in "
        "(home, forwarders'): a customer managed key there is alerted.",
    )
    alarms = Ack(
        id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:"
        f"alarm:{prefix}-*]",
        reason="The guardian's own alarms, all named after its stack: the sweep checks that they exist and turns "
        "their actions back on.",
    )
    rules = Ack(
        id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:*:<AWS::AccountId>:rule/*]",
        reason="ListRules and ListTargetsByRule only (read): the sweep inventories the rules, on any bus, that route "
        "a security service's events, so a change to one is judged against what it was.",
    )
    buses = Ack(
        id="AwsSolutions-IAM5[Resource::*]",
        reason="ListEventBuses has no resource type: the sweep lists the buses whose rules it inventories (read only).",
    )
    Validations.of(checks).acknowledge(*localized(stack, [bus, alarms, rules, buses]))
    functions_statement = statements.pop(0)  # in a policy of its own, with the functions' settings
    for sid, actions, resources in statements:
        checks.add_statements(iam.PolicyStatement(sid=sid, actions=actions, resources=resources))
    _grant_holding_its_settings(stack, role, functions_statement, prefix=prefix)


def _grant_holding_its_settings(
    stack: Stack, role: iam.IRole, functions_statement: tuple[str, list[str], list[str]], *, prefix: str
) -> None:
    """Its functions as deployed (their configuration and concurrency; what reaches them and where their results
    go: guardian.flows.function_settings) and its key aliases (guardian.flows.own_aliases). A policy of its own: the
    role's default policy is near the size at which the CDK splits it into managed policies."""
    sid, actions, functions = functions_statement
    policy = iam.Policy(
        stack,
        "SweepHoldsItsSettings",
        roles=[role],
        statements=[
            iam.PolicyStatement(  # one statement: the functions' ARNs are listed once (the role's inline total)
                sid=sid,
                actions=[
                    *actions,
                    "lambda:GetFunctionEventInvokeConfig",
                    "lambda:PutFunctionEventInvokeConfig",
                    "lambda:DeleteFunctionEventInvokeConfig",
                    "lambda:GetPolicy",
                    "lambda:AddPermission",
                    "lambda:RemovePermission",
                    "lambda:GetFunctionUrlConfig",
                    "lambda:DeleteFunctionUrlConfig",
                ],
                resources=functions,
            ),
            iam.PolicyStatement(  # UpdateAlias is authorized on the alias and on both keys: the one it leaves
                sid="HoldTheGuardiansKeyAliases",  # (anyone's) and the one it points at again
                actions=["kms:UpdateAlias", "kms:CreateAlias"],
                resources=[
                    stack.format_arn(service="kms", region="*", resource="alias", resource_name=f"{prefix}-*"),
                    stack.format_arn(service="kms", region="*", resource="key", resource_name="*"),
                ],
            ),
            iam.PolicyStatement(sid="ListKeyAliases", actions=["kms:ListAliases"], resources=["*"]),
        ],
    )
    acks = [
        Ack(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="kms:ListAliases has no resource type: the guardian's key aliases are listed, to hold as deployed.",
        ),
        Ack(
            id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:<AWS::AccountId>:alias/{prefix}-*]",
            reason="The guardian's own key aliases (its stack's name, then '-'), at home and in every forwarder's "
            "Region: only pointed back at the key they pointed at when deployed.",
        ),
        Ack(
            id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:<AWS::AccountId>:key/*]",
            reason="UpdateAlias is authorized on the key an alias leaves, which may be anyone's: only the guardian's "
            "own aliases (the statement's other resource) are ever pointed back.",
        ),
    ]
    Validations.of(policy).acknowledge(*localized(stack, acks))


def grant_lake_checks(stack: Stack, checks: iam.ManagedPolicy) -> None:
    """The sweep holds every CloudTrail Lake event data store of the account, in every Region, to its baseline."""
    stores = stack.format_arn(service="cloudtrail", region="*", resource="eventdatastore", resource_name="*")
    checks.add_statements(
        iam.PolicyStatement(
            sid="HoldCloudTrailLake",
            actions=["cloudtrail:GetEventDataStore", "cloudtrail:UpdateEventDataStore"],
            resources=[stores],
        )
    )
    checks.add_statements(
        iam.PolicyStatement(sid="ListCloudTrailLake", actions=["cloudtrail:ListEventDataStores"], resources=["*"])
    )
    any_resource(checks, "cloudtrail:ListEventDataStores has no resource type: the account's Lake stores, to check.")
    ack = Ack(
        id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudtrail:*:<AWS::AccountId>:eventdatastore/*]",
        reason="Every CloudTrail Lake event data store of this account is held to its baseline, in any Region; "
        "only read it and put back its recorded settings.",
    )
    Validations.of(checks).acknowledge(*localized(stack, [ack]))


def _default_buses(stack: Stack) -> str:
    """The default event bus of this account, in any Region."""
    return stack.format_arn(service="events", region="*", resource="event-bus", resource_name="default")


def _all_rules(stack: Stack) -> str:
    """Every rule of this account, in every Region and on every bus (``rule/<bus>/<name>`` too)."""
    return stack.format_arn(service="events", region="*", resource="rule", resource_name="*")
