"""What a person reads from ``guardian``: help in plain text with one example per command (the same as
docs/console.md's), one meaning for ``--region`` (the stack's home Region), and ``guardian sweep`` as a short table
(the whole summary with ``--json``)."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from guardian_console import acts, cli, help_text, sweeping
from guardian_console.deployed import Deployed
from guardian_console.sessions import Account
from tests.support import REPO_ROOT

NOW = datetime(2026, 12, 6, tzinfo=UTC)
REGIONS = [f"r-{n}" for n in range(17)]  # a 17-Region account
DEPLOYED = Deployed(
    stack="CloudTrailGuardian",
    account="123456789012",
    region="us-east-1",
    evidence_bucket="evidence",
    topic_arn="arn:aws:sns:us-east-1:123456789012:alerts",
    remediation_function="CloudTrailGuardian-remediation",
    sweep_function="CloudTrailGuardian-sweep",
    dead_letter_queue="https://sqs/dlq",
    signing_key="arn:aws:kms:us-east-1:123456789012:key/k",
    regions=tuple(REGIONS),
)
MARKUP = re.compile(r"``|`|:(func|mod|class|meth|attr):|\*\*|(?<![\w*])\*[^\s*][^*]*\*(?!\w)")


def _parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser of the CLI, by command ("" the top level; "rules check" a nested one)."""
    stack = [("", cli._parser())]
    while stack:
        name, parser = stack.pop()
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack += [(f"{name} {sub}".strip(), p) for sub, p in action.choices.items()]


@pytest.fixture(autouse=True)
def _eighty_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")


def test_no_help_shows_rst_or_markdown_markup() -> None:
    for name, parser in _parsers():
        found = MARKUP.search(parser.format_help())
        assert found is None, f"guardian {name} --help shows {found and found.group(0)!r}"


def test_every_commands_help_ends_with_its_one_example() -> None:
    names = [name for name, _ in _parsers() if name]
    assert {"approve", "sweep", "status", "mode", "rules check", "confirm-subscription"} <= set(names)
    for name, parser in _parsers():
        shown = parser.format_help().rstrip()
        assert shown.count("Example:") == 1, name
        last = shown.splitlines()[-1]
        assert last.startswith(f"  guardian {name} ".replace("guardian  ", "guardian ")), (name, last)
        assert shown.splitlines()[-2] == "Example:", name


def test_the_top_level_help_lists_each_command_on_one_line() -> None:
    top = cli._parser()
    shown = top.format_help()
    commands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    for name in commands.choices:
        line = help_text.COMMANDS[name][0]
        assert re.search(rf"^    {re.escape(name)} +{re.escape(line)}$", shown, flags=re.MULTILINE), name
    listing = shown.split("COMMAND\n")[-1].split("\n\n")[0].splitlines()
    assert len(listing) == len(commands.choices)  # no line wrapped onto a second


def test_docs_show_the_same_examples_as_the_help() -> None:
    page = (REPO_ROOT / "docs" / "console.md").read_text()
    block = page.split("<!-- examples:start -->")[1].split("<!-- examples:end -->")[0]
    documented = {line for line in block.splitlines() if line.startswith("guardian ")}
    shown = {p.format_help().rstrip().splitlines()[-1].strip() for name, p in _parsers() if name}
    assert documented == shown


def test_region_is_the_stacks_home_region_in_every_command() -> None:
    for name, parser in _parsers():
        for action in parser._actions:
            if "--region" in action.option_strings:
                assert action.dest == "region", name
                assert "the stack's home Region" in str(action.help), name
    args = cli._parser().parse_args(
        ["approve", "--trail", "t", "--reason", "r", "--region", "us-east-1", "--trail-region", "eu-west-1"]
    )
    assert (args.region, args.trail_region) == ("us-east-1", "eu-west-1")


def _approve_args(monkeypatch: pytest.MonkeyPatch) -> list[argparse.Namespace]:
    seen: list[argparse.Namespace] = []

    def approve(args: argparse.Namespace, _now: datetime) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(acts, "approve_command", approve)
    return seen


