"""Chat webhooks (context ``webhooks``): Slack, Microsoft Teams or any HTTPS endpoint, each a small function
subscribed to the alerts topic with its own minimum severity (a filter on the message body, as for the emails).

The webhook's URL is a credential: it lives in a Secrets Manager secret (the stack makes ``<stackName>/webhook/
<name>`` unless ``secretArn`` names one), never in the template, the environment or a log. The function retries a
429 or a 5xx a few times, then raises: Lambda tries twice more, then its dead-letter queue keeps the message, and an
alarm on that queue tells the team (by email: the alarm's message has no severity, so every address gets it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Acknowledgment as Ack
from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from infra.alarms import queue_alarm
from infra.dead_letters import DeadLetterQueue
from infra.guardian_function import GuardianFunction
from infra.recipients import body_filter
from infra.runtime_asset import CHAIN_HEADS_ONLY, REMEDIATION_ONLY, SWEEP_ONLY
from infra.webhooks import Webhook

HANDLER = "guardian.entrypoints.notify.lambda_handler"


def function_name(prefix: str, webhook: Webhook) -> str:
    return f"{prefix}-notify-{webhook.name}"


def alarm_name(prefix: str, webhook: Webhook) -> str:
    return f"{prefix}-notify-{webhook.name}-dead-letters"


class Notifier(Construct):
    """One webhook: its secret, its function subscribed to ``topic``, its dead-letter queue and that queue's alarm."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        webhook: Webhook,
        topic: sns.ITopic,
        prefix: str,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.webhook = webhook
        self.secret_name = secret_name(webhook.secret_arn) if webhook.secret_arn else f"{prefix}/webhook/{webhook.name}"
        if webhook.secret_arn:
            self.secret: secretsmanager.ISecret = secretsmanager.Secret.from_secret_complete_arn(
                self, "Secret", webhook.secret_arn
            )
        else:
            made = secretsmanager.Secret(
                self,
                "Secret",
                secret_name=self.secret_name,
                description=f"CloudTrail Guardian: the URL of the {webhook.kind} webhook {webhook.name} (put it here)",
                removal_policy=RemovalPolicy.RETAIN,
            )
            Validations.of(made).acknowledge(
                Ack(
                    id="AwsSolutions-SMG4",
                    reason="A webhook URL is issued by the chat (Slack, Teams) and cannot be rotated by a function: "
                    "it is replaced by hand when the chat issues a new one.",
                )
            )
            self.secret = made
        self.dead_letters = DeadLetterQueue(
            self, "DeadLetters", of=f"the {webhook.name} webhook notifier", queue_name=alarm_name(prefix, webhook)
        ).queue
        self.function = GuardianFunction(
            self,
            "Notify",
            handler=HANDLER,
            description=f"CloudTrail Guardian: alerts to the {webhook.kind} webhook {webhook.name}",
            environment={
                "GUARDIAN_WEBHOOK_SECRET": self.secret.secret_arn,
                "GUARDIAN_WEBHOOK_KIND": webhook.kind,
                "GUARDIAN_WEBHOOK_NAME": webhook.name,
                **({"GUARDIAN_WEBHOOK_VERSION": webhook.secret_version} if webhook.secret_version else {}),
            },
            log_retention_days=log_retention_days,
            timeout=Duration.seconds(60),
            retry_attempts=2,
            dead_letter_queue=self.dead_letters,
            function_name=function_name(prefix, webhook),
            leave_out=(*SWEEP_ONLY, *REMEDIATION_ONLY, *CHAIN_HEADS_ONLY),
            memory_size=128,
        )
        self.secret.grant_read(self.function.role)
        policy = webhook.filter_policy()
        topic.add_subscription(
            subs.LambdaSubscription(self.function.function, filter_policy_with_message_body=body_filter(policy))
        )
        self.alarm = queue_alarm(
            self,
            self.dead_letters,
            f"CloudTrail Guardian could not post to the {webhook.kind} webhook {webhook.name}: the message is in its "
            "dead-letter queue (check the webhook and its secret, then replay it)",
            topic,
            name=alarm_name(prefix, webhook),
        )


def secret_name(arn: str) -> str:
    """A secret's name in its ARN (Secrets Manager appends a hyphen and six characters)."""
    name = arn.split(":secret:", 1)[-1]
    return name[:-7] if len(name) > 7 and name[-7] == "-" else name


def secret_ids(notifier: Notifier) -> list[Any]:
    """Every way CloudTrail names a webhook's secret (``secretId``): its name, or its ARN, whole or partial."""
    base = notifier.webhook.secret_arn or Stack.of(notifier).format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=notifier.secret_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return [notifier.secret_name, {"prefix": base[:-7] if notifier.webhook.secret_arn else base}]


def notifiers(
    scope: Construct, found: Sequence[Webhook], *, topic: sns.ITopic, prefix: str, log_retention_days: int
) -> list[Notifier]:
    return [
        Notifier(
            scope,
            f"Webhook{w.name.title().replace('-', '')}",
            webhook=w,
            topic=topic,
            prefix=prefix,
            log_retention_days=log_retention_days,
        )
        for w in found
    ]
