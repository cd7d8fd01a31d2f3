"""The EventBridge rule that sends every change to a trail, its bucket, log group and key, and CloudTrail Lake's
event data stores to the remediation function."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

EVENT_NAMES = (
    "StopLogging",
    "StartLogging",
    "UpdateTrail",
    "DeleteTrail",
    "CreateTrail",
    "RemoveTags",
    "AddTags",
    "PutEventSelectors",
    "PutInsightSelectors",
    "StopEventDataStoreIngestion",  # CloudTrail Lake
    "DeleteEventDataStore",
    "UpdateEventDataStore",
    "DisableKey",  # kms.amazonaws.com: acted on only for a key that encrypts a protected trail
    "ScheduleKeyDeletion",
    "PutKeyPolicy",
    "CreateGrant",  # alerted only
    "RetireGrant",
    "RevokeGrant",
    "PutBucketPolicy",  # s3.amazonaws.com: acted on only for a bucket a protected trail delivers to
    "DeleteBucketPolicy",
    "PutBucketLifecycle",
    "DeleteBucketLifecycle",
    "PutBucketVersioning",
    "PutBucketAcl",
    "PutBucketPublicAccessBlock",
    "DeleteBucketPublicAccessBlock",
    "PutBucketEncryption",
    "DeleteBucketEncryption",
    "DeleteBucket",
    "PutBucketOwnershipControls",  # alerted only
    "PutObjectLockConfiguration",
    "PutBucketIntelligentTieringConfiguration",  # archive tiers: alerted only
    "DeleteBucketIntelligentTieringConfiguration",
    "DeleteLogGroup",  # logs.amazonaws.com: acted on only for a protected trail's log group
    "PutRetentionPolicy",
    "AssociateKmsKey",  # a key put on (or changed on) a protected trail's log group: taken off
    "DisassociateKmsKey",
    "DeleteMetricFilter",
    "PutMetricFilter",
    "DeleteSubscriptionFilter",
    "PutSubscriptionFilter",
    "DeleteLogStream",  # alerted only: a deleted stream cannot be restored
    "PutDataProtectionPolicy",  # masks fields (its sns.amazonaws.com namesake is self-protection's)
    "DeleteDataProtectionPolicy",
    "PutTransformer",  # rewrites a trail's records at ingestion: taken off (its deletion weakens nothing)
    "PutAccountPolicy",  # account-wide masking or transforming that reaches a trail's log group: alerted
    "DeleteAccountPolicy",  # an account-wide subscription filter's feed of the trail's records stopped: alerted
    "LeaveOrganization",  # organizations.amazonaws.com: recorded in us-east-1, where Organizations is homed
)
EVENT_SOURCES = {
    "aws.cloudtrail": "cloudtrail.amazonaws.com",
    "aws.kms": "kms.amazonaws.com",
    "aws.s3": "s3.amazonaws.com",
    "aws.logs": "logs.amazonaws.com",
    "aws.organizations": "organizations.amazonaws.com",
}


class TamperRule(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        rule_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        # Failed calls (errorCode present) are matched on purpose: an attempt to stop logging is worth an alert.
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=rule_name,
            description="CloudTrail Guardian: trail tampering via CloudTrail API calls",
            event_pattern=events.EventPattern(
                source=list(EVENT_SOURCES),
                detail_type=["AWS API Call via CloudTrail"],
                detail={"eventSource": list(EVENT_SOURCES.values()), "eventName": list(EVENT_NAMES)},
            ),
        )
        # EventBridge retries delivery for up to 24 h, then parks the event in the dead-letter queue.
        self.rule.add_target(
            targets.LambdaFunction(
                function,
                retry_attempts=185,
                max_event_age=Duration.hours(24),
                dead_letter_queue=dead_letter_queue,
            )
        )
