"""A forwarder: in every Region of `regions` but the home one, a small stack whose rule sends the same CloudTrail
events (trail tampering, and changes to the guardian's own resources) to the home Region's default event bus.

CloudTrail events reach only the bus of the Region where the call was made; without this, a StopLogging in another
Region would wait for the sweep. The events keep their shape (source, detail-type, detail with its awsRegion), so
the home function handles a forwarded event exactly like a local one and heals in the trail's home Region.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Aws, Stack, Tags
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.alarms import queue_alarm
from infra.alerts_topic import AlertsTopic
from infra.dead_letters import DeadLetterQueue
from infra.recipients import Recipient
from infra.self_protection import GUARDED_CALLS, VIA_CLOUDFORMATION, Watch, message, pattern
from infra.settings import GUARDIAN_TAG
from infra.stack_callers import TAG_CALLS  # IAM's calls are recorded in us-east-1: the guardian's tag given
from infra.tamper_rule import EVENT_NAMES, EVENT_SOURCES
from infra.watch import forward_rule_names, forward_watched
from watch_rules.compile import Compiled

API_CALL = "AWS API Call via CloudTrail"
EVENT_SOURCE_OF = {"aws.cloudwatch": "monitoring.amazonaws.com"}


# Families of calls forwarded by their common prefix: one by one, every call the home Region acts on outgrew
# EventBridge's 2,048 characters a pattern. Forwarding a few more (PutBucketTagging) costs only the event: the home
# Region's rules match each call exactly.
FORWARDED_FAMILIES = ("PutBucket", "DeleteBucket", "PutRole", "DeleteRole")


def forwarded_pattern() -> events.EventPattern:
    """Every event the home Region's rules act on: tamper events and changes to the guardian's resources."""
    sources = list(dict.fromkeys([*EVENT_SOURCES, *GUARDED_CALLS]))
    names: list[Any] = [*EVENT_NAMES, *(n for calls in GUARDED_CALLS.values() for n in calls), *TAG_CALLS]
    names += [{"prefix": family} for family in FORWARDED_FAMILIES]
    prefixes = [n["prefix"] for n in names if isinstance(n, dict)]
    names = [n for n in names if isinstance(n, dict) or not any(n.startswith(p) for p in prefixes)]
    unique = [n for i, n in enumerate(names) if n not in names[:i]]  # prefix objects are not hashable
    return events.EventPattern(source=sources, detail_type=[API_CALL], detail={"eventName": unique})


class Forwarder(Construct):
    """The forwarding rule, its role (PutEvents on the home bus only), its dead-letter queue, and an alarm on that
    queue. An alarm can only notify a topic of its own Region, so the forwarder has a small topic of its own with the
    guardian's subscribers."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        home_region: str,
        rule_prefix: str,
        emails: Sequence[Recipient] = (),
        watch: Compiled | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.home_bus_arn = f"arn:{Aws.PARTITION}:events:{home_region}:{Aws.ACCOUNT_ID}:event-bus/default"
        self.dead_letters = DeadLetterQueue(self, "DeadLetters", of="the forwarding rule's target").queue
        self.rule_name = f"{rule_prefix}-forward"
        self.rule = events.Rule(
            self,
            "Forward",
            rule_name=self.rule_name,
            description="CloudTrail Guardian: tampering and changes to the guardian, forwarded to its home Region",
            event_pattern=forwarded_pattern(),
        )
        home_bus = events.EventBus.from_event_bus_arn(self, "HomeBus", self.home_bus_arn)
        # One role for every forwarding rule: PutEvents on the home bus only.
        role = iam.Role(self, "ForwardRole", assumed_by=iam.ServicePrincipal("events.amazonaws.com"))
        self.rule.add_target(targets.EventBus(home_bus, dead_letter_queue=self.dead_letters, role=role))
        self.watch_rules = []
        if watch is not None:  # the watch rules' patterns, sent home like the tamper events
            self.watch_rules = forward_watched(
                self, watch, prefix=rule_prefix, home_bus=home_bus, dead_letters=self.dead_letters, role=role
            )
        self.rule_names = [self.rule_name, *forward_rule_names(rule_prefix, watch)]
        self.alerts = AlertsTopic(self, "Alerts", emails=emails)
        self.alarm = queue_alarm(
            self,
            self.dead_letters,
            f"CloudTrail Guardian could not forward an event to {home_region}: it is in the forwarder's dead-letter "
            "queue (the sweep is the backstop until it is replayed)",
            self.alerts.topic,
        )
        # Its own guard: a change to the forwarding rule, alerted in this Region (the rule may not forward the call
        # that disables it). A change to this guard is forwarded home, where the guardian's own guard watches both.
        guarded = Watch(
            "forwarder rule",
            "forward-guard",
            "aws.events",
            "events.amazonaws.com",
            GUARDED_CALLS["aws.events"],
            {"name": self.rule_names, "rule": self.rule_names},
        )
        self.guard = events.Rule(
            self,
            "Guard",
            rule_name=f"{rule_prefix}-forward-guard",
            description="CloudTrail Guardian self-protection: changes to the forwarding rule",
            event_pattern=pattern(guarded),
        )
        self.guard.add_target(targets.SnsTopic(self.alerts.topic, message=message(guarded, rule_prefix)))
        self.own_guards = self._guard_alert_path(rule_prefix, role)

    def _guard_alert_path(self, rule_prefix: str, role: iam.IRole) -> list[events.Rule]:
        """Its own alert path (topic, subscriptions, key, alarm, queue, role): no home guard names them, so a change
        is alerted in this Region, straight from EventBridge to its topic: CRITICAL by anyone but CloudFormation,
        HIGH by CloudFormation (a deployment of this stack, or a stack of someone else's)."""
        topic = self.alerts.topic.topic_arn
        key = [self.alerts.key.key_id, self.alerts.key.key_arn]
        alarm = [self.alarm.alarm_name]
        # Two groups, each within EventBridge's 2,048 characters a pattern: the topic and its key; the rest.
        groups: dict[str, dict[str, dict[str, list[Any]]]] = {
            "topic": {
                "aws.sns": {"topicArn": [topic], "subscriptionArn": [{"prefix": f"{topic}:"}], "resourceArn": [topic]},
                "aws.kms": {"keyId": key},
            },
            "queue": {
                "aws.cloudwatch": {"alarmName": alarm, "alarmNames": alarm},
                "aws.sqs": {"queueUrl": [self.dead_letters.queue_url]},
                "aws.iam": {"roleName": [role.role_name]},
            },
        }
        rules = []
        for group, naming in groups.items():
            for cfn, severity in (("", "CRITICAL"), ("-cfn", "HIGH")):
                suffix = f"forward-guard-{group}{cfn}"
                watch = Watch(
                    "forwarder alert path"
                    + (" (by CloudFormation: expected only while the forwarder deploys)" if cfn else ""),
                    suffix,
                    "aws.sns",
                    "sns.amazonaws.com",
                    (),
                    {},
                    severity=severity,
                )
                rule = events.Rule(
                    self,
                    "".join(part.title() for part in suffix.split("-")),
                    rule_name=f"{rule_prefix}-{suffix}",
                    description="CloudTrail Guardian self-protection: changes to the forwarder's alert path",
                    event_pattern=_alert_path_pattern(naming, via_cloudformation=bool(cfn)),
                )
                rule.add_target(targets.SnsTopic(self.alerts.topic, message=message(watch, rule_prefix)))
                rules.append(rule)
        return rules


