"""A self-contained template for CloudFormation StackSets with service-managed permissions, the way large
organizations roll a baseline to every account: one template, deployed to every account and Region of the targets.

- No CDK asset bucket and no bootstrap: the functions' code is inline (``index.py`` carries the package), and the
  bootstrap version check is left out.
- Parameters: ``HomeRegion`` (where the guardian runs), ``Regions`` (every Region it covers), ``AlertEmail``,
  ``ConsoleReadAccount`` (the account the org-wide console reads from: its read-only role; empty, none),
  ``ConsoleReaders`` (role ARNs of that account the role trusts alone; empty, any principal of it).
- In the home Region the guardian's resources are created (condition ``IsHomeRegion``); in every other Region only
  the forwarder (condition ``IsNotHomeRegion``), so one StackSet covers every Region of every account.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import Aws, CfnCondition, CfnOutput, CfnParameter, CfnResource, Fn
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from infra.errors import SettingsError
from infra.forwarder import Forwarder
from infra.runtime_asset import INLINE_CONTEXT
from infra.settings import GuardianSettings
from infra.stack import GuardianStack

STACK_ID = "CloudTrailGuardian-StackSet"
MAX_NAMED_PREFIX = 63 - len("-access-logs-") - 12 - len("-ap-southeast-7")  # the longest Region names


class StackSetStack(GuardianStack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: GuardianSettings, **kwargs: Any) -> None:
        kwargs.setdefault("synthesizer", cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False))
        kwargs.setdefault("termination_protection", False)  # set on stack instances, not in a StackSet template
        super().__init__(scope, construct_id, settings=settings, **kwargs)
        # A stack instance is named StackSet-<set>-<id>, and so would its buckets be: named after the guardian
        # instead, they fall under the service control policy's bucket prefix, as the cdk deploy style's do.
        self.guardian_prefix = settings.stack_name
        prefix = settings.stack_name.lower()
        if len(prefix) > MAX_NAMED_PREFIX:
            raise SettingsError(
                f"stackName {settings.stack_name!r} is too long for a StackSet: its buckets are named "
                f"<stackName>-access-logs-<account>-<Region>, at most 63 characters (stackName at most "
                f"{MAX_NAMED_PREFIX})"
            )
        for bucket, what in ((self.evidence.bucket, "evidence"), (self.evidence.access_logs, "access-logs")):
            cfn_bucket = bucket.node.default_child
            assert isinstance(cfn_bucket, s3.CfnBucket)
            cfn_bucket.bucket_name = f"{prefix}-{what}-{Aws.ACCOUNT_ID}-{Aws.REGION}"
        home = CfnParameter(
            self,
            "HomeRegion",
            description="The Region the guardian runs in; every other Region of the stack set gets a forwarder",
            allowed_pattern=r"[a-z]{2}(-[a-z]+)+-\d+",
        )
        regions = CfnParameter(
            self,
            "Regions",
            type="CommaDelimitedList",
            description="Every Region the guardian covers (the home Region and the forwarders' Regions)",
        )
        email = CfnParameter(
            self, "AlertEmail", default="", description="Where alerts go (email-json); empty: the topic only"
        )
        is_home = CfnCondition(self, "IsHomeRegion", expression=Fn.condition_equals(Aws.REGION, home.value_as_string))
        # CfnCondition is an ICfnConditionExpression in CDK; its Python type hints do not say so.
        not_home = CfnCondition(self, "IsNotHomeRegion", expression=Fn.condition_not(is_home))  # type: ignore[arg-type]
        for child in self.node.find_all():
            if isinstance(child, CfnResource) and child.cfn_resource_type != "AWS::CDK::Metadata":
                child.cfn_options.condition = is_home
            elif isinstance(child, CfnOutput):
                child.condition = is_home
        json_list = Fn.join("", ['["', Fn.join('","', regions.value_as_list), '"]'])
        self.sweep.function.add_environment("GUARDIAN_SWEEP_REGIONS", json_list)
        self.forwarder = Forwarder(self, "Forwarder", home_region=home.value_as_string, rule_prefix=settings.stack_name)
        for child in self.forwarder.node.find_all():
            if isinstance(child, CfnResource):
                child.cfn_options.condition = not_home
        # The subscriber, to the guardian's topic in the home Region (a forwarder has no topic: its alerts go home).
        places = (("IsHomeRegion", is_home, self.alerts, ""),)
        for name, where, topic, prefix in places:
            with_email = CfnCondition(
                self,
                f"{name}WithEmail",
                expression=Fn.condition_and(
                    where,  # type: ignore[arg-type]
                    Fn.condition_not(Fn.condition_equals(email.value_as_string, "")),
                ),
            )
            subscription = sns.CfnSubscription(
                self,
                f"{prefix}AlertEmailSubscription",
                topic_arn=topic.topic.topic_arn,
                protocol="email-json",
                endpoint=email.value_as_string,
            )
            subscription.cfn_options.condition = with_email
        self._console_reader(is_home)

    def console_readable(self, settings: GuardianSettings) -> bool:
        return True  # by the ConsoleReadAccount parameter

    def _console_reader(self, is_home: CfnCondition) -> None:
        """The org-wide console's read-only role (infra.console_read), at home, trusted by ``ConsoleReadAccount``;
        none when it is empty (the ``securityAccount`` setting, if given, made it already)."""
        if self.console_read is not None:
            return
        reader = CfnParameter(
            self,
            "ConsoleReadAccount",
            default="",
            allowed_pattern=r"(\d{12})?",
            description="The account that runs the org-wide console (guardian status --org); empty: no read role",
        )
        made = CfnCondition(
            self,
            "HasConsoleReader",
            expression=Fn.condition_and(
                is_home,  # type: ignore[arg-type]
                Fn.condition_not(Fn.condition_equals(reader.value_as_string, "")),
            ),
        )
        readers = CfnParameter(
            self,
            "ConsoleReaders",
            type="CommaDelimitedList",
            default="",
            description="Role ARNs of ConsoleReadAccount the read role trusts alone; empty: any principal of it",
        )
        narrowed = CfnCondition(
            self,
            "HasConsoleReaders",
            expression=Fn.condition_not(Fn.condition_equals(Fn.join("", readers.value_as_list), "")),
        )
        self.console_read = self.console_read_role(self.guardian_prefix, reader.value_as_string)
        for child in self.console_read.node.find_all():
            if isinstance(child, CfnResource):
                child.cfn_options.condition = made
        role = self.console_read.role.node.default_child
        assert isinstance(role, CfnResource)
        trust = {"ArnEquals": {"aws:PrincipalArn": readers.value_as_list}}
        role.add_property_override(
            "AssumeRolePolicyDocument.Statement.0.Condition",
            Fn.condition_if(narrowed.logical_id, trust, Aws.NO_VALUE),
        )
        self.console_read.output.condition = made


def build_stackset_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    """The StackSet template's app: the guardian's own options from context, the inline-code switch on."""
    app = cdk.App(context={**(context or {}), INLINE_CONTEXT: True}, outdir=outdir)
    settings = GuardianSettings.from_context(app.node.try_get_context)
    StackSetStack(app, STACK_ID, settings=settings, stack_name=settings.stack_name)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app
