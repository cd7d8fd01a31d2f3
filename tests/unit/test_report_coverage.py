"""A report that states what it covers (issue 22): the period covered, the sweeps' gaps, the chain, the settings in
force; a period not covered says so in words on the first screen and in the controls, in HTML, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from guardian_console import coverage_read, render
from guardian_console.coverage import Chain, Coverage, Runs, Settings, account_coverage
from guardian_console.coverage_render import as_csv
from guardian_console.report import Report, build, with_coverage

DEPLOYED = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)  # the guardian's first digest
INTACT = Chain("INTACT", digests=40, records=3, head_key="digests/2026/12/31/0000000040.json", head_time="t")
SETTINGS = Settings(
    ("arn:aws:iam::123456789012:role/ci-deployer",), ("arn:aws:iam::123456789012:user/alice",), "s", True
)


def every(since: datetime, until: datetime, minutes: int = 5) -> tuple[tuple[datetime, float], ...]:
    count = int((until - since).total_seconds() // (minutes * 60))
    return tuple((since + timedelta(minutes=minutes * n), 1.0) for n in range(count + 1))


def runs(points: tuple[tuple[datetime, float], ...] = (), **fields: object) -> Runs:
    return Runs(300, "rule CloudTrailGuardian-sweep-schedule: rate(5 minutes)", points, **fields)  # type: ignore[arg-type]


def judged(start: date, end: date, now: datetime, **fields: object) -> Coverage:
    values: dict[str, object] = {
        "account": "123456789012",
        "start": start,
        "end": end,
        "now": now,
        "generated_by": "arn:aws:sts::123456789012:assumed-role/Auditor/carol",
        "first_record": DEPLOYED,
        "first_digest": DEPLOYED,
        "runs": runs(every(DEPLOYED, now)),
        "chain": INTACT,
        "settings": SETTINGS,
        **fields,
    }
    found = account_coverage(**values)  # type: ignore[arg-type]
    return Coverage(start, end, "2027-01-02T08:00:00Z", (found,))


def test_a_november_report_of_a_december_deployment_is_not_covered_and_says_so() -> None:
    """The issue's case: today it comes out clean under "Controls supported"."""
    coverage = judged(date(2026, 11, 1), date(2026, 11, 30), datetime(2026, 12, 7, tzinfo=UTC))
    assert not coverage.complete
    [account] = coverage.accounts
    assert account.covered_from is None
    assert coverage.not_covered == [
        "Not covered: the whole period: the guardian's first record is 2026-12-06 (09:30Z); "
        "nothing before it is vouched for."
    ]
    report = with_coverage(_report(date(2026, 11, 1), date(2026, 11, 30)), coverage)
    page = render.as_html(report)
    first_screen = page[: page.index("<h2>Summary</h2>")]
    assert "Not covered: the whole period: the guardian&#x27;s first record is 2026-12-06" in first_screen
    controls = page[page.index("<h2>Controls supported</h2>") :]
    assert "only for the time covered" in controls.split("<table")[0]
    assert "not a clean record" in controls.split("<table")[0]
    document = json.loads(render.as_json(report))
    assert document["coverage"]["complete"] is False
    assert document["coverage"]["accounts"][0]["covered"] is None
    assert list(document)[: list(document).index("summary")][-1] == "coverage"  # a header block, before the rows


def test_a_period_partly_before_the_deployment_names_the_part_not_covered() -> None:
    coverage = judged(date(2026, 12, 1), date(2026, 12, 31), datetime(2027, 1, 2, tzinfo=UTC))
    [account] = coverage.accounts
    assert account.covered_from == DEPLOYED
    assert account.covered_to == datetime(2027, 1, 1, tzinfo=UTC)
    assert coverage.not_covered == [
        "Not covered: 2026-12-01 to 2026-12-06 09:30Z: the guardian's first record is 2026-12-06 (09:30Z); "
        "nothing before it is vouched for."
    ]


