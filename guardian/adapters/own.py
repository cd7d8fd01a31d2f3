"""The guardian's own resources, as the sweep checks them: its EventBridge rules (in its home Region and every
forwarder's), its functions, its stack, and the path an alert takes (the topic's subscriptions, alarms, queue)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.ports.errors import error_code

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider


# What defines a metric alarm, as DescribeAlarms gives it and PutMetricAlarm takes it.
ALARM_FIELDS = (
    "AlarmName",
    "AlarmDescription",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


STACK_EVENT_PAGES = 10  # pages of DescribeStackEvents (newest first)

FILTER_FIELDS = ("filterName", "filterPattern", "metricTransformations", "applyOnTransformedLogs")


class OwnAdapter:
    _clients: ClientProvider
    _topic_arn: str
    _topic_region: str

    # -- its rules, in any Region ------------------------------------------------------------------------------

    def describe_rule(self, region: str, name: str) -> dict[str, Any] | None:
        try:
            rule = self._clients.events(region).describe_rule(Name=name)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        return {k: v for k, v in rule.items() if k != "ResponseMetadata"}

    def rule_targets(self, region: str, name: str) -> list[dict[str, Any]]:
        events = self._clients.events(region)
        targets: list[dict[str, Any]] = []
        for page in events.get_paginator("list_targets_by_rule").paginate(Rule=name):
            targets += [dict(t) for t in page.get("Targets", [])]
        return targets

    def enable_rule(self, region: str, name: str) -> None:
        self._clients.events(region).enable_rule(Name=name)

    def put_rule(self, region: str, rule: dict[str, Any]) -> None:
        """PutRule with a rule's recorded definition (pattern or schedule, state, description)."""
        fields = ("Name", "EventPattern", "ScheduleExpression", "State", "Description", "RoleArn", "EventBusName")
        request: Any = {k: rule[k] for k in fields if rule.get(k) is not None}
        self._clients.events(region).put_rule(**request)

    def put_targets(self, region: str, name: str, targets: list[dict[str, Any]]) -> None:
        response = self._clients.events(region).put_targets(Rule=name, Targets=targets)  # type: ignore[arg-type]
        if response.get("FailedEntryCount"):
            failed = response.get("FailedEntries", [])
            raise ClientError(
                {"Error": {"Code": "PutTargetsFailed", "Message": json.dumps(failed, default=str)}}, "PutTargets"
            )

    def remove_targets(self, region: str, name: str, ids: list[str]) -> None:
        self._clients.events(region).remove_targets(Rule=name, Ids=ids)

    # -- its functions -----------------------------------------------------------------------------------------

    def function_config(self, name: str) -> dict[str, Any] | None:
        try:
            found = self._clients.lambda_(self._topic_region).get_function_configuration(FunctionName=name)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        return {k: v for k, v in found.items() if k != "ResponseMetadata"}

    def function_concurrency(self, name: str) -> int | None:
        found = self._clients.lambda_(self._topic_region).get_function_concurrency(FunctionName=name)
        value = found.get("ReservedConcurrentExecutions")
        return None if value is None else int(value)

    def put_concurrency(self, name: str, value: int | None) -> None:
        client = self._clients.lambda_(self._topic_region)
        if value is None:
            client.delete_function_concurrency(FunctionName=name)
        else:
            client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=value)

    # -- its stack ---------------------------------------------------------------------------------------------

    def stack_status(self, stack_id: str) -> tuple[str, datetime] | None:
        """The stack's status and when it was last created or updated; None if it does not exist."""
        try:
            [stack] = self._clients.cloudformation(self._topic_region).describe_stacks(StackName=stack_id)["Stacks"]
        except ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise
        return str(stack["StackStatus"]), stack.get("LastUpdatedTime") or stack["CreationTime"]

    def stack_events(
        self, stack_id: str, since: datetime, region: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """The stack's events back to ``since`` (newest first), and whether they reach it: at most
        :data:`STACK_EVENT_PAGES` pages are read (a stack deployed over and over may have thousands). ``region``:
        a forwarder's stack, by name in its Region (default: the guardian's own Region)."""
        client = self._clients.cloudformation(region or self._topic_region)
        found: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(STACK_EVENT_PAGES):
            page = client.describe_stack_events(StackName=stack_id, **({"NextToken": token} if token else {}))
            events = [dict(e) for e in page.get("StackEvents", [])]
            found += events
            token = page.get("NextToken")
            oldest = events[-1].get("Timestamp") if events else None
            if not token or (isinstance(oldest, datetime) and oldest < since):
                return found, True
        return found, False

    def stack_role(self, region: str, stack: str) -> str | None:
        """The role CloudFormation acts with for the stack (name or ARN, in ``region``): its ARN, "" when it has
        none, None when the stack does not exist (any other error is raised)."""
        try:
            [found] = self._clients.cloudformation(region).describe_stacks(StackName=stack)["Stacks"]
        except ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise
        return str(found.get("RoleARN") or "")

    # -- the alert path ----------------------------------------------------------------------------------------

    def subscriptions(self) -> list[dict[str, Any]]:
        """The topic's subscriptions: ARN, protocol, endpoint, filter policy (None when it has none), its scope, and
        whether its confirmation was authenticated (None while pending)."""
        sns = self._clients.sns(self._topic_region)
        found: list[dict[str, Any]] = []
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=self._topic_arn):
            for sub in page.get("Subscriptions", []):
                arn = sub["SubscriptionArn"]
                policy = scope = authenticated = None
                if arn.startswith("arn:"):  # "PendingConfirmation" has no attributes yet
                    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
                    policy = attributes.get("FilterPolicy") or None
                    scope = attributes.get("FilterPolicyScope") or ("MessageAttributes" if policy else None)
                    # false: confirmed by the email's link, whose unsubscribe link then needs no credentials
                    authenticated = attributes.get("ConfirmationWasAuthenticated", "true").lower() == "true"
                found.append(
                    {
                        "arn": arn,
                        "protocol": sub["Protocol"],
                        "endpoint": sub["Endpoint"],
                        "filter": policy,
                        "scope": scope,
                        "authenticated": authenticated,
                    }
                )
        return found

    def set_filter_policy(self, subscription_arn: str, policy: str | None) -> None:
        """``policy`` on the message body; None removes the subscription's filter policy."""
        sns = self._clients.sns(self._topic_region)
        if policy is None:
            sns.set_subscription_attributes(
                SubscriptionArn=subscription_arn, AttributeName="FilterPolicy", AttributeValue="{}"
            )
            return
        sns.set_subscription_attributes(
            SubscriptionArn=subscription_arn, AttributeName="FilterPolicy", AttributeValue=policy
        )
        sns.set_subscription_attributes(
            SubscriptionArn=subscription_arn, AttributeName="FilterPolicyScope", AttributeValue="MessageBody"
        )

    def subscribe(self, protocol: str, endpoint: str, policy: str | None = None) -> None:
        """Subscribe ``endpoint``, with ``policy`` on the message body if given (a new address must confirm)."""
        attributes = {"FilterPolicy": policy, "FilterPolicyScope": "MessageBody"} if policy else {}
        self._clients.sns(self._topic_region).subscribe(
            TopicArn=self._topic_arn, Protocol=protocol, Endpoint=endpoint, Attributes=attributes
        )

    def alarms(self, names: list[str]) -> list[dict[str, Any]]:
        """Each alarm's state of actions, and its definition as PutMetricAlarm takes it (without ActionsEnabled)."""
        found: list[Any] = []
        for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
            found += self._clients.cloudwatch().describe_alarms(AlarmNames=names[start : start + 100])["MetricAlarms"]
        return [
            {
                "name": a["AlarmName"],
                "actions_enabled": a.get("ActionsEnabled", True),
                "actions": a.get("AlarmActions"),
                "definition": {k: a[k] for k in ALARM_FIELDS if a.get(k) not in (None, [])},
            }
            for a in found
        ]

    def put_alarm(self, definition: dict[str, Any]) -> None:
        """PutMetricAlarm with an alarm's recorded definition: its actions enabled."""
        self._clients.cloudwatch().put_metric_alarm(**definition, ActionsEnabled=True)

    def metric_filters(self, group: str, prefix: str) -> list[dict[str, Any]]:
        """The metric filters of ``group`` named ``prefix...``, as PutMetricFilter takes them."""
        logs, found = self._clients.logs(self._topic_region), []
        for page in logs.get_paginator("describe_metric_filters").paginate(logGroupName=group, filterNamePrefix=prefix):
            found += page.get("metricFilters", [])
        return [{k: f[k] for k in FILTER_FIELDS if f.get(k) not in (None, [], False)} for f in found]  # type: ignore[literal-required]

    def put_metric_filter(self, group: str, definition: dict[str, Any]) -> None:
        self._clients.logs(self._topic_region).put_metric_filter(logGroupName=group, **definition)

    # -- the chat webhooks' secrets, by version id --------------------------------------------------------------

    def secret_version(self, arn: str) -> tuple[str | None, bool]:
        current, deleted, _ = self.secret_state(arn)
        return current, deleted

    def secret_state(self, arn: str) -> tuple[str | None, bool, dict[str, str]]:
        """AWSCURRENT's version, whether deletion is scheduled, and the tags: one DescribeSecret."""
        found = self._clients.secretsmanager(arn.split(":")[3]).describe_secret(SecretId=arn)
        stages = found.get("VersionIdsToStages") or {}
        current = next((v for v, labels in stages.items() if "AWSCURRENT" in labels), None)
        tags = {str(t.get("Key")): str(t.get("Value", "")) for t in found.get("Tags") or []}
        return current, found.get("DeletedDate") is not None, tags

    def restore_secret(self, arn: str) -> None:
        self._clients.secretsmanager(arn.split(":")[3]).restore_secret(SecretId=arn)

    def set_current_version(self, arn: str, version: str, current: str | None) -> None:
        """AWSCURRENT back on ``version`` (taken from ``current``, the version now holding it)."""
        request: Any = {"SecretId": arn, "VersionStage": "AWSCURRENT", "MoveToVersionId": version}
        if current is not None:
            request["RemoveFromVersionId"] = current
        self._clients.secretsmanager(arn.split(":")[3]).update_secret_version_stage(**request)

    def enable_alarm_actions(self, names: list[str]) -> None:
        self._clients.cloudwatch().enable_alarm_actions(AlarmNames=names)

    def topic_attributes(self) -> dict[str, str]:
        found = self._clients.sns(self._topic_region).get_topic_attributes(TopicArn=self._topic_arn)["Attributes"]
        return dict(found)

    def set_topic_attribute(self, name: str, value: str) -> None:
        self._clients.sns(self._topic_region).set_topic_attributes(
            TopicArn=self._topic_arn, AttributeName=name, AttributeValue=value
        )

    def queue_policy(self, url: str) -> str | None:
        try:
            found = self._clients.sqs(self._topic_region).get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
        except ClientError as exc:
            if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                return None
            raise
        return str(found.get("Attributes", {}).get("Policy", ""))

    def set_queue_policy(self, url: str, policy: str) -> None:
        self._clients.sqs(self._topic_region).set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})

    def queue_exists(self, url: str) -> bool:
        try:
            self._clients.sqs(self._topic_region).get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        except ClientError as exc:
            if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                return False
            raise
        return True
