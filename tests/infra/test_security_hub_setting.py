"""The ``securityHub`` setting (auto | off) and the remediation role's Security Hub grant: BatchImportFindings on the
account's own product, GetFindings and BatchUpdateFindings on the Region's hub, nothing broader; none when off."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.errors import SettingsError
from infra.settings import GuardianSettings
from tests.infra.conftest import synth_template

pytestmark = pytest.mark.synth


def settings(**context: Any) -> GuardianSettings:
    return GuardianSettings.from_context(context.get)


def test_security_hub_defaults_to_auto_and_takes_off() -> None:
    assert settings().security_hub == "auto"
    assert settings(securityHub=" OFF ").security_hub == "off"
    with pytest.raises(SettingsError, match=re.escape('securityHub must be "auto" or "off", got \'on\'')):
        settings(securityHub="on")


def _statements(template: Any) -> list[dict[str, Any]]:
    return [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(
            str(a).startswith("securityhub:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        )
    ]


def _resource(statement: dict[str, Any]) -> str:
    return json.dumps(statement["Resource"])


def test_the_remediation_role_may_import_only_into_its_own_product_and_read_and_resolve_on_its_hub(
    default_synth: tuple[Any, Any],
) -> None:
    template, _ = default_synth
    statements = {s["Sid"]: s for s in _statements(template)}
    assert set(statements) == {"ImportOwnFindings", "CountAndResolveOwnFindings"}
    [digests] = [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "ReadEvidenceDigests"
    ]
    assert digests["Action"] == "s3:GetObject"
    assert _resource(digests).endswith('"/evidence/*.json.sig"]]}')  # signatures only, never a record
    imports = statements["ImportOwnFindings"]
    assert imports["Action"] == "securityhub:BatchImportFindings"
    assert "product/" in _resource(imports)
    assert "/default" in _resource(imports)
    assert "*" not in _resource(imports)
    resolve = statements["CountAndResolveOwnFindings"]
    assert sorted(resolve["Action"]) == ["securityhub:BatchUpdateFindings", "securityhub:GetFindings"]
    assert ":hub/default" in _resource(resolve)
    assert "*" not in _resource(resolve)


def test_off_grants_nothing_and_tells_both_functions() -> None:
    template, _ = synth_template({"securityHub": "off"})
    assert _statements(template) == []
    variables = {
        name: props["Properties"]["Environment"]["Variables"].get("GUARDIAN_SECURITY_HUB")
        for name, props in template.find_resources("AWS::Lambda::Function").items()
        if "Remediation" in name or "Sweep" in name
    }
    assert set(variables.values()) == {"off"}, variables
