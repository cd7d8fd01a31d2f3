"""``guardian verify --org``: every account's evidence chain verified with ``guardian verify``'s own code, through its
read-only role (org.py): one line per account and Region, each break under it, the totals, and every account that
could not be read named. Exit status 1 when any chain is broken or any account could not be read."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from guardian_console import org_status, security_heads, verify
from guardian_console.errors import ConsoleError
from guardian_console.org import header, partial

if TYPE_CHECKING:
    import argparse
    from datetime import date, datetime

    from guardian_console.deployed import Deployed
    from guardian_console.integrity import Verdict
    from guardian_console.org import OrgRun

OK, WRONG = 0, 1


def command(args: argparse.Namespace, start: date, end: date, now: datetime) -> int:
    if args.offline or args.head:
        raise ConsoleError(
            "--org verifies each account's bucket online: --offline and --head name one copy or one chain",
            "verify that account alone, without --org",
        )

    def read(account: Any) -> tuple[Deployed, Verdict]:
        return account.deployed, verify.online(account.session, account.deployed, start, end, now=now)

    found = org_status.run(args, read)
    security_heads.check(getattr(args, "security_profile", None), [pair for _, pair in found.results])
    print(as_json(found) if args.json else "\n".join(lines(found, start, end)))
    broken = any(not verdict.ok for _, (_, verdict) in found.results)
    return WRONG if broken or partial(found) else OK


def lines(found: OrgRun[tuple[Deployed, Verdict]], start: date, end: date) -> list[str]:
    """A line per account and Region (its verdict, counts and head), each break under it; the totals; the unread."""
    out = [*header(found), f"the evidence chains of {start} to {end}"]
    for target, (_, verdict) in found.results:
        head = f"head {verdict.head.key} (sequence {verdict.head.sequence})" if verdict.head else "no head verifies"
        result = "INTACT" if verdict.ok else f"BROKEN ({len(verdict.breaks)} breaks)"
        out.append(
            f"  {target.account}  {target.region}  {result}: {verdict.digests} digests, {verdict.records} records; "
            + head
        )
        out += [f"      - {b}" for b in verdict.breaks]
    totals = _totals(found)
    out += [
        "",
        f"{totals['accounts_read']} of {totals['accounts']} accounts read: {totals['intact']} intact, "
        f"{totals['broken']} broken, {totals['accounts_unread']} unread",
    ]
    if found.unread:
        out += ["", "NOT READ (not verified):", *(f"  - {u.account} {u.region}: {u.why}" for u in found.unread)]
    return out


def as_json(found: OrgRun[tuple[Deployed, Verdict]]) -> str:
    document = {
        "chains": [
            {"account": t.account, "region": t.region, "stack": d.stack, "ok": v.ok, **asdict(v)}
            for t, (d, v) in found.results
        ],
        "totals": _totals(found),
        "unread": [asdict(u) for u in found.unread],
        "note": found.note,
    }
    return json.dumps(document, indent=2, default=verify.json_value)


def _totals(found: OrgRun[tuple[Deployed, Verdict]]) -> dict[str, int]:
    unread = {u.account for u in found.unread}
    accounts = {t.account for t, _ in found.results} | unread
    broken = sum(1 for _, (_, v) in found.results if not v.ok)
    return {
        "accounts": len(accounts),
        "accounts_read": len(accounts - unread),
        "accounts_unread": len(unread),
        "chains": len(found.results),
        "intact": len(found.results) - broken,
        "broken": broken,
    }
