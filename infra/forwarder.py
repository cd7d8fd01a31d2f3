"""A forwarder: in every Region of `regions` but the home one, a small stack whose rule sends the same CloudTrail
events (trail tampering, and changes to the guardian's own resources) to the home Region's default event bus.

CloudTrail events reach only the bus of the Region where the call was made; without this, a StopLogging in another
Region would wait for the sweep. The events keep their shape (source, detail-type, detail with its awsRegion), so
the home function handles a forwarded event exactly like a local one and heals in the trail's home Region.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment as Ack
from aws_cdk import ArnFormat, Aws, Stack, Tags, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.dead_letters import DeadLetterQueue
from infra.nag import localized
from infra.self_protection import GUARDED_CALLS, Watch, pattern
from infra.settings import GUARDIAN_TAG
from infra.stack_callers import TAG_CALLS  # IAM's calls are recorded in us-east-1: the guardian's tag given
from infra.tamper_rule import EVENT_NAMES, EVENT_SOURCES
from infra.watch import forward_rule_names, forward_watched
from watch_rules.compile import Compiled

API_CALL = "AWS API Call via CloudTrail"


# Families of calls forwarded by their common prefix: one by one, every call the home Region acts on outgrew
# EventBridge's 2,048 characters a pattern. Forwarding a few more (PutBucketTagging) costs only the event: the home
# Region's rules match each call exactly.
FORWARDED_FAMILIES = ("PutBucket", "DeleteBucket", "PutRole", "DeleteRole", "UpdateFunction", "PutFunction")


def forwarded_pattern() -> events.EventPattern:
    """Every event the home Region's rules act on: tamper events and changes to the guardian's resources."""
    sources = list(dict.fromkeys([*EVENT_SOURCES, *GUARDED_CALLS]))
    names: list[Any] = [*EVENT_NAMES, *(n for calls in GUARDED_CALLS.values() for n in calls), *TAG_CALLS]
    names += [{"prefix": family} for family in FORWARDED_FAMILIES]
    prefixes = [n["prefix"] for n in names if isinstance(n, dict)]
    # a name, or a narrower prefix ({"prefix": "UpdateFunctionCode"} under "UpdateFunction"), within a family's
    names = [n for n in names if not any(_name(n).startswith(p) for p in prefixes if n != {"prefix": p})]
    unique = [n for i, n in enumerate(names) if n not in names[:i]]  # prefix objects are not hashable
    return events.EventPattern(source=sources, detail_type=[API_CALL], detail={"eventName": unique})


def _name(name: str | dict[str, str]) -> str:
    return name if isinstance(name, str) else name["prefix"]


def forward_role_prefix(stack_name: str) -> str:
    """What every forwarder's role name starts with (``<role prefix><Region>``): the home Region's IAM guard knows
    them all by it. Cut to fit IAM's 64 characters with the longest Region names."""
    return f"{stack_name[:38]}-forward-"


def forward_queue_name(stack_name: str) -> str:
    """Every forwarder's dead-letter queue, the same name in each Region: the home Region's SQS guard matches it
    (``*/<stackName>-*``) once the forwarder sends the call home, and the sweep reads its depth there."""
    return f"{stack_name}-forward-dead-letters"


def grant_reading_forwarder_queues(policy: iam.ManagedPolicy, stack: Stack, stack_name: str) -> None:
    """GetQueueAttributes for the sweep, which reads every forwarder's dead-letter queue's depth
    (:mod:`guardian.flows.forwarder_queues`): that queue only (:func:`forward_queue_name`), in any Region of this
    account. In the sweep's customer managed policy (infra.sweep_schedule), as its inline policies are near IAM's
    10,240 characters. Read only: a queue's attributes and depth."""
    queues = stack.format_arn(
        service="sqs", region="*", resource=forward_queue_name(stack_name), arn_format=ArnFormat.NO_RESOURCE_NAME
    )
    policy.add_statements(
        iam.PolicyStatement(sid="ReadTheForwardersQueues", actions=["sqs:GetQueueAttributes"], resources=[queues])
    )
    ack = Ack(
        id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:*:<AWS::AccountId>:{forward_queue_name(stack_name)}]",
        reason="The forwarders' dead-letter queues, one name in every forwarder's Region: only their depth is read.",
    )
    Validations.of(policy).acknowledge(*localized(stack, [ack]))


class Forwarder(Construct):
    """The forwarding rule, its role (PutEvents on the home bus only), its dead-letter queue, and its guard.

    Nothing in it has a monthly fee: no key, no alarm, no topic. Every change to it is alerted by the home Region's
    guards: the forwarding rule sends the guarded calls home (its queue and role are named so that the home guards
    match them: :func:`forward_queue_name`, :func:`forward_role_prefix`), and its guard rule sends home the calls that
    change the forwarding rules (a rule does not see the call that disables it). An event the rule could not deliver
    waits in the dead-letter queue, whose depth the home sweep reads in each forwarder's Region and alerts HIGH
    (:mod:`guardian.flows.forwarder_queues`): within one sweep interval (5 minutes by default) where an alarm of its
    own took a minute, but cost $0.10 a month, and the key of the topic it needed $1, in every Region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        home_region: str,
        rule_prefix: str,
        watch: Compiled | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.home_bus_arn = f"arn:{Aws.PARTITION}:events:{home_region}:{Aws.ACCOUNT_ID}:event-bus/default"
        self.dead_letters = DeadLetterQueue(
            self, "DeadLetters", of="the forwarding rule's target", queue_name=forward_queue_name(rule_prefix)
        ).queue
        self.rule_name = f"{rule_prefix}-forward"
        self.rule = events.Rule(
            self,
            "Forward",
            rule_name=self.rule_name,
            description="CloudTrail Guardian: tampering and changes to the guardian, forwarded to its home Region",
            event_pattern=forwarded_pattern(),
        )
        home_bus = events.EventBus.from_event_bus_arn(self, "HomeBus", self.home_bus_arn)
        # One role for every forwarding rule: PutEvents on the home bus only. Named: the home IAM guard matches it.
        self.role = iam.Role(
            self,
            "ForwardRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            role_name=f"{forward_role_prefix(rule_prefix)}{Stack.of(self).region}",
        )
        self.rule.add_target(targets.EventBus(home_bus, dead_letter_queue=self.dead_letters, role=self.role))
        self.watch_rules = []
        if watch is not None:  # the watch rules' patterns, sent home like the tamper events
            self.watch_rules = forward_watched(
                self, watch, prefix=rule_prefix, home_bus=home_bus, dead_letters=self.dead_letters, role=self.role
            )
        self.rule_names = [self.rule_name, *forward_rule_names(rule_prefix, watch)]
        # Its own guard: a change to a forwarding rule, sent home (the rule may not forward the call that disables
        # it), where the guardian's rule guard names every forwarder rule. A change to this guard is forwarded home
        # by the forwarding rule.
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
            description="CloudTrail Guardian self-protection: changes to the forwarding rules, sent home",
            event_pattern=pattern(guarded),
        )
        self.guard.add_target(targets.EventBus(home_bus, dead_letter_queue=self.dead_letters, role=self.role))


class ForwarderStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        home_region: str,
        rule_prefix: str,
        watch: Compiled | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"CloudTrail Guardian: forwards this Region's events to {home_region}",
            **kwargs,
        )
        self.forwarder = Forwarder(self, "Forwarder", home_region=home_region, rule_prefix=rule_prefix, watch=watch)
        Tags.of(self).add(GUARDIAN_TAG, rule_prefix)  # the service control policies know the guardian by it
