"""The sentinel trail: a second trail (management write events, every Region) into its own bucket.

EventBridge receives CloudTrail API-call events only while some trail is logging. With the sentinel, stopping or
deleting the protected trail still produces the event that heals it. Every call the guardian acts on is a write, and
EventBridge matches read-only calls only on rules in the state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS (the
guardian has none): so the sentinel records write events, and its floor is write events
(:mod:`guardian.model.floor`). A second copy of management events is paid per event, and reads are most of an
account's calls: ``sentinelReadEvents`` adds them for those who want the copy. The guardian protects the sentinel
like any other trail of the account (baseline, event heal, sweep). Its log and digest files are write-once (S3
Object Lock, COMPLIANCE mode, for as long as they are kept), and the sweep validates its digest chain
(:mod:`guardian.flows.log_files`).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Tags
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct


class SentinelTrail(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        access_logs: s3.IBucket,
        retention_days: int,
        protect_tag: str,
        read_events: bool = False,
        cloud_watch_logs: bool = False,
    ) -> None:
        """``cloud_watch_logs``: deliver to a CloudWatch Logs group too (what the CIS alarms read)."""
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            # Write-once log files: COMPLIANCE, not GOVERNANCE. GOVERNANCE is what an insider with s3:* bypasses
            # (--bypass-governance-retention) to delete the very log files that show what they did; COMPLIANCE
            # cannot be shortened or lifted by anyone, root included. Its cost is bounded: the lock lasts as long
            # as the lifecycle keeps the files anyway (sentinelRetentionDays), after which they expire as before.
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(Duration.days(retention_days)),
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="sentinel-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(retention_days),
                    noncurrent_version_expiration=Duration.days(retention_days),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.name = name
        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            trail_name=name,
            bucket=self.bucket,
            is_multi_region_trail=True,
            include_global_service_events=True,
            # Write events: what EventBridge rules match (the guardian's floor for its sentinel, which the functions
            # know by GUARDIAN_SENTINEL_TRAIL); reads, only when asked for (sentinelReadEvents).
            management_events=cloudtrail.ReadWriteType.ALL if read_events else cloudtrail.ReadWriteType.WRITE_ONLY,
            enable_file_validation=True,
            send_to_cloud_watch_logs=cloud_watch_logs,
            cloud_watch_logs_retention=logs.RetentionDays.ONE_YEAR if cloud_watch_logs else None,
        )
        # The role CloudTrail delivers to CloudWatch Logs with: the guardian's to guard (its self-protection roles).
        logs_role = self.trail.node.try_find_child("LogsRole") if cloud_watch_logs else None
        self.logs_role = logs_role if isinstance(logs_role, iam.Role) else None
        if protect_tag:  # protected like any trail, also when protection is narrowed to tagged trails
            key, _, value = protect_tag.partition("=")
            Tags.of(self.trail).add(key, value or "true")
