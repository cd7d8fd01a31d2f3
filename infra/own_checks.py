"""What the sweep's role may do to check the guardian itself: its functions, its stack, the alert path."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam


def grant_checks_of_itself(
    stack: Stack, role: iam.IRole, *, functions: Sequence[str], prefix: str, topic_arn: str, queue_arn: str
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
            ["cloudwatch:DescribeAlarms", "cloudwatch:EnableAlarmActions"],
            [
                stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name=f"{prefix}-*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        ),
        ("CheckTheDeadLetterQueue", ["sqs:GetQueueAttributes"], [queue_arn]),
    ]
    for sid, actions, resources in statements:
        role.add_to_principal_policy(iam.PolicyStatement(sid=sid, actions=actions, resources=resources))
