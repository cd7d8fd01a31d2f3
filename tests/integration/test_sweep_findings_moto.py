"""The sweep's alerts as Security Hub findings, the event path's way, after every alert went out (moto, bridged as AWS
answers: simulation.security_hub)."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest

from guardian.entrypoints import runtime, sweep
from guardian.model.asff import problems
from tests.integration.calls_in_order import calls_in_order
from tests.integration.conftest import WEST, Account
from tests.integration.world import World
from tests.support import ACCOUNT, TRAIL, load_event


def findings() -> list[dict[str, Any]]:
    return list(boto3.client("securityhub", region_name="us-east-1").get_findings()["Findings"])


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS call the guardian makes, in order, as ``service:Operation``."""
    return calls_in_order(monkeypatch)


def test_the_sweeps_drift_alert_becomes_a_resolved_finding_after_the_alert(account: Account, calls: list[str]) -> None:
    boto3.client("securityhub", region_name="us-east-1").enable_security_hub()
    account.ct("us-west-2").stop_logging(Name=WEST)  # no event reaches the guardian

    summary = account.sweep()

    assert summary["statuses"] == {"healed": 1, "in_baseline": 1}
    assert len(account.alerts()) == 1  # the alert, unchanged
    [finding] = findings()
    assert problems(finding) == []
    assert finding["GeneratorId"] == "cloudtrail-guardian/StopLogging"  # the decision row of the change it found
    assert finding["Workflow"] == {"Status": "RESOLVED"}  # healed by the sweep
    assert finding["Compliance"] == {"Status": "PASSED"}
    [resource] = finding["Resources"]
    assert (resource["Type"], resource["Region"]) == ("AwsCloudTrailTrail", "us-west-2")
    assert resource["Id"] == f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/{WEST}"
    assert finding["ProductFields"]["guardian/count"] == "1"
    assert len(finding["ProductFields"]["guardian/evidence_sha256"]) == 64  # the signed record's digest
    hub = [c for c in calls if c.startswith("securityhub:")]
    assert hub == ["securityhub:GetFindings", "securityhub:BatchImportFindings", "securityhub:BatchUpdateFindings"]
    last_publish = max(i for i, c in enumerate(calls) if c == "sns:Publish")
    assert calls.index("securityhub:GetFindings") > last_publish  # after every alert of the run went out


def test_the_event_paths_finding_and_the_sweeps_refind_of_the_trail_are_one_finding(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("securityhub", region_name="us-east-1").enable_security_hub()
    world.invoke(load_event("stop_logging"))  # the event path heals it: the finding, count 1, RESOLVED
    [first] = findings()
    monkeypatch.setenv("GUARDIAN_SWEEP_REGIONS", json.dumps(["us-east-1"]))
    runtime.reset()
    sweep.lambda_handler({}, None)  # the sweep's first look: the trail is logging, in its baseline
    world.cloudtrail().stop_logging(Name=TRAIL)  # stopped again, and this time no event comes
    world.alerts()

    summary = sweep.lambda_handler({}, None)

    assert summary["statuses"] == {"healed": 1}
    assert len(world.alerts()) == 1
    [finding] = findings()  # one finding: the same Id, updated
    assert finding["Id"] == first["Id"]
    assert finding["ProductFields"]["guardian/count"] == "2"
    assert finding["CreatedAt"] == first["CreatedAt"]
    assert finding["GeneratorId"] == first["GeneratorId"] == "cloudtrail-guardian/StopLogging"
    assert finding["Workflow"] == {"Status": "RESOLVED"}


def test_security_hub_not_enabled_is_noted_once_a_run_and_the_alerts_go_out(
    account: Account, calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="guardian.flows.sweep_findings")
    account.ct("us-west-2").stop_logging(Name=WEST)
    account.ct().stop_logging(Name="org-audit")

    summary = account.sweep()

    assert summary["ok"] is True  # findings never fail the run
    assert summary["statuses"] == {"healed": 2}
    assert len(account.alerts()) == 2
    notes = [r for r in caplog.records if "Security Hub is not enabled" in r.getMessage()]
    assert len(notes) == 1  # once for the run, not once per alert
    assert [c for c in calls if c.startswith("securityhub:")] == ["securityhub:GetFindings"]


def test_the_setting_off_makes_no_security_hub_call(
    account: Account, calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("securityhub", region_name="us-east-1").enable_security_hub()
    monkeypatch.setenv("GUARDIAN_SECURITY_HUB", "off")
    runtime.reset()
    account.ct("us-west-2").stop_logging(Name=WEST)
    account.sweep()
    assert len(account.alerts()) == 1
    assert [c for c in calls if c.startswith("securityhub:")] == []
    assert findings() == []
