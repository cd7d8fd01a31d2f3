"""What each CIS metric filter means, tested on records, not only as template strings: every record of the shared
corpus, and records of our own that each pattern must and must not count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guardian.model.event_pattern import envelope
from guardian.model.event_pattern import matches as eventbridge_matches
from infra.cis_alarms import CONTROLS
from tests import cwl_pattern
from tests.support import REPO_ROOT, corpus_files, corpus_id, require_corpus
from watch_rules.compile import compile_rules
from watch_rules.schema import load

BY_CIS = {c.cis: c for c in CONTROLS}

CORPUS_COUNTED = {
    "aws-docs/cloudtrail.StartLogging.console.json": ["4.5"],
    "aws-docs/cloudtrail.UpdateTrail.TrailNotFoundException.json": ["4.5"],
    "aws-docs/eventbridge.s3.CreateBucket.Root.json": ["4.3"],
    "aws-docs/eventbridge.signin.ConsoleLogin.Root.json": ["4.2", "4.3"],  # root signs in without MFA
    "aws-docs/kms.DisableKey.json": ["4.7"],
    "aws-docs/kms.ScheduleKeyDeletion.custom-key-store.json": ["4.7"],
    "aws-docs/kms.ScheduleKeyDeletion.multi-region-with-replicas.json": ["4.7"],
    "aws-docs/kms.ScheduleKeyDeletion.single-region.json": ["4.7"],
    "aws-docs/s3.DeleteBucketPolicy.json": ["4.8"],
    "elastic-integrations/cloudtrail.UpdateTrail.console.json": ["4.5"],
    "elastic-integrations/kms.DisableKey.json": ["4.7"],
    "elastic-integrations/kms.ScheduleKeyDeletion.json": ["4.7"],
    "invictus-aws-dataset/cloudtrail.CreateTrail.1.json": ["4.5"],
    "invictus-aws-dataset/cloudtrail.CreateTrail.2.json": ["4.5"],
    "invictus-aws-dataset/cloudtrail.DeleteTrail.1.json": ["4.5"],
    "invictus-aws-dataset/cloudtrail.DeleteTrail.2.json": ["4.5"],
    "invictus-aws-dataset/cloudtrail.DeleteTrail.TrailNotFoundException.json": ["4.5"],
    "invictus-aws-dataset/cloudtrail.StartLogging.1.json": ["4.5"],
    "invictus-aws-dataset/cloudtrail.StartLogging.2.json": ["4.5"],
    "invictus-aws-dataset/cloudtrail.StartLogging.TrailNotFoundException.json": ["4.5"],
    "invictus-aws-dataset/cloudtrail.StopLogging.TrailNotFoundException.1.json": ["4.5"],
    "invictus-aws-dataset/cloudtrail.StopLogging.TrailNotFoundException.2.json": ["4.5"],
    "invictus-aws-dataset/cloudtrail.StopLogging.TrailNotFoundException.3.json": ["4.5"],
    "invictus-aws-dataset/organizations.LeaveOrganization.AccessDenied.json": ["4.1", "4.15"],  # denied, and tried
    "invictus-aws-dataset/s3.DeleteBucketLifecycle.json": ["4.8"],
    "invictus-aws-dataset/s3.DeleteBucketPolicy.json": ["4.8"],
    "invictus-aws-dataset/s3.PutBucketLifecycle.expire-1-day.json": ["4.8"],
    "invictus-aws-dataset/s3.PutBucketPolicy.cloudtrail-bucket-policy.1.json": ["4.8"],
    "invictus-aws-dataset/s3.PutBucketPolicy.cloudtrail-bucket-policy.2.json": ["4.8"],
    "invictus-aws-dataset/s3.PutBucketPolicy.external-account-access.json": ["4.8"],
    "stratus-red-team/cloudtrail.DeleteTrail.json": ["4.5"],
    "stratus-red-team/cloudtrail.StopLogging.json": ["4.5"],
    "stratus-red-team/organizations.LeaveOrganization.AccessDenied.json": ["4.1", "4.15"],
}


def record_of(path: Path) -> dict[str, Any]:
    """What CloudTrail delivers to CloudWatch Logs: the bare record (an envelope's detail)."""
    raw: dict[str, Any] = json.loads(path.read_text())
    return dict(raw["detail"]) if "detail-type" in raw else raw


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_id)
def test_what_each_cis_filter_counts_in_the_corpus(path: Path) -> None:
    counted = [c.cis for c in CONTROLS if cwl_pattern.matches(c.pattern, record_of(path))]
    assert counted == CORPUS_COUNTED.get(corpus_id(path), [])


