"""Alarms that tell the security team when the guardian itself fails: events parked in the DLQ, function errors,
throttles, and a sweep that stopped succeeding (a dead man's switch).

The dead man's switch watches AWS's own metrics of the sweep function (``AWS/Lambda`` Invocations less Errors):
nobody in the account can publish into an ``AWS/`` namespace, so nobody can feed it; and an invocation that is not
a sweep (junk handed to the function, or sent through a function URL) ends as an error, so it adds nothing to
Invocations less Errors and sets off the sweep-errors alarm (``guardian.model.sweep_triggers``). Every alarm has a
fixed name, ``<stackName>-...``, so that the self-protection rules can name it and the sweep can check it.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = Duration.minutes(1)
ALARM_SUFFIXES = ("dead-letters", "function-errors", "function-throttles", "sweep-errors", "sweep-silent")


class GuardianAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        function: lambda_.IFunction,
        sweep: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        sweep_minutes: int,
        prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = occurrence_alarm(
            self,
            "DeadLetters",
            "CloudTrail Guardian could not handle an event (a heal that kept failing, or an alert SNS refused): it is "
            "parked in the dead-letter queue, and the message's ErrorMessage attribute names the event",
            dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
            name=f"{prefix}-dead-letters",
        )
        self.errors = occurrence_alarm(
            self,
            "FunctionErrors",
            "CloudTrail Guardian's remediation function failed (a heal may have failed)",
            function.metric_errors(period=PERIOD, statistic="Sum"),
            name=f"{prefix}-function-errors",
        )
        self.throttles = occurrence_alarm(
            self,
            "FunctionThrottles",
            "CloudTrail Guardian's remediation function was throttled (heals are delayed)",
            function.metric_throttles(period=PERIOD, statistic="Sum"),
            name=f"{prefix}-function-throttles",
        )
        self.sweep_errors = occurrence_alarm(
            self,
            "SweepErrors",
            "CloudTrail Guardian's sweep failed: a trail could not be restored, a Region could not be read, or its "
            "function was invoked with something that is not a sweep (junk, to keep the dead man's switch green)",
            sweep.metric_errors(period=PERIOD, statistic="Sum"),
            name=f"{prefix}-sweep-errors",
        )
        # Dead man's switch: silence is the failure. No sweep that ended without an error in two intervals (the
        # schedule disabled or deleted, the function broken, throttled or deleted) breaches: missing data breaches.
        interval = Duration.minutes(sweep_minutes)
        succeeded = cloudwatch.MathExpression(
            expression="invocations - errors",
            using_metrics={
                "invocations": sweep.metric_invocations(period=interval, statistic="Sum"),
                "errors": sweep.metric_errors(period=interval, statistic="Sum"),
            },
            period=interval,
            label="sweeps that succeeded",
        )
        self.sweep_silent = cloudwatch.Alarm(
            self,
            "SweepSilent",
            alarm_name=f"{prefix}-sweep-silent",
            alarm_description="CloudTrail Guardian's sweep has not succeeded for two intervals: the backstop is down",
            metric=succeeded,
            threshold=1,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        self.all = (self.dead_letters, self.errors, self.throttles, self.sweep_errors, self.sweep_silent)
        for alarm in self.all:
            alarm.add_alarm_action(actions.SnsAction(topic))


def occurrence_alarm(
    scope: Construct, construct_id: str, description: str, metric: cloudwatch.IMetric, *, name: str | None = None
) -> cloudwatch.Alarm:
    """Any occurrence in a minute alarms; no data means nothing happened."""
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=name,
        alarm_description=description,
        metric=metric,
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


def queue_alarm(
    scope: Construct, queue: sqs.IQueue, description: str, topic: sns.ITopic, *, name: str | None = None
) -> cloudwatch.Alarm:
    """A dead-letter queue that is not empty, to ``topic``: something the guardian could not deliver waits in it."""
    alarm = occurrence_alarm(
        scope,
        "DeadLettersAlarm",
        description,
        queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
        name=name,
    )
    alarm.add_alarm_action(actions.SnsAction(topic))
    return alarm
