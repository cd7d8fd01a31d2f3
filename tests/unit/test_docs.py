"""The README and docs/ stay true: the decision table, every option with its default, every environment variable, the
schema versions and the JSON examples match the code, the README fits on a page, and every link resolves."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from guardian.model.alert import ALERT_SCHEMA_VERSION
from guardian.model.baselines import BASELINE_SCHEMA_VERSION
from guardian.model.blind_window import BLIND_WINDOW_SCHEMA_VERSION
from guardian.model.digests import DIGEST_SCHEMA_VERSION
from guardian.model.evidence import EVIDENCE_SCHEMA_VERSION
from guardian.model.record_signatures import SIDECAR_SCHEMA, SIDECAR_SCHEMA_VERSION
from guardian.model.rules import RULES, Heal
from guardian_console.render import REPORT_SCHEMA_VERSION
from infra.self_protection import SCHEMA_VERSION as SELF_PROTECTION_SCHEMA_VERSION
from infra.settings import APP_OPTIONS, OPTIONS, GuardianSettings
from tests.support import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))


def text(path: Path) -> str:
    return path.read_text()


def section(path: Path, name: str) -> list[list[str]]:
    body = text(path).split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]
    rows = [line for line in body.strip().splitlines()[2:] if line.startswith("|")]
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows]


def test_the_readme_fits_on_a_page_and_links_every_docs_page() -> None:
    readme = text(README)
    assert len(readme.splitlines()) <= 200
    linked = set(re.findall(r"\]\((docs/[a-z-]+\.md)\)", readme))
    assert linked == {f"docs/{p.name}" for p in PAGES}
    assert {"deploy-and-configure.md", "alerts.md", "evidence.md", "operations.md", "architecture.md", "limits.md"} <= {
        p.name for p in PAGES
    }


def test_the_two_commands_are_the_quick_start_and_ci_runs_the_test_command() -> None:
    quick_start = text(README).split("## Quick start")[1].split("##")[0]
    assert "make demo" in quick_start
    assert "make test" in quick_start
    assert (REPO_ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == "make test"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]*)(#[^)\s]*)?\)", text(page)):
        path, anchor = target
        if path.startswith(("http://", "https://", "mailto:")):
            continue
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: link to {path} does not exist"
        if anchor and resolved.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", text(resolved), flags=re.MULTILINE)
            assert anchor[1:] in {_slug(h) for h in headings}, f"{page.name}: no heading for {path}{anchor}"


def test_decision_table_matches_rules() -> None:
    rows = {row[0]: row for row in section(DOCS / "alerts.md", "decision-table")}
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
        lake = (Heal.START_INGESTION, Heal.RESTORE_DATA_STORE, Heal.RESTORE_STORE_SETTINGS)
        assert ("EventDataStore" in undo) == (rule.heal in lake)


# Options whose default is a fact of the deployment, not a value in the code: the table says which in words.
DESCRIBED_DEFAULTS = {"regions", "homeRegion", "account", "protectTrails"}


def _field(option: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", option).lower()


def test_every_context_option_is_documented_with_its_default_as_in_the_code() -> None:
    rows = {row[0]: row for row in section(DOCS / "deploy-and-configure.md", "context-options")}
    assert set(rows) == {*OPTIONS, *APP_OPTIONS}
    defaults = {f.name: f.default for f in fields(GuardianSettings)}
    for option in OPTIONS:
        documented = rows[option][1]
        default: Any = defaults[_field(option)]
        if option in DESCRIBED_DEFAULTS:
            assert not default, option
        elif documented == "none":
            assert default in ((), None, ""), option
        else:
            expected = str(default).lower() if isinstance(default, bool) else str(default)
            assert documented == expected, f"{option}: documented {documented!r}, the code says {expected!r}"


def test_every_environment_variable_is_documented() -> None:
    documented = {row[0] for row in section(DOCS / "deploy-and-configure.md", "environment")}
    read = {
        name
        for path in (REPO_ROOT / "guardian").rglob("*.py")
        for name in re.findall(r'"(GUARDIAN_[A-Z_]+)"', path.read_text())
    }
    assert documented == read


SCHEMA_VERSIONS = {
    "alert": ALERT_SCHEMA_VERSION,
    "evidence": EVIDENCE_SCHEMA_VERSION,
    "baseline": BASELINE_SCHEMA_VERSION,
    "self-protection-alert": SELF_PROTECTION_SCHEMA_VERSION,
    "report": REPORT_SCHEMA_VERSION,
    "digest": DIGEST_SCHEMA_VERSION,
    "blind-window": BLIND_WINDOW_SCHEMA_VERSION,
    "record-signature": SIDECAR_SCHEMA_VERSION,
}


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_every_schema_version_stated_is_the_codes(page: Path) -> None:
    stated = re.findall(r"`?cloudtrail-guardian/([a-z-]+)`?,? (?:version |schema_version )?`?(\d+\.\d+)", text(page))
    for schema, version in stated:
        assert version == SCHEMA_VERSIONS[schema], f"{page.name}: {schema} {version}"


def _json_blocks(path: Path) -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text(path), flags=re.DOTALL)]


def _within(part: Any, whole: Any) -> bool:
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and _within(v, whole[k]) for k, v in part.items())
    return bool(part == whole)


def test_json_examples_parse_and_agree() -> None:
    envelope, message = _json_blocks(DOCS / "alerts.md")
    evidence, sidecar, digest = _json_blocks(DOCS / "evidence.md")
    assert (sidecar["schema"], sidecar["schema_version"]) == (SIDECAR_SCHEMA, SIDECAR_SCHEMA_VERSION)
    abridged, record = _json_blocks(README)
    assert (digest["schema"], digest["schema_version"]) == ("cloudtrail-guardian/digest", DIGEST_SCHEMA_VERSION)
    assert json.loads(envelope["Message"]) == message
    assert message["schema"] == "cloudtrail-guardian/alert"
    assert message["schema_version"] == ALERT_SCHEMA_VERSION
    assert evidence["schema"] == "cloudtrail-guardian/evidence"
    assert evidence["schema_version"] == EVIDENCE_SCHEMA_VERSION
    assert message["evidence"]["key"].endswith(evidence["record_id"] + ".json")
    assert _within(abridged, message), "the README's abridged alert is not a part of the full one"
    assert _within(record, evidence), "the README's abridged evidence record is not a part of the full one"


def test_every_option_of_every_console_command_is_documented() -> None:
    """docs/console.md names each command and each of its options, as the parser has them."""
    import argparse  # noqa: PLC0415

    from guardian_console.cli import _parser  # noqa: PLC0415

    page = text(DOCS / "console.md")
    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        assert f"`guardian {name}" in page, name
        for action in command._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert f"`{option}" in page or f"{option} " in page, f"{name} {option}"


def _before_you_deploy() -> str:
    return text(DOCS / "deploy-and-configure.md").split("## Before you deploy")[1].split("\n## ")[0]


def test_the_sentinels_cost_is_stated_for_the_events_it_records() -> None:
    """The sentinel records write management events unless `sentinelReadEvents` (infra/sentinel.py); the cost the
    page states is of what it records (it once said read and write)."""
    default = {f.name: f.default for f in fields(GuardianSettings)}["sentinel_read_events"]
    assert default is False
    assert "ReadWriteType.ALL if read_events else cloudtrail.ReadWriteType.WRITE_ONLY" in text(
        REPO_ROOT / "infra" / "sentinel.py"
    )
    before = _before_you_deploy()
    assert "management **write** events" in before
    assert "read and write" not in before


def test_the_dead_mans_switch_is_described_by_the_metrics_its_alarm_reads() -> None:
    """The sweep-silent alarm reads AWS/Lambda Invocations less Errors (infra/alarms.py), which nobody in the account
    can publish to, not the sweep's own CloudTrailGuardian/SweepSucceeded metric (the page once said so)."""
    assert 'expression="invocations - errors"' in text(REPO_ROOT / "infra" / "alarms.py")
    deployed = text(DOCS / "deploy-and-configure.md").split("### What gets deployed")[1].split("\n### ")[0]
    silent = next(line for line in deployed.splitlines() if "the sweep silent" in line)
    assert "AWS/Lambda Invocations less Errors" in silent
    assert "SweepSucceeded" not in silent