def test_the_corpus_table_names_only_records_that_exist() -> None:
    require_corpus()
    assert set(CORPUS_COUNTED) <= {corpus_id(p) for p in corpus_files()}


def call(name: str, source: str = "ec2.amazonaws.com", **fields: Any) -> dict[str, Any]:
    return {
        "eventName": name,
        "eventSource": source,
        "eventType": "AwsApiCall",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice"},
        **fields,
    }


CONFIG = "config.amazonaws.com"
SIGN_IN = {"eventType": "AwsConsoleSignIn", "responseElements": {"ConsoleLogin": "Success"}}
ROOT = {"type": "Root", "arn": "arn:aws:iam::123456789012:root"}

# (control, a record it must count, a record it must not)
OWN = [
    ("4.1", call("RunInstances", errorCode="Client.UnauthorizedOperation"), call("RunInstances", errorCode="Busy")),
    ("4.1", call("GetObject", errorCode="AccessDenied"), call("GetObject")),
    (
        "4.2",
        call("ConsoleLogin", "signin.amazonaws.com", additionalEventData={"MFAUsed": "No"}, **SIGN_IN),
        call("ConsoleLogin", "signin.amazonaws.com", additionalEventData={"MFAUsed": "Yes"}, **SIGN_IN),
    ),
    ("4.3", {**call("ListBuckets"), "userIdentity": ROOT}, {**call("ListBuckets")}),
    (
        "4.3",
        {**call("ListBuckets"), "userIdentity": ROOT},
        {**call("ListBuckets"), "userIdentity": {**ROOT, "invokedBy": "support.amazonaws.com"}},
    ),
    ("4.3", {**call("X"), "userIdentity": ROOT}, {**call("X"), "userIdentity": ROOT, "eventType": "AwsServiceEvent"}),
    ("4.4", call("PutRolePolicy", "iam.amazonaws.com"), call("GetRolePolicy", "iam.amazonaws.com")),
    ("4.4", call("DetachGroupPolicy", "iam.amazonaws.com"), call("CreateRole", "iam.amazonaws.com")),
    ("4.5", call("StopLogging", "cloudtrail.amazonaws.com"), call("PutEventSelectors", "cloudtrail.amazonaws.com")),
    (
        "4.6",
        call("ConsoleLogin", "signin.amazonaws.com", errorMessage="Failed authentication"),
        call("ConsoleLogin", "signin.amazonaws.com", **SIGN_IN),
    ),
    ("4.7", call("ScheduleKeyDeletion", "kms.amazonaws.com"), call("EnableKey", "kms.amazonaws.com")),
    ("4.7", call("DisableKey", "kms.amazonaws.com"), call("DisableKey", "kafka.amazonaws.com")),
    ("4.8", call("PutBucketReplication", "s3.amazonaws.com"), call("PutBucketTagging", "s3.amazonaws.com")),
    ("4.8", call("PutBucketAcl", "s3.amazonaws.com"), call("PutBucketAcl", "s3-outposts.amazonaws.com")),
    (
        "4.9",
        call("StopConfigurationRecorder", "config.amazonaws.com"),
        call("StartConfigurationRecorder", "config.amazonaws.com"),
    ),
    ("4.10", call("AuthorizeSecurityGroupIngress"), call("DescribeSecurityGroups")),
    ("4.11", call("ReplaceNetworkAclEntry"), call("DescribeNetworkAcls")),
    ("4.12", call("AttachInternetGateway"), call("CreateNatGateway")),
    ("4.13", call("DisassociateRouteTable"), call("DescribeRouteTables")),
    ("4.14", call("ModifyVpcAttribute"), call("ModifySubnetAttribute")),
    ("4.15", call("MoveAccount", "organizations.amazonaws.com"), call("ListAccounts", "organizations.amazonaws.com")),
    ("4.15", call("LeaveOrganization", "organizations.amazonaws.com"), call("MoveAccount", "ec2.amazonaws.com")),
]


