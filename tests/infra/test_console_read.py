"""The org-wide console's read-only role (infra/console_read.py): made only when an account is named to read, trusted
by it alone, reads only, and guarded as the guardian's other roles are."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guardian_console import org
from infra.console_read import OUTPUT, READS
from infra.errors import SettingsError
from infra.settings import GuardianSettings
from tests.infra.conftest import synth_template

pytestmark = pytest.mark.synth
SECURITY = "999988887777"
NAMED = {"Properties": {"RoleName": "CloudTrailGuardian-console-read"}}
WRITE_WORDS = ("Put", "Create", "Delete", "Update", "Start", "Stop", "Invoke", "Set", "Tag", "Untag", "Attach", "Pass")


@pytest.fixture(scope="module")
def with_security_account() -> tuple[Any, Any]:
    central = f"arn:aws:sns:us-east-1:{SECURITY}:central"
    return synth_template({"securityAccount": SECURITY, "centralTopicArn": central})


def role_and_policy(template: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    roles = template.find_resources("AWS::IAM::Role", NAMED)
    [(role_id, role)] = roles.items()
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    return role, statements


def test_the_role_is_trusted_by_the_security_account_alone_and_output(with_security_account: tuple[Any, Any]) -> None:
    template, _ = with_security_account
    role, _ = role_and_policy(template)
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    assert SECURITY in json.dumps(trust["Principal"])
    assert template.to_json()["Outputs"][OUTPUT]["Value"] == {"Ref": template_ref(template)}
    assert template.to_json()["Description"] == org.DESCRIPTION  # how the console knows a StackSet instance


READERS = [
    f"arn:aws:iam::{SECURITY}:role/SecOps",
    f"arn:aws:iam::{SECURITY}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Audit_0123",
]


@pytest.fixture(scope="module")
def with_console_readers() -> tuple[Any, Any]:
    central = f"arn:aws:sns:us-east-1:{SECURITY}:central"
    return synth_template({"securityAccount": SECURITY, "centralTopicArn": central, "consoleReaders": READERS})


def test_without_console_readers_any_principal_of_the_security_account_may_read(
    with_security_account: tuple[Any, Any],
) -> None:
    """The default, stated in docs/console.md: the account, every principal of it its own IAM lets assume roles."""
    role, _ = role_and_policy(with_security_account[0])
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert "Condition" not in trust


@pytest.mark.threat("console-read-role")
def test_console_readers_alone_may_assume_the_read_role_which_writes_nothing(
    with_console_readers: tuple[Any, Any],
) -> None:
    """The move: another principal of the security account assumes a member's read role to read its evidence. With
    ``consoleReaders`` the trust admits only those roles (``aws:PrincipalArn``, the role whatever the session); the
    role reads only, so no reader can change what the console shows but by the account's own calls."""
    template, _ = with_console_readers
    role, statements = role_and_policy(template)
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Effect"], trust["Action"]) == ("Allow", "sts:AssumeRole")
    assert SECURITY in json.dumps(trust["Principal"])
    assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": READERS}}
    actions = [a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert sorted(actions) == sorted(READS)
    assert all(s["Effect"] == "Allow" for s in statements)
    assert all(a.split(":")[1].startswith(("Get", "List", "Describe")) for a in actions)


def test_console_readers_are_role_arns_of_the_security_account() -> None:
    central = f"arn:aws:sns:us-east-1:{SECURITY}:central"
    base = {"securityAccount": SECURITY, "centralTopicArn": central}
    ok = GuardianSettings.from_context({**base, "consoleReaders": ",".join(READERS)}.get)
    assert ok.console_readers == tuple(READERS)
    with pytest.raises(SettingsError, match=r"consoleReaders\[0\]"):
        GuardianSettings.from_context({**base, "consoleReaders": f"arn:aws:iam::{SECURITY}:user/alice"}.get)
    with pytest.raises(SettingsError, match="consoleReaders must be roles of securityAccount"):
        GuardianSettings.from_context({**base, "consoleReaders": "arn:aws:iam::111122223333:role/SecOps"}.get)
    with pytest.raises(SettingsError, match="consoleReaders must be roles of securityAccount"):
        GuardianSettings.from_context({"consoleReaders": READERS[0]}.get)


def template_ref(template: Any) -> str:
    [role_id] = template.find_resources("AWS::IAM::Role", NAMED)
    return str(role_id)


def test_the_role_allows_exactly_the_reads_listed_and_no_write(with_security_account: tuple[Any, Any]) -> None:
    template, _ = with_security_account
    _, statements = role_and_policy(template)
    actions = [a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert sorted(actions) == sorted(READS)
    assert all(s["Effect"] == "Allow" for s in statements)
    assert not [a for a in actions if a.split(":")[1].startswith(WRITE_WORDS)]
    assert all(a.split(":")[1].startswith(("Get", "List", "Describe")) for a in actions)
    anywhere = {a for s in statements if s["Resource"] == "*" for a in s["Action"]}
    assert anywhere == {"cloudtrail:DescribeTrails", "cloudwatch:GetMetricStatistics", "cloudformation:ListStacks"}


def test_without_an_account_to_read_from_there_is_no_role(default_synth: tuple[Any, Any]) -> None:
    template, _ = default_synth
    assert not template.find_resources("AWS::IAM::Role", NAMED)
    assert OUTPUT not in template.to_json().get("Outputs", {})


def test_the_role_is_guarded_as_the_guardians_other_roles(with_security_account: tuple[Any, Any]) -> None:
    template, _ = with_security_account
    rules = template.find_resources("AWS::Events::Rule").values()
    patterns = [r["Properties"].get("EventPattern") or {} for r in rules]
    iam_guards = [p for p in patterns if isinstance(p, dict) and p.get("source") == ["aws.iam"]]
    assert iam_guards
    assert any("CloudTrailGuardian-console-read" in json.dumps(p) for p in iam_guards)
