"""Review 2, finding 4: the security account's bus, the central topic and its key admit only the guardians' own
roles: of a guardian account (``aws:PrincipalAccount``) and tagged with a guardian's stack name (the tag's value),
not any principal of the organization that carries the tag. An admin of an account where the SCPs are not attached
could otherwise tag a role of their own and spoof or flood the security account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from app import build_app
from infra.central_alerts import CentralAlertsSettings, CentralAlertsStack, admissions, central_alerts
from infra.errors import SettingsError
from infra.settings import GuardianSettings

pytestmark = pytest.mark.synth
MEMBER, OTHER, SECURITY, ORG = "111122223333", "444455556666", "999988887777", "o-abcdefghij"
CONTEXT: dict[str, Any] = {
    "environments": [
        {
            "account": MEMBER,
            "region": "us-east-1",
            "centralTopicArn": f"arn:aws:sns:us-east-1:{SECURITY}:central",
            "securityAccount": SECURITY,
        }
    ],
    "centralAlerts": {"account": SECURITY, "region": "us-east-1", "organizationId": ORG},
}


def caller(account: str, tag: str | None, org: str = ORG) -> dict[str, str]:
    """The request context IAM builds for a role session: its organization, account and tags."""
    context = {"aws:principalorgid": org, "aws:principalaccount": account}
    if tag is not None:
        context["aws:principaltag/cloudtrail-guardian"] = tag
    return context


def admits(statement: dict[str, Any], context: dict[str, str]) -> bool:
    """Enough of IAM for these statements: every StringEquals key present with one of the values (StringLike's
    kms:ViaService is taken as met: the call comes through SNS)."""
    condition = statement.get("Condition", {})
    assert set(condition) <= {"StringEquals", "StringLike"}, condition
    for key, wanted in condition.get("StringEquals", {}).items():
        values = wanted if isinstance(wanted, list) else [wanted]
        if context.get(key.lower()) not in values:
            return False
    return True


def open_to_anyone(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every Allow statement whose principal is anyone (``*``): the ones a condition alone guards."""
    found: list[dict[str, Any]] = []
    for resource in template["Resources"].values():
        properties = resource["Properties"]
        if resource["Type"] == "AWS::Events::EventBusPolicy":
            statements = [properties["Statement"]]
        else:
            document = properties.get("PolicyDocument") or properties.get("KeyPolicy") or {}
            statements = document.get("Statement", [])
        found.extend(s for s in statements if s.get("Effect") == "Allow" and s.get("Principal") in ("*", {"AWS": "*"}))
    return found


@pytest.fixture(scope="module")
def central() -> dict[str, Any]:
    app = build_app(CONTEXT)
    [stack] = [c for c in app.node.children if isinstance(c, CentralAlertsStack)]
    return dict(Template.from_stack(stack).to_json())


@pytest.mark.threat("central-spoof")
def test_only_the_guardian_accounts_roles_tagged_with_the_stack_name_may_send_to_the_security_account(
    central: dict[str, Any],
) -> None:
    statements = open_to_anyone(central)
    sids = sorted(s["Sid"] for s in statements)
    assert sids == [
        "CloudTrailGuardianOrganization",  # the bus
        "GuardiansOfTheOrganizationMayEncrypt",  # the key
        "GuardiansOfTheOrganizationMayPublish",  # the topic
    ]
    for statement in statements:
        assert statement["Condition"]["StringEquals"] == {
            "aws:PrincipalOrgID": ORG,
            "aws:PrincipalAccount": MEMBER,
            "aws:PrincipalTag/cloudtrail-guardian": "CloudTrailGuardian",
        }, statement["Sid"]
        assert admits(statement, caller(MEMBER, "CloudTrailGuardian")), statement["Sid"]
        # An admin of another account of the organization (no SCP there) tags a role of their own.
        assert not admits(statement, caller(OTHER, "CloudTrailGuardian")), statement["Sid"]
        assert not admits(statement, caller(OTHER, "anything")), statement["Sid"]
        assert not admits(statement, caller(MEMBER, "x")), statement["Sid"]  # the tag, another value
        assert not admits(statement, caller(MEMBER, None)), statement["Sid"]
        assert not admits(statement, caller(MEMBER, "CloudTrailGuardian", org="o-zzzzzzzzzz")), statement["Sid"]


def guardian(account: str | None, stack_name: str = "CloudTrailGuardian") -> GuardianSettings:
    return GuardianSettings(account=account, stack_name=stack_name)


def settings(guardian_accounts: tuple[str, ...] | None = ()) -> CentralAlertsSettings:
    return CentralAlertsSettings(SECURITY, "us-east-1", ORG, guardian_accounts=guardian_accounts)


def test_each_stack_name_is_admitted_only_from_the_accounts_it_is_deployed_in() -> None:
    found = admissions(
        settings(), [guardian(MEMBER), guardian(OTHER, "Audit"), guardian("222233334444")], "CloudTrailGuardian"
    )
    assert found == (
        (("Audit",), (OTHER,)),
        (("CloudTrailGuardian",), (MEMBER, "222233334444")),
    )
    app = cdk.App()
    stack = CentralAlertsStack(app, "Central", settings=settings(), admitted=found)
    publish = [s for s in open_to_anyone(Template.from_stack(stack).to_json()) if "Publish" in s["Sid"]]
    assert len(publish) == 2
    # Audit's tag from the default stack's account, or the default tag from Audit's account: refused.
    assert not any(admits(s, caller(MEMBER, "Audit")) for s in publish)
    assert not any(admits(s, caller(OTHER, "CloudTrailGuardian")) for s in publish)
    assert any(admits(s, caller(OTHER, "Audit")) for s in publish)
    assert any(admits(s, caller("222233334444", "CloudTrailGuardian")) for s in publish)


def test_guardian_accounts_lists_more_accounts_or_admits_the_organization_by_the_tags_value_alone() -> None:
    listed = central_alerts({"centralAlerts": {**CONTEXT["centralAlerts"], "guardianAccounts": [OTHER]}}.get)
    assert listed is not None
    assert admissions(listed, [guardian(MEMBER)], "CloudTrailGuardian") == ((("CloudTrailGuardian",), (MEMBER, OTHER)),)
    whole = central_alerts({"centralAlerts": {**CONTEXT["centralAlerts"], "guardianAccounts": "organization"}}.get)
    assert whole is not None
    assert whole.guardian_accounts is None
    assert admissions(whole, [guardian(MEMBER, "Audit")], "CloudTrailGuardian") == (
        (("Audit", "CloudTrailGuardian"), None),
    )
    stack = CentralAlertsStack(cdk.App(), "Central", settings=whole, admitted=admissions(whole, [], "Audit"))
    for statement in open_to_anyone(Template.from_stack(stack).to_json()):
        assert "aws:PrincipalAccount" not in statement["Condition"]["StringEquals"]
        assert admits(statement, caller(OTHER, "Audit"))
        assert not admits(statement, caller(OTHER, "x"))
        assert not admits(statement, caller(OTHER, None))


def test_a_central_stack_that_would_admit_no_guardian_is_refused() -> None:
    with pytest.raises(SettingsError, match="centralAlerts admits the guardians by account"):
        admissions(settings(), [guardian(None)], "CloudTrailGuardian")
    with pytest.raises(SystemExit, match="centralAlerts admits the guardians by account"):
        build_app({"centralAlerts": CONTEXT["centralAlerts"]})
    with pytest.raises(SettingsError, match="guardianAccounts"):
        central_alerts({"centralAlerts": {**CONTEXT["centralAlerts"], "guardianAccounts": ["12"]}}.get)
