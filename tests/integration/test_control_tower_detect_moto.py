"""``controlTower: auto`` without ``managementAccountId`` (``GUARDIAN_CONTROL_TOWER=detect``, audit 24 gap 7): the
sweep derives the management account from Control Tower's organization trail as this Region lists it (its shadow's
ARN names the management account) and says so in its summary; the heal path makes no call for it and judges Control
Tower's roles as anyone's until the setting names the account."""

from __future__ import annotations

from typing import Any

import pytest

from guardian.adapters.control_tower import ControlTowerAdapter
from guardian.entrypoints import runtime, sweep
from tests.integration.test_control_tower_moto import (
    CT_TRAIL,
    ct,
    landing_zone,  # noqa: F401 - the fixture
)
from tests.integration.world import World
from tests.support import ACCOUNT, load_event

MANAGEMENT = "111122223333"


@pytest.fixture
def detecting(landing_zone: World, monkeypatch: pytest.MonkeyPatch) -> World:  # noqa: F811 - the fixture
    monkeypatch.setenv("GUARDIAN_CONTROL_TOWER", "detect")
    runtime.reset()
    return landing_zone


def _with_shadow(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto lists no other account's organization trail: add the shadow AWS lists in a member account (DescribeTrails
    with includeShadowTrails: the trail's own ARN, in the management account, and IsOrganizationTrail)."""
    listed = ControlTowerAdapter.trails_with_shadows

    def with_shadow(self: ControlTowerAdapter, region: str) -> list[dict[str, Any]]:
        [mine] = [t for t in listed(self, region) if t["Name"] == CT_TRAIL]
        shadow = {**mine, "TrailARN": f"arn:aws:cloudtrail:us-east-1:{MANAGEMENT}:trail/{CT_TRAIL}"}
        return [t for t in listed(self, region) if t["Name"] != CT_TRAIL] + [shadow]

    monkeypatch.setattr(ControlTowerAdapter, "trails_with_shadows", with_shadow)


def test_the_sweep_detects_the_management_account_from_control_towers_organization_trail(
    detecting: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_shadow(monkeypatch)
    summary = sweep.lambda_handler({}, None)
    assert summary["control_tower"].startswith(f"Control Tower detected: management account {MANAGEMENT};")


def test_an_organization_trail_of_this_account_named_like_control_towers_detects_nothing(detecting: World) -> None:
    """This account's own trail (an insider's, or the management account's own) names this account: not taken."""
    summary = sweep.lambda_handler({}, None)
    assert summary["control_tower"].startswith("Control Tower not detected")
    assert ACCOUNT not in summary["control_tower"]


def test_without_the_setting_naming_it_control_towers_role_is_healed_as_anyone(detecting: World) -> None:
    ct().update_trail(Name=CT_TRAIL, EnableLogFileValidation=False)
    result = detecting.invoke(load_event("control_tower/ct_update_trail"))
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert ct().describe_trails(trailNameList=[CT_TRAIL])["trailList"][0]["LogFileValidationEnabled"] is True


def test_the_sweep_says_nothing_of_control_tower_where_the_setting_names_the_account(landing_zone: World) -> None:  # noqa: F811
    assert "control_tower" not in sweep.lambda_handler({}, None)
