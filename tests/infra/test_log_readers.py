"""The ``logReaders`` setting: validated strictly at synth, passed to both functions, read lazily by the guardian."""

from __future__ import annotations

from typing import Any

import pytest

from guardian.model.config import Config
from guardian.model.config_values import ConfigError
from infra.errors import SettingsError
from infra.settings import GuardianSettings
from tests.infra.conftest import synth_template

READER = "arn:aws:iam::123456789012:role/security/audit-reader"


def settings(**context: Any) -> GuardianSettings:
    return GuardianSettings.from_context(context.get)


def test_log_readers_default_to_none_and_take_both_forms() -> None:
    assert settings().log_readers == ()
    assert settings(logReaders=[READER, READER]).log_readers == (READER,)
    assert settings(logReaders=f"{READER},arn:aws-us-gov:iam::123456789012:role/r").log_readers == (
        READER,
        "arn:aws-us-gov:iam::123456789012:role/r",
    )


@pytest.mark.parametrize(
    "bad",
    [
        "arn:aws:iam::123456789012:user/alice",  # not a role
        "arn:aws:iam::12345678901:role/r",  # 11 digits
        "arn:aws:sts::123456789012:assumed-role/r/s",  # a session, not the role
        "arn:aws:iam::123456789012:role/*",  # no wildcard
        "arn:aws:iam::123456789012:root",
        "audit-reader",
    ],
)
def test_a_log_reader_that_is_not_a_role_arn_stops_the_synth(bad: str) -> None:
    with pytest.raises(SettingsError, match=r"logReaders\[0\]: '.+' — .+ \(expected arn:aws:iam::.+:role/"):
        settings(logReaders=[bad])


def test_the_guardian_reads_its_readers_from_the_environment() -> None:
    environ = {"GUARDIAN_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t", "GUARDIAN_EVIDENCE_BUCKET": "evidence"}
    assert Config.from_env(environ).log_readers == ()
    assert Config.from_env({**environ, "GUARDIAN_LOG_READERS": f'["{READER}"]'}).log_readers == (READER,)
    with pytest.raises(ConfigError, match="GUARDIAN_LOG_READERS"):
        Config.from_env({**environ, "GUARDIAN_LOG_READERS": '["arn:aws:iam::123456789012:user/u"]'})


def test_both_functions_are_told_the_readers() -> None:
    template, _ = synth_template({"logReaders": READER, "sentinelTrail": "false"})
    functions = template.find_resources("AWS::Lambda::Function")
    told = [
        name
        for name, resource in functions.items()
        if resource["Properties"].get("Environment", {}).get("Variables", {}).get("GUARDIAN_LOG_READERS")
        == f'["{READER}"]'
    ]
    assert len(told) == 2, sorted(functions)
