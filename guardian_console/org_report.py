"""``guardian report --org``: one report for the organization, read through each account's read-only role (org.py).

First the organization: how many account/Regions the report covers, how many it does not, which could not be read
(named, with why: each is also an unread line and a "not covered" line of the coverage, so ``--require-coverage``
fails); the totals of heals, failed heals and sweep gaps; then a section per account and Region. Then the report as
one account's (render.py: the coverage, the summary, every event with its account, the evidence objects), over every
account read. HTML, JSON (an ``organization`` object first) or CSV (the organization in the coverage side file).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, replace
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from guardian_console import coverage_read, coverage_render, org_status, render, verify, while_off
from guardian_console.coverage import AccountCoverage, Chain, Coverage, Settings, Sweeps
from guardian_console.errors import ConsoleError
from guardian_console.evidence import Period, read_period
from guardian_console.records import newest_first
from guardian_console.report import Report, build, row, with_coverage
from guardian_console.stack import public_key

if TYPE_CHECKING:
    import argparse
    from datetime import date, datetime

    from guardian_console.org import OrgRun, Target, Unread
    from guardian_console.sessions import Account

OK, WRONG = 0, 1
HEALED, HEAL_FAILED = "healed", "heal_failed"  # guardian.model.rules.Outcome's values


@dataclass(frozen=True)
class Section:
    """What was read of one account and Region: its records of the period, its coverage, its blind windows."""

    period: Period
    coverage: AccountCoverage
    windows: tuple[while_off.Window, ...]


@dataclass(frozen=True)
class Line:
    """One account and Region in the organization's summary; ``covered`` None when it could not be read."""

    account: str
    region: str
    covered: bool | None
    records: int
    heals: int
    failed_heals: int
    gaps: int  # stretches with no sweep for more than two intervals
    chain: str  # INTACT, BROKEN, not verified, or not read
    not_covered: tuple[str, ...]  # why not covered (or not read), in words


@dataclass(frozen=True)
class Organization:
    targets: int
    covered: int
    not_covered: int
    unread: int
    heals: int
    failed_heals: int
    gaps: int
    lines: tuple[Line, ...]


def command(args: argparse.Namespace, start: date, end: date, now: datetime) -> int:
    found = org_status.run(args, lambda account: read(account, start, end, now))
    report, organization = assemble(found, start, end, now)
    fmt = "json" if args.json else args.format
    text = {"html": as_html, "csv": lambda r, _: render.as_csv(r), "json": as_json}[fmt](report, organization)
    if args.output:
        _write(Path(args.output), text)
        print(
            f"wrote {args.output}: {len(report.rows)} events of {organization.targets} account/Regions", file=sys.stderr
        )
        if fmt == "csv":
            side = Path(args.output).with_suffix(".coverage.csv")
            _write(side, coverage_render.as_csv(report.coverage) + as_csv_lines(organization))
            print(f"wrote {side}: what the report covers, and the organization", file=sys.stderr)
    else:
        sys.stdout.write(text)
    print(f"guardian: {found.note + '; ' if found.note else ''}{headline(organization)}", file=sys.stderr)
    for u in found.unread:
        print(f"guardian: could not read account {u.account} ({u.region}): {u.why}", file=sys.stderr)
    for item in (u for u in report.unread if u["key"]):
        print(f"guardian: could not read {item['key']} ({item['account']}): {item['problem']}", file=sys.stderr)
    if args.require_coverage and not report.covered:
        for line in report.coverage.not_covered if report.coverage else ["coverage not established"]:
            print(f"guardian: not covered: {line}", file=sys.stderr)
        return WRONG
    return WRONG if report.unread else OK


def read(account: Account, start: date, end: date, now: datetime) -> Section:
    """One account's records (from its signed digests where it can), coverage and blind windows: what ``guardian
    report`` reads of one account."""
    d = account.deployed
    try:
        public = public_key(account.session, d.signing_key)
    except ConsoleError:
        public = None  # every record is read one by one (slower, the same answer)
    s3 = account.session.client("s3")
    period = read_period(s3, d.evidence_bucket, d.account, start, end, public_key=public, key_id=d.signing_key)
    rows = [row(s) for s in period.records]
    coverage = coverage_read.read(
        account.session, d, start, end, now, rows=rows, verify=verify.online, public_key=public_key
    )
    windows = while_off.read(s3, d.evidence_bucket, d.account, start, end, public_key=public, key_id=d.signing_key)
    return Section(period, coverage, tuple(windows))


def assemble(found: OrgRun[Section], start: date, end: date, now: datetime) -> tuple[Report, Organization]:
    """The one report over every account read, its coverage naming each account and Region (and each not read)."""
    records = newest_first([s for _, section in found.results for s in section.period.records])
    evidence_unread = [u for _, section in found.results for u in section.period.unread]
    names = [_name(t.account, t.region) for t, _ in found.results]
    names += [f"{_name(u.account, u.region)} (NOT READ)" for u in found.unread]
    report = build(records, evidence_unread, start=start, end=end, accounts=names, now=now)
    coverages = [replace(s.coverage, account=_name(t.account, t.region)) for t, s in found.results]
    coverages += [_not_read(u) for u in found.unread]
    report = with_coverage(report, Coverage(start, end, report.generated_at, tuple(coverages)))
    not_read = [{"key": "", "account": u.account, "problem": f"not read in {u.region}: {u.why}"} for u in found.unread]
    not_read += [{"key": "", "account": "the organization", "problem": found.note}] if found.note else []
    windows = tuple(w for _, s in found.results for w in s.windows)
    report = replace(report, unread=report.unread + not_read, blind_windows=windows)
    return report, summarize(found)


