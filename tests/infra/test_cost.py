"""``make cost`` (issue 23): the table's counts come from the synthesized templates, the prices from one dated file,
and the cut holds: a 17-Region account's fixed cost, the sentinel excluded, is at most $5 a month."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from scripts.cost import (
    CDK_JSON,
    PRICES,
    Counts,
    Function,
    Volume,
    count,
    demo_context,
    estimate,
    load_prices,
    render,
    synthesized,
)

pytestmark = pytest.mark.synth
ROOT = Path(__file__).resolve().parents[2]
KINDS = {
    "keys": "AWS::KMS::Key",
    "alarms": "AWS::CloudWatch::Alarm",
    "buckets": "AWS::S3::Bucket",
    "tables": "AWS::DynamoDB::Table",
    "topics": "AWS::SNS::Topic",
    "queues": "AWS::SQS::Queue",
    "secrets": "AWS::SecretsManager::Secret",
    "rules": "AWS::Events::Rule",
}


@pytest.mark.parametrize("fixture", ["default_synth", "channels_synth"])
def test_the_counts_are_the_templates(fixture: str, request: pytest.FixtureRequest) -> None:
    template, _ = request.getfixturevalue(fixture)
    counted = count([template.to_json()])
    for field, kind in KINDS.items():
        assert getattr(counted, field) == len(template.find_resources(kind)), field
    functions = template.find_resources("AWS::Lambda::Function")
    assert len(counted.functions) == len(functions)
    [sweep] = [f for f in counted.functions if f.name.endswith("-sweep")]
    assert (sweep.memory_mb, sweep.arch) == (1024, "arm64")
    assert counted.sweep_minutes == 5
    assert counted.alarm_metrics == counted.alarms + 1  # the dead man's switch reads two metrics
    [(name, reads, to_logs)] = counted.trails
    assert name.endswith("-sentinel")
    assert (reads, to_logs) == ((False, False) if fixture == "default_synth" else (True, True))


def test_the_prices_are_in_one_dated_file_each_marked_where_it_was_read() -> None:
    document = json.loads(PRICES.read_text())
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", document["taken_on"])
    assert f"list prices as published on {document['taken_on']}" in document["statement"]
    assert "check the AWS pricing pages" in document["statement"]
    assert document["region"] == "us-east-1"
    assert {p["source"] for p in document["prices"].values()} <= {"aws-page", "summary", "assumed"}
    assert all(p["page"].startswith("https://aws.amazon.com/") for p in document["prices"].values())


def test_fixed_and_volume_lines_and_the_sentinels_copy() -> None:
    prices, note = load_prices()
    counts = Counts(
        stacks=1, keys=2, alarms=5, alarm_metrics=6, sweep_minutes=5, trails=(("x-sentinel", False, False),)
    )
    found = estimate(counts, Volume(management_writes=100_000, management_reads=900_000), prices, note)
    lines = {line.kind: line for line in found.lines}
    assert lines["KMS keys"].fixed == pytest.approx(2.0)
    assert lines["CloudWatch alarms"].fixed == pytest.approx(0.6)
    assert found.sentinel is not None
    assert found.sentinel.volume == pytest.approx(2.0, abs=0.01)  # 100,000 writes: $2.00, and their log files
    reads = estimate(
        Counts(**{**counts.__dict__, "trails": (("x-sentinel", True, False),)}),
        Volume(management_writes=100_000, management_reads=900_000),
        prices,
    )
    assert reads.sentinel is not None
    assert reads.sentinel.volume > 20  # reads in the paid copy: the account's, and the sweep's own
    free = estimate(counts, Volume(management_writes=100_000, sentinel_first_copy=True), prices)
    assert free.sentinel is not None
    assert free.sentinel.volume < 0.01
    printed = render(found, accounts=100)
    assert "100 accounts" in printed
    assert "total, sentinel excluded" in printed


def test_a_17_region_account_costs_at_most_5_dollars_a_month_fixed() -> None:
    """cdk.json's settings in 17 Regions: no key, alarm or topic in the 16 forwarders (issue 23's cut)."""
    templates = synthesized(demo_context(17, {}))
    counts = count(templates)
    assert (counts.stacks, counts.regions) == (17, 17)
    assert counts.keys == 2  # the alerts topic's and the signing key, at home
    assert counts.alarms == 5  # at home only
    prices, note = load_prices()
    found = estimate(counts, Volume(), prices, note)
    assert found.fixed <= 5.0, render(found)


def test_make_cost_runs_the_script_after_setup() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^cost: setup\n\t\$\(PY\) scripts/cost\.py", makefile, flags=re.MULTILINE)
    assert json.loads(CDK_JSON.read_text())["context"]  # the demo's settings the script starts from


def test_context_and_regions_reach_the_synth() -> None:
    context: dict[str, Any] = demo_context(3, {"cisAlarms": "true"})
    assert (context["regions"], context["homeRegion"], context["cisAlarms"]) == (
        "us-east-1,us-east-2,us-west-1",
        "us-east-1",
        "true",
    )
    assert Function("x-sweep", 1024, "arm64").arch == "arm64"