def test_a_period_swept_throughout_with_the_chain_intact_is_covered() -> None:
    coverage = judged(date(2026, 12, 7), date(2026, 12, 31), datetime(2027, 1, 2, tzinfo=UTC))
    assert coverage.complete, coverage.not_covered
    report = with_coverage(_report(date(2026, 12, 7), date(2026, 12, 31)), coverage)
    page = render.as_html(report)
    assert "Covered: the whole period, 2026-12-07 to 2026-12-31 (UTC)." in page
    assert "arn:aws:iam::123456789012:role/ci-deployer" in page  # the exemptions in force
    assert "arn:aws:sts::123456789012:assumed-role/Auditor/carol" in page  # who generated it
    assert "digests/2026/12/31/0000000040.json" in page  # the chain's head
    assert "only for the time covered" not in page


def test_every_gap_longer_than_two_sweep_intervals_is_listed_and_not_covered() -> None:
    now = datetime(2026, 12, 8, tzinfo=UTC)
    hole_from, hole_to = datetime(2026, 12, 7, 3, 0, tzinfo=UTC), datetime(2026, 12, 7, 3, 40, tzinfo=UTC)
    short_from = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # two missing runs: ten minutes, not more
    points = tuple(
        p for p in every(DEPLOYED, now) if not hole_from < p[0] < hole_to and p[0] != short_from + timedelta(minutes=5)
    )
    coverage = judged(date(2026, 12, 7), date(2026, 12, 7), now, runs=runs(points))
    [account] = coverage.accounts
    assert [(g.start, g.end, g.minutes) for g in account.sweeps.gaps] == [(hole_from, hole_to, 40.0)]
    assert account.sweeps.threshold_seconds == 600
    assert coverage.not_covered == [
        "Not covered: 2026-12-07 03:00Z to 2026-12-07 03:40Z: no sweep ran for 40.0 minutes (more than 10 minutes)."
    ]


def test_hourly_points_of_an_old_period_are_no_gap_and_a_missing_hour_is() -> None:
    now = datetime(2027, 6, 1, tzinfo=UTC)
    points = tuple(p for p in every(DEPLOYED, now, minutes=60) if p[0].date() != date(2026, 12, 20) or p[0].hour != 5)
    coverage = judged(date(2026, 12, 20), date(2026, 12, 20), now, runs=runs(points, resolution_seconds=3600))
    [account] = coverage.accounts
    assert [g.minutes for g in account.sweeps.gaps] == [120.0]


def test_without_the_metrics_the_digests_every_sweep_writes_say_when_it_ran() -> None:
    """Every run writes a digest (schema 1.1): a digests-only gap is two intervals, not a day and two intervals."""
    now = datetime(2026, 12, 8, tzinfo=UTC)
    hole_from, hole_to = datetime(2026, 12, 7, 3, 0, tzinfo=UTC), datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    written = tuple(t for t, _ in every(DEPLOYED, now) if not hole_from < t < hole_to)
    coverage = judged(
        date(2026, 12, 7),
        date(2026, 12, 7),
        now,
        runs=runs(digest_times=written, metric_problem="AccessDenied"),
    )
    [account] = coverage.accounts
    assert [(g.start, g.end) for g in account.sweeps.gaps] == [(hole_from, hole_to)]
    assert account.sweeps.threshold_seconds == 600
    assert "the signed digests only" in account.sweeps.source


def test_with_the_metrics_a_digest_listed_in_a_gap_does_not_fill_it() -> None:
    """Only AWS's own count of the function's runs says when the sweep ran: nothing listed in the bucket."""
    now = datetime(2026, 12, 8, tzinfo=UTC)
    hole_from, hole_to = datetime(2026, 12, 7, 3, 0, tzinfo=UTC), datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    points = tuple(p for p in every(DEPLOYED, now) if not hole_from < p[0] < hole_to)
    listed = tuple(t for t, _ in every(hole_from, hole_to))
    coverage = judged(date(2026, 12, 7), date(2026, 12, 7), now, runs=runs(points, digest_times=listed))
    [account] = coverage.accounts
    assert [(g.start, g.end) for g in account.sweeps.gaps] == [(hole_from, hole_to)]
    assert account.sweeps.source.startswith("AWS/Lambda Invocations less Errors")


