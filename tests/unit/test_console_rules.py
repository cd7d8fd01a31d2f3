"""``guardian rules check`` and ``guardian rules test``: offline, every problem named, every event explained, and
the documented example's output exactly as docs/watch-rules.md shows it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from guardian_console.cli import main
from tests.support import EVENTS_DIR, REPO_ROOT

PACK = REPO_ROOT / "rules" / "watch.json"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_check_says_how_the_pack_compiles(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "rules", "check", "--rules", str(PACK))
    assert status == 0
    assert re.match(rf"{re.escape(str(PACK))}: valid; 42 of 49 rules enabled, in 5 EventBridge rule\(s\)", out)
    status, out, _ = run(capsys, "rules", "check", "--rules", str(PACK), "--json")
    document = json.loads(out)
    assert (document["valid"], document["enabled"], len(document["groups"])) == (True, 42, 5)


def test_check_names_every_problem_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "rules.json"
    rules: list[dict[str, Any]] = [
        {"id": "a", "description": "d", "severity": "HIGH", "match": {"eventNmae": ["X"]}},
        {"id": "a", "description": "d", "severity": "SEVERE", "match": {"eventName": [{"prefx": "Y"}]}},
    ]
    bad.write_text(json.dumps({"rules": rules}))
    status, out, _ = run(capsys, "rules", "check", "--rules", str(bad))
    assert status == 1
    assert out.splitlines()[0] == f"{bad}: 4 problem(s)"
    assert "  rule 'a': unknown match key 'eventNmae' (did you mean eventName?)" in out
    assert "  rule 'a': duplicate id" in out
    assert "match.eventName: unknown operator 'prefx' (did you mean prefix?)" in out


def test_a_missing_rules_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "rules", "check", "--rules", str(tmp_path / "none.json"))
    assert status == 2
    assert err.startswith(f"guardian: error: no rules file at {tmp_path / 'none.json'}")


def test_test_explains_each_event_and_the_tables_precedence(capsys: pytest.CaptureFixture[str]) -> None:
    guardduty, stop = EVENTS_DIR / "guardduty_delete_detector.json", EVENTS_DIR / "stop_logging.json"
    status, out, _ = run(capsys, "rules", "test", "--rules", str(PACK), str(guardduty), str(stop))
    assert status == 0
    assert f"{guardduty}: guardduty.amazonaws.com:DeleteDetector\n  MATCH guardduty-detector-deleted\n" in out
    assert '    detail.errorCode is absent: matches {"exists": false}\n' in out
    assert (
        f"{stop}: cloudtrail.amazonaws.com:StopLogging\n  the decision table acts first\n  no watch rule matches" in out
    )


def test_test_takes_a_directory_says_why_not_with_all_and_prints_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "one.json").write_text((EVENTS_DIR / "guardduty_delete_detector.json").read_text())
    (tmp_path / "broken.json").write_text("{not json")
    status, out, _ = run(capsys, "rules", "test", "--rules", str(PACK), "--all", str(tmp_path))
    assert status == 1  # one file could not be read: said, and the others still tried
    assert f"{tmp_path / 'broken.json'}: not a readable event:" in out
    assert '  no    cis-root-account-used: detail.userIdentity.type is ["IAMUser"]: matches none of ["Root"]' in out
    status, out, _ = run(capsys, "rules", "test", "--rules", str(PACK), "--json", str(tmp_path / "one.json"))
    [tried] = json.loads(out)
    assert list(tried["matched"]) == ["guardduty-detector-deleted"]
    assert tried["table"] is None


def test_the_documented_example_is_what_the_command_prints(capsys: pytest.CaptureFixture[str]) -> None:
    page = (REPO_ROOT / "docs" / "watch-rules.md").read_text()
    block = re.search(r"```console\n(.*?)\n```", page, flags=re.DOTALL)
    assert block is not None
    commands = re.findall(r"^\$ guardian (.*)$", block.group(1), flags=re.MULTILINE)
    expected = re.split(r"^\$ guardian .*$\n?", block.group(1), flags=re.MULTILINE)[1:]
    assert len(commands) == len(expected) == 2
    import os  # noqa: PLC0415

    here = os.getcwd()
    os.chdir(REPO_ROOT)  # the page's paths are the repository's
    try:
        for command, output in zip(commands, expected, strict=True):
            status, out, _ = run(capsys, *command.split())
            assert status == 0
            assert out == output if output.endswith("\n") else out == output + "\n"
    finally:
        os.chdir(here)
