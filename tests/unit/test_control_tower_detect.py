"""``controlTower: auto`` detects the landing zone (audit 24, gap 7): Control Tower's organization trail, seen in a
member account as a shadow trail whose ARN names the management account, gives that account; a trail an insider can
make (any trail of this account, an account trail, another name) makes nobody Control Tower. Without
``managementAccountId`` the functions hear ``detect``: the sweep says what it found, the heal path stays closed."""

from __future__ import annotations

from typing import Any

import pytest

from guardian.model.config import Config
from guardian.model.control_tower import TRAIL_NAME, detected
from infra.settings import GuardianSettings
from tests.support import ACCOUNT

MANAGEMENT = "111122223333"


def listed(account: str, *, name: str = TRAIL_NAME, organization: bool = True) -> dict[str, Any]:
    """A trail as DescribeTrails (includeShadowTrails) lists it: an organization trail's shadow keeps its ARN."""
    return {
        "Name": name,
        "TrailARN": f"arn:aws:cloudtrail:us-east-1:{account}:trail/{name}",
        "HomeRegion": "us-east-1",
        "IsMultiRegionTrail": True,
        "IsOrganizationTrail": organization,
        "S3BucketName": f"aws-controltower-logs-{MANAGEMENT}-us-east-1",
    }


def test_control_towers_organization_trail_of_another_account_names_the_management_account() -> None:
    assert detected([listed(ACCOUNT, name="management-trail"), listed(MANAGEMENT)], ACCOUNT) == MANAGEMENT


@pytest.mark.parametrize(
    "trail",
    [
        listed(ACCOUNT),  # an insider's trail here (or the management account's own: managementAccountId says it)
        listed(ACCOUNT, organization=False),
        listed(MANAGEMENT, organization=False),  # never listed, but not an organization trail: not Control Tower's
        listed(MANAGEMENT, name="aws-controltower-BaselineCloudTrail-copy"),
        {"Name": TRAIL_NAME, "TrailARN": "not-an-arn", "IsOrganizationTrail": True},
        {"Name": TRAIL_NAME, "IsOrganizationTrail": "true"},
    ],
    ids=["this-account", "account-trail", "other-account-trail", "other-name", "no-arn", "no-bool"],
)
def test_a_trail_an_insider_can_make_makes_nobody_control_tower(trail: dict[str, Any]) -> None:
    assert detected([trail], ACCOUNT) is None


TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"


def test_detect_keeps_the_heal_path_closed_and_tells_the_sweep_to_look() -> None:
    env = {"GUARDIAN_TOPIC_ARN": TOPIC, "GUARDIAN_EVIDENCE_BUCKET": "evidence", "GUARDIAN_CONTROL_TOWER": "detect"}
    config = Config.from_env(env)
    assert (config.control_tower, config.policy.control_tower, config.control_tower_detect) == (None, None, True)
    named = Config.from_env({**env, "GUARDIAN_CONTROL_TOWER": MANAGEMENT})
    assert (named.control_tower_account, named.control_tower_detect) == (MANAGEMENT, False)


def test_auto_without_the_management_account_synthesizes_detect() -> None:
    def settings(**context: Any) -> GuardianSettings:
        return GuardianSettings.from_context(context.get)

    assert settings(controlTower="auto").control_tower_account == "detect"
    assert settings(controlTower="auto", managementAccountId=MANAGEMENT).control_tower_account == MANAGEMENT
    assert settings(managementAccountId=MANAGEMENT).control_tower_account is None
