"""Control Tower aware (issue 24): a change Control Tower's own role makes to the trail it manages is a deployment
(alerted LOW, never undone, approved once CloudTrail confirms it); the same change by anyone else, or Control
Tower's role on another trail, is judged as today. Records: ``tests/events/control_tower/SOURCES.md``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from guardian.model.approvals import Pending, confirmation
from guardian.model.config import Config
from guardian.model.config_values import ConfigError
from guardian.model.control_tower import TRAIL_NAME, ControlTower
from guardian.model.decide import PolicyContext, decide
from guardian.model.events import parse_event
from guardian.model.rules import Action, Outcome, Severity
from guardian.model.trail import TrailState
from tests.support import ACCOUNT, GUARDIAN_ROLE_ARN, load_event

MANAGEMENT = "111122223333"
MEMBER = PolicyContext(ACCOUNT, GUARDIAN_ROLE_ARN, control_tower=ControlTower(MANAGEMENT))  # before landing zone 3.0
IN_MANAGEMENT = PolicyContext(ACCOUNT, GUARDIAN_ROLE_ARN, control_tower=ControlTower(ACCOUNT))  # 3.0 on
OFF = PolicyContext(ACCOUNT, GUARDIAN_ROLE_ARN)


def record(name: str) -> dict[str, Any]:
    return load_event(f"control_tower/{name}")


def decided(name: str, ctx: PolicyContext) -> tuple[Action, Outcome, Severity, str]:
    decision = decide(parse_event(record(name)), ctx)
    return decision.action, decision.outcome, decision.severity, decision.reason


@pytest.mark.parametrize("ctx", [MEMBER, IN_MANAGEMENT], ids=["member", "management"])
@pytest.mark.parametrize("name", ["ct_update_trail", "ct_put_event_selectors_all"])
def test_control_towers_role_changing_its_trail_is_a_deployment_alerted_low_and_not_undone(
    name: str, ctx: PolicyContext
) -> None:
    action, outcome, severity, why = decided(name, ctx)
    assert (action, outcome, severity) == (Action.ALERT, Outcome.EXEMPT, Severity.LOW)
    assert why.startswith("a Control Tower deployment: AWSControlTowerExecution changed the trail Control Tower")
    assert "through cloudformation.amazonaws.com" in why


@pytest.mark.threat("ct-execution-assumed")
@pytest.mark.parametrize("ctx", [MEMBER, IN_MANAGEMENT], ids=["member", "management"])
@pytest.mark.parametrize("name", ["ct_stop_logging", "ct_delete_trail", "ct_put_event_selectors"])
def test_control_towers_change_that_weakens_logging_keeps_the_rows_severity_and_waits(
    name: str, ctx: PolicyContext
) -> None:
    """Stopped, deleted, management events dropped (below the floor): HIGH and mailed, never LOW; not undone at once
    (Control Tower may be mid-update), then held to the floor once CloudTrail confirms it."""
    action, outcome, severity, why = decided(name, ctx)
    assert (action, outcome, severity) == (Action.ALERT, Outcome.EXEMPT, Severity.HIGH)
    assert "weakens logging below the floor" in why


def assumed_directly(name: str) -> dict[str, Any]:
    """Control Tower's record as a person who assumed AWSControlTowerExecution from the management account makes it:
    the same role and session issuer, no invokedBy, their own address and client (CloudTrail sets both)."""
    event = record(name)
    detail = event["detail"]
    assert isinstance(detail, dict)
    detail["userIdentity"]["arn"] = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSControlTowerExecution/mallory"
    detail["userIdentity"].pop("invokedBy")
    detail["sourceIPAddress"], detail["userAgent"] = "203.0.113.9", "aws-cli/2.15.0"
    return event


@pytest.mark.threat("ct-execution-assumed")
@pytest.mark.parametrize("ctx", [MEMBER, IN_MANAGEMENT], ids=["member", "management"])
@pytest.mark.parametrize(
    ("name", "heal"), [("ct_stop_logging", "StartLogging"), ("ct_delete_trail", "RestoreBaseline")]
)
def test_control_towers_role_assumed_directly_is_healed_as_anyone_and_the_alert_says_who(
    name: str, heal: str, ctx: PolicyContext
) -> None:
    decision = decide(parse_event(assumed_directly(name)), ctx)
    assert (decision.action, decision.outcome, decision.severity) == (Action.HEAL, Outcome.HEALED, Severity.HIGH)
    assert decision.reason.startswith(heal)
    assert "AWSControlTowerExecution was used directly by AWSControlTowerExecution/mallory" in decision.reason


@pytest.mark.threat("ct-lookalike")
def test_control_towers_role_name_at_another_path_is_not_control_towers() -> None:
    """``role/x/AWSControlTowerExecution``'s sessions have the same ARN as Control Tower's: its issuer (with the
    path) tells them apart; a session with no issuer is not Control Tower's either."""
    event = record("ct_update_trail")
    identity = event["detail"]["userIdentity"]
    identity["sessionContext"]["sessionIssuer"]["arn"] = f"arn:aws:iam::{ACCOUNT}:role/x/AWSControlTowerExecution"
    assert decide(parse_event(event), MEMBER).outcome is Outcome.HEALED
    identity.pop("sessionContext")
    assert decide(parse_event(event), MEMBER).outcome is Outcome.HEALED


