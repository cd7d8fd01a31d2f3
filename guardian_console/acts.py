"""The commands that change something, through the guardian: ``approve`` and ``selftest``, one account at a time;
and ``sweep`` (or its dry run), in each account."""

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
            account.session,
            account.deployed,
            trail=args.trail,
            region=args.trail_region,
            reason=args.reason,
            now=now,
            include=tuple(
                k for k, on in (("bucket", args.include_bucket), ("log_group", args.include_log_group)) if on
            ),
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


def sweep_command(args: argparse.Namespace, now: datetime) -> int:
    """Run the deployed sweep in each account, or dry-run it (nothing changes)."""
    from guardian_console import sweep_table, sweeping  # noqa: PLC0415 - loads the guardian's flows

    wrong = False
    for account in accounts(args):
        name = f"{account.deployed.account} ({account.deployed.stack})"
        if not args.dry_run:
            succeeded, summary, seconds = sweeping.invoke(account.session, account.deployed)
            wrong = wrong or not succeeded
            if args.json:
                print(json.dumps({"account": account.deployed.account, "succeeded": succeeded, "result": summary}))
            else:
                print("\n".join(sweep_table.lines(name, succeeded, summary, seconds)))  # the whole: --json
            continue
        found = sweeping.dry_run(account.session, account.deployed, now)
        errors = {**found.report.region_errors, **found.report.check_errors}
        wrong = wrong or bool(found.changes or found.alerts or errors)
        if args.json:
            print(
                json.dumps(
                    {
                        "account": account.deployed.account,
                        "changes": [asdict(p) for p in found.changes],
                        "alerts": found.alerts,
                        "could_not_check": errors,
                    },
                    default=str,
                    indent=2,
                )
            )
            continue
        print(f"{name}: dry run, nothing changed")
        print(f"  the sweep would make {len(found.changes)} change(s)" + (":" if found.changes else ""))
        print("\n".join(f"    {p.service} {p.operation} {p.region or ''} {p.target}".rstrip() for p in found.changes))
        print(f"  and send {len(found.alerts)} alert(s)" + (":" if found.alerts else ""))
        print("\n".join(f"    {subject}" for subject in found.alerts))
        for what, why in errors.items():
            print(f"  could not check {what}: {why}")
    return WRONG if wrong else OK


def one_account(args: argparse.Namespace) -> list[Account]:
    """The guardian of one account: a change is made in one account at a time."""
    found = accounts(args)
    if len(found) != 1:
        raise ConsoleError(f"a change is made in one account at a time, not {len(found)}", "pass one --profile")
    return found