def _alert_path_pattern(naming: dict[str, dict[str, list[Any]]], *, via_cloudformation: bool) -> events.EventPattern:
    """One pattern for every kind: a call of its source naming one of the forwarder's own resources."""
    either = []
    for source, fields in naming.items():
        branch: dict[str, Any] = {
            "eventSource": [EVENT_SOURCE_OF.get(source, source.removeprefix("aws.") + ".amazonaws.com")],
            "eventName": list(GUARDED_CALLS[source]),
        }
        named = [{"requestParameters": {f: v}} for f, v in fields.items()]
        branch.update(named[0] if len(named) == 1 else {"$or": named})
        either.append(branch)
    via: Any = VIA_CLOUDFORMATION if via_cloudformation else {"anything-but": VIA_CLOUDFORMATION}
    detail = {"sourceIPAddress": [via], "$or": either}
    return events.EventPattern(source=list(naming), detail_type=[API_CALL], detail=detail)


class ForwarderStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        home_region: str,
        rule_prefix: str,
        emails: Sequence[Recipient] = (),
        watch: Compiled | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"CloudTrail Guardian: forwards this Region's events to {home_region}",
            **kwargs,
        )
        self.forwarder = Forwarder(
            self, "Forwarder", home_region=home_region, rule_prefix=rule_prefix, emails=emails, watch=watch
        )
        Tags.of(self).add(GUARDIAN_TAG, rule_prefix)  # the service control policies know the guardian by it