def test_the_floor_the_threat_model_states_is_the_codes() -> None:
    """Every trail's floor is management events read and write, the sentinel's write only (guardian.model.floor); the
    trust table once gave read and write for every trail."""
    from guardian.model.floor import Sentinel, below_floor  # noqa: PLC0415
    from guardian.model.trail import TrailState  # noqa: PLC0415

    name, account = "CloudTrailGuardian-sentinel", "123456789012"
    writes_only = TrailState(
        name=name,
        arn=f"arn:aws:cloudtrail:eu-west-1:{account}:trail/{name}",
        home_region="eu-west-1",
        logging=True,
        s3_bucket="bucket",
        multi_region=True,
        event_selectors=({"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True},),
    )
    assert below_floor(writes_only, Sentinel(name, "eu-west-1", account)) == ()
    assert below_floor(writes_only) != ()
    row = next(line for line in text(DOCS / "threat-model.md").splitlines() if line.startswith("| what a baseline"))
    assert "management events read and write, the sentinel's write" in row


def test_alerts_say_an_exempt_change_waits_for_cloudtrail_as_the_code_does() -> None:
    """Issue 23: an exempt change is not the baseline at once; the sweep waits for CloudTrail to confirm it, and
    heals it after :data:`guardian.model.approvals.WAIT` if not."""
    from guardian.model.approvals import WAIT  # noqa: PLC0415

    page = " ".join(text(DOCS / "alerts.md").split())
    assert "becomes the baseline only once CloudTrail confirms it" in page
    assert f"Not confirmed within {int(WAIT.total_seconds()) // 60} minutes" in page
    assert "the trail as it now is becomes its baseline" not in page
