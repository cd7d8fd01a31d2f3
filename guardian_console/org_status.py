"""``guardian status --org`` and ``guardian incidents --org``: one table for the organization, a row per account and
Region, the totals, and every account that could not be read with why (org.py reads them).

Exit status: 1 when any account is unread or has a problem (or an evidence object could not be read, or the accounts
are environments' where Organizations could not be read: said first, org.py), else 0.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from guardian_console import org_procs, printable
from guardian_console.evidence import Period, read_period
from guardian_console.org import OrgRun, chosen, header, over_org, partial, read_role
from guardian_console.records import newest_first
from guardian_console.report import COLUMNS, build
from guardian_console.stack import public_key
from guardian_console.status import Status, status

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from guardian_console.org import Unread
    from guardian_console.report import Row
    from guardian_console.sessions import Account

OK, WRONG = 0, 1
STATUS_HEADER = ("account", "region", "trails logging", "at baseline", "last sweep", "mode", "problems")


def run(args: argparse.Namespace, read: Callable[[Account], Any]) -> OrgRun[Any]:
    """``read`` over the organization's accounts (org.py), as the command's options say: in several processes
    (org_procs.py) when there are many targets and ``read`` can be sent to another process."""
    import boto3  # noqa: PLC0415 - the console's own import, never the Lambda's

    region = args.region or os.environ.get("AWS_REGION") or None
    profile = (args.profile or [None])[0]
    base = boto3.session.Session(profile_name=profile, region_name=region)
    found, note = chosen(args, base)  # note: the accounts are not those asked for (said first; exit 1)
    role = args.assume_role or read_role(args.stack)
    progress = None if args.json else sys.stderr  # on a terminal only (org.py)
    processes = org_procs.count(getattr(args, "processes", None), len(found))
    if processes > 1 and org_procs.picklable(read):
        options = {"role": role, "profile": profile, "region": region, "workers": args.workers, "stack": args.stack}
        run = org_procs.over_processes(found, read, processes=processes, progress=progress, **options)
    else:
        run = over_org(
            found, read, role=role, base_session=base, workers=args.workers, progress=progress, stack=args.stack
        )
    return replace(run, note=note)


@dataclass(frozen=True)
class StatusRead:
    """One target's ``status`` as ``status --org`` reads it (the rules' states, not their targets); a dataclass, not a
    lambda, so that it can go to another process."""

    now: datetime

    def __call__(self, account: Account) -> Status:
        return status(account.session, account.deployed, self.now, rule_targets=False)


def status_command(args: argparse.Namespace, now: datetime) -> int:
    found = run(args, StatusRead(now))
    if args.json:
        print(json.dumps(status_json(found), indent=2, default=str))
    else:
        print("\n".join(status_lines(found)))
    wrong = partial(found) or any(s.problems for _, s in found.results)
    return WRONG if wrong else OK


def status_row(account: str, region: str, found: Status) -> tuple[str, ...]:
    """The status essentials of one account's guardian: its protected trails logging and at their baselines, its
    last successful sweep, its mode, how many problems."""
    protected = [t for t in found.trails if t.protected]
    logging = sum(1 for t in protected if t.logging)
    whole = sum(1 for t in protected if t.baseline == "matches" and not t.weakened)
    health = {h.what: h.state for h in found.health}
    sweep = health.get("sweep", "?").removeprefix("last succeeded ")
    mode = health.get("mode", "?").split(" (", 1)[0]
    return (account, region, f"{logging}/{len(protected)}", f"{whole}/{len(protected)}", sweep, mode,
            str(len(found.problems)))  # fmt: skip


def status_lines(found: OrgRun[Status]) -> list[str]:
    """The organization's table, its totals, what is wrong where, and what could not be read."""
    rows = [STATUS_HEADER, *(status_row(t.account, t.region, s) for t, s in found.results)]
    out = header(found) + _table(rows)
    out += ["", *_totals(found, {t.account for t, s in found.results if s.problems})]
    wrong = [f"  - {t.account} {t.region}: {p}" for t, s in found.results for p in s.problems]
    out += ["", "WRONG:", *wrong] if wrong else []
    out += _unread_lines(found.unread)
    out += [] if wrong or partial(found) else ["", "all is well"]
    return out


