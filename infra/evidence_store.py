"""The evidence bucket: S3 Object Lock (WORM) with default retention, versioned, private, SSL only, access-logged.

Retained when the stack is deleted: evidence must outlive the tool that wrote it.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Duration, RemovalPolicy, Validations
from aws_cdk import aws_s3 as s3
from constructs import Construct

EVIDENCE_PREFIX = "evidence/"


class EvidenceStore(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, retention_mode: str, retention_days: int) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # S3 server access logging cannot write to SSE-KMS buckets
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(self.access_logs).acknowledge(
            Ack(
                id="AwsSolutions-S1",
                reason="This is the server access log bucket of the evidence bucket; "
                "logging it into itself would loop.",
            )
        )
        duration = Duration.days(retention_days)
        retention = (
            s3.ObjectLockRetention.compliance(duration)
            if retention_mode == "COMPLIANCE"
            else s3.ObjectLockRetention.governance(duration)
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            object_lock_enabled=True,
            object_lock_default_retention=retention,
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="evidence-bucket/",
            removal_policy=RemovalPolicy.RETAIN,
        )

    @property
    def cfn_bucket(self) -> s3.CfnBucket:
        child = self.bucket.node.default_child
        assert isinstance(child, s3.CfnBucket)
        return child

    def evidence_objects_arn(self) -> str:
        return self.bucket.arn_for_objects(EVIDENCE_PREFIX + "*")
