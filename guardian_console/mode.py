"""``guardian mode``: whether each deployed guardian heals or only observes, read from its functions' environment.

Switching is one setting and a deploy: ``mode`` in cdk.json (globally, or per entry of ``environments``), or
``make deploy CDK_ARGS='-c mode=heal'``. A trail tagged ``cloudtrail-guardian:mode=heal`` is healed under observe.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from guardian_console.sessions import accounts
from guardian_console.status import function_modes, mode_health

if TYPE_CHECKING:
    import argparse
    from datetime import datetime

SWITCH = "switch with `-c mode=heal` (or observe) on deploy, or `mode` in cdk.json; then deploy"


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    mode = commands.add_parser(
        "mode",
        parents=[common],
        help="whether the guardian heals or only observes (per function, per account)",
        description="Example: guardian mode --profile prod",
    )
    mode.set_defaults(command=command)


def command(args: argparse.Namespace, now: datetime) -> int:
    """Print each account's mode; 1 where the functions disagree or cannot be read."""
    documents = []
    wrong = False
    for account in accounts(args):
        modes = function_modes(account.session, account.deployed)
        health = mode_health(modes)
        wrong = wrong or health.problem is not None
        documents.append({"account": account.deployed.account, "stack": account.deployed.stack, "modes": modes})
        if not args.json:
            where = f"account {account.deployed.account} ({account.deployed.stack}, {account.deployed.region})"
            print(f"{where}: {health.state}")
            for role, mode in modes.items():
                print(f"  {role:<12} {mode}")
            if health.problem:
                print(f"  WRONG: {health.problem}")
    if args.json:
        print(json.dumps(documents, indent=2))
    else:
        print(SWITCH)
    return 1 if wrong else 0