@pytest.mark.parametrize(("cis", "counted", "not_counted"), OWN, ids=[f"{o[0]}-{i}" for i, o in enumerate(OWN)])
def test_each_cis_filter_counts_what_it_should_and_not_what_it_should_not(
    cis: str, counted: dict[str, Any], not_counted: dict[str, Any]
) -> None:
    assert cwl_pattern.matches(BY_CIS[cis].pattern, counted)
    assert not cwl_pattern.matches(BY_CIS[cis].pattern, not_counted)


def test_every_control_is_tested_on_records_of_our_own() -> None:
    assert {o[0] for o in OWN} == set(BY_CIS)


def test_the_sign_in_without_mfa_pattern_reads_the_same_whatever_a_missing_field_means() -> None:
    """A sign-in record always has additionalEventData.MFAUsed; an API call never does, and 4.2 also needs
    eventName ConsoleLogin: so whether CloudWatch Logs takes ``!=`` on a missing field as true or false does not
    change what 4.2 counts."""
    require_corpus()
    sign_ins = [record_of(p) for p in corpus_files() if record_of(p).get("eventName") == "ConsoleLogin"]
    assert sign_ins
    assert all("MFAUsed" in r.get("additionalEventData", {}) for r in sign_ins)


# Where a watch rule of the default pack is the same check as a CIS filter, both must agree on every successful
# call (the watch rules alert on successful calls only; the filters also count failures).
SAME_CHECK = {
    "4.4": "cis-iam-policy-changed",
    "4.7": "cis-kms-key-disabled-or-deleted",
    "4.8": "cis-s3-bucket-policy-changed",
    "4.10": "cis-security-group-changed",
    "4.11": "cis-nacl-changed",
    "4.12": "cis-network-gateway-changed",
    "4.13": "cis-route-table-changed",
    "4.14": "cis-vpc-changed",
}


def test_the_watch_rules_and_the_cis_filters_agree_where_they_check_the_same() -> None:
    pack = load(REPO_ROOT / "rules" / "watch.json")
    every = compile_rules(pack.__class__(tuple(r.__class__(**{**r.__dict__, "enabled": True}) for r in pack.rules)))
    records = [record_of(p) for p in corpus_files()] + [o[1] for o in OWN] + [o[2] for o in OWN]
    successful = [r for r in records if "errorCode" not in r]
    for cis, rule_id in SAME_CHECK.items():
        for record in successful:
            event = dict(envelope({**record, "eventType": "AwsApiCall"}))
            assert cwl_pattern.matches(BY_CIS[cis].pattern, record) is eventbridge_matches(
                every.patterns[rule_id], event
            ), (cis, record.get("eventName"))


def test_the_evaluator_reads_the_syntax_it_is_given() -> None:
    assert cwl_pattern.matches('{ ($.a = "x*") && ($.b != 1) }', {"a": "xy", "b": 2})
    assert not cwl_pattern.matches('{ ($.a = "x*") && ($.b != 1) }', {"a": "xy"})  # a missing field: false
    assert cwl_pattern.matches("{ $.a = 1 || $.b = 2 && $.c = 3 }", {"a": 1})  # && binds tighter
    assert not cwl_pattern.matches("{ ($.a = 1 || $.b = 2) && $.c = 3 }", {"a": 1})
    assert cwl_pattern.matches("{ $.a.b NOT EXISTS }", {"a": {}})
    with pytest.raises(ValueError, match="JSON filter pattern"):
        cwl_pattern.matches("$.a = 1", {})
