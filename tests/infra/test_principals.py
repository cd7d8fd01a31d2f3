"""Principal ARNs checked at synth (issue 23): every mistake stops the synth naming the key, the entry, where it was
written (top level or environments[N]) and the fix; roles with paths and IAM Identity Center roles pass."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.errors import SettingsError
from infra.settings import GuardianSettings, environments

ACCOUNT = "123456789012"
SSO_ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef"
OLD_SSO_ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ReadOnly_fedcba9876543210"
ROLE_FORM = "(expected arn:aws:iam::<12-digit account>:role/<name>)"


def settings(**context: Any) -> GuardianSettings:
    return GuardianSettings.from_context(context.get)


def refused(**context: Any) -> str:
    with pytest.raises(SettingsError) as caught:
        settings(**context)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("arn", "problem"),
    [
        (
            "arn:aws:iam:123456789012:role/ci",
            f"'arn:aws:iam:123456789012:role/ci' — a colon is missing after 'iam:' {ROLE_FORM}",
        ),
        (
            "ci-deployer",
            "'ci-deployer' — is a bare name, not an ARN (expected arn:aws:iam::<12-digit account>:role/ci-deployer)",
        ),
        ("arn:aws:iam::12345678901:role/ci", f"— the account is 11 digits; an account id is 12 digits {ROLE_FORM}"),
        ("arn:aws:s3::123456789012:role/ci", f"— is an ARN of 's3', not of an IAM principal {ROLE_FORM}"),
        ("arn:aws:iam::123456789012role/ci", "— a colon is missing after the account '123456789012'"),
        ("arn:aws:iam:eu-west-1:123456789012:role/ci", "— names a Region ('eu-west-1'); IAM and STS ARNs have none"),
        ("arn:amazon:iam::123456789012:role/ci", "— the partition 'amazon' is not one of aws, aws-cn, aws-us-gov"),
        ("arn:aws:iam::123456789012:group/ops", "— names 'group', not role/ or user/"),
        ("arn:aws:iam::123456789012:role/", "— names no role or user"),
        ("arn:aws:iam::123456789012:role/team/", "— the role name is empty (the ARN ends with '/')"),
        (f"arn:aws:iam::123456789012:role/{'r' * 65}", "— the role name is 65 characters; IAM allows 64"),
        ("arn:aws:iam::123456789012:role/ci deployer", "— holds a space; ARNs have none"),
        ("arn:aws:iam::123456789012:role/déploiement", "— the role name has 'é'; IAM names are A-Za-z0-9 and +=,.@_-"),
        ("arn:aws:sts::123456789012:assumed-role/ci", "— an STS principal is a role session"),
        ("glob:ci-*", "— a glob is an ARN pattern with 6 colon-separated fields"),
    ],
)
def test_each_principal_mistake_stops_the_synth_with_its_fix(arn: str, problem: str) -> None:
    message = refused(exemptPrincipals=["arn:aws:iam::123456789012:role/fine", "glob:arn:aws:iam::*:role/ok-*", arn])
    assert message.startswith("exemptPrincipals[2]: ")
    assert problem in message


def test_every_principal_key_is_parsed_with_what_it_may_name() -> None:
    assert refused(approvers=f"arn:aws:iam::{ACCOUNT}:root").startswith(
        f"approvers[0]: 'arn:aws:iam::{ACCOUNT}:root' — names the root user, which this option does not take"
    )
    assert "a glob with a role path never matches an approver: STS names the caller's role without its path" in (
        refused(approvers=["glob:arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*"])
    )
    assert refused(approvers=[{"principal": "arn:aws:iam::1234:user/alice"}]).startswith(
        "approvers[0]: 'arn:aws:iam::1234:user/alice' — the account is 4 digits"
    )
    assert refused(logReaders=f"arn:aws:iam::{ACCOUNT}:user/alice").startswith(
        f"logReaders[0]: 'arn:aws:iam::{ACCOUNT}:user/alice' — names a user, which this option does not take"
    )
    assert refused(breakGlassRole="arn:aws:iam:123456789012:role/BreakGlass").startswith(
        "breakGlassRole: 'arn:aws:iam:123456789012:role/BreakGlass' — a colon is missing after 'iam:'"
    )
    assert "the role has the path '/ops/'" in refused(breakGlassRole=f"arn:aws:iam::{ACCOUNT}:role/ops/BreakGlass")
    assert "the role name has '*'" in refused(breakGlassRole="BreakGlass*")
    assert refused(securityAccount="12345678901").startswith(
        "securityAccount must be a 12-digit AWS account id, got '12345678901' (11 digits)"
    )
    topic = f"arn:aws:sns:eu-west-1:{ACCOUNT}:central-alerts"
    assert "— the account '12345678901' is not 12 digits (expected arn:aws:sns:<Region>" in refused(
        centralTopicArn="arn:aws:sns:eu-west-1:12345678901:central-alerts"
    )
    assert "'alias/central' is not key/<key id> (not an alias)" in refused(
        centralTopicArn=topic, centralTopicKeyArn=f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/central"
    )
    assert "is an ARN of 'sns', not of kms" in refused(centralTopicArn=topic, centralTopicKeyArn=topic)


def test_roles_with_paths_and_iam_identity_center_roles_are_accepted() -> None:
    entries = [
        SSO_ROLE,
        OLD_SSO_ROLE,
        f"arn:aws:iam::{ACCOUNT}:role/team/ci/terraform",
        f"arn:aws-us-gov:iam::{ACCOUNT}:user/ops/alice",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-42",
        {"principal": f"arn:aws-cn:iam::{ACCOUNT}:role/ci", "until": "2026-12-31T00:00:00Z"},
        "glob:arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*",
    ]
    assert settings(exemptPrincipals=entries).exempt_principals == tuple(entries)
    approvers = [SSO_ROLE, f"arn:aws:iam::{ACCOUNT}:user/alice", "glob:arn:aws:iam::*:role/AWSReservedSSO_Admin_*"]
    assert settings(approvers=",".join(approvers)).approvers == tuple(approvers)
    assert settings(exemptPrincipals=f"arn:aws:iam::{ACCOUNT}:root").exempt_principals == (
        f"arn:aws:iam::{ACCOUNT}:root",
    )
    assert settings(breakGlassRole=f"arn:aws:iam::{ACCOUNT}:role/BreakGlass").break_glass_role == "BreakGlass"
    assert settings(breakGlassRole="BreakGlass").break_glass_role == "BreakGlass"
    assert settings(logReaders=SSO_ROLE).log_readers == (SSO_ROLE,)


def test_a_mistake_names_where_it_was_written_top_level_or_the_entry() -> None:
    bad = "arn:aws:iam:123456789012:role/ci"
    one, two = {"account": "111111111111", "region": "eu-west-1"}, {"account": "222222222222", "region": "eu-west-1"}
    with pytest.raises(SettingsError) as caught:
        environments(
            {"environments": [one, {**two, "exemptPrincipals": ["arn:aws:iam::222222222222:role/a", bad]}]}.get
        )
    assert str(caught.value).startswith(
        f"environments[1] (222222222222/eu-west-1): exemptPrincipals[1]: '{bad}' — a colon is missing after 'iam:'"
    )
    top = {"approvers": bad, "environments": [{**one, "approvers": f"arn:aws:iam::{ACCOUNT}:role/ok"}, two]}
    with pytest.raises(SettingsError) as caught:
        environments(top.get)
    message = str(caught.value)
    assert message.startswith(f"top level: approvers[0]: '{bad}' — a colon is missing after 'iam:'")
    assert "environments[" not in message
    with pytest.raises(SettingsError, match=re.escape("top level: regions: 'eu-west-1 us-east-1' holds 2 names")):
        environments({"regions": "eu-west-1 us-east-1", "environments": [one]}.get)
    with pytest.raises(SettingsError, match=re.escape("environments[0] (1234/eu-west-1): account must be a 12-digit")):
        environments({"environments": [{**one, "account": "1234"}]}.get)
    # a check across keys is the entry's: its settings are the merge of both levels
    cross = {"securityAccount": "333333333333", "environments": [one]}
    with pytest.raises(
        SettingsError, match=re.escape("environments[0] (111111111111/eu-west-1): securityAccount needs")
    ):
        environments(cross.get)


@pytest.mark.parametrize(
    "regions", ["eu-west-1 us-east-1", ["eu-west-1  us-east-1"], "eu-west-1,us-east-1 eu-central-1"]
)
def test_a_region_list_with_spaces_says_to_separate_with_commas(regions: Any) -> None:
    message = refused(regions=regions)
    assert "separate Regions with commas" in message
    assert "did you mean" not in message
    assert refused(regions="eu-west-1 us-east-1").endswith("separate Regions with commas (eu-west-1,us-east-1)")