def test_a_broken_chain_vouches_for_nothing() -> None:
    broken = Chain("BROKEN", breaks=("evidence/2026/12/09/x.json: deleted (version v, listed in d)",))
    coverage = judged(date(2026, 12, 7), date(2026, 12, 10), datetime(2026, 12, 11, tzinfo=UTC), chain=broken)
    assert coverage.not_covered == [
        "Not vouched for: the evidence chain is BROKEN (1 breaks; the first: "
        "evidence/2026/12/09/x.json: deleted (version v, listed in d))."
    ]


def test_a_period_not_over_is_not_covered_after_now() -> None:
    now = datetime(2026, 12, 10, 12, tzinfo=UTC)
    coverage = judged(date(2026, 12, 7), date(2026, 12, 31), now)
    assert coverage.not_covered == ["Not covered: after 2026-12-10 12:00Z: the period is not over yet."]


def test_a_report_without_coverage_says_nothing_is_vouched_for() -> None:
    page = render.as_html(_report(date(2026, 11, 1), date(2026, 11, 30)))
    assert "coverage was not established; nothing in it is vouched for" in page[: page.index("<h2>Summary</h2>")]
    assert json.loads(render.as_json(_report(date(2026, 11, 1), date(2026, 11, 30))))["coverage"]["complete"] is False


def test_the_csv_side_file_has_every_field_one_per_line() -> None:
    coverage = judged(date(2026, 11, 1), date(2026, 11, 30), datetime(2026, 12, 7, tzinfo=UTC))
    report = with_coverage(_report(date(2026, 11, 1), date(2026, 11, 30)), coverage)
    lines = list(csv.DictReader(io.StringIO(as_csv(report.coverage))))
    fields = {(r["field"], r["value"]) for r in lines}
    assert ("complete", "false") in fields
    assert ("period_asked", "from=2026-11-01 to=2026-11-30") in fields
    assert ("generated_by", "arn:aws:sts::123456789012:assumed-role/Auditor/carol") in fields
    assert ("chain.result", "INTACT") in fields
    assert ("settings.exemptions", "arn:aws:iam::123456789012:role/ci-deployer") in fields
    assert any(r["field"] == "not_covered" and "whole period" in r["value"] for r in lines)


@dataclass
class Head:
    key: str
    written_at: datetime
    sha256: str


@dataclass
class Verdict:
    digests: int = 3
    records: int = 2
    breaks: list[str] = field(default_factory=list)
    head: Head | None = None

    @property
    def ok(self) -> bool:
        return not self.breaks


def test_the_chain_takes_verifys_result_and_its_head() -> None:
    head = Head("digests/2026/12/07/0000000003.json", datetime(2026, 12, 7, 10, tzinfo=UTC), "ab" * 32)
    found = coverage_read.chain(None, None, date(2026, 12, 7), date(2026, 12, 7), lambda *_: Verdict(head=head))  # type: ignore[arg-type]
    assert (found.result, found.head_key, found.head_time, found.head_sha256) == (
        "INTACT",
        head.key,
        "2026-12-07T10:00:00Z",
        "ab" * 32,
    )
    older = coverage_read.chain(None, None, date(2026, 12, 7), date(2026, 12, 7), lambda *_: Verdict(breaks=["x"]))  # type: ignore[arg-type]
    assert (older.result, older.head_key, older.note) == (
        "BROKEN",
        None,
        "this verify does not report the chain's head",
    )


def _report(start: date, end: date) -> Report:
    return build(
        [], [], start=start, end=end, accounts=["123456789012 (us-east-1)"], now=datetime(2027, 1, 2, tzinfo=UTC)
    )
