"""An alert as an ASFF finding: the published required attributes and limits, a stable Id, the status mapping, and
what the after-alert step does with a fake Security Hub (repeats, heal states, not enabled)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from guardian.flows import security_hub
from guardian.model.asff import (
    COUNT_FIELD,
    PRODUCT_FIELDS_MAX,
    REQUIRED,
    build_finding,
    compliance,
    count_of,
    problems,
    workflow,
)
from guardian.model.config import Config
from guardian.model.decide import PolicyContext, decide
from guardian.model.events import parse_event
from guardian.model.results import Result
from guardian.model.rules import Outcome, Severity
from guardian.ports.findings import SecurityHubOff
from guardian.ports.invocation import Invocation
from tests.support import ACCOUNT, TRAIL, load_event

NOW = datetime(2026, 11, 20, 10, 0, 5, tzinfo=UTC)
# The Security Hub User Guide's list of required ASFF attributes (AWS-FACTS: "Security Hub finding (ASFF)").
PUBLISHED_REQUIRED = {
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "Types",
    "CreatedAt",
    "UpdatedAt",
    "Severity",
    "Title",
    "Description",
    "Resources",
}
CONFIG = Config(
    topic_arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:t",
    evidence_bucket="ev",
    self_role_arn=None,
    exempt_principals=(),
    verify_attempts=1,
    verify_delay_seconds=0,
)
RUN = Invocation(lambda: NOW, lambda _: None)


def result(name: str = "stop_logging", outcome: Outcome = Outcome.HEALED, **changes: Any) -> Result:
    event = parse_event(load_event(name))
    decision = decide(event, PolicyContext(account_id=ACCOUNT))
    return replace(Result(event, decision, outcome, decision.severity), **changes)


def finding(r: Result, count: int = 1) -> dict[str, Any]:
    made = build_finding(
        r,
        account=ACCOUNT,
        home_region="us-east-1",
        now=NOW,
        count=count,
        evidence_key="evidence/2026/11/20/x.json",
        evidence_sha256="ab" * 32,
        summary="CloudTrail logging stopped",
    )
    return made.document


def test_every_published_required_attribute_is_set_and_no_limit_is_passed() -> None:
    document = finding(result())
    assert set(REQUIRED) == PUBLISHED_REQUIRED
    assert set(document) >= PUBLISHED_REQUIRED
    assert problems(document) == []
    assert document["SchemaVersion"] == "2018-10-08"
    assert document["ProductArn"] == f"arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default"
    assert document["AwsAccountId"] == ACCOUNT
    assert all(t.count("/") >= 1 for t in document["Types"])  # namespace/category[/classifier]
    assert document["Severity"]["Label"] == "HIGH"
    fields = document["ProductFields"]
    assert len(fields) <= PRODUCT_FIELDS_MAX
    assert all(isinstance(v, str) for v in fields.values())
    assert fields["guardian/evidence_key"] == "evidence/2026/11/20/x.json"
    assert fields["guardian/evidence_sha256"] == "ab" * 32
    assert fields["guardian/version"]


def test_the_checker_names_what_aws_would_refuse() -> None:
    document = finding(result())
    broken = {k: v for k, v in document.items() if k != "Resources"}
    broken["ProductFields"] = {str(i): "v" for i in range(51)}
    assert problems(broken) == ["missing Resources", "ProductFields must be at most 50 strings"]


def test_the_id_is_stable_per_account_region_generator_and_resource() -> None:
    one, again = finding(result()), finding(result(), count=2)
    assert one["Id"] == again["Id"]  # a repeat updates this finding
    assert again["ProductFields"][COUNT_FIELD] == "2"
    other = finding(result("update_trail", Outcome.ALERTED))
    assert other["Id"] != one["Id"]  # another generator (decision row)
    assert one["GeneratorId"] == "cloudtrail-guardian/StopLogging"
    [trail] = one["Resources"]
    assert trail["Type"] == "AwsCloudTrailTrail"
    assert trail["Id"].endswith(f"trail/{TRAIL}")


def test_a_watch_rule_is_its_generator() -> None:
    r = result()
    watched = replace(r, decision=replace(r.decision, watch_rule="guardduty-detector-deleted"))
    document = finding(watched)
    assert document["GeneratorId"] == "cloudtrail-guardian/guardduty-detector-deleted"
    assert document["Resources"][0]["Type"] == "AwsAccount"


@pytest.mark.parametrize(
    ("severity", "label"),
    [
        (Severity.CRITICAL, "CRITICAL"),
        (Severity.HIGH, "HIGH"),
        (Severity.MEDIUM, "MEDIUM"),
        (Severity.LOW, "LOW"),
        (Severity.INFO, "INFORMATIONAL"),
    ],
)
def test_severity_labels(severity: Severity, label: str) -> None:
    assert finding(result(severity=severity))["Severity"]["Label"] == label


def test_status_follows_the_outcome() -> None:
    assert (compliance(Outcome.HEALED), workflow(Outcome.HEALED)) == ("PASSED", "RESOLVED")
    assert (compliance(Outcome.HEAL_FAILED), workflow(Outcome.HEAL_FAILED)) == ("FAILED", "NOTIFIED")
    assert (compliance(Outcome.ALERTED), workflow(Outcome.ALERTED)) == ("FAILED", "NEW")
    assert count_of({"ProductFields": {COUNT_FIELD: "not a number"}}) == 0


class FakeHub:
    """A Security Hub in memory: findings by Id, Workflow kept on update (as AWS does), or not enabled."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.findings: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None:
        return None

    def existing_finding(self, region: str, finding_id: str) -> dict[str, Any] | None:
        self.calls.append("GetFindings")
        if not self.enabled:
            raise SecurityHubOff("InvalidAccessException")
        return self.findings.get(finding_id)

    def import_finding(self, region: str, document: dict[str, Any]) -> None:
        self.calls.append("BatchImportFindings")
        kept = self.findings.get(document["Id"], {}).get("Workflow")
        self.findings[document["Id"]] = {**document, **({"Workflow": kept} if kept else {})}

    def set_workflow(self, region: str, finding_id: str, product_arn: str, status: str) -> None:
        self.calls.append("BatchUpdateFindings")
        self.findings[finding_id]["Workflow"] = {"Status": status}


