"""Optional central alerting: a topic in a security account that every guardian of the organization also publishes
to (context `centralAlerts` creates it; each guardian then gets `centralTopicArn` and `centralTopicKeyArn`).

The topic, its key and the security account's bus admit only the guardians' own roles: of the organization
(``aws:PrincipalOrgID``), of a guardian account (``aws:PrincipalAccount``: the accounts of `environments`, and
`centralAlerts.guardianAccounts`), carrying the guardian's tag with a guardian's stack name as its value
(``aws:PrincipalTag/cloudtrail-guardian``; the SCP denies everyone else putting the tag on a role or session). An
admin of another account of the organization, where the SCPs may not be attached, could otherwise tag a role of their
own and spoof alerts into the security account, or flood it. `guardianAccounts: "organization"` admits every account
of the organization instead (a StackSet's auto-deployment: accounts that join later), by the tag's value alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
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
from infra.security_account import Admission, GuardianWatch, guardians_only, numbered
from infra.settings import GuardianSettings, _account, _list, _region

ORGANIZATION = "organization"  # guardianAccounts: every account of the organization (a StackSet's auto-deployment)


@dataclass(frozen=True)
class CentralAlertsSettings:
    account: str
    region: str
    organization_id: str
    alert_emails: tuple[Recipient, ...] = ()
    guardian_accounts: tuple[str, ...] | None = ()  # beside those of `environments`; None: the whole organization


def central_alerts(get: Callable[[str], Any]) -> CentralAlertsSettings | None:
    """Context `centralAlerts`: {"account": ..., "region": ..., "organizationId": "o-...", "alertEmails": [...],
    "guardianAccounts": [...] or "organization"}."""
    value = get("centralAlerts")
    if not value:
        return None
    if not isinstance(value, dict):
        raise SettingsError('centralAlerts must be {"account": ..., "region": ..., "organizationId": "o-..."}')
    check_keys(value, ("account", "region", "organizationId", "alertEmails", "guardianAccounts"), where="centralAlerts")
    missing = [k for k in ("account", "region", "organizationId") if not value.get(k)]
    if missing:
        raise SettingsError(f"centralAlerts needs {', '.join(missing)}")
    organization = str(value["organizationId"])
    if not re.fullmatch(r"o-[a-z0-9]{10,32}", organization):
        raise SettingsError(f"centralAlerts.organizationId must look like o-abcd123456, got {organization!r}")
    listed = value.get("guardianAccounts")
    accounts: tuple[str, ...] | None = None
    if listed != ORGANIZATION:
        where = "centralAlerts.guardianAccounts"
        accounts = tuple(sorted({str(_account(a, where)) for a in _list(listed, where)}))
    return CentralAlertsSettings(
        guardian_accounts=accounts,
        account=str(_account(value["account"], "centralAlerts.account")),
        region=str(_region(value["region"], "centralAlerts.region")),
        organization_id=organization,
        alert_emails=recipients(
            _list(value.get("alertEmails"), "centralAlerts.alertEmails"), "centralAlerts.alertEmails"
        ),
    )


def admissions(
    central: CentralAlertsSettings, guardians: Sequence[GuardianSettings], stack_name: str
) -> tuple[Admission, ...]:
    """Who may send to the security account: each stack name of the app's guardians with the accounts it is deployed
    in, and ``stack_name`` (the app's own, a StackSet's) with `guardianAccounts`. A SettingsError when none is."""
    found: dict[str, set[str]] = {}
    for guardian in guardians:
        if guardian.account:
            found.setdefault(guardian.stack_name, set()).add(guardian.account)
    if central.guardian_accounts is None:
        return ((tuple(sorted({*found, stack_name})), None),)
    if central.guardian_accounts:
        found.setdefault(stack_name, set()).update(central.guardian_accounts)
    if not found:
        raise SettingsError(
            "centralAlerts admits the guardians by account: list them in environments, or set "
            'centralAlerts.guardianAccounts (account ids, or "organization" for a StackSet\'s accounts)'
        )
    return tuple(((name,), tuple(sorted(accounts))) for name, accounts in sorted(found.items()))


class CentralAlertsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: CentralAlertsSettings,
        guardians: Mapping[str, int] | None = None,
        admitted: Sequence[Admission] = (),
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
        self.key = kms.Key(self, "Key", description="CloudTrail Guardian central alerts", enable_key_rotation=True)
        self.topic = sns.Topic(
            self, "Topic", display_name="CloudTrail Guardian (organization)", master_key=self.key, enforce_ssl=True
        )
        for index, admission in enumerate(admitted):  # the guardians' roles only (see the module's docstring)
            only = guardians_only(settings.organization_id, admission)
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=numbered("GuardiansOfTheOrganizationMayEncrypt", index),
                    principals=[iam.AnyPrincipal()],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],
                    conditions={**only, "StringLike": {"kms:ViaService": "sns.*.amazonaws.com"}},
                )
            )
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=numbered("GuardiansOfTheOrganizationMayPublish", index),
                    principals=[iam.AnyPrincipal()],
                    actions=["sns:Publish"],
                    resources=[self.topic.topic_arn],
                    conditions=only,
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
            admitted=admitted,
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
