"""The ``mode`` setting (observe | heal): read from cdk.json or ``-c``, globally and per entry of ``environments``,
validated with the key's location, and reaching both functions as GUARDIAN_MODE."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.errors import SettingsError
from infra.settings import GuardianSettings, environments
from tests.infra.conftest import synth_template

ENTRY = {"account": "111111111111", "region": "eu-west-1"}


def settings(**context: Any) -> GuardianSettings:
    return GuardianSettings.from_context(context.get)


def test_mode_defaults_to_heal_and_takes_observe_from_cli_or_cdk_json() -> None:
    assert settings().mode == "heal"
    assert settings(mode="observe").mode == "observe"
    assert settings(mode=" Observe ").mode == "observe"
    assert settings(mode="heal").mode == "heal"


def test_a_wrong_mode_names_the_key_and_the_choices() -> None:
    with pytest.raises(SettingsError, match=re.escape('mode must be "observe" or "heal", got \'watch\'')):
        settings(mode="watch")


def test_mode_per_environment_overrides_the_global_one() -> None:
    context = {"mode": "observe", "environments": [ENTRY, {**ENTRY, "account": "222222222222", "mode": "heal"}]}
    found = environments(context.get)
    assert [e.mode for e in found] == ["observe", "heal"]


def test_a_wrong_mode_in_an_entry_is_reported_against_that_entry() -> None:
    context = {"environments": [ENTRY, {**ENTRY, "account": "222222222222", "mode": "off"}]}
    with pytest.raises(SettingsError, match=re.escape("environments[1] (222222222222/eu-west-1): mode must be")):
        environments(context.get)


def test_a_wrong_global_mode_is_reported_as_the_top_level_key_not_an_entry() -> None:
    context = {"mode": "off", "environments": [ENTRY]}
    with pytest.raises(SettingsError) as raised:
        environments(context.get)
    assert str(raised.value).startswith("mode must be")


def test_both_functions_get_the_mode() -> None:
    template, _ = synth_template({"mode": "observe"})
    functions = template.find_resources("AWS::Lambda::Function")
    modes = {
        name: props["Properties"]["Environment"]["Variables"].get("GUARDIAN_MODE")
        for name, props in functions.items()
        if "Remediation" in name or "Sweep" in name
    }
    assert modes, json.dumps(sorted(functions))
    assert set(modes.values()) == {"observe"}, modes
    assert any("Remediation" in n for n in modes)
    assert any("Sweep" in n for n in modes)
