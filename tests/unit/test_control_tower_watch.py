"""Control Tower's watch rules (rules/watch.json): its landing zone lifecycle events are alerted LOW as context for
the trail changes they bring, and a change to who may act as Control Tower (its roles created, their trust or
permissions changed) HIGH. The same answer from the function's compiled rules, the packed EventBridge rules and
moto's matcher. Records: ``tests/events/control_tower/SOURCES.md``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from guardian.model.decide import PolicyContext
from guardian.model.event_pattern import envelope, matches
from guardian.model.events import parse_event
from guardian.model.rules import Action, Outcome, Severity
from guardian.model.watch import parse_compiled, watch_decision
from tests.support import ACCOUNT, REPO_ROOT, load_event
from watch_rules.compile import Compiled, compile_rules
from watch_rules.schema import load

LIFECYCLE, ROLES = "control-tower-landing-zone-changed", "control-tower-role-changed"
DELETED = "control-tower-landing-zone-deleted"
EXPECTED: dict[str, tuple[str, Severity] | None] = {
    "control_tower/lifecycle_update_landing_zone": (LIFECYCLE, Severity.LOW),
    "control_tower/lifecycle_reset_landing_zone": (LIFECYCLE, Severity.LOW),  # back to the manifest: context
    "control_tower/lifecycle_delete_landing_zone": (DELETED, Severity.HIGH),  # its organization trail goes too
    "control_tower/lifecycle_create_managed_account": None,  # a lifecycle event that does not touch the trail
    "control_tower/iam_update_assume_role_policy_ct_execution": (ROLES, Severity.HIGH),
    "control_tower/iam_create_role_ct_execution": (ROLES, Severity.HIGH),
    "control_tower/iam_attach_role_policy_ct_admin": (ROLES, Severity.HIGH),
    "watch/iam_put_role_policy": ("cis-iam-policy-changed", Severity.MEDIUM),  # another role: only CIS 4.4
}


@pytest.fixture(scope="module")
def compiled() -> Compiled:
    return compile_rules(load(REPO_ROOT / "rules" / "watch.json"))


def record(name: str) -> dict[str, Any]:
    return dict(envelope(load_event(name)))


@pytest.mark.threat("ct-role-trust")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_function_alerts_control_towers_lifecycle_and_role_changes(name: str, compiled: Compiled) -> None:
    rules = parse_compiled(json.dumps(compiled.runtime_document()))
    decision = watch_decision(parse_event(load_event(name)), rules, PolicyContext(ACCOUNT))
    expected = EXPECTED[name]
    if expected is None:
        assert decision is None
        return
    assert decision is not None
    assert (decision.watch_rule, decision.severity) == expected
    assert (decision.action, decision.outcome) == (Action.ALERT, Outcome.ALERTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_deployed_eventbridge_rules_and_moto_route_the_same_records(name: str, compiled: Compiled) -> None:
    expected = EXPECTED[name]
    routed = {rule_id for g in compiled.groups if matches(g.pattern, record(name)) for rule_id in g.rule_ids}
    for rule_id in (LIFECYCLE, DELETED, ROLES):
        pattern = dict(compiled.patterns[rule_id])
        moto = bool(EventPattern(json.dumps(pattern), pattern).matches_event(record(name)))  # type: ignore[arg-type]
        assert matches(pattern, record(name)) is moto is (expected is not None and expected[0] == rule_id)
    if expected is not None:
        assert expected[0] in routed
