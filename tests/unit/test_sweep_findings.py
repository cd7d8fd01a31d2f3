"""The sweep's findings (guardian.flows.sweep_findings): collected for the sweep's run only, imported in batches at the
end of the run, within its time, each filed under the row or check that found it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from guardian.flows import finding_batch, sweep_findings
from guardian.model.config import Config
from guardian.model.findings import guardian_finding, sweep_event
from guardian.model.results import Result
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity
from guardian.model.trail import TrailState
from guardian.ports.findings import SecurityHubOff
from guardian.ports.invocation import Invocation

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CONFIG = Config(
    topic_arn="arn:aws:sns:us-east-1:123456789012:alerts",
    evidence_bucket="evidence",
    self_role_arn=None,
    exempt_principals=(),
    verify_attempts=1,
    verify_delay_seconds=0,
)


class Hub:
    """Security Hub's batch calls, recorded; ``off``: not enabled."""

    def __init__(self, *, off: bool = False, known: dict[str, dict[str, Any]] | None = None) -> None:
        self.calls: list[tuple[str, int]] = []
        self.imported: list[dict[str, Any]] = []
        self.workflows: dict[str, str] = {}
        self.off = off
        self.known = known or {}

    def existing_findings(self, region: str, finding_ids: Any) -> dict[str, dict[str, Any]]:
        assert len(finding_ids) <= 20  # GetFindings: 20 values a filter field
        self.calls.append(("GetFindings", len(finding_ids)))
        if self.off:
            raise SecurityHubOff("InvalidAccessException")
        return {i: self.known[i] for i in finding_ids if i in self.known}

    def import_findings(self, region: str, findings: Any) -> list[str]:
        assert len(findings) <= 100  # BatchImportFindings: 100 findings a request
        self.calls.append(("BatchImportFindings", len(findings)))
        self.imported += findings
        return []

    def set_workflows(self, region: str, identifiers: Any, status: str) -> int:
        assert len(identifiers) <= 100
        self.calls.append(("BatchUpdateFindings", len(identifiers)))
        self.workflows.update({i: status for i, _ in identifiers})
        return 0

    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None:
        return None


def run(remaining: float | None = None) -> Invocation:
    return Invocation(lambda: NOW, lambda _: None, remaining=None if remaining is None else lambda: remaining)


def rule_found(i: int, *, healed: bool = True) -> Result:
    return guardian_finding(
        ("guardian_rule", f"CloudTrailGuardian-rule-{i}"),
        account_id="123456789012",
        region="us-east-1",
        detected_at=NOW,
        reason="rule put back",
        found=((), ()),
        healed=healed,
    )


def trail_found(changes: list[dict[str, Any]], *, deleted: bool = False, outcome: Outcome = Outcome.HEALED) -> Result:
    arn = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/audit"
    trail = TrailState(name="audit", home_region="eu-west-1", arn=arn, logging=False, s3_bucket="logs")
    event, ref = sweep_event(
        trail, account_id="123456789012", detected_at=NOW, details={"deleted": deleted, "changes": changes}
    )
    decision_action = Action.HEAL if outcome is Outcome.HEALED else Action.ALERT
    from guardian.model.decide import Decision  # noqa: PLC0415

    decision = Decision(decision_action, outcome, Severity.HIGH, "found by the sweep", SWEEP_RULE, ref)
    return Result(event, decision, outcome, Severity.HIGH)


def flushed(results: list[Result], hub: Hub, invocation: Invocation | None = None) -> sweep_findings.Flushed:
    invocation = invocation or run()
    assert finding_batch.opened(invocation, CONFIG)
    for result in results:
        finding_batch.noted(result, invocation)
    return sweep_findings.closed(invocation, hub, CONFIG)


def test_a_sweep_with_150_alerts_makes_2_imports_not_150() -> None:
    hub = Hub()
    done = flushed([rule_found(i) for i in range(150)], hub)
    imports = [("BatchImportFindings", 100), ("BatchImportFindings", 50)]
    assert [c for c in hub.calls if c[0] == "BatchImportFindings"] == imports
    assert sum(n for name, n in hub.calls if name == "GetFindings") == 150  # 20 Ids a request: 8 requests
    assert len([c for c in hub.calls if c[0] == "GetFindings"]) == 8
    updates = [("BatchUpdateFindings", 100), ("BatchUpdateFindings", 50)]  # created NEW, then RESOLVED: healed
    assert [c for c in hub.calls if c[0] == "BatchUpdateFindings"] == updates
    assert (done.imported, done.updated, done.failed) == (150, 0, 0)
    assert len({f["Id"] for f in hub.imported}) == 150


