"""What weakens a trail's bucket or log group, case by case (the rules the README states)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from guardian.model.baselines import log_group_key
from guardian.model.bucket import BucketState, canonical_policy, compare_bucket, shortest_expiry, target_bucket
from guardian.model.changes import Effect
from guardian.model.events import parse_event
from guardian.model.log_group import LogGroupState, compare_group, group_of, target_group
from tests.support import load_event

CLOUDTRAIL_WRITE = {
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "s3:PutObject",
    "Resource": "arn:aws:s3:::logs/AWSLogs/*",
}
DENY_HTTP = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}
BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
OWNER_GRANT = {"Grantee": {"ID": "owner", "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}
PUBLIC_READ = {
    "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
    "Permission": "READ",
}


def policy(*statements: dict[str, Any]) -> str | None:
    return canonical_policy({"Version": "2012-10-17", "Statement": list(statements)})


BASE = BucketState(
    name="logs",
    region="us-east-1",
    policy=policy(CLOUDTRAIL_WRITE, DENY_HTTP),
    lifecycle_rules=({"ID": "keep-a-year", "Status": "Enabled", "Expiration": {"Days": 365}},),
    versioning="Enabled",
    public_access_block=BLOCK,
    acl_grants=(OWNER_GRANT,),
)


def effects(current: BucketState) -> dict[str, Effect]:
    return {c.field: c.effect for c in compare_bucket(BASE, current)}


@pytest.mark.parametrize(
    ("new_policy", "effect"),
    [
        (policy(DENY_HTTP), Effect.WEAKENED),  # CloudTrail can no longer write
        (None, Effect.WEAKENED),  # DeleteBucketPolicy
        (policy(CLOUDTRAIL_WRITE), Effect.WEAKENED),  # a Deny removed
        (
            policy(CLOUDTRAIL_WRITE, DENY_HTTP, {**CLOUDTRAIL_WRITE, "Principal": {"AWS": "arn:aws:iam::999:root"}}),
            Effect.WEAKENED,  # another account admitted
        ),
        (policy(CLOUDTRAIL_WRITE, DENY_HTTP, {**CLOUDTRAIL_WRITE, "Principal": "*"}), Effect.WEAKENED),  # public
        (
            policy(CLOUDTRAIL_WRITE, DENY_HTTP, {**DENY_HTTP, "Action": "s3:DeleteObject"}),
            Effect.STRENGTHENED,  # one more Deny
        ),
        (policy({**CLOUDTRAIL_WRITE, "Action": ["s3:PutObject"]}, DENY_HTTP), Effect.STRENGTHENED),  # same meaning
        (policy({**CLOUDTRAIL_WRITE, "Sid": "Renamed"}, DENY_HTTP), Effect.STRENGTHENED),  # a Sid changes nothing
        # By effect on CloudTrail's writes (issue 13, item 6): each of these keeps an Allow for CloudTrail.
        (
            policy(CLOUDTRAIL_WRITE, DENY_HTTP, {**DENY_HTTP, "Principal": {"Service": "cloudtrail.amazonaws.com"}}),
            Effect.WEAKENED,  # a Deny aimed at CloudTrail: classed "stricter" before
        ),
        (
            policy(CLOUDTRAIL_WRITE, DENY_HTTP, {**DENY_HTTP, "Action": "s3:Put*", "Resource": "arn:aws:s3:::logs/*"}),
            Effect.WEAKENED,  # a Deny on everyone's writes stops CloudTrail's too
        ),
        (
            policy(
                CLOUDTRAIL_WRITE,
                DENY_HTTP,
                {**DENY_HTTP, "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "1"}}},
            ),
            Effect.WEAKENED,  # CloudTrail is no principal of account 1: an unknown condition is assumed to match
        ),
        (
            policy({**CLOUDTRAIL_WRITE, "Resource": "arn:aws:s3:::logs/elsewhere/*"}, DENY_HTTP),
            Effect.WEAKENED,  # CloudTrail's Allow narrowed to another prefix
        ),
        (
            policy(
                {**CLOUDTRAIL_WRITE, "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:x"}}},
                DENY_HTTP,
            ),
            Effect.WEAKENED,  # CloudTrail's Allow narrowed to another trail
        ),
        (
            policy(
                CLOUDTRAIL_WRITE,
                DENY_HTTP,
                {
                    **DENY_HTTP,
                    "Resource": "arn:aws:s3:::logs/*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ),
            Effect.STRENGTHENED,  # CloudTrail always writes over TLS: this Deny never matches it
        ),
        (
            policy(CLOUDTRAIL_WRITE, DENY_HTTP, {**DENY_HTTP, "NotPrincipal": {"Service": "cloudtrail.amazonaws.com"}}),
            Effect.STRENGTHENED,  # everyone but CloudTrail
        ),
        # Issue 20, item 8: a Resource wildcard without "/" covers the bucket's objects too.
        (
            policy(
                CLOUDTRAIL_WRITE, DENY_HTTP, {**DENY_HTTP, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs*"}
            ),
            Effect.WEAKENED,
        ),
        (
            policy(
                CLOUDTRAIL_WRITE, DENY_HTTP, {**DENY_HTTP, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logz*"}
            ),
            Effect.STRENGTHENED,  # another bucket's objects
        ),
        (
            policy(
                CLOUDTRAIL_WRITE,
                DENY_HTTP,
                {**DENY_HTTP, "Action": "s3:PutBucketPolicy", "Resource": "arn:aws:s3:::logs"},
            ),
            Effect.STRENGTHENED,  # not an object write
        ),
    ],
)
def test_policy_changes(new_policy: str | None, effect: Effect) -> None:
    assert effects(replace(BASE, policy=new_policy)) == {"policy": effect}


@pytest.mark.parametrize(
    ("rules", "effect"),
    [
        (({"ID": "x", "Status": "Enabled", "Expiration": {"Days": 1}},), Effect.WEAKENED),  # Stratus: 1 day
        (({"ID": "x", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30}},), Effect.WEAKENED),
        (({"ID": "x", "Status": "Enabled", "Expiration": {"Date": "2026-12-01T00:00:00Z"}},), Effect.WEAKENED),
        (({"ID": "x", "Status": "Enabled", "Expiration": {"Days": 730}},), Effect.STRENGTHENED),
        (({"ID": "x", "Status": "Disabled", "Expiration": {"Days": 1}},), Effect.STRENGTHENED),  # never applies
        (None, Effect.STRENGTHENED),  # DeleteBucketLifecycle: logs kept for ever
    ],
)
def test_lifecycle_changes(rules: tuple[dict[str, Any], ...] | None, effect: Effect) -> None:
    assert effects(replace(BASE, lifecycle_rules=rules)) == {"lifecycle_rules": effect}


def test_shortest_expiry_counts_every_enabled_rule() -> None:
    rules = [
        {"Status": "Enabled", "Expiration": {"Days": 90}},
        {"Status": "Enabled", "Filter": {"Prefix": "other/"}, "Expiration": {"Days": 7}},
    ]
    assert shortest_expiry(rules) == 7  # a rule on another prefix is judged as if it applied to the logs
    assert shortest_expiry(None) > 100_000


def test_versioning_public_access_block_and_acl() -> None:
    assert effects(replace(BASE, versioning="Suspended")) == {"versioning": Effect.WEAKENED}
    assert effects(replace(BASE, public_access_block=None)) == {"public_access_block": Effect.WEAKENED}
    assert effects(replace(BASE, public_access_block={**BLOCK, "BlockPublicPolicy": False})) == {
        "public_access_block": Effect.WEAKENED
    }
    assert effects(replace(BASE, acl_grants=(OWNER_GRANT, PUBLIC_READ))) == {"acl_grants": Effect.WEAKENED}
    unversioned = replace(BASE, versioning=None)
    assert {c.field: c.effect for c in compare_bucket(unversioned, BASE)} == {"versioning": Effect.STRENGTHENED}


def test_a_deleted_bucket_is_one_weakening_and_its_target_is_the_baseline() -> None:
    gone = BucketState("logs", "us-east-1", exists=False)
    [change] = compare_bucket(BASE, gone)
    assert (change.field, change.effect) == ("exists", Effect.WEAKENED)
    assert target_bucket(BASE, gone, [change]) == BASE


def test_mixed_changes_keep_the_strengthening_and_undo_the_weakening() -> None:
    current = replace(BASE, versioning="Suspended", lifecycle_rules=None)
    target = target_bucket(BASE, current, compare_bucket(BASE, current))
    assert (target.versioning, target.lifecycle_rules) == ("Enabled", None)


def test_bucket_state_round_trips_through_json() -> None:
    assert BucketState.from_json(json.loads(json.dumps(BASE.to_json()))) == BASE


def test_log_group_rules() -> None:
    base = LogGroupState("/aws/cloudtrail/x", "us-east-1", retention_days=365, kms_key_id="arn:key")

    def changes(current: LogGroupState) -> dict[str, Effect]:
        return {c.field: c.effect for c in compare_group(base, current)}

    assert changes(replace(base, retention_days=1)) == {"retention_days": Effect.WEAKENED}
    assert changes(replace(base, retention_days=None)) == {"retention_days": Effect.STRENGTHENED}
    assert changes(replace(base, kms_key_id=None)) == {"kms_key_id": Effect.WEAKENED}
    assert changes(LogGroupState(base.name, base.region, exists=False)) == {"exists": Effect.WEAKENED}
    forever = replace(base, retention_days=None)
    assert {c.field: c.effect for c in compare_group(forever, base)} == {"retention_days": Effect.WEAKENED}
    mixed = replace(base, retention_days=30, kms_key_id="arn:other")
    assert target_group(base, mixed, compare_group(base, mixed)) == base
    assert LogGroupState.from_json(base.to_json()) == base


def test_log_group_arns_and_keys() -> None:
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/cloudtrail/org:*"
    assert group_of(arn) == ("eu-west-1", "/aws/cloudtrail/org")
    assert group_of("arn:aws:logs:eu-west-1:123456789012:log-group:plain") == ("eu-west-1", "plain")
    assert group_of("arn:aws:s3:::bucket") is None
    assert group_of(None) is None
    assert (
        log_group_key("eu-west-1", "/aws/cloudtrail/org")
        == "baselines/log-groups/eu-west-1/%2Faws%2Fcloudtrail%2Forg.json"
    )


def test_events_name_the_bucket_log_group_or_event_data_store() -> None:
    def with_detail(source: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
        event = load_event("stop_logging")
        event["detail"].update(eventSource=source, eventName=name, requestParameters=request)
        return event

    bucket = parse_event(with_detail("s3.amazonaws.com", "DeleteBucket", {"bucketName": "logs"})).resource
    assert bucket is not None
    assert (bucket.kind, bucket.name, bucket.region) == ("bucket", "logs", "us-east-1")
    group = parse_event(with_detail("logs.amazonaws.com", "DeleteLogGroup", {"logGroupName": "/a/b"})).resource
    assert group is not None
    assert (group.kind, group.name) == ("log_group", "/a/b")
    arn = "arn:aws:cloudtrail:eu-central-1:123456789012:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
    store = parse_event(with_detail("cloudtrail.amazonaws.com", "DeleteEventDataStore", {"eventDataStore": arn}))
    assert store.resource is not None
    assert (store.resource.kind, store.resource.region, store.resource.account_id) == (
        "event_data_store",
        "eu-central-1",
        "123456789012",
    )
    assert store.trail is None  # an event data store is not a trail
    unnamed = parse_event(with_detail("s3.amazonaws.com", "DeleteBucket", {"bucketName": 7}))
    assert unnamed.resource is None


SSE_KMS = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "k1"}}
SSE_S3 = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}


@pytest.mark.parametrize(
    ("baseline", "live", "effect"),
    [
        (None, (SSE_KMS,), Effect.STRENGTHENED),
        ((SSE_KMS,), None, Effect.WEAKENED),  # DeleteBucketEncryption
        ((SSE_KMS,), (SSE_S3,), Effect.WEAKENED),
        (
            (SSE_S3,),
            ({"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "x"}},),
            Effect.WEAKENED,
        ),
    ],
)
def test_default_encryption_is_part_of_the_baseline(baseline: Any, live: Any, effect: Effect) -> None:
    """Another default key, which CloudTrail may not be allowed to use, stops delivery as surely as a Deny."""
    assert {
        c.field: c.effect for c in compare_bucket(replace(BASE, encryption=baseline), replace(BASE, encryption=live))
    } == {"encryption": effect}
    assert BucketState.from_json(replace(BASE, encryption=live).to_json()) == replace(BASE, encryption=live)
