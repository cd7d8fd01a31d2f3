"""``guardian``: the console of a deployed CloudTrail Guardian, with the caller's own AWS credentials.

Exit status: 0 when all is well, 1 when the answer is "something is wrong" (a partial read), 2 for a problem to fix
before asking (no credentials, no such stack, a bad period): one line naming it and the fix, no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardian import __version__
from guardian_console import acts, render, rules, subscription
from guardian_console.errors import ConsoleError
from guardian_console.evidence import Period, read_period
from guardian_console.records import newest_first
from guardian_console.report import COLUMNS, build
from guardian_console.sessions import Account, accounts
from guardian_console.stack import DEFAULT_STACK, public_key

if TYPE_CHECKING:
    from collections.abc import Sequence


OK, WRONG, USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None, *, now: datetime | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # The guardian's flows log for CloudWatch; here what they find is the command's answer, printed by it.
    logging.getLogger("guardian").propagate = args.verbose
    logging.getLogger("guardian").addHandler(logging.NullHandler())
    try:
        return int(args.command(args, now or datetime.now(UTC)))
    except ConsoleError as exc:
        print(f"guardian: error: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        return USAGE


def _common(region_option: str = "--region") -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", default=DEFAULT_STACK, help=f"the deployed stack's name (default {DEFAULT_STACK})")
    common.add_argument(
        region_option, dest="region", help="the stack's home Region (default: the profile's or AWS_REGION)"
    )
    common.add_argument(
        "--profile", action="append", help="an AWS profile to read with; repeat it to read several accounts"
    )
    common.add_argument("--assume-role", metavar="ROLE", help="a role name to assume in each account of --accounts")
    common.add_argument(
        "--accounts", help="comma-separated account ids to read through --assume-role (default: cdk.json environments)"
    )
    common.add_argument("--json", action="store_true", help="print JSON for machines instead of tables")
    common.add_argument("--verbose", action="store_true", help="also print the guardian's own log lines")
    return common


def _parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="guardian", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"guardian {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    incidents = commands.add_parser(
        "incidents", parents=[common], help="recent alerted events from the evidence, newest first"
    )
    incidents.add_argument("--since", default="7d", help="how far back: 24h, 7d, 2w (default 7d)")
    incidents.set_defaults(command=_incidents)

    status = commands.add_parser(
        "status", parents=[common], help="every trail protected, logging, as its baseline; the guardian's own health"
    )
    status.set_defaults(command=_status)

    sweep = commands.add_parser("sweep", parents=[common], help="run the deployed sweep now, or --dry-run it")
    sweep.add_argument(
        "--dry-run", action="store_true", help="compute what the sweep would change, with read-only credentials"
    )
    sweep.set_defaults(command=acts.sweep_command)

    verify = commands.add_parser(
        "verify", parents=[common], help="prove the evidence of a period complete and untouched (the digest chain)"
    )
    verify.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    verify.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (inclusive)")
    verify.add_argument("--offline", metavar="DIR", help="verify a downloaded copy of the evidence bucket instead")
    verify.add_argument("--public-key", metavar="FILE", help="with --offline: the signing key's exported public key")
    verify.set_defaults(command=_verify)

    report = commands.add_parser("report", parents=[common], help="the auditor's report of a period")
    report.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (inclusive)")
    report.add_argument("--format", choices=("html", "csv", "json"), default="html")
    report.add_argument("-o", "--output", help="the file to write (default: standard output)")
    report.set_defaults(command=_report)

    approve = commands.add_parser(
        "approve",
        parents=[_common("--stack-region")],
        help="make a trail's configuration, as it is now, its baseline (who approved it and why are kept)",
    )
    approve.add_argument("--trail", required=True, help="the trail's name")
    approve.add_argument("--region", dest="trail_region", help="the trail's home Region (default: the stack's)")
    approve.add_argument("--reason", required=True, help="why this configuration is right: kept in the evidence")
    for kind in ("bucket", "log-group"):
        approve.add_argument(
            f"--include-{kind}",
            action="store_true",
            help=f"adopt the trail's {kind.replace('-', ' ')} even if it is weaker than its baseline (else refused); "
            "the approval's alert is then HIGH",
        )
    approve.set_defaults(command=acts.approve_command)

    selftest = commands.add_parser(
        "selftest", parents=[common], help="stop the sentinel trail and prove the guardian heals and alerts (PASS/FAIL)"
    )
    selftest.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the alert (default 120)")
    selftest.add_argument("--reason", default="guardian selftest", help="kept with the self-test's evidence")
    selftest.set_defaults(command=acts.selftest_command)

    rules.add_commands(commands, _offline())
    subscription.add_command(commands, _offline())
    return parser


def _offline() -> argparse.ArgumentParser:
    """The options of a command that reads no AWS account."""
    offline = argparse.ArgumentParser(add_help=False)
    offline.add_argument("--json", action="store_true", help="print JSON for machines instead of text")
    offline.add_argument("--verbose", action="store_true", help="also print the guardian's own log lines")
    return offline


def _incidents(args: argparse.Namespace, now: datetime) -> int:
    start, end = now.date() - _duration(args.since), now.date()
    periods = _read(args, start, end)
    report = build(*_merged(periods), start=start, end=end, accounts=_names(periods), now=now)
    cutoff = now - _duration(args.since)
    rows = [r for r in report.rows if r.time and datetime.fromisoformat(r.time.replace("Z", "+00:00")) >= cutoff]
    if args.json:
        print(json.dumps([dict(zip(COLUMNS, r.values(), strict=True)) for r in rows], indent=2))
    else:
        print(render.incidents_table(rows), end="")
    return _unread_status(report.unread)


def _status(args: argparse.Namespace, now: datetime) -> int:
    from guardian_console.status import lines, status  # noqa: PLC0415 - loads the guardian's adapters

    wrong = False
    documents = []
    for account in accounts(args):
        found = status(account.session, account.deployed, now)
        wrong = wrong or bool(found.problems)
        if args.json:
            documents.append({"account": account.deployed.account, **asdict(found), "problems": found.problems})
        else:
            print("\n".join(lines(found, account=f"{account.deployed.account} ({account.deployed.stack})")))
    if args.json:
        print(json.dumps(documents, indent=2, default=str))
    return WRONG if wrong else OK


def _verify(args: argparse.Namespace, now: datetime) -> int:
    from guardian_console import verify  # noqa: PLC0415

    start, end = _period(args)
    if args.offline:
        if not args.public_key:
            raise ConsoleError(
                "--offline needs --public-key", "export it: aws kms get-public-key --key-id <SigningKeyArn>"
            )
        verdicts = [(f"copy in {args.offline}", verify.offline(Path(args.offline), Path(args.public_key), start, end))]
    else:
        verdicts = [
            (f"{a.deployed.account} ({a.deployed.stack})", verify.online(a.session, a.deployed, start, end))
            for a in accounts(args)
        ]
    for name, verdict in verdicts:
        if args.json:
            print(json.dumps({"evidence": name, "ok": verdict.ok, **asdict(verdict)}, indent=2))
            continue
        print(f"{name}: {verdict.digests} digests, {verdict.records} records of {start} to {end} in the chain")
        if verdict.pending:
            print(f"  {len(verdict.pending)} newer than the chain's head (the next sweep adds them)")
        print("  INTACT: every record is there, unchanged, and locked" if verdict.ok else "  BROKEN:")
        print("\n".join(f"  - {b}" for b in verdict.breaks))
    return OK if all(v.ok for _, v in verdicts) else WRONG


def _period(args: argparse.Namespace) -> tuple[date, date]:
    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    if start > end:
        raise ConsoleError(f"--from {start} is after --to {end}", "swap them")
    return start, end


def _report(args: argparse.Namespace, now: datetime) -> int:
    start, end = _period(args)
    periods = _read(args, start, end)
    report = build(*_merged(periods), start=start, end=end, accounts=_names(periods), now=now)
    fmt = "json" if args.json else args.format
    text = {"html": render.as_html, "csv": render.as_csv, "json": render.as_json}[fmt](report)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise ConsoleError(f"cannot write {args.output}: {exc.strerror}") from exc
        partial = ", PARTIAL" if report.partial else ""
        print(f"wrote {args.output}: {len(report.rows)} events{partial}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return _unread_status(report.unread)


def _unread_status(unread: list[dict[str, str]]) -> int:
    for item in unread:
        print(f"guardian: could not read {item['key']} ({item['account']}): {item['problem']}", file=sys.stderr)
    return WRONG if unread else OK


def _read(args: argparse.Namespace, start: date, end: date) -> list[tuple[Account, Period]]:
    """Each account's records of the period: from its signed digests where they list them (fast), else one by one."""
    periods = []
    for a in accounts(args):
        try:
            public = public_key(a.session, a.deployed.signing_key)
        except ConsoleError as exc:
            print(f"guardian: note: {exc}; every record is read one by one (slower)", file=sys.stderr)
            public = None
        s3 = a.session.client("s3")
        found = read_period(
            s3,
            a.deployed.evidence_bucket,
            a.deployed.account,
            start,
            end,
            public_key=public,
            key_id=a.deployed.signing_key,
        )
        periods.append((a, found))
    return periods


def _merged(periods: list[tuple[Account, Period]]) -> tuple[list[Any], list[Any]]:
    records = newest_first([s for _, p in periods for s in p.records])
    return records, [u for _, p in periods for u in p.unread]


def _names(periods: list[tuple[Account, Period]]) -> list[str]:
    return [f"{a.deployed.account} ({a.deployed.region})" for a, _ in periods]


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ConsoleError(f"{option} {text!r} is not a day", "write it as YYYY-MM-DD") from exc


def _duration(text: str) -> timedelta:
    found = re.fullmatch(r"(\d+)([hdw])", text.strip())
    if not found:
        raise ConsoleError(f"--since {text!r} is not a duration", "write it as 24h, 7d or 2w")
    amount, unit = int(found[1]), found[2]
    return {"h": timedelta(hours=amount), "d": timedelta(days=amount), "w": timedelta(weeks=amount)}[unit]