def test_only_the_sweeps_own_run_is_collected() -> None:
    sweeping, event_path = run(), run()
    hub = Hub()
    assert finding_batch.opened(sweeping, CONFIG)
    finding_batch.noted(rule_found(1), event_path)  # the event path's alert: its own after-alert step copies it
    finding_batch.noted(rule_found(2), sweeping)
    assert sweep_findings.closed(sweeping, hub, CONFIG).imported == 1
    finding_batch.noted(rule_found(3), sweeping)  # after the run: nothing kept
    assert sweep_findings.closed(sweeping, hub, CONFIG) == sweep_findings.Flushed()
    assert finding_batch.opened(sweeping, replace(CONFIG, security_hub=False)) is False


def test_repeats_in_one_run_are_one_finding_counted_and_the_existing_count_goes_on() -> None:
    result = trail_found([{"field": "logging", "before": True, "after": False, "effect": "weakened"}])
    probe = Hub()
    flushed([result], probe)
    finding_id = probe.imported[0]["Id"]
    existing = {"Id": finding_id, "CreatedAt": "2026-12-01T00:00:00Z", "ProductFields": {"guardian/count": "3"}}
    hub = Hub(known={finding_id: {**existing, "Workflow": {"Status": "RESOLVED"}}})
    done = flushed([result, result], hub)
    [finding] = hub.imported
    assert finding["ProductFields"]["guardian/count"] == "5"
    assert finding["CreatedAt"] == "2026-12-01T00:00:00Z"
    assert (done.imported, done.updated) == (0, 1)
    assert [c[0] for c in hub.calls] == ["GetFindings", "BatchImportFindings"]  # RESOLVED already: no update


def test_a_trails_drift_is_filed_under_the_row_of_the_call_that_makes_it() -> None:
    def row(changes: list[dict[str, Any]], **kw: Any) -> str:
        return str(sweep_findings.generator(trail_found(changes, **kw)))

    weak = "weakened"
    assert row([{"field": "logging", "effect": weak}, {"field": "kms_key_id", "effect": weak}]).endswith("/StopLogging")
    assert row([], deleted=True) == "cloudtrail-guardian/DeleteTrail"
    assert row([{"field": "advanced_event_selectors", "effect": weak}]) == "cloudtrail-guardian/PutEventSelectors"
    assert row([{"field": "insight_types", "effect": weak}]) == "cloudtrail-guardian/PutInsightSelectors"
    assert row([{"field": "log_file_validation", "effect": weak}]) == "cloudtrail-guardian/UpdateTrail"
    rule = "cloudtrail-guardian/sweep/guardian_rule/CloudTrailGuardian-rule-1"  # no trail: the rule it found, named
    assert sweep_findings.generator(rule_found(1)) == rule


def test_an_alert_only_or_failed_sweep_finding_is_not_resolved() -> None:
    hub = Hub()
    stopped = [{"field": "logging", "effect": "weakened"}]
    flushed([trail_found(stopped, outcome=Outcome.ALERTED), rule_found(1, healed=False)], hub)
    assert len(hub.imported) == 2
    assert {f["Workflow"]["Status"] for f in hub.imported} == {"NEW"}
    assert set(hub.workflows.values()) == {"NOTIFIED"}  # the failed heal: its CRITICAL alert told the team (as asff)


def test_not_enabled_or_out_of_time_is_counted_never_raised() -> None:
    off = Hub(off=True)
    assert flushed([rule_found(i) for i in range(30)], off).note == "not enabled"
    assert off.calls == [("GetFindings", 20)]  # one request, then no more for the run
    late = Hub()
    done = flushed([rule_found(1)], late, run(remaining=3.0))  # less than the margin kept before the timeout
    assert late.calls == []
    assert (done.failed, done.imported) == (1, 0)
