"""Optional central alerting: a topic in a security account that every guardian of the organization also publishes
to (context `centralAlerts` creates it; each guardian then gets `centralTopicArn` and `centralTopicKeyArn`).

The topic and its key admit publishers by organization (``aws:PrincipalOrgID``), never by listing accounts, so a new
account's guardian can publish as soon as it joins; and only the guardian's own roles, which carry its tag
(``cloudtrail-guardian``; the SCP denies everyone else putting it on a role or session): any other principal of the
organization could otherwise spoof alerts into the security account, or flood it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.context_keys import check_keys
from infra.errors import SettingsError
from infra.recipients import Recipient, recipients, subscribe
from infra.security_account import GUARDIANS_ONLY, GuardianWatch
from infra.settings import _account, _list, _region


@dataclass(frozen=True)
class CentralAlertsSettings:
    account: str
    region: str
    organization_id: str
    alert_emails: tuple[Recipient, ...] = ()


def central_alerts(get: Callable[[str], Any]) -> CentralAlertsSettings | None:
    """Context `centralAlerts`: {"account": ..., "region": ..., "organizationId": "o-...", "alertEmails": [...]}."""
    value = get("centralAlerts")
    if not value:
        return None
    if not isinstance(value, dict):
        raise SettingsError('centralAlerts must be {"account": ..., "region": ..., "organizationId": "o-..."}')
    check_keys(value, ("account", "region", "organizationId", "alertEmails"), where="centralAlerts")
    missing = [k for k in ("account", "region", "organizationId") if not value.get(k)]
    if missing:
        raise SettingsError(f"centralAlerts needs {', '.join(missing)}")
    organization = str(value["organizationId"])
    if not re.fullmatch(r"o-[a-z0-9]{10,32}", organization):
        raise SettingsError(f"centralAlerts.organizationId must look like o-abcd123456, got {organization!r}")
    return CentralAlertsSettings(
        account=str(_account(value["account"], "centralAlerts.account")),
        region=str(_region(value["region"], "centralAlerts.region")),
        organization_id=organization,
        alert_emails=recipients(
            _list(value.get("alertEmails"), "centralAlerts.alertEmails"), "centralAlerts.alertEmails"
        ),
    )


class CentralAlertsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: CentralAlertsSettings,
        guardians: Mapping[str, int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description="CloudTrail Guardian: the organization's central alerts topic",
            env=Environment(account=settings.account, region=settings.region),
            termination_protection=True,
            **kwargs,
        )
        in_organization = {"StringEquals": {"aws:PrincipalOrgID": settings.organization_id}, **GUARDIANS_ONLY}
        self.key = kms.Key(self, "Key", description="CloudTrail Guardian central alerts", enable_key_rotation=True)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="GuardiansOfTheOrganizationMayEncrypt",
                principals=[iam.AnyPrincipal()],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={**in_organization, "StringLike": {"kms:ViaService": "sns.*.amazonaws.com"}},
            )
        )
        self.topic = sns.Topic(
            self, "Topic", display_name="CloudTrail Guardian (organization)", master_key=self.key, enforce_ssl=True
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="GuardiansOfTheOrganizationMayPublish",
                principals=[iam.AnyPrincipal()],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=in_organization,
            )
        )
        for recipient in settings.alert_emails:
            subscribe(self.topic, recipient)
        # The guardians with securityAccount send their self-protection events and heartbeat here.
        self.watch = GuardianWatch(
            self,
            "Watch",
            topic=self.topic,
            security_account=settings.account,
            organization_id=settings.organization_id,
            guardian_accounts=guardians or {},
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeMayPublishTheGuardiansEvents",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": settings.account}},
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeAndCloudWatchMayEncrypt",
                principals=[
                    iam.ServicePrincipal("events.amazonaws.com"),
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                ],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": settings.account}},
            )
        )
        CfnOutput(self, "CentralTopicArn", value=self.topic.topic_arn)
        CfnOutput(self, "CentralTopicKeyArn", value=self.key.key_arn)
