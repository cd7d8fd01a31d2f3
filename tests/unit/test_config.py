"""Configuration: read from the environment, validated, with errors that name the variable."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from guardian.model.config import Config
from guardian.model.config_values import ConfigError
from guardian.model.decide import Exemption

TOPIC = "arn:aws:sns:eu-west-1:123456789012:CloudTrailGuardian-AlertsTopic"
BASE = {"GUARDIAN_TOPIC_ARN": TOPIC, "GUARDIAN_EVIDENCE_BUCKET": "guardian-evidence-bucket"}


def test_minimal_configuration_and_defaults() -> None:
    config = Config.from_env(BASE)
    assert config.account_id == "123456789012"
    assert config.topic_region == "eu-west-1"
    assert config.self_role_arn is None
    assert config.exempt_principals == ()
    assert (config.verify_attempts, config.verify_delay_seconds) == (6, 0.25)
    assert config.policy.account_id == "123456789012"


def test_full_configuration() -> None:
    config = Config.from_env(
        {
            **BASE,
            "GUARDIAN_SELF_ROLE_ARN": "arn:aws:iam::123456789012:role/guardian-role",
            "GUARDIAN_EXEMPT_PRINCIPALS": json.dumps(
                ["glob:arn:aws:iam::*:role/ci-*", " arn:aws:iam::123456789012:user/breakglass "]
            ),
            "GUARDIAN_VERIFY_ATTEMPTS": "3",
            "GUARDIAN_VERIFY_DELAY_SECONDS": "0",
        }
    )
    assert config.policy.self_role_arn == "arn:aws:iam::123456789012:role/guardian-role"
    assert config.exempt_principals == (
        Exemption("glob:arn:aws:iam::*:role/ci-*"),
        Exemption("arn:aws:iam::123456789012:user/breakglass"),
    )
    assert (config.verify_attempts, config.verify_delay_seconds) == (3, 0.0)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "GUARDIAN_TOPIC_ARN is required but not set"),
        ({"GUARDIAN_TOPIC_ARN": " "}, "GUARDIAN_TOPIC_ARN is required but not set"),
        ({"GUARDIAN_TOPIC_ARN": "my-topic"}, "GUARDIAN_TOPIC_ARN is not an SNS topic ARN: 'my-topic'"),
        ({"GUARDIAN_TOPIC_ARN": TOPIC}, "GUARDIAN_EVIDENCE_BUCKET is required but not set"),
        ({**BASE, "GUARDIAN_EVIDENCE_BUCKET": "Bad_Bucket"}, "GUARDIAN_EVIDENCE_BUCKET is not a valid S3 bucket name"),
        (
            {**BASE, "GUARDIAN_SELF_ROLE_ARN": "arn:aws:iam::123456789012:user/x"},
            "GUARDIAN_SELF_ROLE_ARN is not an IAM role ARN",
        ),
        ({**BASE, "GUARDIAN_EXEMPT_PRINCIPALS": "[oops"}, "GUARDIAN_EXEMPT_PRINCIPALS is not valid JSON"),
        (
            {**BASE, "GUARDIAN_EXEMPT_PRINCIPALS": '"glob:arn:aws:iam::*:role/ci-*"'},
            "GUARDIAN_EXEMPT_PRINCIPALS must be a JSON list",
        ),
        ({**BASE, "GUARDIAN_EXEMPT_PRINCIPALS": "[1]"}, "GUARDIAN_EXEMPT_PRINCIPALS must be a JSON list"),
        ({**BASE, "GUARDIAN_VERIFY_ATTEMPTS": "many"}, "GUARDIAN_VERIFY_ATTEMPTS must be a whole number"),
        ({**BASE, "GUARDIAN_VERIFY_ATTEMPTS": "0"}, "GUARDIAN_VERIFY_ATTEMPTS must be between 1 and 20, got 0"),
        ({**BASE, "GUARDIAN_VERIFY_DELAY_SECONDS": "-1"}, "GUARDIAN_VERIFY_DELAY_SECONDS must be between 0.0 and 10.0"),
    ],
)
def test_bad_configuration_names_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        Config.from_env(environ)
    assert str(exc.value).startswith(message)


def test_self_role_may_list_the_guardians_other_roles_and_sweep_settings_parse() -> None:
    config = Config.from_env(
        {
            **BASE,
            "GUARDIAN_SELF_ROLE_ARN": (
                "arn:aws:iam::123456789012:role/remediation, arn:aws:iam::123456789012:role/sweep"
            ),
            "GUARDIAN_SWEEP_REGIONS": '["eu-west-1", "us-east-1", "eu-west-1"]',
            "GUARDIAN_PROTECT_TRAILS": '["org-audit"]',
            "GUARDIAN_PROTECT_TAG": "guardian:protect=true",
        }
    )
    assert config.self_role_arn == "arn:aws:iam::123456789012:role/remediation"
    assert config.policy.other_guardian_roles == ("arn:aws:iam::123456789012:role/sweep",)
    assert config.sweep_regions == ("eu-west-1", "us-east-1")
    assert config.protects("org-audit", (("guardian:protect", "true"),))
    assert not config.protects("org-audit", (("guardian:protect", "false"),))
    assert not config.protects("other", (("guardian:protect", "true"),))
    assert Config.from_env({**BASE, "AWS_REGION": "ap-south-1"}).sweep_regions == ("ap-south-1",)
    assert Config.from_env({**BASE, "GUARDIAN_PROTECT_TAG": "owner"}).protects("x", (("owner", "anyone"),))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"GUARDIAN_SWEEP_REGIONS": '["mars-1"]'}, "GUARDIAN_SWEEP_REGIONS has invalid Region names"),
        ({"GUARDIAN_SWEEP_REGIONS": "us-east-1"}, "GUARDIAN_SWEEP_REGIONS is not valid JSON"),
        ({"GUARDIAN_PROTECT_TRAILS": '"org-audit"'}, "GUARDIAN_PROTECT_TRAILS must be a JSON list"),
        ({"GUARDIAN_PROTECT_TAG": "=true"}, "GUARDIAN_PROTECT_TAG must be 'key' or 'key=value'"),
    ],
)
def test_bad_sweep_settings_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env({**BASE, **environ})


def test_exemptions_may_carry_an_expiry() -> None:
    config = Config.from_env(
        {
            **BASE,
            "GUARDIAN_EXEMPT_PRINCIPALS": json.dumps(
                [
                    "glob:arn:aws:iam::*:role/admin",
                    {"principal": "glob:arn:aws:iam::*:role/ci-*", "until": "2026-12-31T00:00:00Z"},
                ]
            ),
        }
    )
    assert config.exempt_principals == (
        Exemption("glob:arn:aws:iam::*:role/admin"),
        Exemption("glob:arn:aws:iam::*:role/ci-*", datetime(2026, 12, 31, tzinfo=UTC)),
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('[{"until": "2026-12-31T00:00:00Z"}]', "GUARDIAN_EXEMPT_PRINCIPALS must be a JSON list"),
        ('[{"principal": "glob:arn:aws:iam::*:role/ci-*", "until": "next week"}]', "'until' must be an ISO 8601 time"),
    ],
)
def test_bad_exemptions_name_the_variable(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env({**BASE, "GUARDIAN_EXEMPT_PRINCIPALS": value})


def test_names_under_the_stacks_prefix_read_as_the_whole_names() -> None:
    """The stack writes its rules and alarms once under its prefix (a function's environment holds 4 KB)."""
    whole = ["Guardian-tamper", "Guardian-guard-sns"]
    alarms = ["Guardian-dead-letters", "Guardian-sweep-silent"]
    short = {
        "GUARDIAN_OWN_RULES": json.dumps({"prefix": "Guardian-", "names": ["tamper", "guard-sns"]}),
        "GUARDIAN_ALERT_PATH": json.dumps(
            {"alarms": {"prefix": "Guardian-", "names": ["dead-letters", "sweep-silent"]}}
        ),
    }
    listed = {
        "GUARDIAN_OWN_RULES": json.dumps(whole),
        "GUARDIAN_ALERT_PATH": json.dumps({"alarms": alarms}),
    }
    read = [Config.from_env({**BASE, **environ}) for environ in (short, listed)]
    assert read[0].own_rules == read[1].own_rules
    assert set(whole) <= set(read[0].own_rules)
    assert read[0].alert_path.alarms == read[1].alert_path.alarms == tuple(alarms)
    with pytest.raises(ConfigError, match="GUARDIAN_OWN_RULES must be"):
        Config.from_env({**BASE, "GUARDIAN_OWN_RULES": json.dumps({"prefix": "G-", "names": "tamper"})})


def test_the_alert_paths_compact_addresses_and_cis_alarms_read_whole() -> None:
    """``address:MINIMUM`` stands for the address and its severity filter, a bare address for no filter (INFO);
    ``"cis": true`` for the 15 CIS alarms under the prefix (a 4 KB environment: issue 21's limits)."""
    text = json.dumps(
        {
            "emails": ["soc@example.com:HIGH", "all@example.com", "sec@example.com:MEDIUM"],
            "alarms": {"prefix": "G-", "names": ["dead-letters"], "cis": True},
        }
    )
    path = Config.from_env({**BASE, "GUARDIAN_ALERT_PATH": text}).alert_path
    assert path.emails == ("soc@example.com", "all@example.com", "sec@example.com")
    assert path.filters == {
        "soc@example.com": '{"severity":["HIGH","CRITICAL",{"exists":false}]}',
        "sec@example.com": '{"severity":["MEDIUM","HIGH","CRITICAL",{"exists":false}]}',
    }
    assert path.alarms[:2] == ("G-dead-letters", "G-cis-4-1-unauthorized-api-calls")
    assert len(path.alarms) == 16
    assert path.alarms[-1] == "G-cis-4-15-organizations-changes"
    explicit = json.dumps({"emails": ["a@example.com:HIGH"], "filters": {"a@example.com": '{"severity":["LOW"]}'}})
    assert Config.from_env({**BASE, "GUARDIAN_ALERT_PATH": explicit}).alert_path.filters == {
        "a@example.com": '{"severity":["LOW"]}'  # a filter given by name is the one checked
    }
    for bad in ("a@example.com:INFO", "a@example.com:URGENT"):
        with pytest.raises(ConfigError, match="GUARDIAN_ALERT_PATH emails"):
            Config.from_env({**BASE, "GUARDIAN_ALERT_PATH": json.dumps({"emails": [bad]})})
