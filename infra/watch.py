"""The watch rules (``rules/watch.json``) as EventBridge rules: alert-only API calls, sent to the remediation
function, which tells from its asset's compiled copy which rules an event matched.

Compiled and merged by :mod:`watch_rules.compile`: a rule the compiler cannot express stops the synth, naming the
rule and the field. Each forwarder gets the same patterns, so a watched call in any Region of ``regions`` reaches
the home Region.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Aws, Duration, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import any_resource
from watch_rules.compile import Compiled


def rule_names(prefix: str, compiled: Compiled | None) -> list[str]:
    """The EventBridge rules' names in the home Region, one per group: ``<stack>-watch-<n>``."""
    return [f"{prefix}-watch-{n}" for n in range(1, len(compiled.groups) + 1)] if compiled else []


def forward_rule_names(prefix: str, compiled: Compiled | None) -> list[str]:
    return [f"{prefix}-forward-watch-{n}" for n in range(1, len(compiled.groups) + 1)] if compiled else []


def watch_files(compiled: Compiled | None) -> dict[str, str] | None:
    """The compiled rules as the function reads them: its asset's ``guardian/watch_rules.json``."""
    if compiled is None or not compiled.rules:
        return None
    return {"watch_rules.json": json.dumps(compiled.runtime_document(), indent=1, sort_keys=True)}


def event_pattern(pattern: Mapping[str, Any]) -> events.EventPattern:
    return events.EventPattern(detail_type=list(pattern["detail-type"]), detail=dict(pattern["detail"]))


def _description(rule_ids: Sequence[str], prefix: str = "") -> str:
    """The rule's description, within EventBridge's 512 characters (a forwarder's prefix included)."""
    text = prefix + "CloudTrail Guardian watch rules: " + ", ".join(rule_ids)
    return text if len(text) <= 512 else text[:511] + "…"


class WatchRules(Construct):
    """One EventBridge rule per group of watch rules, each targeting the function as the tamper rule does."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        compiled: Compiled,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules: list[events.Rule] = []
        for n, (group, name) in enumerate(zip(compiled.groups, rule_names(prefix, compiled), strict=True), start=1):
            rule = events.Rule(
                self,
                f"Rule{n}",
                rule_name=name,
                description=_description(group.rule_ids),
                event_pattern=event_pattern(group.pattern),
            )
            rule.add_target(
                targets.LambdaFunction(
                    function, retry_attempts=185, max_event_age=Duration.hours(24), dead_letter_queue=dead_letter_queue
                )
            )
            self.rules.append(rule)


def grant_undos(role: iam.IRole, compiled: Compiled, stack: Stack) -> None:
    """What the watch rules' opt-in undos and checks need, and only if a deployed rule names one."""
    if any(r.check == "SecurityRouting" for r in compiled.rules):
        rules = f"arn:{Aws.PARTITION}:events:*:{Aws.ACCOUNT_ID}:rule/*"  # the pseudo-parameter: one ack, any env
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WatchRuleCheckReadEventBridgeRule",
                actions=["events:DescribeRule", "events:ListTargetsByRule"],
                resources=[rules],
            )
        )
        Validations.of(role).acknowledge(
            Ack(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:*:<AWS::AccountId>:rule/*]",
                reason="A watch rule's check reads (only) the EventBridge rule a call named, any of this account's.",
            )
        )
    heals = {r.heal for r in compiled.rules if r.heal}
    if "StartConfigurationRecorder" in heals:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WatchRuleUndoStartConfigRecorder",
                actions=["config:StartConfigurationRecorder", "config:DescribeConfigurationRecorderStatus"],
                resources=["*"],
            )
        )
        any_resource(
            role,
            "A watch rule's opt-in undo: AWS Config's recorder calls take no resource ARN (granted only when "
            "rules/watch.json names the undo).",
        )
    if "EnableGuardDutyDetector" in heals:
        detectors = stack.format_arn(service="guardduty", region="*", resource="detector", resource_name="*")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WatchRuleUndoEnableGuardDutyDetector",
                actions=["guardduty:UpdateDetector", "guardduty:GetDetector"],
                resources=[detectors],
            )
        )
        Validations.of(role).acknowledge(
            Ack(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:guardduty:*:<AWS::AccountId>:detector/*]",
                reason="A watch rule's opt-in undo: any detector of this account, in the Region of the call.",
            )
        )


def forward_watched(
    scope: Construct,
    compiled: Compiled,
    *,
    prefix: str,
    home_bus: events.IEventBus,
    dead_letters: sqs.IQueue,
    role: iam.IRole,
) -> list[events.Rule]:
    """In a forwarder's Region: the same patterns, sent to the home Region's bus."""
    rules = []
    for n, (group, name) in enumerate(zip(compiled.groups, forward_rule_names(prefix, compiled), strict=True), 1):
        rule = events.Rule(
            scope,
            f"ForwardWatch{n}",
            rule_name=name,
            description=_description(group.rule_ids, "Forwarded: "),
            event_pattern=event_pattern(group.pattern),
        )
        rule.add_target(targets.EventBus(home_bus, dead_letter_queue=dead_letters, role=role))
        rules.append(rule)
    return rules
