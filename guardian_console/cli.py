"""``guardian``: the console of a deployed CloudTrail Guardian, with the caller's own AWS credentials.

Exit status: 0 when all is well, 1 when the answer is "something is wrong" (a partial read), 2 for a problem to fix
before asking (no credentials, no such stack, a bad period): one line naming it and the fix, no traceback.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardian_console import coverage_render, parser, render
from guardian_console.errors import ConsoleError
from guardian_console.evidence import Period, read_period
from guardian_console.records import newest_first
from guardian_console.report import COLUMNS, build
from guardian_console.sessions import Account, accounts
from guardian_console.stack import public_key

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence


OK, WRONG, USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None, *, now: datetime | None = None) -> int:
    args = _parser().parse_args(argv)
    # The guardian's flows log for CloudWatch; here what they find is the command's answer, printed by it.
    logging.getLogger("guardian").propagate = args.verbose
    logging.getLogger("guardian").addHandler(logging.NullHandler())
    try:
        parser.resolve(args)  # an option's old spelling, with its note
        return int(args.command(args, now or datetime.now(UTC)))
    except ConsoleError as exc:
        print(f"guardian: error: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        return USAGE


def _parser() -> argparse.ArgumentParser:
    """The command line (guardian_console/parser.py), with the commands this module implements."""
    return parser.build({"incidents": _incidents, "status": _status, "verify": _verify, "report": _report})


def _incidents(args: argparse.Namespace, now: datetime) -> int:
    if args.org:  # every account of the organization, in one table
        from guardian_console import org_status  # noqa: PLC0415 - loads the guardian's adapters

        return org_status.incidents_command(args, now, _duration(args.since))
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
    from guardian_console import org_status  # noqa: PLC0415 - loads the guardian's adapters
    from guardian_console.status import lines, status  # noqa: PLC0415

    if args.org:  # every account of the organization, in one table
        return org_status.status_command(args, now)
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

    if args.org:  # every account's chain, a line each (org_verify.py)
        from guardian_console import org_verify  # noqa: PLC0415

        return org_verify.command(args, *_period(args), now)
    return verify.command(args, *_period(args), now, accounts)


def _period(args: argparse.Namespace) -> tuple[date, date]:
    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    if start > end:
        raise ConsoleError(f"--from {start} is after --to {end}", "swap them")
    return start, end


def _report(args: argparse.Namespace, now: datetime) -> int:
    from guardian_console.coverage_read import covered  # noqa: PLC0415

    start, end = _period(args)
    if args.org:  # one report for the organization (org_report.py)
        from guardian_console import org_report  # noqa: PLC0415

        return org_report.command(args, start, end, now)
    periods = _read(args, start, end)
    report = build(*_merged(periods), start=start, end=end, accounts=_names(periods), now=now)
    report = covered(report, [a for a, _ in periods], now)
    report = replace(report, blind_windows=_blind_windows(periods, start, end))
    fmt = "json" if args.json else args.format
    text = {"html": render.as_html, "csv": render.as_csv, "json": render.as_json}[fmt](report)
    if args.output:
        _write(Path(args.output), text)
        partial = ", PARTIAL" if report.partial else ""
        print(f"wrote {args.output}: {len(report.rows)} events{partial}", file=sys.stderr)
        if fmt == "csv":
            side = Path(args.output).with_suffix(".coverage.csv")
            _write(side, coverage_render.as_csv(report.coverage))
            print(f"wrote {side}: what the report covers", file=sys.stderr)
    else:
        sys.stdout.write(text)
        if fmt == "csv":
            print("guardian: note: pass -o FILE.csv to also get FILE.coverage.csv, what it covers", file=sys.stderr)
    status = _unread_status(report.unread)
    if args.require_coverage and not report.covered:
        for line in report.coverage.not_covered if report.coverage else ["coverage not established"]:
            print(f"guardian: not covered: {line}", file=sys.stderr)
        return WRONG
    return status


def _blind_windows(periods: list[tuple[Account, Period]], start: date, end: date) -> tuple[Any, ...]:
    """Each account's healed blind windows of the period, verified with the guardian's key where it can be read."""
    from guardian_console import while_off  # noqa: PLC0415

    found = []
    for a, _ in periods:
        try:
            public = public_key(a.session, a.deployed.signing_key)
        except ConsoleError:
            public = None
        s3, bucket, key_id = a.session.client("s3"), a.deployed.evidence_bucket, a.deployed.signing_key
        found += while_off.read(s3, bucket, a.deployed.account, start, end, public_key=public, key_id=key_id)
    return tuple(found)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise ConsoleError(f"cannot write {path}: {exc.strerror}") from exc


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
