"""The policy evaluator: what a statement applies to, and how a bucket or key policy is judged by effect."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardian.model.bucket import BucketState, canonical_policy, compare_bucket
from guardian.model.changes import Effect
from guardian.model.iam_eval import Applies, Request, allowed, applies, denied
from guardian.model.log_access import LogAccess, readers_who_cannot_decrypt
from guardian.model.wildcards import overlap as _overlap

ACCOUNT = "111122223333"
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/audit"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
READER = f"arn:aws:iam::{ACCOUNT}:role/security-audit"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/security-audit/auditor"
INSIDER = f"arn:aws:iam::{ACCOUNT}:role/insider"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LOG = f"arn:aws:s3:::logs/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/01/01/x.json.gz"
WRITE = Request(
    "cloudtrail.amazonaws.com",
    "s3:PutObject",
    LOG,
    {
        "aws:sourcearn": (TRAIL,),
        "aws:sourceaccount": (ACCOUNT,),
        "s3:x-amz-acl": ("bucket-owner-full-control",),
        "aws:securetransport": ("true",),
    },
)
READ = Request(READER, "s3:GetObject", LOG, {"aws:principalarn": (READER,), "aws:securetransport": ("true",)})
DENY_ALL = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}


@pytest.mark.parametrize(
    ("statement", "request_", "expected"),
    [
        # The case: a Resource wildcard without "/" still covers every object of the bucket.
        ({**DENY_ALL, "Resource": "arn:aws:s3:::logs*"}, WRITE, Applies.YES),
        ({**DENY_ALL, "Resource": "arn:aws:s3:::logs"}, WRITE, Applies.NO),  # the bucket, not its objects
        ({**DENY_ALL, "Resource": "arn:aws:s3:::logs/elsewhere/*"}, WRITE, Applies.NO),
        ({**DENY_ALL, "Resource": "arn:aws:s3:::log?/AWSLogs/*"}, WRITE, Applies.YES),
        ({**DENY_ALL, "NotResource": "arn:aws:s3:::logs/AWSLogs/*"}, WRITE, Applies.NO),
        ({**DENY_ALL, "NotResource": "arn:aws:s3:::other/*"}, WRITE, Applies.YES),
        ({**DENY_ALL, "Action": "S3:put*"}, WRITE, Applies.YES),  # actions ignore case
        ({**DENY_ALL, "Action": "s3:DeleteObject"}, WRITE, Applies.NO),
        ({**DENY_ALL, "Action": None, "NotAction": "s3:DeleteObject"}, WRITE, Applies.YES),
        ({**DENY_ALL, "Action": None, "NotAction": "s3:Put*"}, WRITE, Applies.NO),
        ({**DENY_ALL, "Principal": {"AWS": "*"}}, WRITE, Applies.YES),
        ({**DENY_ALL, "Principal": {"AWS": ROOT}}, WRITE, Applies.NO),  # an account names no service
        ({**DENY_ALL, "Principal": {"AWS": ACCOUNT}}, READ, Applies.YES),  # ...but every role of it
        ({**DENY_ALL, "Principal": {"AWS": INSIDER}}, READ, Applies.NO),
        ({**DENY_ALL, "Principal": None, "NotPrincipal": {"Service": "cloudtrail.amazonaws.com"}}, WRITE, Applies.NO),
        ({**DENY_ALL, "Principal": None, "NotPrincipal": {"Service": "cloudtrail.amazonaws.com"}}, READ, Applies.YES),
        ({**DENY_ALL, "Principal": None, "NotPrincipal": {"AWS": READER}}, READ, Applies.YES),  # its account too
        # A role acts as a session, which NotPrincipal must name too, and by its exact name: the reader's sessions
        # are denied unless one is named, and then only that one is spared (IAM User Guide, "NotPrincipal").
        ({**DENY_ALL, "Principal": None, "NotPrincipal": {"AWS": [READER, ROOT]}}, READ, Applies.YES),
        ({**DENY_ALL, "Principal": None, "NotPrincipal": {"AWS": [READER, ROOT, SESSION]}}, READ, Applies.MAYBE),
        ({**DENY_ALL, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, WRITE, Applies.NO),
        ({**DENY_ALL, "Condition": {"StringNotEquals": {"aws:SourceArn": TRAIL}}}, WRITE, Applies.NO),
        ({**DENY_ALL, "Condition": {"StringNotEquals": {"aws:SourceArn": TRAIL + "x"}}}, WRITE, Applies.YES),
        (
            {**DENY_ALL, "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:*:trail/*"}}},
            WRITE,
            Applies.YES,
        ),
        ({**DENY_ALL, "Condition": {"ArnNotLike": {"aws:SourceArn": "arn:aws:cloudtrail:*"}}}, WRITE, Applies.NO),
        ({**DENY_ALL, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}, WRITE, Applies.MAYBE),
        ({**DENY_ALL, "Condition": {"NumericLessThan": {"s3:max-keys": "1"}}}, WRITE, Applies.MAYBE),
        ({**DENY_ALL, "Condition": {"StringLike": {"aws:SourceArn": "${aws:username}"}}}, WRITE, Applies.MAYBE),
        ({**DENY_ALL, "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-acl": "private"}}}, WRITE, Applies.YES),
        ({**DENY_ALL, "Condition": {"Null": {"aws:SourceArn": "true"}}}, WRITE, Applies.NO),
        ({**DENY_ALL, "Resource": "arn:aws:s3:::${aws:username}/*"}, WRITE, Applies.MAYBE),
    ],
)
def test_what_a_statement_applies_to(statement: dict[str, Any], request_: Request, expected: Applies) -> None:
    cleaned = {k: v for k, v in statement.items() if v is not None}
    assert applies(cleaned, request_) is expected


def test_a_deny_that_may_apply_denies_and_an_allow_that_may_apply_grants_nothing() -> None:
    maybe = {"Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "*"}
    assert allowed([allow], WRITE)
    assert not allowed([{**allow, **maybe}], WRITE)
    assert denied([{**DENY_ALL, **maybe}], WRITE)
    assert not allowed([allow, {**DENY_ALL, **maybe}], WRITE)


@given(st.text(alphabet="ab/*?", max_size=8), st.text(alphabet="ab/", max_size=8))
def test_a_deny_on_a_prefix_wildcard_applies_to_every_key_under_it(suffix: str, key: str) -> None:
    """``arn:aws:s3:::bucket*`` and anything more after the wildcard: a key the pattern matches is denied."""
    statement = {**DENY_ALL, "Resource": "arn:aws:s3:::logs*"}
    assert applies(statement, replace(WRITE, resource=f"arn:aws:s3:::logs/{key}")) is Applies.YES
    assert applies(statement, replace(WRITE, resource=f"arn:aws:s3:::other{key}")) is Applies.NO


@given(st.text(alphabet="ab/*?", min_size=1, max_size=8), st.text(alphabet="ab/", max_size=8))
def test_not_resource_is_the_complement_of_resource(pattern: str, key: str) -> None:
    request = replace(WRITE, resource=f"arn:aws:s3:::{key}")
    plain = applies({**DENY_ALL, "Resource": f"arn:aws:s3:::{pattern}"}, request)
    negated = applies(
        {k: v for k, v in DENY_ALL.items() if k != "Resource"} | {"NotResource": f"arn:aws:s3:::{pattern}"}, request
    )
    assert {plain, negated} == {Applies.YES, Applies.NO}


# -- a bucket policy judged by effect -----------------------------------------------------------------------------

CLOUDTRAIL_WRITE = {
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "s3:PutObject",
    "Resource": f"arn:aws:s3:::logs/AWSLogs/{ACCOUNT}/*",
    "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": TRAIL}},
}
ACL_CHECK = {
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "s3:GetBucketAcl",
    "Resource": "arn:aws:s3:::logs",
    "Condition": {"StringEquals": {"aws:SourceArn": TRAIL}},
}
HTTPS_ONLY = {**DENY_ALL, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
ACCESS = LogAccess(ACCOUNT, (TRAIL,), (READER,))


def bucket(*statements: dict[str, Any]) -> BucketState:
    return BucketState("logs", "us-east-1", policy=canonical_policy({"Version": "2012-10-17", "Statement": statements}))


BASE = bucket(CLOUDTRAIL_WRITE, ACL_CHECK, HTTPS_ONLY)


@pytest.mark.parametrize(
    ("added", "effect"),
    [
        ({**DENY_ALL, "Resource": "arn:aws:s3:::logs*"}, Effect.WEAKENED),  # issue 20, item 8
        ({**DENY_ALL, "Resource": "arn:aws:s3:::log*", "Action": "s3:Get*"}, Effect.WEAKENED),  # readers and ACL
        ({**DENY_ALL, "Principal": None, "NotPrincipal": {"Service": "cloudtrail.amazonaws.com"}}, Effect.WEAKENED),
        ({**DENY_ALL, "Action": None, "NotAction": ["s3:GetObject", "s3:ListBucket"]}, Effect.WEAKENED),  # writes
        ({**DENY_ALL, "Principal": {"AWS": READER}, "Action": "s3:GetObject"}, Effect.WEAKENED),  # a reader
        ({**DENY_ALL, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}, Effect.WEAKENED),  # unknown
        ({**DENY_ALL, "Principal": {"AWS": INSIDER}}, Effect.STRENGTHENED),  # not a reader
        ({**DENY_ALL, "Action": ["s3:DeleteObject", "s3:PutBucketPolicy"]}, Effect.STRENGTHENED),
        ({**DENY_ALL, "Resource": "arn:aws:s3:::logs/other/*"}, Effect.STRENGTHENED),
        # A Deny on part of the log files (some months, some Regions, a file-name shape) cuts CloudTrail off there.
        ({**DENY_ALL, "Resource": f"arn:aws:s3:::logs/AWSLogs/{ACCOUNT}/CloudTrail/*/2026/12/*"}, Effect.WEAKENED),
        ({**DENY_ALL, "Resource": "arn:aws:s3:::logs/*Z_*"}, Effect.WEAKENED),
        ({**DENY_ALL, "Resource": "arn:aws:s3:::logs/AWSLogs/999999999999/*"}, Effect.STRENGTHENED),  # another's
        ({**DENY_ALL, "Condition": {"StringNotEquals": {"aws:SourceArn": TRAIL}}, "Action": "s3:PutObject"}, None),
    ],
)
@pytest.mark.threat("bucket-policy-wildcard")
def test_a_new_bucket_policy_statement_is_judged_by_who_can_still_write_and_read(
    added: dict[str, Any], effect: Effect | None
) -> None:
    statement = {k: v for k, v in added.items() if v is not None}
    changed = bucket(CLOUDTRAIL_WRITE, ACL_CHECK, HTTPS_ONLY, statement)
    found = {c.field: c.effect for c in compare_bucket(BASE, changed, ACCESS)}
    assert found == {"policy": effect or Effect.STRENGTHENED}


def test_without_readers_given_the_account_root_is_still_held_from_the_baseline() -> None:
    """The pure default (no access given) still takes the account from ``AWSLogs/<account>/``."""
    changed = bucket(CLOUDTRAIL_WRITE, ACL_CHECK, HTTPS_ONLY, {**DENY_ALL, "Action": "s3:GetObject"})
    assert {c.field: c.effect for c in compare_bucket(BASE, changed)} == {"policy": Effect.WEAKENED}


# -- a key policy judged by who can still decrypt ------------------------------------------------------------------

DELEGATES = {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}
INSIDER_ONLY = {"Effect": "Allow", "Principal": {"AWS": INSIDER}, "Action": "kms:*", "Resource": "*"}


@pytest.mark.parametrize(
    ("statements", "lost"),
    [
        ([DELEGATES], []),
        ([INSIDER_ONLY], [ROOT, READER]),  # issue 20, item 3: only the insider can decrypt
        ([{**DELEGATES, "Action": "kms:Encrypt"}], [ROOT, READER]),
        ([{**DELEGATES, "Action": None, "NotAction": "kms:Decrypt"}], [ROOT, READER]),
        ([DELEGATES, {**INSIDER_ONLY, "Effect": "Deny", "Principal": {"AWS": READER}}], [READER]),
        ([DELEGATES, {**INSIDER_ONLY, "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt"}], [ROOT, READER]),
        (
            [
                DELEGATES,
                {"Effect": "Deny", "NotPrincipal": {"AWS": [INSIDER, ROOT]}, "Action": "kms:*", "Resource": "*"},
            ],
            [READER],
        ),
        ([{**DELEGATES, "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}}], []),
        ([{**DELEGATES, "Condition": {"StringEquals": {"kms:CallerAccount": "999999999999"}}}], [ROOT, READER]),
        ([{**DELEGATES, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}], [ROOT, READER]),  # unproven
    ],
)
def test_who_can_still_decrypt_a_trails_log_files(statements: list[dict[str, Any]], lost: list[str]) -> None:
    policy = {"Statement": [{k: v for k, v in s.items() if v is not None} for s in statements]}
    assert readers_who_cannot_decrypt(policy, KEY, [TRAIL], ACCESS) == lost


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("arn:aws:s3:::logs/AWSLogs/1/*", "arn:aws:s3:::logs/*Z_*", True),
        ("arn:aws:s3:::logs/AWSLogs/1/*", "arn:aws:s3:::logs/AWSLogs/2/*", False),
        ("a*c", "ab?", True),  # "abc"
        ("a*c", "ab?d", False),
        ("a*c", "?b*", True),
        ("*", "", True),
        ("abc", "abc", True),
        ("abc", "abd", False),
    ],
)
def test_two_wildcard_patterns_overlap_when_some_string_matches_both(a: str, b: str, overlap: bool) -> None:
    assert _overlap(a, b) is overlap
    assert _overlap(b, a) is overlap


# -- the readers without ``logReaders``: the root and any role of the account, ARN unknown (review finding 1) -----

ANY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/*"
SOME_ROLE_READS = Request(ANY_ROLE, "s3:GetObject", LOG, {"aws:principalaccount": (ACCOUNT,)}, unnamed=True)
INSIDER_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/insider/me"


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        # Naming the account's root in NotPrincipal spares the root user, not the account's roles (IAM User Guide,
        # "NotPrincipal": the account, then the role, then the session are each checked).
        ({"NotPrincipal": {"AWS": [ROOT, INSIDER, INSIDER_SESSION]}}, Applies.YES),
        ({"NotPrincipal": {"AWS": ROOT}}, Applies.YES),
        ({"NotPrincipal": {"AWS": ACCOUNT}}, Applies.YES),
        ({"NotPrincipal": {"AWS": "*"}}, Applies.NO),
        ({"Principal": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": [ROOT, INSIDER]}}}, Applies.MAYBE),
        ({"Principal": "*", "Condition": {"StringNotLike": {"aws:userid": "AROAINSIDER:*"}}}, Applies.MAYBE),
        ({"Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}}, Applies.YES),
        ({"Principal": {"AWS": ACCOUNT}}, Applies.YES),
        ({"Principal": {"AWS": ROOT}}, Applies.YES),
        ({"Principal": {"AWS": INSIDER}}, Applies.MAYBE),  # the unknown role may be that one
        ({"Principal": {"AWS": ANY_ROLE}}, Applies.MAYBE),  # not a wildcard: a role literally named "*"
        ({"Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/mallory"}}, Applies.NO),  # a user is no role
        ({"Principal": {"AWS": "arn:aws:iam::999999999999:root"}}, Applies.NO),
        ({"Principal": {"Service": "cloudtrail.amazonaws.com"}}, Applies.NO),
    ],
)
def test_any_role_of_the_account_is_a_principal_whose_arn_is_unknown(
    statement: dict[str, Any], expected: Applies
) -> None:
    assert applies({"Effect": "Deny", "Action": "s3:*", "Resource": "*", **statement}, SOME_ROLE_READS) is expected


SPARES_ROOT = {"Effect": "Deny", "NotPrincipal": {"AWS": [ROOT, INSIDER]}, "Action": "kms:Decrypt", "Resource": "*"}
BY_ARN = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "kms:Decrypt",
    "Resource": "*",
    "Condition": {"ArnNotLike": {"aws:PrincipalArn": [ROOT, INSIDER]}},
}


@pytest.mark.parametrize(
    ("statements", "lost"),
    [
        ([DELEGATES], []),
        ([DELEGATES, SPARES_ROOT], [ANY_ROLE]),  # the root user still decrypts; no role does
        ([DELEGATES, BY_ARN], [ANY_ROLE]),
        ([INSIDER_ONLY], [ROOT, ANY_ROLE]),
        ([DELEGATES, {**SPARES_ROOT, "NotPrincipal": {"AWS": "*"}}], []),
    ],
)
def test_without_log_readers_any_role_of_the_account_must_still_decrypt(
    statements: list[dict[str, Any]], lost: list[str]
) -> None:
    access = LogAccess(ACCOUNT, (TRAIL,))
    assert access.everyone_reading() == (ROOT, ANY_ROLE)
    assert readers_who_cannot_decrypt({"Statement": statements}, KEY, [TRAIL], access) == lost


def test_named_log_readers_replace_the_unnamed_role() -> None:
    assert ACCESS.everyone_reading() == (ROOT, READER)


@pytest.mark.parametrize("added", [{**SPARES_ROOT, "Action": "s3:GetObject"}, {**BY_ARN, "Action": "s3:ListBucket"}])
def test_without_log_readers_a_bucket_deny_that_spares_only_the_root_weakens(added: dict[str, Any]) -> None:
    changed = bucket(CLOUDTRAIL_WRITE, ACL_CHECK, HTTPS_ONLY, added)
    assert {c.field: c.effect for c in compare_bucket(BASE, changed, LogAccess(ACCOUNT, (TRAIL,)))} == {
        "policy": Effect.WEAKENED
    }


# -- attacker-written patterns: no recursion, no backtracking (review finding 3) ---------------------------------


@pytest.mark.threat("bucket-policy-wildcard")
def test_a_resource_of_thousands_of_characters_is_judged_without_recursion() -> None:
    """``_overlap`` recursed once per character: RecursionError on a Resource about 500 characters past the log
    prefix, in the event path and in every sweep."""
    long = f"arn:aws:s3:::logs/AWSLogs/{ACCOUNT}/" + "x" * 5000
    assert _overlap(long, f"arn:aws:s3:::logs/AWSLogs/{ACCOUNT}/*")
    assert _overlap(long + "*", "*xx?*")
    assert _overlap("*" + "x" * 4000 + "*", f"arn:aws:s3:::logs/AWSLogs/{ACCOUNT}/*")
    assert not _overlap(long + "y", f"arn:aws:s3:::logs/AWSLogs/{ACCOUNT}/*z")
    for resource in (long, long + "*", "arn:aws:s3:::" + "*x" * 3000):
        changed = bucket(CLOUDTRAIL_WRITE, ACL_CHECK, HTTPS_ONLY, {**DENY_ALL, "Resource": resource})
        assert {c.field: c.effect for c in compare_bucket(BASE, changed, ACCESS)} == {"policy": Effect.WEAKENED}


@pytest.mark.threat("bucket-policy-wildcard")
def test_wildcards_an_attacker_writes_are_matched_without_backtracking() -> None:
    """A regular expression built from ``*a*a*…c`` backtracks exponentially: eight stars took seconds, thirty would
    never end. The matcher is greedy with one remembered star."""
    pattern = "arn:aws:s3:::" + "*a" * 30 + "c"
    statement = {**DENY_ALL, "Resource": pattern, "Action": "*a" * 30 + "c"}
    request = replace(READ, resource="arn:aws:s3:::" + "a" * 200, action="s3:" + "a" * 200)
    assert applies(statement, request) is Applies.NO
    assert applies({**statement, "Resource": pattern[:-1]}, request) is Applies.NO  # the action still fails
    assert applies({**statement, "Resource": pattern[:-1], "Action": "*"}, request) is Applies.YES


# -- ForAllValues and ForAnyValue with the key absent (review finding 6) -----------------------------------------

ACL_READ = Request(
    "cloudtrail.amazonaws.com", "s3:GetBucketAcl", "arn:aws:s3:::logs", {"s3:x-amz-acl": (), "aws:tagkeys": ("a", "b")}
)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # IAM User Guide: ForAllValues "also returns true if there are no context keys in the request";
        # ForAnyValue returns false when the key is absent.
        ({"ForAllValues:StringEquals": {"s3:x-amz-acl": "private"}}, Applies.YES),
        ({"ForAllValues:StringNotEquals": {"s3:x-amz-acl": "private"}}, Applies.YES),
        ({"ForAnyValue:StringEquals": {"s3:x-amz-acl": "private"}}, Applies.NO),
        ({"ForAnyValue:StringNotEquals": {"s3:x-amz-acl": "private"}}, Applies.NO),
        ({"ForAnyValue:StringEqualsIfExists": {"s3:x-amz-acl": "private"}}, Applies.MAYBE),
        # With values: every one of them (ForAllValues), some one of them (ForAnyValue).
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b", "c"]}}, Applies.YES),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, Applies.NO),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, Applies.YES),
        ({"ForAllValues:StringNotLike": {"aws:TagKeys": ["a*"]}}, Applies.NO),
        ({"ForAnyValue:StringNotLike": {"aws:TagKeys": ["a*"]}}, Applies.YES),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["c"]}}, Applies.NO),
    ],
)
@pytest.mark.threat("bucket-policy-wildcard")
def test_set_qualifiers_follow_iam_when_the_key_is_absent_or_many_valued(
    condition: dict[str, Any], expected: Applies
) -> None:
    assert applies({**DENY_ALL, "Condition": condition}, ACL_READ) is expected


@pytest.mark.threat("bucket-policy-wildcard")
def test_a_deny_on_cloudtrails_acl_check_under_for_all_values_weakens() -> None:
    """CloudTrail's GetBucketAcl carries no ``s3:x-amz-acl``: ForAllValues on it is true, so this Deny stops the
    check CloudTrail makes before every delivery; it was judged not to apply."""
    added = {**DENY_ALL, "Action": "s3:GetBucketAcl", "Condition": {"ForAllValues:StringEquals": {"s3:x-amz-acl": "x"}}}
    changed = bucket(CLOUDTRAIL_WRITE, ACL_CHECK, HTTPS_ONLY, added)
    assert {c.field: c.effect for c in compare_bucket(BASE, changed, ACCESS)} == {"policy": Effect.WEAKENED}
