"""The commands that change something, through the guardian: ``approve`` and ``selftest``. One account at a time."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from guardian_console.errors import ConsoleError
from guardian_console.sessions import Account, accounts

if TYPE_CHECKING:
    import argparse
    from datetime import datetime

OK, WRONG = 0, 1


def approve_command(args: argparse.Namespace, now: datetime) -> int:
    from guardian_console.approve import approve, lines  # noqa: PLC0415

    for account in one_account(args):
        answer = approve(
            account.session, account.deployed, trail=args.trail, region=args.trail_region, reason=args.reason, now=now
        )
        print(json.dumps(answer, indent=2) if args.json else "\n".join(lines(answer)))
    return OK


def selftest_command(args: argparse.Namespace, now: datetime) -> int:
    from guardian_console import selftest  # noqa: PLC0415

    if args.timeout <= 0:
        raise ConsoleError(f"--timeout must be more than 0 seconds, not {args.timeout}")
    passed = True
    for account in one_account(args):
        outcome = selftest.run(account.session, account.deployed, timeout=args.timeout, reason=args.reason, now=now)
        passed = passed and outcome.passed
        print(json.dumps(asdict(outcome), indent=2) if args.json else "\n".join(selftest.lines(outcome)))
    return OK if passed else WRONG


def one_account(args: argparse.Namespace) -> list[Account]:
    """The guardian of one account: a change is made in one account at a time."""
    found = accounts(args)
    if len(found) != 1:
        raise ConsoleError(f"a change is made in one account at a time, not {len(found)}", "pass one --profile")
    return found
