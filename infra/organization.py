"""Organization mode and central alerts, for each of the guardian's functions: heal the management account's
organization trails from its delegated administrator, read what organization trails need, and publish every alert
to the security account's topic too."""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Stack, Validations
from aws_cdk import aws_iam as iam

from infra.guardian_function import GuardianFunction
from infra.nag import any_resource
from infra.remediation import TRAIL_READS, TRAIL_REPAIRS
from infra.settings import GuardianSettings


def organization_and_central_alerts(stack: Stack, function: GuardianFunction, settings: GuardianSettings) -> None:
    """Organization mode: heal the management account's organization trails (from its delegated administrator)
    and read what organization trails need. Central alerts: publish to the security account's topic too."""
    if settings.trail_accounts:
        function.function.add_environment("GUARDIAN_TRAIL_ACCOUNTS", json.dumps(list(settings.trail_accounts)))
        trails = [
            stack.format_arn(service="cloudtrail", region="*", account=a, resource="trail", resource_name="*")
            for a in settings.trail_accounts
        ]
        function.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RepairTheOrganizationsTrails", actions=[*TRAIL_READS, *TRAIL_REPAIRS], resources=trails
            )
        )
        Validations.of(function.role).acknowledge(
            *(
                Ack(
                    id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudtrail:*:{a}:trail/*]",
                    reason="Organization mode: the management account's organization trails, healed from its "
                    "delegated administrator; any trail name, that account only.",
                )
                for a in settings.trail_accounts
            )
        )
    if settings.organization_management:
        function.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTheOrganizationForItsTrails",
                actions=["organizations:DescribeOrganization", "organizations:ListAWSServiceAccessForOrganization"],
                resources=["*"],
            )
        )
        any_resource(
            function.role,
            "Organization mode: DescribeOrganization and ListAWSServiceAccessForOrganization are read-only and have "
            "no resource type; CloudTrail needs them to recreate an organization trail.",
        )
    if settings.control_tower_account:  # Control Tower aware (guardian.model.control_tower)
        function.function.add_environment("GUARDIAN_CONTROL_TOWER", settings.control_tower_account)
    if settings.central_topic_arn:
        function.function.add_environment("GUARDIAN_CENTRAL_TOPIC_ARN", settings.central_topic_arn)
        # A policy of its own: the sweep role's default policy is at the size where the CDK spills it into managed
        # policies (a resource type the guarded set does not admit); IAM's limit is on the role's inline total.
        central = [
            iam.PolicyStatement(
                sid="PublishToTheCentralTopic", actions=["sns:Publish"], resources=[settings.central_topic_arn]
            )
        ]
        if settings.central_topic_key_arn:
            central.append(
                iam.PolicyStatement(
                    sid="EncryptForTheCentralTopic",
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=[settings.central_topic_key_arn],
                )
            )
        policy = iam.Policy(function, "CentralTopic", roles=[function.role], statements=central)
        if settings.central_topic_key_arn:
            Validations.of(policy).acknowledge(
                Ack(
                    id="AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                    reason="Publishing to the security account's KMS-encrypted topic needs the GenerateDataKey "
                    "family on that topic's key (centralTopicKeyArn), and only that key.",
                )
            )
