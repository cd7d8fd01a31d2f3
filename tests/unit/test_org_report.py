"""``report --org`` and ``verify --org`` from what was read (issue 24): an account that could not be read is named,
counted, and leaves the organization not covered, however well the others read; a broken chain fails the run."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from guardian_console import org_report, org_verify
from guardian_console.cli import main
from guardian_console.coverage import AccountCoverage, Chain, Settings, Sweeps
from guardian_console.deployed import Deployed
from guardian_console.evidence import Period
from guardian_console.integrity import Head, Verdict
from guardian_console.org import OrgRun, Target, Unread
from guardian_console.records import Stored

DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
GUARDIAN = Deployed("CloudTrailGuardian", "111111111111", "us-east-1", "b", "t", "r", "s", "q", "k", ("us-east-1",))


def covered(account: str) -> AccountCoverage:
    """An account whose whole period is covered."""
    return AccountCoverage(
        account=account,
        generated_by="arn:aws:sts::999999999999:assumed-role/CloudTrailGuardian-console-read/guardian-console-org",
        first_record=datetime(2026, 1, 1, tzinfo=UTC),
        first_digest=datetime(2026, 1, 1, tzinfo=UTC),
        covered_from=datetime(2026, 11, 20, tzinfo=UTC),
        covered_to=datetime(2026, 11, 21, tzinfo=UTC),
        sweeps=Sweeps(900, "the schedule rule", 96, 96, 1800, "AWS/Lambda", ()),
        chain=Chain("INTACT", digests=96, records=2),
        settings=Settings((), (), "its signed baseline", vouched=True),
        not_covered=(),
    )


def record(account: str, outcome: str, n: int) -> Stored:
    summary = {"time": f"2026-11-20T0{n}:00:00Z", "account": account, "event": "StopLogging", "outcome": outcome}
    return Stored(f"evidence/2026/11/20/{account}-{n}.json", account, "v1", "0" * 64, "GOVERNANCE", None, summary)


def section(account: str, *outcomes: str) -> org_report.Section:
    records = [record(account, outcome, n) for n, outcome in enumerate(outcomes)]
    return org_report.Section(Period(records), covered(account), ())


def test_an_account_not_read_is_named_counted_and_leaves_the_organization_not_covered() -> None:
    read = [
        (Target("111111111111", "us-east-1"), section("111111111111", "healed", "heal_failed")),
        (Target("222222222222", "us-east-1"), section("222222222222", "healed")),
    ]
    whole, _ = org_report.assemble(OrgRun(read, []), DAY, DAY, NOW)
    assert whole.covered  # every account read and covered
    assert not whole.unread
    missing = Unread("333333333333", "eu-west-1", "cannot assume arn:aws:iam::333333333333:role/x: AccessDenied")
    report, organization = org_report.assemble(OrgRun(read, [missing]), DAY, DAY, NOW)
    assert not report.covered
    assert report.coverage is not None
    assert report.coverage.not_covered[-1].startswith("333333333333 (eu-west-1): Not covered: the account could not")
    assert report.unread[-1] == {
        "key": "",
        "account": "333333333333",
        "problem": f"not read in eu-west-1: {missing.why}",
    }
    assert "333333333333 (eu-west-1) (NOT READ)" in report.accounts
    assert (organization.targets, organization.covered, organization.not_covered, organization.unread) == (3, 2, 0, 1)
    assert (organization.heals, organization.failed_heals) == (2, 1)
    assert [line.chain for line in organization.lines] == ["INTACT", "INTACT", "not read"]
    assert "<td>333333333333</td><td>eu-west-1</td><td>NOT READ</td>" in org_report.as_html(report, organization)
    assert "333333333333 (eu-west-1),organization.covered,not read\r\n" in org_report.as_csv_lines(organization)


def test_verify_org_lines_name_each_break_under_its_account() -> None:
    intact = Verdict(digests=3, records=2, head=Head("digests/2026/11/20/0000000003.json", 3, None, "a" * 64))
    broken = Verdict(digests=3, records=1, breaks=["evidence/2026/11/20/x.json: deleted"])
    first, second = Target("111111111111", "us-east-1"), Target("222222222222", "us-east-1")
    found = OrgRun(
        [(first, (GUARDIAN, intact)), (second, (GUARDIAN, broken))], [Unread("333333333333", "us-east-1", "no stack")]
    )
    out = org_verify.lines(found, DAY, DAY)
    assert (
        "  111111111111  us-east-1  INTACT: 3 digests, 2 records; head digests/2026/11/20/0000000003.json (sequence 3)"
        in out
    )
    line = "  222222222222  us-east-1  BROKEN (1 breaks): 3 digests, 1 records; no head verifies"
    assert out[out.index(line) + 1] == "      - evidence/2026/11/20/x.json: deleted"
    assert "2 of 3 accounts read: 1 intact, 1 broken, 1 unread" in out
    assert out[-1] == "  - 333333333333 us-east-1: no stack"


@pytest.mark.parametrize("extra", [("--offline", "copy"), ("--head", "digests/2026/11/20/0000000003.json")])
def test_verify_org_refuses_the_options_of_one_chain(
    extra: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["verify", "--org", "--from", "2026-11-20", "--to", "2026-11-20", *extra], now=NOW)
    assert status == 2
    assert "--org verifies each account's bucket online" in capsys.readouterr().err