@pytest.mark.parametrize(
    ("name", "heal"),
    [
        ("other_update_trail", "RestoreBaseline"),
        ("other_put_event_selectors", "RestoreBaseline"),
        ("other_stop_logging", "StartLogging"),
        ("other_delete_trail", "RestoreBaseline"),
    ],
)
def test_the_same_change_by_anyone_else_is_healed_back_to_the_baseline(name: str, heal: str) -> None:
    decision = decide(parse_event(record(name)), MEMBER)
    assert (decision.action, decision.outcome, decision.severity) == (Action.HEAL, Outcome.HEALED, Severity.HIGH)
    assert decision.reason.startswith(heal)
    assert decision.trail is not None
    assert decision.trail.name == TRAIL_NAME


def test_control_towers_role_on_a_trail_it_does_not_manage_is_healed_as_anyone() -> None:
    action, outcome, severity, why = decided("ct_role_stop_other_trail", MEMBER)
    assert (action, outcome, severity) == (Action.HEAL, Outcome.HEALED, Severity.HIGH)
    assert "Control Tower" not in why


def test_the_admin_role_is_control_towers_in_the_management_account_only() -> None:
    assert decided("ct_admin_put_event_selectors", IN_MANAGEMENT)[:2] == (Action.ALERT, Outcome.EXEMPT)
    assert "AWSControlTowerAdmin changed" in decided("ct_admin_put_event_selectors", IN_MANAGEMENT)[3]
    assert decided("admin_role_member_update_trail", MEMBER)[:2] == (Action.HEAL, Outcome.HEALED)


def test_off_by_default_control_towers_role_is_healed_as_anyone() -> None:
    config = Config.from_env({"GUARDIAN_TOPIC_ARN": TOPIC, "GUARDIAN_EVIDENCE_BUCKET": "evidence"})
    assert config.policy.control_tower is None
    for name in ("ct_update_trail", "ct_stop_logging"):
        assert decided(name, OFF)[:2] == (Action.HEAL, Outcome.HEALED)


@pytest.mark.threat("ct-lookalike")
@pytest.mark.parametrize("name", ["lookalike_user_update_trail", "lookalike_role_update_trail"])
def test_a_lookalike_of_control_towers_role_gains_no_exemption(name: str) -> None:
    """A user named AWSControlTowerExecution, or a role whose name only starts so: exact role ARNs, not globs."""
    for ctx in (MEMBER, IN_MANAGEMENT):
        assert decided(name, ctx)[:3] == (Action.HEAL, Outcome.HEALED, Severity.HIGH)


