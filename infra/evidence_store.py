"""The evidence bucket: S3 Object Lock (WORM) with default retention, versioned, private, SSL only, access-logged.

Retained when the stack is deleted: evidence must outlive the tool that wrote it.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment as Ack
from aws_cdk import Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

EVIDENCE_PREFIX = "evidence/"
SELFTESTS_PREFIX = "selftests/"  # the signed markers `guardian selftest` registers
# Every action that adds, changes, tags or removes an object or its version, or loosens its retention.
OBJECT_WRITES = [
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersionTagging",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
    "s3:RestoreObject",
]
BASELINES_PREFIX = "baselines/"
DIGESTS_PREFIX = "digests/"
GROUPS_PREFIX = "groups/"  # alert groups' windows (as guardian.model.grouping names it)
BLIND_WINDOWS_PREFIX = "blind-windows/"  # a healed trail's blind window, read back (guardian.model.blind_window)
SIGNATURES = "*.json.sig"  # records' signature sidecars, under evidence/ (guardian.model.record_signatures)


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

    def grant_evidence(self, role: iam.IRole) -> None:
        """Write each record once; tag it with its alert's message id; read that tag on a duplicate delivery.
        No GetObject, no delete: a function cannot read or remove past evidence. And the alert groups' windows."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteEvidenceOnceAndMarkItAlerted",
                actions=["s3:PutObject", "s3:PutObjectTagging", "s3:GetObjectTagging"],
                resources=[self.bucket.arn_for_objects(EVIDENCE_PREFIX + "*")],
            )
        )
        # A record's signature is written under its own short COMPLIANCE lock (guardian.flows.record_signing): no one
        # deletes it before a digest takes the record. PutObject with a lock needs s3:PutObjectRetention; sidecars only.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="LockEachRecordsSignature",
                actions=["s3:PutObjectRetention"],
                resources=[self.bucket.arn_for_objects(EVIDENCE_PREFIX + SIGNATURES)],
            )
        )
        # Alert groups' windows (guardian.model.group_objects): a write-once object per held alert, the window's
        # opening and its digest's claim, listed and read to build the digest. Only the guardian writes them.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RecordAlertGroupWindows",
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[self.bucket.arn_for_objects(GROUPS_PREFIX + "*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListAlertGroupWindows",
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [GROUPS_PREFIX + "*"]}},
            )
        )

    def grant_blind_windows(self, role: iam.IRole, *, settle: bool = False) -> None:
        """Keep a healed trail's blind window (its events, read from CloudTrail's Event history), written once beside
        the record, signed; the sweep (``settle``) also lists and reads them, to read each again once Event history
        holds all of it."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="KeepBlindWindows",
                actions=["s3:PutObject", *(["s3:GetObject"] if settle else [])],
                resources=[self.bucket.arn_for_objects(BLIND_WINDOWS_PREFIX + "*")],
            )
        )
        if settle:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ListBlindWindows",
                    actions=["s3:ListBucket"],
                    resources=[self.bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [BLIND_WINDOWS_PREFIX + "*"]}},
                )
            )

    def grant_baselines(self, role: iam.IRole, *, list_them: bool) -> None:
        """Read and record baselines (new versions of one object per trail), and read their earlier versions (the
        last verified one is used when the newest fails verification); the sweep also lists them."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadAndRecordBaselines",
                actions=["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"],
                resources=[self.bucket.arn_for_objects(BASELINES_PREFIX + "*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListBaselinesAndTheirVersions",
                actions=["s3:ListBucket", "s3:ListBucketVersions"] if list_them else ["s3:ListBucketVersions"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [BASELINES_PREFIX + "*"]}},
            )
        )

    def grant_selftests(self, role: iam.IRole, *, write: bool) -> None:
        """The sweep's function signs a self-test's marker when an approver asks; the handler reads it (and its
        earlier versions, when the newest fails verification) to mark a StopLogging of the sentinel as a self-test."""
        actions = ["s3:GetObject", "s3:GetObjectVersion", *(["s3:PutObject"] if write else [])]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RegisterSelfTests" if write else "ReadSelfTestMarkers",
                actions=actions,
                resources=[self.bucket.arn_for_objects(SELFTESTS_PREFIX + "*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListSelfTestMarkerVersions",
                actions=["s3:ListBucketVersions"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [SELFTESTS_PREFIX + "*"]}},
            )
        )

    def grant_digests(self, role: iam.IRole) -> None:
        """The sweep extends the evidence digest chain: it lists the records written since the last digest, reads
        each once (for its SHA-256), reads the chain's head, and writes the next digest (once, under Object Lock)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadRecordsAndTheChainForTheDigest",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[
                    self.bucket.arn_for_objects(EVIDENCE_PREFIX + "*"),
                    self.bucket.arn_for_objects(DIGESTS_PREFIX + "*"),
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteTheNextDigest",
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(DIGESTS_PREFIX + "*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListRecordsAndDigests",
                actions=["s3:ListBucket", "s3:ListBucketVersions"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [EVIDENCE_PREFIX + "*", DIGESTS_PREFIX + "*"]}},
            )
        )

    def only_the_guardian_writes(self, roles: Sequence[iam.IRole], *, break_glass: str | None) -> None:
        """Deny every other principal, whatever its IAM policies say, every way of adding, changing, tagging or
        deleting an object, and bypassing GOVERNANCE retention: baselines, evidence and alert-tracking tags are
        written by the guardian alone (and by a named break-glass role, if the deployment gives one)."""
        allowed = [role.role_arn for role in roles]
        if break_glass:
            allowed.append(
                Stack.of(self).format_arn(service="iam", region="", resource="role", resource_name=break_glass)
            )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheGuardianWritesEvidenceAndBaselines",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=OBJECT_WRITES,
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": allowed}},
            )
        )

    def acknowledgements(self, *, baselines: bool, digests: bool = False, selftests: bool = False) -> list[Ack]:
        """cdk-nag findings the grants above raise, each with its reason."""
        bucket = f"<{Stack.of(self).get_logical_id(self.cfn_bucket)}.Arn>"
        acks = [
            Ack(
                id=f"AwsSolutions-IAM5[Resource::{bucket}/{EVIDENCE_PREFIX}*]",
                reason="Evidence keys are derived from each event's eventID; the grant is limited to the evidence/ "
                "prefix of the guardian's own bucket.",
            ),
            Ack(
                id=f"AwsSolutions-IAM5[Resource::{bucket}/{EVIDENCE_PREFIX}{SIGNATURES}]",
                reason="Each record's signature sidecar is written under its own short COMPLIANCE lock, so no one "
                "deletes it before a digest takes the record; PutObjectRetention on the sidecars of evidence/ only.",
            ),
            Ack(
                id=f"AwsSolutions-IAM5[Resource::{bucket}/{BLIND_WINDOWS_PREFIX}*]",
                reason="One object per healed blind window, named after its evidence record; the grant is limited to "
                "the blind-windows/ prefix of the guardian's own bucket.",
            ),
            Ack(
                id=f"AwsSolutions-IAM5[Resource::{bucket}/{GROUPS_PREFIX}*]",
                reason="One object per alert held in an alert group's window, named after the group and the event; "
                "the grant is limited to the groups/ prefix of the guardian's own bucket.",
            ),
        ]
        if baselines:
            acks.append(
                Ack(
                    id=f"AwsSolutions-IAM5[Resource::{bucket}/{BASELINES_PREFIX}*]",
                    reason="One baseline object per protected trail, named after the trail; the grant is limited to "
                    "the baselines/ prefix of the guardian's own bucket.",
                )
            )
        if digests:
            acks.append(
                Ack(
                    id=f"AwsSolutions-IAM5[Resource::{bucket}/{DIGESTS_PREFIX}*]",
                    reason="One digest object per sweep with new evidence, numbered in sequence; the grant is limited "
                    "to the digests/ prefix of the guardian's own bucket.",
                )
            )
        if selftests:
            acks.append(
                Ack(
                    id=f"AwsSolutions-IAM5[Resource::{bucket}/{SELFTESTS_PREFIX}*]",
                    reason="One self-test marker per sentinel trail, named after the trail; the grant is limited to "
                    "the selftests/ prefix of the guardian's own bucket.",
                )
            )
        return acks