def summarize(found: OrgRun[Section]) -> Organization:
    lines = [_line(t, s) for t, s in found.results]
    lines += [Line(u.account, u.region, None, 0, 0, 0, 0, "not read", (f"not read: {u.why}",)) for u in found.unread]
    lines.sort(key=lambda line: (line.account, line.region))
    return Organization(
        targets=len(lines),
        covered=sum(1 for line in lines if line.covered),
        not_covered=sum(1 for line in lines if line.covered is False),
        unread=len(found.unread),
        heals=sum(line.heals for line in lines),
        failed_heals=sum(line.failed_heals for line in lines),
        gaps=sum(line.gaps for line in lines),
        lines=tuple(lines),
    )


def _line(target: Target, section: Section) -> Line:
    rows = [row(s) for s in section.period.records]
    tampering = [r for r in rows if not r.purpose]
    c = section.coverage
    return Line(
        account=target.account,
        region=target.region,
        covered=c.complete,
        records=len(rows),
        heals=sum(1 for r in tampering if r.outcome == HEALED),
        failed_heals=sum(1 for r in tampering if r.outcome == HEAL_FAILED),
        gaps=len(c.sweeps.gaps),
        chain=c.chain.result,
        not_covered=c.not_covered,
    )


def _not_read(u: Unread) -> AccountCoverage:
    """A target that could not be read, in the coverage: nothing of it is vouched for."""
    return AccountCoverage(
        account=_name(u.account, u.region),
        generated_by="not read",
        first_record=None,
        first_digest=None,
        covered_from=None,
        covered_to=None,
        sweeps=Sweeps(0, "not read", 0, 0, 0, "not read", ()),
        chain=Chain("not verified", note=f"not read: {u.why}"),
        settings=Settings((), (), "not read", vouched=False),
        not_covered=(f"Not covered: the account could not be read ({u.why}); nothing of it is vouched for.",),
    )


def _name(account: str, region: str) -> str:
    return f"{account} ({region})"


def headline(o: Organization) -> str:
    return (
        f"the organization: {o.covered} of {o.targets} account/Regions covered, {o.not_covered} not covered, "
        f"{o.unread} not read; {o.heals} heals, {o.failed_heals} failed heals, {o.gaps} sweep gaps"
    )


def as_json(report: Report, organization: Organization) -> str:
    document = json.loads(render.as_json(report))
    first = {k: document.pop(k) for k in ("schema", "schema_version")}
    return json.dumps({**first, "organization": asdict(organization), **document}, indent=2, ensure_ascii=False) + "\n"


def as_csv_lines(o: Organization) -> str:
    """The organization in the coverage side file's own ``account,field,value`` form."""
    found = [("", f"organization.{k}", str(v)) for k, v in asdict(o).items() if k != "lines"]
    for line in o.lines:
        name = _name(line.account, line.region)
        covered = "not read" if line.covered is None else str(line.covered).lower()
        found += [(name, "organization.covered", covered), (name, "organization.heals", str(line.heals))]
        found += [(name, "organization.failed_heals", str(line.failed_heals))]
        found += [(name, "organization.gaps", str(line.gaps)), (name, "organization.chain", line.chain)]
    return "".join(",".join(_csv(v) for v in item) + "\r\n" for item in found)


def _csv(value: str) -> str:
    return f'"{value.replace(chr(34), chr(34) * 2)}"' if any(c in value for c in ',"\r\n') else value


def as_html(report: Report, organization: Organization) -> str:
    """The single report's page with the organization first, under the title."""
    page = render.as_html(report).replace("CloudTrail Guardian report", "CloudTrail Guardian organization report", 2)
    head, title_end, rest = page.partition("</h1>\n")
    return head + title_end + html_block(organization) + rest


def html_block(o: Organization) -> str:
    cells = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(v))}</td>"
            for v in (
                line.account,
                line.region,
                "NOT READ" if line.covered is None else "yes" if line.covered else "NO",
                line.heals,
                line.failed_heals,
                line.gaps,
                line.chain,
            )
        )
        + "</tr>"
        for line in o.lines
    )
    sections = "\n".join(
        f'<section class="account" id="account-{escape(line.account)}-{escape(line.region)}">\n'
        f"<h3>Account {escape(_name(line.account, line.region))}</h3>\n"
        + (
            "<p>Covered: the whole period.</p>"
            if line.covered
            else "\n".join(f'<p class="not-covered" style="color: #a00">{escape(s)}</p>' for s in line.not_covered)
        )
        + f"\n<p>{line.records} records: {line.heals} heals, {line.failed_heals} failed heals; {line.gaps} sweep gaps;"
        f" evidence chain {escape(line.chain)}.</p>\n</section>"
        for line in o.lines
    )
    return (
        '<section id="organization">\n<h2>The organization</h2>\n'
        f"<p><strong>{escape(headline(o).removeprefix('the organization: '))}.</strong></p>\n"
        "<table>\n<tr><th>account</th><th>Region</th><th>covered</th><th>heals</th><th>failed heals</th>"
        f"<th>sweep gaps</th><th>evidence chain</th></tr>\n{cells}\n</table>\n{sections}\n</section>\n"
    )


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise ConsoleError(f"cannot write {path}: {exc.strerror}") from exc
