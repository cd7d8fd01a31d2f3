"""Exempt principals and approvers matched as CloudTrail and STS name a caller (issue 23). STS's GetCallerIdentity
names a role session ``assumed-role/<name>/<session>``, without the role's path; CloudTrail's
``sessionContext.sessionIssuer.arn`` and the IAM console give the role's ARN with it (IAM Identity Center roles live
under ``aws-reserved/sso.amazonaws.com/[<region>/]``). A role is known by account and name, unique per account
whatever its path (IAM quotas, "IAM name requirements"); the full path is compared where both sides give one."""

from __future__ import annotations

import copy

import pytest

from guardian.model.caller_proof import Identity, parse_identity
from guardian.model.decide import Exemption, PolicyContext, decide, same_principal
from guardian.model.events import parse_event
from guardian.model.rules import Outcome
from tests.support import ACCOUNT, GUARDIAN_ROLE_ARN, load_event

NAME = "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
SSO_PATH = "aws-reserved/sso.amazonaws.com/eu-west-1/"
SSO_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{SSO_PATH}{NAME}"  # as the IAM console shows it
SSO_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/{NAME}/alice@example.com"  # as STS and userIdentity.arn name it


@pytest.mark.parametrize(
    ("pattern", "principal", "matches"),
    [
        (SSO_ROLE, SSO_SESSION, True),  # STS: only the name is known
        (SSO_ROLE, SSO_ROLE, True),  # CloudTrail's session issuer: the full path on both sides
        (SSO_ROLE.replace(NAME, NAME.upper()), SSO_SESSION, True),  # IAM names ignore case
        (SSO_ROLE, f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{NAME}", False),  # both paths, unlike
        (f"arn:aws:iam::{ACCOUNT}:role/{NAME}", SSO_ROLE, True),  # the pattern gives no path: the name decides
        (f"arn:aws:iam::{ACCOUNT}:role/{NAME}", SSO_SESSION, True),
        (SSO_ROLE, f"arn:aws:sts::999999999999:assumed-role/{NAME}/alice@example.com", False),  # another account
        (SSO_ROLE, f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/{NAME}/alice@example.com", False),  # partition
        (SSO_ROLE, f"arn:aws:sts::{ACCOUNT}:assumed-role/{NAME}x/alice@example.com", False),  # another name
        (SSO_ROLE, f"arn:aws:iam::{ACCOUNT}:user/{SSO_PATH}{NAME}", False),  # a user is not the role
        (f"arn:aws:iam::{ACCOUNT}:user/alice", f"arn:aws:iam::{ACCOUNT}:user/ops/alice", True),
        (f"arn:aws:iam::{ACCOUNT}:user/ops/alice", f"arn:aws:iam::{ACCOUNT}:user/alice", False),  # at path /
        (SSO_SESSION, SSO_SESSION, True),  # a session names that session only
        (SSO_SESSION, f"arn:aws:sts::{ACCOUNT}:assumed-role/{NAME}/mallory@example.com", False),
        (SSO_SESSION, SSO_ROLE, False),
    ],
)
def test_a_principal_is_matched_by_account_and_name_and_by_path_where_both_give_one(
    pattern: str, principal: str, matches: bool
) -> None:
    assert same_principal(pattern, principal) is matches


def test_an_sso_approver_written_with_its_path_is_the_caller_sts_names() -> None:
    """The first ``guardian selftest`` of an IAM Identity Center approver: STS names the session without the path."""
    answer = f"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
      <GetCallerIdentityResult><Arn>{SSO_SESSION}</Arn><UserId>AROAEXAMPLE:alice@example.com</UserId>
      <Account>{ACCOUNT}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>""".encode()
    identity = parse_identity(answer)
    assert Exemption(SSO_ROLE).covers(identity.principals)
    assert Exemption(f"arn:aws:iam::{ACCOUNT}:role/{NAME}").covers(identity.principals)
    assert Exemption(f"glob:arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_Administrator*").covers(identity.principals)
    other = Identity(f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_ReadOnly_fedcba/mallory", ACCOUNT)
    assert not Exemption(SSO_ROLE).covers(other.principals)


def sso_stop(*, issuer: bool) -> dict[str, object]:
    """A StopLogging by an IAM Identity Center session, as CloudTrail records it (with its session issuer or not)."""
    raw = copy.deepcopy(load_event("stop_logging_exempt_ci"))
    identity = raw["detail"]["userIdentity"]
    identity["arn"] = SSO_SESSION
    identity["principalId"] = "AROAEXAMPLE:alice@example.com"
    if issuer:
        identity["sessionContext"]["sessionIssuer"].update(arn=SSO_ROLE, userName=NAME)
    else:
        del identity["sessionContext"]
    return raw


@pytest.mark.parametrize("issuer", [True, False])
@pytest.mark.parametrize(
    "pattern",
    [SSO_ROLE, f"arn:aws:iam::{ACCOUNT}:role/{NAME}", f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/x"],
)
def test_an_exemption_covers_an_sso_role_in_cloudtrails_shapes(pattern: str, issuer: bool) -> None:
    context = PolicyContext(account_id=ACCOUNT, self_role_arn=GUARDIAN_ROLE_ARN, exempt_principals=(pattern,))
    decision = decide(parse_event(sso_stop(issuer=issuer)), context)
    wanted = Outcome.HEALED if pattern.endswith("/x") else Outcome.EXEMPT
    assert decision.outcome is wanted


def test_the_same_name_under_another_path_is_not_another_role() -> None:
    """Insider check. IAM refuses a second role of the same name in an account, whatever its path and its case (IAM
    quotas, "Names of users, groups, roles, and instance profiles must be unique within the account. They aren't
    distinguished by case"), so a session STS names ``assumed-role/<name>/…`` in the approver's account *is* the
    approver's role: matching by name lets nobody else through. Where both sides give a path and they differ, the
    principal is not matched (the role was deleted and made again elsewhere: that is a new role)."""
    moved = f"arn:aws:iam::{ACCOUNT}:role/attacker/{NAME}"
    assert not same_principal(SSO_ROLE, moved)
    assert not Exemption(SSO_ROLE).covers([f"arn:aws:sts::{ACCOUNT}:assumed-role/{NAME}-copy/s", moved])
