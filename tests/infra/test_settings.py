"""Deployment options from CDK context: defaults, both input forms, and errors that name the key."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from app import build_app
from infra.context_keys import check_keys
from infra.errors import SettingsError
from infra.regions import unseen_iam_events
from infra.settings import APP_OPTIONS, OPTIONS, GuardianSettings


def settings(**context: Any) -> GuardianSettings:
    return GuardianSettings.from_context(context.get)


def test_defaults() -> None:
    assert settings() == GuardianSettings(
        alert_emails=(),
        evidence_retention_mode="GOVERNANCE",
        evidence_retention_days=365,
        log_retention_days=365,
        exempt_principals=(),
        stack_name="CloudTrailGuardian",
    )


def test_cli_strings_and_cdk_json_lists_are_both_accepted() -> None:
    from_cli = settings(
        alertEmails="a@example.com,b@example.com, a@example.com", exemptPrincipals="glob:arn:aws:iam::*:role/ci-*"
    )
    from_json = settings(
        alertEmails=["a@example.com", "b@example.com"], exemptPrincipals=["glob:arn:aws:iam::*:role/ci-*"]
    )
    assert from_cli.alert_emails == from_json.alert_emails
    pairs = [(r.address, r.minimum) for r in from_cli.alert_emails]
    assert pairs == [("a@example.com", "MEDIUM"), ("b@example.com", "MEDIUM")]
    assert from_cli.exempt_principals == from_json.exempt_principals == ("glob:arn:aws:iam::*:role/ci-*",)
    two = ["arn:aws:iam::123456789012:role/x", "arn:aws:iam::123456789012:user/y"]
    assert settings(exemptPrincipals=json.dumps(two)).exempt_principals == tuple(two)
    assert settings(evidenceRetentionMode="compliance", evidenceRetentionDays=7).evidence_retention_mode == "COMPLIANCE"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"alertEmails": "sec@example.com,not-an-email"}, "alertEmails has invalid entries: not-an-email"),
        ({"alertEmails": "sec@example.com:URGENT"}, "alertEmails has invalid entries: sec@example.com:URGENT"),
        ({"alertEmails": "s@example.com:HIGH,s@example.com:LOW"}, "lists s@example.com twice, with HIGH and LOW"),
        ({"evidenceRetentionMode": "FOREVER"}, "evidenceRetentionMode must be GOVERNANCE or COMPLIANCE"),
        ({"evidenceRetentionDays": "0"}, "evidenceRetentionDays must be between 1 and 36500"),
        ({"evidenceRetentionDays": "a year"}, "evidenceRetentionDays must be a whole number"),
        ({"logRetentionDays": "1"}, "logRetentionDays must be one of"),
        ({"logRetentionDays": "100"}, "logRetentionDays must be one of"),
        ({"exemptPrincipals": "[1, 2]"}, "exemptPrincipals entries must be ARNs"),
        (
            {"exemptPrincipals": "arn:aws:iam::*:role/ci-*"},
            "has a wildcard; a principal is an exact ARN unless written glob:",
        ),
        ({"exemptPrincipals": '[{"principal": "x", "until": "soon"}]'}, "'until' must be an ISO 8601 time"),
        ({"exemptPrincipals": "[oops"}, "exemptPrincipals is not a valid JSON list"),
        ({"stackName": "bad name!"}, "stackName must be a CloudFormation stack name"),
        ({"sentinelTrail": "maybe"}, "sentinelTrail must be true or false"),
        ({"sentinelRetentionDays": "0"}, "sentinelRetentionDays must be between 1 and 3650"),
        ({"regions": "us-east-1,mars"}, "regions: 'mars' is not an AWS Region"),
        ({"regions": "eu-west-1,us-east-9"}, "regions: 'us-east-9' is not an AWS Region (did you mean us-east-2?)"),
        ({"homeRegion": "eu-wset-1"}, "homeRegion: 'eu-wset-1' is not an AWS Region (did you mean eu-west-1?)"),
        ({"regions": "us-east-1,cn-north-1"}, "one guardian's Regions must share a partition"),
        ({"sweepMinutes": "0"}, "sweepMinutes must be between 1 and 1440"),
        ({"protectTag": "=x"}, "protectTag must be 'key' or 'key=value'"),
        ({"repeatThreshold": "1"}, "repeatThreshold must be between 2 and 1000"),
        ({"repeatWindowMinutes": "0"}, "repeatWindowMinutes must be between 1 and 1440"),
    ],
)
def test_bad_context_names_the_key(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        settings(**context)


def test_exemptions_with_an_expiry_pass_through_to_the_functions() -> None:
    entries = [
        {"principal": "glob:arn:aws:iam::*:role/ci-*", "until": "2026-12-31T00:00:00Z"},
        "glob:arn:aws:iam::*:role/x",
    ]
    assert settings(exemptPrincipals=entries).exempt_principals == tuple(entries)
    assert settings(exemptPrincipals=json.dumps(entries)).exempt_principals == tuple(entries)


def test_sentinel_defaults_on_and_reads_booleans_both_ways() -> None:
    assert settings().sentinel_trail is True
    assert settings(sentinelTrail="false").sentinel_trail is False
    assert settings(sentinelTrail=False).sentinel_trail is False
    assert settings(sentinelTrail="yes").sentinel_trail is True
    assert (settings().regions, settings().sweep_minutes, settings().sentinel_retention_days) == ((), 5, 90)


def test_a_region_error_lists_the_valid_choices_on_one_line() -> None:
    with pytest.raises(SettingsError) as caught:
        settings(regions="us-east-9")
    message = str(caught.value)
    assert "\n" not in message
    assert "in partition aws: af-south-1, " in message
    assert "eu-west-1" in message
    assert settings(regions="us-gov-west-1,us-gov-east-1").regions == ("us-gov-west-1", "us-gov-east-1")


def test_the_option_list_is_every_key_the_settings_read() -> None:
    asked: list[str] = []
    GuardianSettings.from_context(asked.append)
    assert sorted(asked) == sorted(OPTIONS)
    assert len(set(OPTIONS)) == len(OPTIONS)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"alertEmail": "sec@example.com"}, "unknown context key 'alertEmail' (did you mean alertEmails?)"),
        ({"sweepMinute": "10"}, "unknown context key 'sweepMinute' (did you mean sweepMinutes?)"),
        ({"homeregion": "eu-west-1"}, "unknown context key 'homeregion' (did you mean homeRegion?)"),
        (
            {"environments": [{"account": "111111111111", "region": "eu-west-1", "alertEmail": "a@example.com"}]},
            "environments[0]: unknown key 'alertEmail' (did you mean alertEmails?)",
        ),
        (
            {"centralAlerts": {"account": "111111111111", "region": "eu-west-1", "organisationId": "o-abcd123456"}},
            "centralAlerts: unknown key 'organisationId' (did you mean organizationId?)",
        ),
        ({"homeRegion": "eu-wset-1"}, "homeRegion: 'eu-wset-1' is not an AWS Region (did you mean eu-west-1?)"),
    ],
)
def test_a_typo_in_any_setting_stops_the_synth_naming_it(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SystemExit) as caught:
        build_app(context)
    assert str(caught.value).startswith(f"cloudtrail-guardian: invalid context: {message}")
    assert "\n" not in str(caught.value)


def test_the_cdks_own_context_keys_pass() -> None:
    """Feature flags, the toolkit's keys, cached lookups and cli-telemetry are the CDK's, not typos."""
    context = {
        "@aws-cdk/core:checkSecretUsage": True,
        "aws:cdk:enable-path-metadata": True,
        "availability-zones:account=123456789012:region=eu-west-1": ["eu-west-1a"],
        "cli-telemetry": False,
        **dict.fromkeys((*OPTIONS, *APP_OPTIONS)),
    }
    assert build_app(context).node.try_get_context("cli-telemetry") is False


@pytest.mark.parametrize(
    ("home", "regions", "unseen"),
    [
        ("us-east-1", (), None),
        ("eu-west-1", ("us-east-1",), None),
        ("eu-west-1", (), "us-east-1"),
        ("eu-west-1", ("eu-central-1",), "us-east-1"),
        ("us-gov-east-1", (), "us-gov-west-1"),
        (None, (), None),  # not known at synth: nothing to say
    ],
)
def test_where_iam_events_would_go_unseen(home: str | None, regions: tuple[str, ...], unseen: str | None) -> None:
    assert unseen_iam_events(home, regions) == unseen


@pytest.mark.threat("unseen-iam")
def test_synth_refuses_a_home_region_that_never_sees_iam_events_unless_acknowledged(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13, item 7: IAM changes to the guardian were never seen, and nothing said so at synth."""
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)
    with pytest.raises(SystemExit, match=r"recorded in us-east-1.*Add us-east-1 to regions.*acceptUnseenIamEvents"):
        build_app({"homeRegion": "eu-west-1"})
    build_app({"homeRegion": "eu-west-1", "acceptUnseenIamEvents": "true"})
    build_app({"homeRegion": "eu-west-1", "regions": "eu-west-1,us-east-1"})
    monkeypatch.setenv("CDK_DEFAULT_REGION", "ap-southeast-2")  # the CLI's Region, when homeRegion is not set
    with pytest.raises(SystemExit, match="recorded in us-east-1"):
        build_app({})


def test_a_retired_key_says_why_it_is_gone() -> None:
    with pytest.raises(SettingsError, match=r"'deploymentQualifier' is no longer used: no deployment role is exempt"):
        check_keys({"deploymentQualifier": "hnb659fds"}, OPTIONS)
