"""The demo's verdict (audit 24, gap 10): act 1 passes only if its Security Hub finding on the trail went NEW ->
RESOLVED (issue 24's "Done when"); a finding left NEW, or none, fails the demo."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from simulation.scenario import TRAIL, LifecycleAct, LostEvent, Outcome, SwitchOffAct
from simulation.story import results

TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:123456789012:trail/{TRAIL}"


def finding(*workflows: str, resource: str = TRAIL_ARN) -> dict[str, Any]:
    """A finding as simulation.security_hub.findings_told tells it."""
    return {"generator": "cloudtrail-guardian/StopLogging", "resource": resource, "count": "1",
            "compliance": "PASSED", "workflows": list(workflows)}  # fmt: skip


def passing() -> Outcome:
    """Every act as the demo's passing run leaves it."""
    trail = {"Name": TRAIL, "IsMultiRegionTrail": True}
    return Outcome(
        status_before={"IsLogging": True},
        status_after_attack={"IsLogging": False},
        status_after={"IsLogging": True},
        event={},
        pattern_matches=True,
        handler_result={"outcome": "healed"},
        notifications=[{"Subject": "healed", "Message": "{}"}],
        evidence={},
        evidence_bucket="evidence",
        evidence_key="evidence/x.json",
        evidence_lock={},
        first_sweep={},
        lost_event=LostEvent(trail, False, {}, trail, {"IsLogging": True}, [{}]),
        lifecycle=LifecycleAct([{"Expiration": {"Days": 1}}], True, {}, None, [{}]),
        switched_off=SwitchOffAct("DISABLED", 0, {"severity": "CRITICAL"}, {}, "ENABLED", []),
        findings=(finding("NEW", "RESOLVED"),),
    )


def test_the_demo_passes_with_act_ones_finding_new_then_resolved() -> None:
    verdicts = results(passing())
    assert all(ok for _, ok in verdicts), verdicts
    assert ("act 1's Security Hub finding went NEW -> RESOLVED", True) in verdicts


@pytest.mark.parametrize(
    "findings",
    [
        (),
        (finding("NEW"),),
        (finding("RESOLVED"),),  # never NEW: not the heal's finding moving
        (finding("NEW", "RESOLVED", "NEW"),),  # reopened
        (finding("NEW", "RESOLVED", resource="arn:aws:s3:::some-bucket"),),  # another resource's
    ],
    ids=["none", "left-new", "never-new", "reopened", "other-resource"],
)
def test_a_demo_whose_finding_does_not_resolve_fails(findings: tuple[dict[str, Any], ...]) -> None:
    verdicts = results(replace(passing(), findings=findings))
    assert ("FAILED (act 1: its Security Hub finding did not go NEW -> RESOLVED)", False) in verdicts