def status_json(found: OrgRun[Status]) -> dict[str, Any]:
    return {
        "accounts": [
            {"account": t.account, "region": t.region, **asdict(s), "problems": s.problems} for t, s in found.results
        ],
        "totals": _totals_json(found, {t.account for t, s in found.results if s.problems}),
        "unread": [asdict(u) for u in found.unread],
        "note": found.note,
    }


def incidents_command(args: argparse.Namespace, now: datetime, since: timedelta) -> int:
    start, end = (now - since).date(), now.date()
    found = run(args, PeriodRead(start, end))
    records = newest_first([r for _, p in found.results for r in p.records])
    evidence_unread = [u for _, p in found.results for u in p.unread]
    names = [f"{t.account} ({t.region})" for t, _ in found.results]
    report = build(records, evidence_unread, start=start, end=end, accounts=names, now=now)
    cutoff = now - since
    rows = [r for r in report.rows if r.time and datetime.fromisoformat(r.time.replace("Z", "+00:00")) >= cutoff]
    if args.json:
        document = {
            "incidents": [dict(zip(COLUMNS, r.values(), strict=True)) for r in rows],
            "totals": _totals_json(found, set()),
            "unread": [asdict(u) for u in found.unread],
            "evidence_unread": report.unread,
            "note": found.note,
        }
        print(json.dumps(document, indent=2))
    else:
        lines = [*header(found), *incidents_lines(rows), "", *_totals(found, set()), *_unread_lines(found.unread)]
        print("\n".join(lines))
    for item in report.unread:
        print(f"guardian: could not read {item['key']} ({item['account']}): {item['problem']}", file=sys.stderr)
    return WRONG if partial(found) or report.unread else OK


def incidents_lines(rows: list[Row]) -> list[str]:
    """One line per event of every account, newest first, the account first."""
    header = ("time", "account", "region", "severity", "outcome", "event", "trail", "actor")
    lines = [
        (
            r.time or "-",
            r.account,
            r.region or "-",
            r.severity,
            r.outcome,
            printable.EVENT_WORDS.get(r.event, r.event) + (f" ({r.purpose})" if r.purpose else ""),
            r.trail or "-",
            r.actor.rsplit("/", 1)[-1] if r.actor else "-",
        )
        for r in rows
    ]
    return _table([header, *lines])


@dataclass(frozen=True)
class PeriodRead:
    """One account's evidence records of the period (a dataclass: it can go to another process)."""

    start: date
    end: date

    def __call__(self, account: Account) -> Period:
        return _period(account, self.start, self.end)


def _period(account: Account, start: Any, end: Any) -> Period:
    """One account's evidence records of the period: from its signed digests where it can (fast), else one by one."""
    d = account.deployed
    try:
        key = public_key(account.session, d.signing_key)
    except Exception:  # noqa: BLE001 - no public key: every record is read one by one (slower, the same answer)
        key = None
    s3 = account.session.client("s3")
    return read_period(s3, d.evidence_bucket, d.account, start, end, public_key=key, key_id=d.signing_key)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _totals_json(found: OrgRun[Any], wrong: set[str]) -> dict[str, int]:
    unread = {u.account for u in found.unread}
    accounts = {t.account for t, _ in found.results} | unread
    return {
        "accounts": len(accounts),
        "accounts_read": len(accounts - unread),
        "accounts_with_a_problem": len(wrong),
        "accounts_unread": len(unread),
    }


def _totals(found: OrgRun[Any], wrong: set[str]) -> list[str]:
    t = _totals_json(found, wrong)
    line = f"{t['accounts_read']} of {t['accounts']} accounts read, {t['accounts_unread']} unread"
    return [line + (f", {t['accounts_with_a_problem']} with a problem" if wrong else "")]


def _unread_lines(unread: list[Unread]) -> list[str]:
    return ["", "NOT READ:", *(f"  - {u.account} {u.region}: {u.why}" for u in unread)] if unread else []
