"""The ``guardian`` console end to end (issue 8): the synthesized template deployed into moto_server on 127.0.0.1, the
simulation's attacks healed by the real handler and sweep (real evidence), then the console reads it all back with
nothing but the stack's name, over HTTP."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from guardian_console.controls import CONTROLS
from simulation import deploy, scenario
from simulation.moto_server import LocalAws, local_aws
from tests.e2e.conftest import Console, console_at, today

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.synth,
    pytest.mark.filterwarnings("ignore:Tried to parse"),
]


@dataclass(frozen=True)
class Played:
    aws: LocalAws
    deployment: deploy.Deployment
    outcome: scenario.Outcome


@pytest.fixture(scope="module")
def played(template: Path) -> Iterator[Played]:
    """One deployment, the four acts of the demo played against it: evidence from real heals."""
    with local_aws() as aws:
        deployment = deploy.deploy(aws, template)
        yield Played(aws, deployment, scenario.run(aws, deployment))


@pytest.fixture
def console(played: Played, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Console:
    return console_at(played.aws.endpoint, monkeypatch, capsys)


def test_the_report_lists_every_healed_event_with_its_evidence_object(played: Played, console: Any) -> None:
    status, out, err = console("report", "--from", today(), "--to", today(), "--format", "json")
    assert (status, err) == (0, "")
    report = json.loads(out)
    assert report["partial"] is False
    keys = {row["evidence_key"]: row for row in report["rows"]}
    first = keys[played.outcome.evidence_key]  # act 1: the StopLogging healed on its event
    assert (first["event"], first["outcome"], first["trail"]) == ("StopLogging", "healed", scenario.TRAIL)
    assert first["actor"].endswith(f"/{scenario.ATTACKER}")
    assert first["detected_by"] == "event"
    assert first["lock_mode"] == "GOVERNANCE"
    assert first["retain_until"] > today()
    assert first["version_id"]
    body = played.aws.client("s3").get_object(Bucket=played.outcome.evidence_bucket, Key=first["evidence_key"])
    import hashlib  # noqa: PLC0415

    assert first["sha256"] == hashlib.sha256(body["Body"].read()).hexdigest()
    assert first["blind_window_seconds"] == played.outcome.handler_result["blind_window_seconds"]
    assert "sweep" in {row["detected_by"] for row in report["rows"]}  # act 2: the deleted trail the sweep found
    summary = report["summary"]
    assert summary["records"] == len(report["rows"]) >= 4
    assert summary["by_outcome"]["healed"] >= 3
    assert summary["sweep_findings"] >= 2
    assert summary["blind_window"]["count"] >= 1
    assert summary["guardian_versions"] == ["0.1.0"]
    controls = [c["control"] for c in report["controls"]]
    assert controls == [c.name for c in CONTROLS]
    assert {"PCI DSS v4.0 10.2.1.6", "SOC 2 CC7.2", "ISO/IEC 27001:2022 A.8.15", "NIST SP 800-53 rev. 5 AU-9"} <= set(
        controls
    )


def test_the_csv_report_opens_as_a_table_with_one_row_per_event(console: Any) -> None:
    _, as_json, _ = console("report", "--from", today(), "--to", today(), "--format", "json")
    status, out, _ = console("report", "--from", today(), "--to", today(), "--format", "csv")
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["evidence_key"] for r in rows] == [r["evidence_key"] for r in json.loads(as_json)["rows"]]
    assert all(r["sha256"] and r["lock_mode"] == "GOVERNANCE" for r in rows)


class StrictHtml(HTMLParser):
    """Every element closed in order; no external resource (src/href pointing outside the file)."""

    VOID = frozenset({"meta", "br", "img", "input", "link", "hr", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.external: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.external += [v for k, v in attrs if k in ("src", "href") and v and not v.startswith("#")]
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open, f"</{tag}> closes nothing"
        assert self.open.pop() == tag, f"</{tag}> closes another element"


def test_the_html_report_is_one_self_contained_file_with_a_chart(console: Any, tmp_path: Path) -> None:
    target = tmp_path / "q4.html"
    status, _, err = console("report", "--from", today(), "--to", today(), "-o", str(target))
    assert status == 0
    assert err.startswith(f"wrote {target}: ")
    page = target.read_text(encoding="utf-8")
    parser = StrictHtml()
    parser.feed(page)
    parser.close()
    assert parser.open == []
    assert parser.external == []
    assert "svg" in parser.tags
    assert "rect" in parser.tags  # a bar per blind window
    assert "@media print" in page
    assert scenario.TRAIL in page


def test_incidents_lists_the_recent_alerted_events_newest_first(played: Played, console: Any) -> None:
    status, out, _ = console("incidents", "--since", "1d")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["time", "severity", "outcome", "event", "trail", "actor", "blind", "window"]
    assert any("StopLogging" in line and scenario.ATTACKER in line and " s" in line for line in lines[1:])
    times = [line.split()[0] for line in lines[1:]]
    assert times == sorted(times, reverse=True)
    status, out, _ = console("incidents", "--since", "1d", "--json")
    assert {r["evidence_key"] for r in json.loads(out)} >= {played.outcome.evidence_key}


def test_an_evidence_object_that_is_not_a_record_makes_the_report_partial(played: Played, console: Any) -> None:
    s3 = played.aws.client("s3")
    key = f"evidence/{today().replace('-', '/')}/not-a-record.json"
    s3.put_object(Bucket=played.outcome.evidence_bucket, Key=key, Body=b"{not json")
    try:
        status, out, err = console("report", "--from", today(), "--to", today(), "--format", "json")
    finally:
        s3.delete_object(Bucket=played.outcome.evidence_bucket, Key=key)  # moto's bucket: no retention on this one
    assert status == 1
    assert json.loads(out)["partial"] is True
    assert f"could not read {key}" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "--from", "2026-09-30", "--to", "2026-07-01"), "--from 2026-09-30 is after --to 2026-07-01 (swap"),
        (("report", "--from", "July", "--to", "2026-07-01"), "--from 'July' is not a day (write it as YYYY-MM-DD)"),
        (("incidents", "--since", "a week"), "--since 'a week' is not a duration"),
        (("incidents", "--stack", "NoSuchStack"), "stack NoSuchStack not found in us-east-1 (pass --stack"),
    ],
)
def test_bad_input_is_one_line_naming_the_thing_and_the_fix(console: Any, args: tuple[str, ...], message: str) -> None:
    status, out, err = console(*args)
    assert status == 2
    assert out == ""
    assert err.startswith("guardian: error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1  # no traceback


def test_status_after_the_demo_says_all_is_well(played: Played, console: Any) -> None:
    status, out, err = console("status")
    assert (status, err) == (0, ""), out
    assert out.splitlines()[-1] == "all is well"
    trails = out.split("\ntrails\n")[1].split("\n\n")[0]
    assert scenario.TRAIL in trails
    assert "matches" in trails
    assert f"rule {played.deployment.outputs['TamperRuleName']} (us-east-1)" in out
    assert "dead-letter queue" in out
    assert re.search(r"\n  sweep +last succeeded 20\d\d-", out)


def test_status_names_a_stopped_trail_and_exits_1(played: Played, console: Any) -> None:
    cloudtrail = played.aws.client("cloudtrail")
    cloudtrail.stop_logging(Name=scenario.TRAIL)
    try:
        status, out, _ = console("status", "--json")
    finally:
        cloudtrail.start_logging(Name=scenario.TRAIL)
    assert status == 1
    [account] = json.loads(out)
    assert f"trail {scenario.TRAIL} (us-east-1): not logging" in account["problems"]
    assert any("weaker than its baseline: logging" in p for p in account["problems"])
    [trail] = [t for t in account["trails"] if t["name"] == scenario.TRAIL]
    assert (trail["protected"], trail["logging"], trail["baseline"]) == (True, False, "differs")


def evidence_count(played: Played) -> int:
    listing = played.aws.client("s3").list_object_versions(Bucket=played.outcome.evidence_bucket)
    return len(listing.get("Versions", []))


def test_a_dry_run_sweep_says_what_it_would_change_and_changes_nothing(played: Played, console: Any) -> None:
    cloudtrail = played.aws.client("cloudtrail")
    status, out, _ = console("sweep", "--dry-run")
    assert status == 0, out
    assert "the sweep would make 0 change(s)" in out
    cloudtrail.stop_logging(Name=scenario.TRAIL)
    before = evidence_count(played)
    try:
        status, out, _ = console("sweep", "--dry-run", "--json")
        assert cloudtrail.get_trail_status(Name=scenario.TRAIL)["IsLogging"] is False  # nothing changed
        assert evidence_count(played) == before  # no record written, none tagged
    finally:
        cloudtrail.start_logging(Name=scenario.TRAIL)
    assert status == 1
    [plan] = [json.loads(block) for block in [out]]
    assert {"service": "cloudtrail", "region": "us-east-1", "operation": "StartLogging"}.items() <= plan["changes"][
        0
    ].items()
    assert plan["changes"][0]["params"]["Name"].endswith(f":trail/{scenario.TRAIL}")
    assert any(scenario.TRAIL in subject for subject in plan["alerts"])
