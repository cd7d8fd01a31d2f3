"""Deployment options from CDK context: defaults, both input forms, and errors that name the key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.settings import GuardianSettings, SettingsError


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
        alertEmails="a@example.com,b@example.com, a@example.com", exemptPrincipals="arn:aws:iam::*:role/ci-*"
    )
    from_json = settings(alertEmails=["a@example.com", "b@example.com"], exemptPrincipals=["arn:aws:iam::*:role/ci-*"])
    assert from_cli.alert_emails == from_json.alert_emails == ("a@example.com", "b@example.com")
    assert from_cli.exempt_principals == from_json.exempt_principals == ("arn:aws:iam::*:role/ci-*",)
    assert settings(exemptPrincipals='["x", "y"]').exempt_principals == ("x", "y")
    assert settings(evidenceRetentionMode="compliance", evidenceRetentionDays=7).evidence_retention_mode == "COMPLIANCE"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"alertEmails": "sec@example.com,not-an-email"}, "alertEmails has invalid addresses: not-an-email"),
        ({"evidenceRetentionMode": "FOREVER"}, "evidenceRetentionMode must be GOVERNANCE or COMPLIANCE"),
        ({"evidenceRetentionDays": "0"}, "evidenceRetentionDays must be between 1 and 36500"),
        ({"evidenceRetentionDays": "a year"}, "evidenceRetentionDays must be a whole number"),
        ({"logRetentionDays": "1"}, "logRetentionDays must be one of"),
        ({"logRetentionDays": "100"}, "logRetentionDays must be one of"),
        ({"exemptPrincipals": "[1, 2]"}, "exemptPrincipals entries must be ARN globs"),
        ({"exemptPrincipals": '[{"principal": "x", "until": "soon"}]'}, "'until' must be an ISO 8601 time"),
        ({"exemptPrincipals": "[oops"}, "exemptPrincipals is not a valid JSON list"),
        ({"stackName": "bad name!"}, "stackName must be a CloudFormation stack name"),
        ({"sentinelTrail": "maybe"}, "sentinelTrail must be true or false"),
        ({"sentinelRetentionDays": "0"}, "sentinelRetentionDays must be between 1 and 3650"),
        ({"regions": "us-east-1,mars"}, "regions has invalid Region names: mars"),
        ({"sweepMinutes": "0"}, "sweepMinutes must be between 1 and 1440"),
        ({"protectTag": "=x"}, "protectTag must be 'key' or 'key=value'"),
        ({"repeatThreshold": "1"}, "repeatThreshold must be between 2 and 1000"),
        ({"repeatWindowMinutes": "0"}, "repeatWindowMinutes must be between 1 and 1440"),
    ],
)
def test_bad_context_names_the_key(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        settings(**context)


def test_exemptions_with_an_expiry_pass_through_to_the_functions() -> None:
    entries = [{"principal": "arn:aws:iam::*:role/ci-*", "until": "2026-12-31T00:00:00Z"}, "arn:aws:iam::*:role/x"]
    assert settings(exemptPrincipals=entries).exempt_principals == tuple(entries)
    assert settings(exemptPrincipals=json.dumps(entries)).exempt_principals == tuple(entries)


def test_sentinel_defaults_on_and_reads_booleans_both_ways() -> None:
    assert settings().sentinel_trail is True
    assert settings(sentinelTrail="false").sentinel_trail is False
    assert settings(sentinelTrail=False).sentinel_trail is False
    assert settings(sentinelTrail="yes").sentinel_trail is True
    assert (settings().regions, settings().sweep_minutes, settings().sentinel_retention_days) == ((), 5, 90)
