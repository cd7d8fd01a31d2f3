"""Never a second organization trail where Control Tower has one (guardian.model.control_tower): a deleted
organization trail is recreated as an account trail only while Control Tower's organization trail is found live
(read in the recreated trail's home Region, where it shows as itself or its shadow), and the alert says so.

Detected, where ``controlTower`` is auto without ``managementAccountId`` (``GUARDIAN_CONTROL_TOWER=detect``): the
sweep, not the event path, derives the management account from Control Tower's organization trail
(:func:`guardian.model.control_tower.detected`: one DescribeTrails with shadow trails in the home Region a sweep, no
call on the heal path) and says so in its summary. Until ``managementAccountId`` names it, Control Tower's roles are
judged as anyone's (fail closed: a detection the heal path would have to fetch at event time, or trust unsigned, is
not worth a deployment exemption). It costs nothing where it matters: from landing zone 3.0 a member account holds
no trail of Control Tower's (the organization trail's shadow is not healed there), and the management account's own
trail names itself, so there, and in a landing zone before 3.0, the setting names the account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from guardian.model.control_tower import TRAIL_NAME, detected
from guardian.ports.errors import AWS_ERRORS, describe_error

if TYPE_CHECKING:
    from guardian.model.config import Config
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


@runtime_checkable
class TrailLists(Protocol):
    """The trails one Region lists, shadow trails included (guardian.adapters.control_tower)."""

    def trails_with_shadows(self, region: str) -> list[dict[str, Any]]: ...


def detection(aws: object, config: Config) -> str:
    """The sweep's word on the landing zone: detected (its management account), not detected, or why unread.
    Informational: it never fails the sweep."""
    if not isinstance(aws, TrailLists):
        return "Control Tower detection: not available here"
    region = config.topic_region
    try:
        found = detected(aws.trails_with_shadows(region), config.account_id)
    except AWS_ERRORS as exc:
        code, message = describe_error(exc)
        return f"Control Tower detection failed: {code}: {message}"
    if found is None:
        return f"Control Tower not detected: no organization trail {TRAIL_NAME} of another account in {region}"
    return (
        f"Control Tower detected: management account {found}; its roles are judged as anyone's until "
        "managementAccountId names it"
    )


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
