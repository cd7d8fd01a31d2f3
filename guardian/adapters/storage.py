"""A trail's S3 bucket and CloudWatch Logs group, read and put back in their own Region (implements
:class:`guardian.ports.calls.BucketCalls` and :class:`~guardian.ports.calls.LogGroupCalls`)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.ports.errors import error_code

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from guardian.adapters.clients import ClientProvider
    from guardian.model.bucket import BucketState
    from guardian.model.log_group import LogGroupState


class StorageAdapter:
    _clients: ClientProvider
    _bucket: str  # the evidence bucket
    _topic_region: str  # the guardian's own Region

    # -- a trail's S3 bucket (in the bucket's own Region) ------------------------------------------------------

    def bucket_state(self, name: str, region: str | None = None) -> BucketState:
        """The bucket's protected settings, read live; ``exists`` False if it is gone. With ``region`` (where its
        baseline says it lives) the location and the six settings are read at once, and the settings read again
        only if the bucket is elsewhere now; without it, the location first."""
        from guardian.model.bucket import BucketState, canonical, canonical_policy  # noqa: PLC0415 - not the heal path

        with ThreadPoolExecutor(max_workers=7) as pool:  # round trips at once, not one after another
            location = pool.submit(self._clients.s3(region).get_bucket_location, Bucket=name)
            guessed = self._bucket_settings(name, region, pool) if region else None
            try:
                home = _bucket_region(location.result().get("LocationConstraint"))
            except ClientError as exc:
                if error_code(exc) in ("NoSuchBucket", "404"):
                    return BucketState(name, region or "", exists=False)
                raise
            settings = guessed if home == region and guessed else self._bucket_settings(name, home, pool)
            policy, rules, block, acl, encryption, versioning = (read.result() for read in settings)
        return BucketState(
            name=name,
            region=home,
            policy=canonical_policy(policy),
            lifecycle_rules=tuple(canonical(r) for r in rules) if rules else None,
            versioning=versioning,
            public_access_block=canonical(block) if block else None,
            acl_grants=tuple(canonical(g) for g in acl.get("Grants", [])),
            acl_owner=canonical(acl["Owner"]) if acl.get("Owner") else None,
            encryption=tuple(canonical(r) for r in encryption) if encryption else None,
        )

    def _bucket_settings(self, name: str, home: str | None, pool: ThreadPoolExecutor) -> list[Future[Any]]:
        """The six reads of a bucket's protected settings, sent at once from its home Region's client."""
        s3 = self._clients.s3(home)
        reads: list[Callable[[], Any]] = [
            lambda: _unless(lambda: s3.get_bucket_policy(Bucket=name)["Policy"], "NoSuchBucketPolicy"),
            lambda: _unless(
                lambda: s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"], "NoSuchLifecycleConfiguration"
            ),
            lambda: _unless(
                lambda: s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"],
                "NoSuchPublicAccessBlockConfiguration",
            ),
            lambda: s3.get_bucket_acl(Bucket=name),
            lambda: _unless(
                lambda: s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"],
                "ServerSideEncryptionConfigurationNotFoundError",
            ),
            lambda: s3.get_bucket_versioning(Bucket=name).get("Status"),
        ]
        return [pool.submit(read) for read in reads]

    def create_bucket(self, state: BucketState) -> None:
        s3 = self._clients.s3(state.region)
        if state.region == "us-east-1":
            s3.create_bucket(Bucket=state.name)
        else:
            s3.create_bucket(
                Bucket=state.name,
                CreateBucketConfiguration={"LocationConstraint": state.region},  # type: ignore[typeddict-item]
            )

    def put_bucket_policy(self, state: BucketState) -> None:
        s3 = self._clients.s3(state.region)
        if state.policy is None:
            s3.delete_bucket_policy(Bucket=state.name)
        else:
            s3.put_bucket_policy(Bucket=state.name, Policy=state.policy)

    def put_bucket_lifecycle(self, state: BucketState) -> None:
        s3 = self._clients.s3(state.region)
        if state.lifecycle_rules is None:
            s3.delete_bucket_lifecycle(Bucket=state.name)
        else:
            rules: list[Any] = [dict(r) for r in state.lifecycle_rules]
            s3.put_bucket_lifecycle_configuration(Bucket=state.name, LifecycleConfiguration={"Rules": rules})

    def put_bucket_versioning(self, state: BucketState) -> None:
        status: Any = state.versioning or "Suspended"
        self._clients.s3(state.region).put_bucket_versioning(
            Bucket=state.name, VersioningConfiguration={"Status": status}
        )

    def put_public_access_block(self, state: BucketState) -> None:
        s3 = self._clients.s3(state.region)
        if state.public_access_block is None:
            s3.delete_public_access_block(Bucket=state.name)
        else:
            block: Any = dict(state.public_access_block)
            s3.put_public_access_block(Bucket=state.name, PublicAccessBlockConfiguration=block)

    def put_bucket_encryption(self, state: BucketState) -> None:
        s3 = self._clients.s3(state.region)
        if state.encryption is None:
            s3.delete_bucket_encryption(Bucket=state.name)
        else:
            rules: Any = [dict(r) for r in state.encryption]
            s3.put_bucket_encryption(Bucket=state.name, ServerSideEncryptionConfiguration={"Rules": rules})

    def put_bucket_acl(self, state: BucketState) -> None:
        policy: Any = {"Grants": [dict(g) for g in state.acl_grants]}
        if state.acl_owner:
            policy["Owner"] = dict(state.acl_owner)
        self._clients.s3(state.region).put_bucket_acl(Bucket=state.name, AccessControlPolicy=policy)

    def object_lock(self, name: str, region: str | None = None) -> dict[str, Any] | None:
        """The bucket's Object Lock configuration (its default retention), canonical; None if it has none."""
        from guardian.model.bucket import canonical  # noqa: PLC0415 - not the heal path

        try:
            found = self._clients.s3(region).get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
        except ClientError as exc:
            if error_code(exc) == "ObjectLockConfigurationNotFoundError":
                return None
            raise
        return dict(canonical(found))

    def put_object_lock(self, name: str, region: str | None, configuration: Mapping[str, Any]) -> None:
        lock: Any = dict(configuration)
        self._clients.s3(region).put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=lock)

    # -- a trail's CloudWatch Logs group ---------------------------------------------------------------------------

    def log_group_state(self, region: str, name: str) -> LogGroupState:
        from guardian.model.log_group import LogGroupState  # noqa: PLC0415 - not the heal path

        paginator = self._clients.logs(region).get_paginator("describe_log_groups")
        for page in paginator.paginate(logGroupNamePrefix=name):
            for group in page.get("logGroups", []):
                if group.get("logGroupName") == name:
                    days, key = group.get("retentionInDays"), group.get("kmsKeyId") or None
                    return LogGroupState(name, region, True, days, key, self._transformer(region, name))
        return LogGroupState(name, region, exists=False)

    def _transformer(self, region: str, name: str) -> str | None:
        """The group's own transformer (GetTransformer shows only a group's; an account's is an account policy)."""
        from guardian.model.log_group import transformer_of  # noqa: PLC0415 - not the heal path

        logs = self._clients.logs(region)
        found = _unless(lambda: logs.get_transformer(logGroupIdentifier=name), "ResourceNotFoundException")
        return transformer_of((found or {}).get("transformerConfig"))

    def put_transformer(self, state: LogGroupState) -> None:
        """The group's transformer as ``state`` has it: put back, or (None) deleted."""
        import json  # noqa: PLC0415 - not the heal path

        logs = self._clients.logs(state.region)
        if state.transformer is None:
            logs.delete_transformer(logGroupIdentifier=state.name)
        else:
            logs.put_transformer(logGroupIdentifier=state.name, transformerConfig=json.loads(state.transformer))

    def account_policies(self, region: str, policy_type: str) -> list[dict[str, Any]]:
        """The account's CloudWatch Logs policies of one type in ``region`` (DescribeAccountPolicies)."""
        logs = self._clients.logs(region)
        found: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(20):  # AWS allows 20 transformer policies and one data protection policy per Region
            request: Any = {"policyType": policy_type, **({"nextToken": token} if token else {})}
            page = logs.describe_account_policies(**request)
            found += [dict(policy) for policy in page.get("accountPolicies", [])]
            token = page.get("nextToken")
            if not token:
                break
        return found

    def create_log_group(self, state: LogGroupState) -> None:
        logs = self._clients.logs(state.region)
        if state.kms_key_id:
            logs.create_log_group(logGroupName=state.name, kmsKeyId=state.kms_key_id)
        else:
            logs.create_log_group(logGroupName=state.name)

    def put_retention(self, state: LogGroupState) -> None:
        logs = self._clients.logs(state.region)
        if state.retention_days is None:
            logs.delete_retention_policy(logGroupName=state.name)
        else:
            logs.put_retention_policy(logGroupName=state.name, retentionInDays=state.retention_days)

    def associate_log_key(self, state: LogGroupState) -> None:
        """The group's key as ``state`` has it: associated, or (None) disassociated."""
        logs = self._clients.logs(state.region)
        if state.kms_key_id is None:
            logs.disassociate_kms_key(logGroupName=state.name)
        else:
            logs.associate_kms_key(logGroupName=state.name, kmsKeyId=state.kms_key_id)


def _unless(read: Callable[[], Any], absent: str) -> Any:
    """The value ``read`` returns, or None when AWS answers with error code ``absent`` (nothing configured)."""
    try:
        return read()
    except ClientError as exc:
        if error_code(exc) == absent:
            return None
        raise


def _bucket_region(location: str | None) -> str:
    """GetBucketLocation answers None for us-east-1 and "EU" for the oldest eu-west-1 buckets."""
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location or "us-east-1")
