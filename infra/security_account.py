"""The guardian's alarm bell in a security account, out of reach of this account's insiders (`securityAccount`).

In the guardian's account (:class:`SecurityAccountLink`): every self-protection rule also sends what it matches to
the security account's event bus, so do the state changes of the guardian's alarms, and the sweep's schedule sends
its every tick there: a heartbeat. The events are AWS's own (``aws.*`` sources, which no one can put on a bus), and
the two event guards watch each other, so a rule disabled or a target removed is reported by the other one before it
can matter. Each sweep also puts its evidence chain's head there (source ``cloudtrail-guardian.chain``: key,
sequence, time, SHA-256) from its own role, which only the guardian has; the security account keeps them and alarms
CRITICAL when one goes backwards (:mod:`infra.chain_heads`).

In the security account (:class:`GuardianWatch`, part of the `centralAlerts` stack): the default bus admits the
guardians only (:func:`guardians_only`: their accounts, and their roles by the tag's value, the stack's name), and its
rules only AWS's own events (``aws.*`` sources), but for the chain heads (kept, :mod:`infra.chain_heads`); what
arrives is published to the central topic; and one heartbeat alarm per guardian account fires when its sweep
schedule has not ticked for three periods of 15 minutes (or of its sweep interval, if longer): a schedule disabled,
a target removed, the stack deleted, the account gone from the organization.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Aws, Duration, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.chain_heads import ChainHeads
from infra.settings import GUARDIAN_TAG  # the stacks put it on every role, its value the stack name

HEARTBEAT_MINUTES = 15  # a period holds at least one tick (more, for a guardian that sweeps less often)
HEARTBEAT_PERIODS = 3
# Who may send to the security account: (the guardians' stack names, their accounts), one statement each; accounts
# None: any account of the organization (a StackSet's auto-deployed accounts, which no list can name in advance).
Admission = tuple[tuple[str, ...], tuple[str, ...] | None]


def guardians_only(organization_id: str, admission: Admission) -> dict[str, Any]:
    """The condition that admits only a guardian's own roles: of the organization, of a guardian account, and tagged
    with a guardian's stack name. Only the guardian's roles (its functions', its forwarding role) carry the tag, and
    the SCP denies anyone else putting it on a role or a session; the account and the tag's value keep out an
    organization account where the SCPs are not attached, whose admin could tag a role of their own: otherwise it
    could spoof a guardian's events and alerts in the security account, or flood them."""
    names, accounts = admission
    equals: dict[str, Any] = {"aws:PrincipalOrgID": organization_id}
    if accounts is not None:
        equals["aws:PrincipalAccount"] = list(accounts) if len(accounts) > 1 else accounts[0]
    equals[f"aws:PrincipalTag/{GUARDIAN_TAG}"] = list(names) if len(names) > 1 else names[0]
    return {"StringEquals": equals}


def numbered(base: str, index: int) -> str:
    """The first statement keeps its plain name (the usual case: one stack name); any other is numbered."""
    return base if index == 0 else f"{base}{index + 1}"


ALARMS_RULE = "alarms-to-security"  # <prefix>-alarms-to-security: one of the guardian's own rules (guarded, swept)


class SecurityAccountLink(Construct):
    """The guardian's side: its guards, its alarms' state changes and its sweep's ticks, sent to the security bus."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus_arn: str,
        guards: Sequence[events.Rule],
        schedule: events.Rule,
        alarm_names: Sequence[str],
        rule_prefix: str,
        sweep: lambda_.Function | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        bus = events.EventBus.from_event_bus_arn(self, "SecurityBus", bus_arn)
        if sweep is not None and sweep.role is not None:  # each sweep sends its chain's head (see the module)
            iam.ManagedPolicy(  # not inline: the sweep role's inline policies are near IAM's 10,240 characters
                self,
                "SendTheChainHead",
                # named under the stack's prefix, as the IAM guard and the SCP know the guardian's policies
                managed_policy_name=f"{rule_prefix}-sweep-chain-head-{Aws.REGION}",
                description="CloudTrail Guardian: the sweep puts its evidence chain's head on the security bus",
                statements=[iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus_arn])],
                roles=[sweep.role],
            )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="CloudTrail Guardian: send its self-protection events and heartbeat to the security account",
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus_arn]))
        target = targets.EventBus(bus, role=self.role)
        for rule in (*guards, schedule):
            rule.add_target(target)
        self.alarms = events.Rule(
            self,
            "Alarms",
            rule_name=f"{rule_prefix}-{ALARMS_RULE}",
            description="CloudTrail Guardian: its alarms' state changes, to the security account",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                detail={"alarmName": list(alarm_names)},
            ),
        )
        self.alarms.add_target(target)


def guardian_events_pattern(security_account: str) -> events.EventPattern:
    """API calls forwarded by a guardian's self-protection rules (another account's, never this one's own), from
    AWS itself: PutEvents cannot set an ``aws.`` source, so nobody can hand-make one."""
    return events.EventPattern(
        source=events.Match.prefix("aws."),
        account=events.Match.anything_but(security_account),
        detail_type=["AWS API Call via CloudTrail"],
    )


def alarm_pattern(security_account: str) -> events.EventPattern:
    return events.EventPattern(
        source=["aws.cloudwatch"],
        account=events.Match.anything_but(security_account),
        detail_type=["CloudWatch Alarm State Change"],
        detail={"state": {"value": ["ALARM"]}},
    )


def heartbeat_pattern(account: str, rule_prefixes: Sequence[str]) -> events.EventPattern:
    """The ticks of the sweep schedule of a guardian of ``account`` under any of its stack names."""
    return events.EventPattern(
        source=["aws.events"],
        account=[account],
        detail_type=["Scheduled Event"],
        resources=events.Match.any_of(
            *(events.Match.wildcard(f"arn:*:events:*:{account}:rule/{p}-sweep-schedule") for p in rule_prefixes)
        )
        if len(rule_prefixes) > 1
        else events.Match.wildcard(f"arn:*:events:*:{account}:rule/{rule_prefixes[0]}-sweep-schedule"),
    )


def stack_names_by_account(admitted: Sequence[Admission], default: str) -> dict[str, tuple[str, ...]]:
    """Each guardian account's stack names, as the admissions name them (an account no admission lists, or one
    admitted with any account, falls back to ``default``)."""
    found: dict[str, list[str]] = {}
    for names, accounts in admitted:
        for account in accounts or ():
            found.setdefault(account, []).extend(n for n in names if n not in found.get(account, []))
    return {account: tuple(names) for account, names in found.items()} | {"": (default,)}


class GuardianWatch(Construct):
    """The security account's side: admit the organization's events, publish what the guardians send, and raise an
    alarm for each guardian account whose heartbeat stops."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        security_account: str,
        organization_id: str,
        guardian_accounts: Mapping[str, int],  # account → its sweep interval, minutes
        admitted: Sequence[Admission] = (),
        rule_prefix: str = "CloudTrailGuardian",
    ) -> None:
        super().__init__(scope, construct_id)
        for index, admission in enumerate(admitted):
            sid = numbered("CloudTrailGuardianOrganization", index)
            events.CfnEventBusPolicy(
                self,
                numbered("OrganizationMayPutEvents", index),
                statement_id=sid,
                statement={
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "events:PutEvents",
                    "Resource": f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{security_account}:event-bus/default",
                    "Condition": guardians_only(organization_id, admission),
                },
            )
        for rule_id, name, what, pattern in (
            ("GuardianEvents", "self-protection", "changes to a guardian, sent by its self-protection rules",
             guardian_events_pattern(security_account)),
            ("GuardianAlarms", "alarms", "a guardian's alarm went off", alarm_pattern(security_account)),
        ):  # fmt: skip
            rule = events.Rule(
                self,
                rule_id,
                rule_name=f"cloudtrail-guardian-{name}",
                description=f"CloudTrail Guardian: {what}",
                event_pattern=pattern,
            )
            rule.add_target(targets.SnsTopic(topic))
        self.chain_heads: ChainHeads | None = None
        if admitted:  # the chain heads the guardians send, kept and compared (infra.chain_heads)
            listed = [a for _, accounts in admitted for a in accounts or ()]
            everyone = any(accounts is None for _, accounts in admitted)
            self.chain_heads = ChainHeads(
                self,
                "ChainHeads",
                topic=topic,
                security_account=security_account,
                accounts=None if everyone else listed,
            )
        self.heartbeats: list[cloudwatch.Alarm] = []
        if not guardian_accounts:
            return
        # A heartbeat rule needs a target to be invoked (and counted): a queue that keeps nothing for long.
        sink = sqs.Queue(
            self,
            "Heartbeats",
            retention_period=Duration.minutes(1),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        Validations.of(sink).acknowledge(
            Ack(
                id="AwsSolutions-SQS3",
                reason="A sink for the heartbeat rules (a rule is counted only when it invokes a target): its "
                "messages expire in a minute and are never read, so a dead-letter queue would hold nothing.",
            )
        )
        names = stack_names_by_account(admitted, rule_prefix)  # a guardian under its own stackName ticks too
        for account, minutes in sorted(guardian_accounts.items()):
            rule = events.Rule(
                self,
                f"Heartbeat{account}",
                rule_name=f"cloudtrail-guardian-heartbeat-{account}",
                description=f"CloudTrail Guardian: the sweep schedule of account {account} ticks",
                event_pattern=heartbeat_pattern(account, names.get(account, names[""])),
            )
            rule.add_target(targets.SqsQueue(sink))
            alarm = cloudwatch.Alarm(
                self,
                f"Silent{account}",
                alarm_name=f"cloudtrail-guardian-silent-{account}",
                alarm_description=f"CloudTrail Guardian in account {account} has not ticked: its sweep schedule "
                "is disabled, stripped of its targets, or deleted",
                metric=cloudwatch.Metric(
                    namespace="AWS/Events",
                    metric_name="Invocations",
                    dimensions_map={"RuleName": rule.rule_name},
                    statistic="Sum",
                    period=Duration.minutes(max(HEARTBEAT_MINUTES, minutes)),
                ),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=HEARTBEAT_PERIODS,
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            )
            alarm.add_alarm_action(actions.SnsAction(topic))
            self.heartbeats.append(alarm)
