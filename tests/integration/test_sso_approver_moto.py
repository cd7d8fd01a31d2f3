"""The first ``guardian selftest`` of an IAM Identity Center approver, against moto (issue 23). The approver is
written as the IAM console shows the role, with its path ``aws-reserved/sso.amazonaws.com/<region>/``; STS names the
caller ``assumed-role/<name>/<session>`` without it. Before, the request was refused ("not one of this deployment's
approvers") and alerted HIGH; now it is served, and the StopLogging CloudTrail then records (the session's ARN, and
the session issuer with the path) is the registered self-test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from guardian.adapters.clients import Boto3Clients
from guardian.flows import operator
from guardian.flows.selftest import marked
from guardian.model.config import Config
from guardian.model.decide import decide
from guardian.model.events import parse_event
from guardian.model.results import Result
from guardian.model.rules import Outcome, Severity
from tests.integration.test_operator_moto import ACCOUNT, SENTINEL, Adapter, payload, run
from tests.support import load_event, signing_key

NAME = "AWSReservedSSO_SecurityLead_0123456789abcdef"
SSO_ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{NAME}"
SSO_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/{NAME}/alice@example.com"


class SsoCaller(Adapter):
    caller = SSO_SESSION


@pytest.fixture
def account() -> Iterator[tuple[SsoCaller, Config]]:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="evidence", ObjectLockEnabledForBucket=True)
        s3.create_bucket(Bucket="sentinel-logs")
        topic = boto3.client("sns").create_topic(Name="alerts")["TopicArn"]
        key = signing_key()
        config = Config.from_env(
            {
                "GUARDIAN_TOPIC_ARN": topic,
                "GUARDIAN_EVIDENCE_BUCKET": "evidence",
                "GUARDIAN_SIGNING_KEY_ARN": key,
                "GUARDIAN_APPROVERS": json.dumps([SSO_ROLE]),
                "GUARDIAN_SENTINEL_TRAIL": SENTINEL,
                "GUARDIAN_SWEEP_REGIONS": '["us-east-1"]',
            }
        )
        ct = boto3.client("cloudtrail")
        ct.create_trail(Name=SENTINEL, S3BucketName="sentinel-logs")
        ct.start_logging(Name=SENTINEL)
        clients = Boto3Clients(boto3.session.Session())
        aws = SsoCaller(clients, topic_arn=topic, topic_region="us-east-1", evidence_bucket="evidence", signing_key=key)
        yield aws, config


def stop_by_sso_session() -> Result:
    """The sentinel's StopLogging as CloudTrail records an IAM Identity Center session's call."""
    raw = load_event("stop_logging_exempt_ci")
    raw["detail"]["requestParameters"]["name"] = SENTINEL
    identity = raw["detail"]["userIdentity"]
    identity.update(arn=SSO_SESSION, principalId="AROAEXAMPLE:alice@example.com")
    identity["sessionContext"]["sessionIssuer"].update(arn=SSO_ROLE, userName=NAME)
    raw["detail"]["eventTime"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    event = parse_event(raw)
    policy = Config.from_env(
        {"GUARDIAN_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t", "GUARDIAN_EVIDENCE_BUCKET": "evidence"}
    )
    return Result(event, decide(event, policy.policy), Outcome.HEALED, Severity.HIGH)


def test_the_first_selftest_of_an_sso_approver_is_served_and_marks_its_stop(account: tuple[SsoCaller, Config]) -> None:
    aws, config = account
    answer = operator.serve(payload("selftest", SENTINEL), aws, config, run())
    assert answer.get("refused") is None, answer
    assert (answer["ok"], answer["by"]) == (True, SSO_SESSION)
    result = marked(stop_by_sso_session(), aws, SENTINEL, run())
    assert result.purpose is not None
    assert (result.purpose.kind, result.severity) == ("selftest", Severity.INFO)


def test_another_sso_role_of_the_account_is_still_refused(account: tuple[SsoCaller, Config]) -> None:
    aws, config = account
    aws.caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_ReadOnly_fedcba9876543210/mallory@example.com"
    answer = operator.serve(payload("selftest", SENTINEL), aws, config, run())
    assert answer["refused"] == f"{aws.caller} is not one of this deployment's approvers"
