"""Control Tower's organization trail as one Region sees it (implements
:class:`guardian.flows.control_tower.OrganizationTrails`): one DescribeTrails with shadow trails, which lists an
organization trail in every Region and every member account, and its GetTrailStatus by ARN (a shadow trail's
status is asked for by its ARN: CloudTrail API Reference, GetTrailStatus). The same list is what the sweep detects
Control Tower's landing zone by (guardian.flows.control_tower.detection)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider


class ControlTowerAdapter:
    _clients: ClientProvider

    def organization_trail(self, region: str, name: str, account: str) -> dict[str, Any] | None:
        """The organization trail ``name`` of ``account`` with its ``IsLogging``, or None if ``region`` sees none."""
        client = self._clients.cloudtrail(region)
        for trail in self.trails_with_shadows(region):
            arn = str(trail.get("TrailARN", ""))
            if trail.get("Name") == name and trail.get("IsOrganizationTrail") and arn.split(":")[4:5] == [account]:
                status = client.get_trail_status(Name=arn)
                return {**trail, "IsLogging": bool(status.get("IsLogging"))}
        return None

    def trails_with_shadows(self, region: str) -> list[dict[str, Any]]:
        """Every trail ``region`` lists, organization trails' shadows included (one DescribeTrails)."""
        listed = self._clients.cloudtrail(region).describe_trails(includeShadowTrails=True).get("trailList", [])
        return [dict(t) for t in listed]
