"""Never a second organization trail where Control Tower has one (guardian.model.control_tower): a deleted
organization trail is recreated as an account trail only while Control Tower's organization trail is found live
(read in the recreated trail's home Region, where it shows as itself or its shadow), and the alert says so."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from guardian.model.control_tower import TRAIL_NAME

if TYPE_CHECKING:
    from guardian.model.control_tower import ControlTower
    from guardian.model.trail import TrailState

NOT_RESTORED = (
    "its organization coverage was deliberately not restored: Control Tower's organization trail "
    f"{TRAIL_NAME} is live, and the guardian never makes a second one; recreated as an account trail, recorded so"
)


@runtime_checkable
class OrganizationTrails(Protocol):
    """One Region's view of an account's organization trail (guardian.adapters.control_tower)."""

    def organization_trail(self, region: str, name: str, account: str) -> dict[str, Any] | None: ...


def recreate_as(aws: object, ct: ControlTower | None, baseline: TrailState) -> TrailState:
    """The trail to recreate from ``baseline``: an account trail in place of an organization trail beside Control
    Tower's live one; else the baseline (a port that cannot read it restores the baseline as it was)."""
    if ct is None or not baseline.organization or baseline.name == TRAIL_NAME:
        return baseline
    if not isinstance(aws, OrganizationTrails):
        return baseline
    found = aws.organization_trail(baseline.home_region, TRAIL_NAME, ct.management_account)
    return ct.sole_organization_trail(baseline, covered=bool(found and found.get("IsLogging")))


def coverage_note(baseline: TrailState, target: TrailState, recreated: bool) -> str | None:
    """What the alert of a recreation says when organization coverage was left to Control Tower's trail."""
    return NOT_RESTORED if recreated and baseline.organization and not target.organization else None