def copy(hub: FakeHub, r: Result) -> str:
    return security_hub.copy_to_security_hub(r, hub, CONFIG, RUN)  # type: ignore[arg-type]


def test_repeats_update_one_finding_and_a_failed_heal_then_a_heal_resolves_it() -> None:
    security_hub.forget()
    hub = FakeHub()
    assert copy(hub, result(outcome=Outcome.HEAL_FAILED, severity=Severity.CRITICAL)) == "imported"
    [only] = hub.findings.values()
    assert (only["Workflow"], only["Compliance"]) == ({"Status": "NOTIFIED"}, {"Status": "FAILED"})
    assert copy(hub, result()) == "updated"
    [only] = hub.findings.values()
    assert only["Workflow"] == {"Status": "RESOLVED"}
    assert only["Compliance"] == {"Status": "PASSED"}
    assert only["ProductFields"][COUNT_FIELD] == "2"


def test_not_enabled_is_noted_once_and_not_asked_again(caplog: pytest.LogCaptureFixture) -> None:
    security_hub.forget()
    hub = FakeHub(enabled=False)
    assert [copy(hub, result()) for _ in range(3)] == ["not enabled"] * 3
    assert hub.calls == ["GetFindings"]  # asked once; the others skipped for an hour
    assert len([r for r in caplog.records if "not enabled" in r.getMessage()]) == 1
    security_hub.forget()


def test_off_by_the_setting() -> None:
    hub = FakeHub()
    off = replace(CONFIG, security_hub=False)
    assert security_hub.copy_to_security_hub(result(), hub, off, RUN) == "off"  # type: ignore[arg-type]
    assert hub.calls == []
    env = {"GUARDIAN_TOPIC_ARN": CONFIG.topic_arn, "GUARDIAN_EVIDENCE_BUCKET": "evidence-bucket"}
    assert Config.from_env(env).security_hub is True  # auto
    assert Config.from_env({**env, "GUARDIAN_SECURITY_HUB": "off"}).security_hub is False


@pytest.mark.parametrize(("held", "sent", "copied"), [(False, True, True), (True, False, True), (False, False, False)])
def test_a_held_repeat_counts_in_its_finding_and_a_duplicate_delivery_does_not(
    held: bool, sent: bool, copied: bool
) -> None:
    from guardian.flows.after_alert import steps_after  # noqa: PLC0415

    steps = steps_after(result(), None, FakeHub(), CONFIG, RUN, held=held, sent=sent)  # type: ignore[arg-type]
    assert ("copy the alert to Security Hub" in [name for name, _ in steps]) is copied


def test_what_the_sweep_reports_is_titled_by_its_own_subject_not_trail_drift() -> None:
    """The sweep's findings (and stack calls', path notes') share the sweep's row: a finding about the guardian's own
    rule is titled as its alert's subject, not "CloudTrail trail drifted from its baseline"; a row's words stay."""
    from guardian.model.asff import finding_title  # noqa: PLC0415
    from guardian.model.changes import Change, Effect  # noqa: PLC0415
    from guardian.model.decide import Decision  # noqa: PLC0415
    from guardian.model.findings import found_event  # noqa: PLC0415
    from guardian.model.ocsf import build_detection_finding  # noqa: PLC0415
    from guardian.model.rules import SWEEP_RULE, Action  # noqa: PLC0415

    event = found_event(
        "sweep-20261207-rule",
        account_id=ACCOUNT,
        region="us-east-1",
        detected_at=datetime(2026, 12, 7, tzinfo=UTC),
        raw={"guardian_rule": "CloudTrailGuardian-tamper"},
    )
    decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.CRITICAL, "its rule was disabled", SWEEP_RULE)
    change = Change("state", "ENABLED", "DISABLED", Effect.WEAKENED)
    result = Result(event, decision, Outcome.ALERTED, Severity.CRITICAL, changes=(change,))
    title = finding_title(result)
    assert "CloudTrailGuardian-tamper" in title
    assert "drifted" not in title
    assert not title.startswith("[")
    document = build_detection_finding(
        result, account=ACCOUNT, home_region="us-east-1", now=datetime(2026, 12, 7, tzinfo=UTC),
        evidence_key="evidence/x.json", evidence_sha256=None, summary="s",
    )  # fmt: skip
    assert document["finding_info"]["title"] == title[:1].upper() + title[1:]
    parsed = parse_event(load_event("stop_logging"))
    healed = decide(parsed, PolicyContext(account_id=ACCOUNT))
    assert healed.rule is not None
    assert finding_title(Result(parsed, healed, Outcome.HEALED, Severity.HIGH)) == healed.rule.what