@pytest.mark.threat("ct-lookalike")
def test_a_forged_control_tower_event_is_confirmed_by_cloudtrail_or_refused() -> None:
    """An event handed to the function alone never rewrites a baseline: the approval waits for CloudTrail's record of
    the same event id, name and principal (LookupEvents), as any exempt change's does."""
    event = parse_event(record("ct_update_trail"))
    decision = decide(event, MEMBER)
    pending = Pending.of(event, decision.reason, datetime(2026, 11, 20, 10, 1, tzinfo=UTC))
    assert pending.actor.endswith("assumed-role/AWSControlTowerExecution/AWSCloudFormationStackSetExecution")
    assert pending.via == "cloudformation.amazonaws.com"
    assert confirmation(pending, record("ct_update_trail")["detail"]) is None
    by_mallory = record("other_update_trail")["detail"]
    assert isinstance(by_mallory, dict)
    by_mallory["eventID"] = event.event_id
    assert "not by" in (confirmation(pending, by_mallory) or "")
    assert confirmation(pending, None) == "CloudTrail has no record of the event (yet)"


TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"


def test_the_setting_reaches_the_decision_as_the_management_account() -> None:
    env = {"GUARDIAN_TOPIC_ARN": TOPIC, "GUARDIAN_EVIDENCE_BUCKET": "evidence", "GUARDIAN_CONTROL_TOWER": MANAGEMENT}
    assert Config.from_env(env).policy.control_tower == ControlTower(MANAGEMENT, "aws")
    with pytest.raises(ConfigError, match="GUARDIAN_CONTROL_TOWER must be a 12-digit account id"):
        Config.from_env({**env, "GUARDIAN_CONTROL_TOWER": "auto"})


def test_exact_roles_in_the_right_account() -> None:
    ct = ControlTower(MANAGEMENT)
    assert ct.roles(ACCOUNT) == (f"arn:aws:iam::{ACCOUNT}:role/AWSControlTowerExecution",)
    assert ct.roles(MANAGEMENT) == (
        f"arn:aws:iam::{MANAGEMENT}:role/AWSControlTowerExecution",
        f"arn:aws:iam::{MANAGEMENT}:role/service-role/AWSControlTowerAdmin",
    )
    assert ct.organization_trail_arn == f"arn:aws:cloudtrail:*:{MANAGEMENT}:trail/{TRAIL_NAME}"


def trail(name: str, *, organization: bool) -> TrailState:
    arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}"
    return TrailState(name, arn, "us-east-1", logging=True, s3_bucket="logs", organization=organization)


@pytest.mark.threat("ct-second-org-trail")
def test_never_a_second_organization_trail_and_control_towers_own_restored_as_itself() -> None:
    """Only for a recreation: an organization trail beside Control Tower's live one comes back an account trail;
    without Control Tower's (``covered`` False) it comes back as it was; Control Tower's own always as itself."""
    ct = ControlTower(ACCOUNT)
    assert ct.sole_organization_trail(trail(TRAIL_NAME, organization=True), covered=True).organization is True
    copy = trail("org-copy", organization=True)
    assert ct.sole_organization_trail(copy, covered=True).organization is False
    assert ct.sole_organization_trail(copy, covered=False).organization is True
    assert ct.sole_organization_trail(trail("account", organization=False), covered=True).organization is False


@pytest.mark.threat("ct-execution-assumed")
def test_cloudtrails_record_must_show_control_towers_service_to_confirm_its_deployment() -> None:
    """A forged event claiming CloudFormation, with the event id of the call a person made as the role directly:
    CloudTrail's record shows their address, not the service, and the approval is refused (then healed)."""
    event = parse_event(record("ct_stop_logging"))
    pending = Pending.of(event, decide(event, MEMBER).reason, datetime(2026, 11, 20, 10, 1, tzinfo=UTC))
    direct = assumed_directly("ct_stop_logging")["detail"]
    direct["userIdentity"]["arn"] = event.actor.arn  # the same session name, even
    assert "not through cloudformation.amazonaws.com" in (confirmation(pending, direct) or "")
    at_a_path = record("ct_stop_logging")["detail"]
    issuer = f"arn:aws:iam::{ACCOUNT}:role/x/AWSControlTowerExecution"
    at_a_path["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = issuer
    assert "not by arn:aws:iam" in (confirmation(pending, at_a_path) or "")
