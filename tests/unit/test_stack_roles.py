"""Which stack role is the CDK execution role, which tags are the guardian's, and which of CloudFormation's IAM calls
the guardian's own stack confirms (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guardian.model.config import Config
from guardian.model.config_values import ConfigError
from guardian.model.stack_changes import confirmed_by, stack_call
from guardian.model.stack_roles import gives_guardian_tag, is_exec_role, principal_named, stack_named
from infra.forwarder import forwarded_pattern
from infra.stack_callers import TAG_CALLS

ACCOUNT = "123456789012"
AT = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


@pytest.mark.threat("exec-role-borrowed")
def test_the_cdk_execution_role_is_this_accounts_of_this_qualifier_in_any_region() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-eu-west-1"
    assert is_exec_role(role, ACCOUNT, "hnb659fds")
    assert is_exec_role(role.replace("arn:aws:", "arn:aws-us-gov:"), ACCOUNT, "hnb659fds")
    assert is_exec_role(role.replace("role/", "role/some/path/"), ACCOUNT, "hnb659fds")
    assert not is_exec_role(role, ACCOUNT, "other1234")
    assert not is_exec_role(role.replace(ACCOUNT, "999988887777", 1), ACCOUNT, "hnb659fds")
    for other in (f"arn:aws:iam::{ACCOUNT}:role/app-deployer", "", "not an arn", f"{role}/x/../"):
        assert not is_exec_role(other, ACCOUNT, "hnb659fds")


def test_the_guardians_tag_key_in_any_case_anywhere_in_the_tags() -> None:
    def record(tags: Any) -> dict[str, Any]:
        return {"requestParameters": {"roleName": "r", "tags": tags}}

    assert gives_guardian_tag(record([{"key": "a", "value": "b"}, {"key": "cloudtrail-guardian", "value": "x"}]))
    assert gives_guardian_tag(record([{"key": "CloudTrail-Guardian", "value": ""}]))
    for tags in ([{"key": "team", "value": "cloudtrail-guardian"}], [], None, "cloudtrail-guardian", [["key"]]):
        assert not gives_guardian_tag(record(tags))
    assert not gives_guardian_tag({"requestParameters": None})
    assert principal_named({"requestParameters": {"userName": "u"}}) == "u"
    assert stack_named({"requestParameters": {"stackName": " "}}) is None


def test_the_qualifier_is_read_and_checked() -> None:
    env = {"GUARDIAN_TOPIC_ARN": f"arn:aws:sns:us-east-1:{ACCOUNT}:t", "GUARDIAN_EVIDENCE_BUCKET": "evidence-b"}
    assert Config.from_env(env).cdk_qualifier == "hnb659fds"
    assert Config.from_env({**env, "GUARDIAN_CDK_QUALIFIER": "abc123"}).cdk_qualifier == "abc123"
    with pytest.raises(ConfigError, match="GUARDIAN_CDK_QUALIFIER"):
        Config.from_env({**env, "GUARDIAN_CDK_QUALIFIER": "a*b"})


def role_events(kind: str, physical: str, start: datetime) -> list[dict[str, Any]]:
    made = {"LogicalResourceId": "Made", "ResourceType": kind, "PhysicalResourceId": physical}
    return [
        {**made, "ResourceStatus": "CREATE_IN_PROGRESS", "Timestamp": start, "PhysicalResourceId": ""},
        {**made, "ResourceStatus": "CREATE_COMPLETE", "Timestamp": start + timedelta(seconds=20)},
    ]


@pytest.mark.parametrize(
    ("name", "field", "kind"), [("CreateRole", "roleName", "AWS::IAM::Role"), ("TagUser", "userName", "AWS::IAM::User")]
)
def test_the_guardians_tag_is_confirmed_only_by_its_own_role_or_user_being_made(
    name: str, field: str, kind: str
) -> None:
    record = {
        "eventTime": AT.isoformat().replace("+00:00", "Z"),
        "eventSource": "iam.amazonaws.com",
        "eventName": name,
        "requestParameters": {field: "CloudTrailGuardian-Role-AbC", "tags": [{"key": "cloudtrail-guardian"}]},
    }
    call = stack_call(record)
    assert call is not None
    assert confirmed_by(call, role_events(kind, "CloudTrailGuardian-Role-AbC", AT - timedelta(seconds=5))) == "Made"
    # a policy of the guardian's naming that role is not what makes it; nor the role once complete; nor another name
    policy = role_events("AWS::IAM::Policy", "x", AT - timedelta(seconds=5))
    policy[0]["ResourceProperties"] = json.dumps({"Roles": ["CloudTrailGuardian-Role-AbC"]})
    assert confirmed_by(call, policy) is None
    assert confirmed_by(call, role_events(kind, "CloudTrailGuardian-Role-AbC", AT - timedelta(minutes=5))) is None
    assert confirmed_by(call, role_events(kind, "another-role", AT - timedelta(seconds=5))) is None


def test_the_forwarders_send_the_tag_calls_home() -> None:
    """IAM's calls are recorded in us-east-1: a guardian at home elsewhere sees them through that forwarder."""
    names = forwarded_pattern().detail["eventName"]  # type: ignore[index]
    assert set(TAG_CALLS) <= {n for n in names if isinstance(n, str)}