def test_approve_stack_region_still_works_with_a_one_line_deprecation_note(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    seen = _approve_args(monkeypatch)
    assert cli.main(["approve", "--trail", "t", "--reason", "r", "--stack-region", "eu-west-2"], now=NOW) == 0
    [args] = seen
    assert (args.region, args.trail_region) == ("eu-west-2", None)
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "--stack-region is deprecated" in err
    assert "pass --region" in err


def test_approve_stack_region_and_a_different_region_are_refused(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    seen = _approve_args(monkeypatch)
    argv = ["approve", "--trail", "t", "--reason", "r", "--stack-region", "eu-west-2", "--region", "us-east-1"]
    assert cli.main(argv, now=NOW) == 2
    assert seen == []
    assert "guardian: error: --stack-region eu-west-2 and --region us-east-1 disagree" in capsys.readouterr().err


def clean_summary() -> dict[str, Any]:
    """What a clean sweep of a 17-Region account answers (guardian.entrypoints.sweep's summary)."""
    return {
        "ok": True,
        "regions": REGIONS,
        "checked": 3,
        "statuses": {"in_baseline": 3},
        "resources": {"bucket:audit-logs": "in_baseline", "log_group:audit": "in_baseline"},
        "guardian_rules": {f"{r}:{n}": "in_baseline" for r in REGIONS for n in ("tamper", "watch", "forward")},
        "guardian_functions": {"remediation": "in_baseline", "sweep": "in_baseline"},
        "guardian_aliases": {f"{r}:alias/guardian": "in_baseline" for r in REGIONS},
        "alert_path": {"topic": "in_baseline", "dlq": "in_baseline"},
        "region_errors": {},
        "check_errors": {},
        "evidence_digest": "written digests/2026/12/06/0900.json (4 records)",
    }


def _sweep(monkeypatch: pytest.MonkeyPatch, capsys: Any, answer: Any, *, ok: bool, json_: bool = False) -> Any:
    monkeypatch.setattr(acts, "accounts", lambda _args: [Account(None, DEPLOYED)])
    monkeypatch.setattr(sweeping, "invoke", lambda _s, _d: (ok, answer, 4.2))
    status = cli.main(["sweep", *(["--json"] if json_ else [])], now=NOW)
    return status, capsys.readouterr().out


def test_a_clean_17_region_sweep_is_a_short_table(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    status, out = _sweep(monkeypatch, capsys, clean_summary(), ok=True)
    assert status == 0
    shown = out.splitlines()
    assert len(shown) <= 15, out
    assert shown[0] == "123456789012 (CloudTrailGuardian): the sweep succeeded in 4.2 s, 17 Region(s)"
    assert re.search(r"^  guardian rules +51 +0 +0 +0$", out, flags=re.MULTILINE), out
    assert shown[-1] == "  all is well"
    assert "{" not in out


def test_the_json_sweep_is_the_whole_summary(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    status, out = _sweep(monkeypatch, capsys, clean_summary(), ok=True, json_=True)
    assert status == 0
    assert json.loads(out) == {"account": "123456789012", "succeeded": True, "result": clean_summary()}


def test_a_failed_sweep_names_each_finding_and_exits_1(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    summary = clean_summary()
    summary.update(
        ok=False,
        statuses={"in_baseline": 1, "healed": 1, "observed": 1},
        resources={"bucket:audit-logs": "heal_failed", "log_group:audit": "in_baseline"},
        region_errors={"r-3": "AccessDenied: not authorized"},
    )
    failed = {"errorType": "SweepFailed", "errorMessage": f"sweep incomplete: {summary}"}  # as Lambda answers it
    status, out = _sweep(monkeypatch, capsys, failed, ok=False)
    assert status == 1
    assert out.splitlines()[0].startswith("123456789012 (CloudTrailGuardian): the sweep FAILED in 4.2 s")
    assert re.search(r"^  trails +3 +1 +1 +0$", out, flags=re.MULTILINE), out
    assert "  healed trails: 1" in out
    assert "  LEFT (observed) trails: 1" in out
    assert "  FAILED (heal_failed) bucket:audit-logs" in out
    assert "  ERROR r-3: not swept: AccessDenied: not authorized" in out
    assert out.splitlines()[-1] == "  4 finding(s) above"


def test_a_sweep_that_failed_without_a_summary_says_its_error(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    timed_out = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 900.00 seconds"}
    status, out = _sweep(monkeypatch, capsys, timed_out, ok=False)
    assert status == 1
    assert out.splitlines() == [
        "123456789012 (CloudTrailGuardian): the sweep FAILED in 4.2 s",
        "  Sandbox.Timedout: Task timed out after 900.00 seconds",
    ]
