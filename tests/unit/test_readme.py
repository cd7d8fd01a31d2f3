"""The README stays true: its decision table, context options and environment variables match the code."""

from __future__ import annotations

import json
import re

from guardian.model.rules import RULES, Heal
from infra.settings import APP_OPTIONS, GuardianSettings
from tests.support import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def section(name: str) -> list[list[str]]:
    body = README.split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]
    rows = [line for line in body.strip().splitlines()[2:] if line.startswith("|")]
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows]


def test_decision_table_matches_rules() -> None:
    rows = {row[0]: row for row in section("decision-table")}
    assert list(rows) == list(RULES)
    for name, rule in RULES.items():
        _, severity, undo, failed, own = rows[name]
        assert severity == rule.severity.value
        assert failed == rule.failed_severity.value
        assert own.split()[0] == rule.own_severity.value
        assert ("StartLogging" in undo) == (rule.heal is Heal.START_LOGGING)
        resource = undo.startswith(("bucket:", "log group:"))
        assert ("baseline" in undo and not resource) == (rule.heal is Heal.RESTORE_BASELINE)
        assert ("KMS key" in undo and not resource) == (rule.heal is Heal.RESTORE_KEY)
        assert resource == (rule.heal is Heal.RESTORE_RESOURCE)
        assert ("EventDataStore" in undo) == (rule.heal in (Heal.START_INGESTION, Heal.RESTORE_DATA_STORE))


def test_every_context_option_is_documented() -> None:
    documented = {row[0] for row in section("context-options")}
    asked: list[str] = []
    GuardianSettings.from_context(asked.append)
    assert documented == {*asked, *APP_OPTIONS}


def test_every_environment_variable_is_documented() -> None:
    documented = {row[0] for row in section("environment")}
    source = "".join(
        (REPO_ROOT / "guardian" / name).read_text() for name in ("model/config.py", "entrypoints/handler.py")
    )
    assert documented == set(re.findall(r'"(GUARDIAN_[A-Z_]+)"', source))


def test_the_two_commands_are_the_quick_start_and_ci_runs_the_test_command() -> None:
    quick_start = README.split("## Quick start")[1].split("##")[0]
    assert "make demo" in quick_start
    assert "make test" in quick_start
    assert (REPO_ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == "make test"


def test_json_examples_parse() -> None:
    blocks = re.findall(r"```json\n(.*?)\n```", README, flags=re.DOTALL)
    assert len(blocks) == 3
    envelope, message, evidence = (json.loads(block) for block in blocks)
    assert json.loads(envelope["Message"]) == message
    assert message["schema"] == "cloudtrail-guardian/alert"
    assert evidence["schema"] == "cloudtrail-guardian/evidence"
    assert message["evidence"]["key"].endswith(evidence["record_id"] + ".json")
