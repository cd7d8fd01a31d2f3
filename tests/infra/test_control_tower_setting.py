"""The ``controlTower`` setting (off | auto): validated, with the management account's id (or ``detect``) reaches both
functions as ``GUARDIAN_CONTROL_TOWER`` (guardian.model.control_tower); off, neither function hears of it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.errors import SettingsError
from infra.settings import OPTIONS, GuardianSettings
from tests.infra.conftest import synth_template

MANAGEMENT = "111122223333"


def settings(**context: Any) -> GuardianSettings:
    return GuardianSettings.from_context(context.get)


def test_control_tower_is_off_by_default_and_auto_without_the_management_account_detects() -> None:
    assert "controlTower" in OPTIONS
    assert settings().control_tower == "off"
    assert settings(managementAccountId=MANAGEMENT).control_tower_account is None
    on = settings(controlTower=" AUTO ", managementAccountId=MANAGEMENT)
    assert (on.control_tower, on.control_tower_account) == ("auto", MANAGEMENT)
    assert settings(controlTower="auto").control_tower_account == "detect"  # the sweep detects the landing zone
    with pytest.raises(SettingsError, match=re.escape('controlTower must be "auto" or "off", got \'on\'')):
        settings(controlTower="on", managementAccountId=MANAGEMENT)


def _variables(template: Any) -> dict[str, str | None]:
    return {
        name: props["Properties"]["Environment"]["Variables"].get("GUARDIAN_CONTROL_TOWER")
        for name, props in template.find_resources("AWS::Lambda::Function").items()
        if "Remediation" in name or "Sweep" in name
    }


@pytest.mark.synth
def test_auto_tells_both_functions_the_management_account() -> None:
    template, _ = synth_template({"controlTower": "auto", "managementAccountId": MANAGEMENT})
    variables = _variables(template)
    assert len(variables) == 2
    assert set(variables.values()) == {MANAGEMENT}, variables
