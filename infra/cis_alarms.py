"""The CIS AWS Foundations Benchmark "Monitoring" section as CloudWatch Logs metric filters and alarms (``cisAlarms``).

The filter patterns are the benchmark's text: v1.4.0 section 4 (4.1-4.14, the patterns Security Hub's CloudWatch.1
to CloudWatch.14 controls look for; the same as v1.2.0 3.1-3.14) and 4.15 (AWS Organizations changes, added in
v1.5.0). They read a CloudWatch Logs group that a multi-Region trail of all management events delivers to: the
one named by ``cisLogGroup``, or else the sentinel trail's own, which then delivers to CloudWatch Logs. Each alarm
notifies the guardian's topic on any occurrence in five minutes; no data means nothing happened.
"""

from __future__ import annotations

from typing import NamedTuple

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

NAMESPACE = "CloudTrailGuardian/CIS"


class Control(NamedTuple):
    cis: str  # the benchmark's recommendation (v1.4.0 numbering; 4.15 from v1.5.0)
    security_hub: str | None  # the Security Hub control that looks for it
    slug: str  # the metric's and the alarm's name
    title: str
    pattern: str


def _names(*names: str) -> str:
    return " || ".join(f"($.eventName={n})" for n in names)


CONTROLS = (
    Control(
        "4.1",
        "CloudWatch.2",
        "unauthorized-api-calls",
        "Unauthorized API calls",
        '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}',
    ),
    Control(
        "4.2",
        "CloudWatch.3",
        "console-sign-in-without-mfa",
        "Management console sign-in without MFA",
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',
    ),
    Control(
        "4.3",
        "CloudWatch.1",
        "root-account-usage",
        'Usage of the "root" account',
        '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}',
    ),
    Control(
        "4.4",
        "CloudWatch.4",
        "iam-policy-changes",
        "IAM policy changes",
        "{"
        + _names(
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        )
        + "}",
    ),
    Control(
        "4.5",
        "CloudWatch.5",
        "cloudtrail-configuration-changes",
        "CloudTrail configuration changes",
        "{" + _names("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging") + "}",
    ),
    Control(
        "4.6",
        "CloudWatch.6",
        "console-authentication-failures",
        "AWS Management Console authentication failures",
        '{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}',
    ),
    Control(
        "4.7",
        "CloudWatch.7",
        "cmk-disabled-or-scheduled-for-deletion",
        "Disabling or scheduled deletion of customer created CMKs",
        "{($.eventSource=kms.amazonaws.com) && (" + _names("DisableKey", "ScheduleKeyDeletion") + ")}",
    ),
    Control(
        "4.8",
        "CloudWatch.8",
        "s3-bucket-policy-changes",
        "S3 bucket policy changes",
        "{($.eventSource=s3.amazonaws.com) && ("
        + _names(
            "PutBucketAcl",
            "PutBucketPolicy",
            "PutBucketCors",
            "PutBucketLifecycle",
            "PutBucketReplication",
            "DeleteBucketPolicy",
            "DeleteBucketCors",
            "DeleteBucketLifecycle",
            "DeleteBucketReplication",
        )
        + ")}",
    ),
    Control(
        "4.9",
        "CloudWatch.9",
        "config-configuration-changes",
        "AWS Config configuration changes",
        "{($.eventSource=config.amazonaws.com) && ("
        + _names("StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel", "PutConfigurationRecorder")
        + ")}",
    ),
    Control(
        "4.10",
        "CloudWatch.10",
        "security-group-changes",
        "Security group changes",
        "{"
        + _names(
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        )
        + "}",
    ),
    Control(
        "4.11",
        "CloudWatch.11",
        "nacl-changes",
        "Changes to Network Access Control Lists (NACL)",
        "{"
        + _names(
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        )
        + "}",
    ),
    Control(
        "4.12",
        "CloudWatch.12",
        "network-gateway-changes",
        "Changes to network gateways",
        "{"
        + _names(
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        )
        + "}",
    ),
    Control(
        "4.13",
        "CloudWatch.13",
        "route-table-changes",
        "Route table changes",
        "{"
        + _names(
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        )
        + "}",
    ),
    Control(
        "4.14",
        "CloudWatch.14",
        "vpc-changes",
        "VPC changes",
        "{"
        + _names(
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "AttachClassicLinkVpc",
            "DetachClassicLinkVpc",
            "DisableVpcClassicLink",
            "EnableVpcClassicLink",
        )
        + "}",
    ),
    Control(
        "4.15",
        None,
        "organizations-changes",
        "AWS Organizations changes",
        "{ ($.eventSource = organizations.amazonaws.com) && ("
        + " || ".join(
            f'($.eventName = "{n}")'
            for n in (
                "AcceptHandshake",
                "AttachPolicy",
                "CreateAccount",
                "CreateOrganizationalUnit",
                "CreatePolicy",
                "DeclineHandshake",
                "DeleteOrganization",
                "DeleteOrganizationalUnit",
                "DeletePolicy",
                "DetachPolicy",
                "DisablePolicyType",
                "EnablePolicyType",
                "InviteAccountToOrganization",
                "LeaveOrganization",
                "MoveAccount",
                "RemoveAccountFromOrganization",
                "UpdatePolicy",
                "UpdateOrganizationalUnit",
            )
        )
        + ") }",
    ),
)


def alarm_names(prefix: str) -> list[str]:
    return [f"{prefix}-cis-{c.cis.replace('.', '-')}-{c.slug}" for c in CONTROLS]


class CisAlarms(Construct):
    """A metric filter and an alarm per control, on ``log_group``, alarming to ``topic``. Each filter is named as
    its alarm, so the sweep can put a deleted or redefined one back and self-protection can name them."""

    def __init__(
        self, scope: Construct, construct_id: str, *, log_group: logs.ILogGroup, topic: sns.ITopic, prefix: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cloudwatch.Alarm] = []
        self.log_group = log_group
        self.filter_prefix = f"{prefix}-cis-"  # every filter's name starts so (the sweep lists them by it)
        for control, name in zip(CONTROLS, alarm_names(prefix), strict=True):
            metric_filter = logs.MetricFilter(
                self,
                f"Filter{control.slug.title().replace('-', '')}",
                log_group=log_group,
                filter_name=name,
                filter_pattern=logs.FilterPattern.literal(control.pattern),
                metric_namespace=NAMESPACE,
                metric_name=control.slug,
                metric_value="1",
                default_value=0,
            )
            control_ref = f", Security Hub {control.security_hub}" if control.security_hub else ""
            alarm = cloudwatch.Alarm(
                self,
                f"Alarm{control.slug.title().replace('-', '')}",
                alarm_name=name,
                alarm_description=f"CIS AWS Foundations {control.cis}{control_ref}: {control.title}",
                metric=metric_filter.metric(statistic="Sum", period=Duration.minutes(5)),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(actions.SnsAction(topic))
            self.alarms.append(alarm)
