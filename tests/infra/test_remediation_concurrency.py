"""The remediation function's reserved concurrency is a setting (issue 21, "Heals under the write quota"):
``remediationConcurrency``, 50 by default, 0 for an account whose concurrency quota cannot spare any (unreserved),
refused outside 0 or 10 to 900."""

from __future__ import annotations

from typing import Any

import pytest

from infra.errors import SettingsError
from infra.remediation import RESERVED_CONCURRENCY
from infra.settings import GuardianSettings
from tests.infra.conftest import synth_template


def settings(value: Any) -> GuardianSettings:
    return GuardianSettings.from_context(lambda key: value if key == "remediationConcurrency" else None)


def test_the_setting_defaults_to_50_and_takes_0_or_10_to_900() -> None:
    assert settings(None).remediation_concurrency == RESERVED_CONCURRENCY == 50
    assert settings("0").remediation_concurrency == 0
    assert settings(10).remediation_concurrency == 10
    assert settings("900").remediation_concurrency == 900
    for refused in ("5", "901", "-1", "many"):
        with pytest.raises(SettingsError, match="remediationConcurrency"):
            settings(refused)


def remediation_properties(context: dict[str, Any]) -> dict[str, Any]:
    template, _ = synth_template(context)
    [found] = [
        body["Properties"]
        for body in template.find_resources("AWS::Lambda::Function").values()
        if str(body["Properties"].get("FunctionName", "")).endswith("-remediation")
    ]
    return dict(found)


@pytest.mark.threat("write-quota")
def test_the_template_reserves_what_the_setting_says_and_nothing_at_0() -> None:
    assert remediation_properties({"remediationConcurrency": "80"})["ReservedConcurrentExecutions"] == 80
    assert "ReservedConcurrentExecutions" not in remediation_properties({"remediationConcurrency": "0"})
