"""What ``guardian --help`` and ``guardian COMMAND --help`` say to a person, in one place: each command's one line
and its one example, in plain text (no RST or markdown: a terminal shows it as written). The module docstrings stay
for developers. docs/console.md shows the same examples (tests/unit/test_console_help.py compares them).
"""

from __future__ import annotations

import argparse
from typing import Any

DESCRIPTION = """\
The console of a deployed CloudTrail Guardian, run with your own AWS credentials.

Exit status: 0 all is well; 1 something is wrong, or a partial read; 2 a problem
to fix before asking (no credentials, no such stack, a bad option), named in one
line with its fix."""
TOP_EXAMPLE = "guardian status --profile prod"
MORE = "Each command's options and an example: guardian COMMAND --help"

# command (a nested one as "rules check") -> (its one line in the command list, its example)
COMMANDS: dict[str, tuple[str, str]] = {
    "incidents": ("recent alerted events, newest first", "guardian incidents --since 24h --profile prod"),
    "status": (
        "every trail and the guardian itself: all well?",
        "guardian status --profile prod --region us-east-1",
    ),
    "sweep": ("run the sweep now, or --dry-run it (no change)", "guardian sweep --dry-run --profile prod"),
    "verify": (
        "prove a period's evidence complete and untouched",
        "guardian verify --from 2026-07-01 --to 2026-09-30 --profile audit",
    ),
    "report": (
        "the auditor's report of a period (HTML, CSV, JSON)",
        "guardian report --from 2026-07-01 --to 2026-09-30 -o q3.html",
    ),
    "approve": (
        "make a trail's configuration now its baseline",
        'guardian approve --trail org-audit --trail-region eu-west-1 --reason "CHG-1234: new archive bucket"',
    ),
    "selftest": ("stop the sentinel trail, prove it healed (PASS)", "guardian selftest --profile security"),
    "mode": ("whether the guardian heals or only observes", "guardian mode --profile prod"),
    "rules": ("check a watch rules file, try events (offline)", "guardian rules check --rules rules/watch.json"),
    "rules check": ("validate a rules file: every problem, named", "guardian rules check --rules rules/watch.json"),
    "rules test": (
        "which rules each event matches, and why",
        "guardian rules test --rules rules/watch.json tests/events/stop_logging.json",
    ),
    "confirm-subscription": (
        "confirm an alert address with your credentials",
        "guardian confirm-subscription --profile security "
        "'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=...&Token=...'",
    ),
}
HELP_POSITION = 26  # room for "confirm-subscription" beside its line, so each command is one line at 80 columns


class Formatter(argparse.RawDescriptionHelpFormatter):
    """The description and the example as written (no re-wrapping of the example's line)."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_help_position", HELP_POSITION)
        super().__init__(prog, **kwargs)
        # argparse measures a command's name without its indent: start the column where the longest one fits.
        self._action_max_length = HELP_POSITION - 2


def line(command: str) -> str:
    """The command's one line in ``guardian --help``."""
    return COMMANDS[command][0]


def example(text: str) -> str:
    return f"Example:\n  {text}"


def apply(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` (the whole CLI) and each of its commands, wherever they were added, their line, description
    and example: one place for what a person reads."""
    parser.formatter_class = Formatter
    parser.description = DESCRIPTION
    parser.epilog = f"{MORE}\n\n{example(TOP_EXAMPLE)}"
    _commands(parser, "")


def _commands(parser: argparse.ArgumentParser, prefix: str) -> None:
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for choice in action._choices_actions:  # the command list's lines
            name = f"{prefix}{choice.dest}"
            if name in COMMANDS:
                choice.help = COMMANDS[name][0]
        for name, command in action.choices.items():
            if f"{prefix}{name}" not in COMMANDS:  # a command added without its help here: argparse's own
                continue
            line, text = COMMANDS[f"{prefix}{name}"]
            command.formatter_class = Formatter
            command.description = f"{line[0].upper()}{line[1:]}."
            command.epilog = example(text)
            _commands(command, f"{prefix}{name} ")
