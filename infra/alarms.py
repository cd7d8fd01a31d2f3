"""Alarms that tell the security team when the guardian itself fails: events parked in the DLQ, function errors."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct


class GuardianAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(1)
        self.dead_letters = cloudwatch.Alarm(
            self,
            "DeadLetters",
            alarm_description="CloudTrail Guardian could not handle an event: it is parked in the dead-letter queue",
            metric=dead_letter_queue.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.errors = cloudwatch.Alarm(
            self,
            "FunctionErrors",
            alarm_description="CloudTrail Guardian's remediation function failed (a heal may have failed)",
            metric=function.metric_errors(period=period, statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.throttles = cloudwatch.Alarm(
            self,
            "FunctionThrottles",
            alarm_description="CloudTrail Guardian's remediation function was throttled (heals are delayed)",
            metric=function.metric_throttles(period=period, statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (self.dead_letters, self.errors, self.throttles):
            alarm.add_alarm_action(actions.SnsAction(topic))
