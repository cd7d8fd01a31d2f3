"""Every AWS call beyond the heal path (implements :class:`guardian.ports.calls.Everything`). The sweep and every
restore use it; a StopLogging heal never loads it (see :meth:`guardian.adapters.heal.HealAdapter.full`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from guardian.adapters.control_tower import ControlTowerAdapter
from guardian.adapters.event_bus import EventBusAdapter
from guardian.adapters.event_rules import SecurityRulesAdapter
from guardian.adapters.grouping import GroupAdapter
from guardian.adapters.heal import HealAdapter
from guardian.adapters.heartbeat import HeartbeatAdapter
from guardian.adapters.lake import LakeAdapter
from guardian.adapters.lake_delivery import LakeDeliveryAdapter
from guardian.adapters.log_files import LogFileAdapter
from guardian.adapters.own import OwnAdapter
from guardian.adapters.own_events import OwnEventsAdapter
from guardian.adapters.own_settings import OwnSettingsAdapter
from guardian.adapters.security_hub import SecurityHubAdapter
from guardian.adapters.services import ServiceAdapter
from guardian.adapters.storage import StorageAdapter
from guardian.adapters.trails import TrailAdapter

if TYPE_CHECKING:
    from guardian.ports.calls import Everything


class FullAdapter(
    HealAdapter,
    TrailAdapter,
    StorageAdapter,
    ServiceAdapter,
    OwnAdapter,
    OwnSettingsAdapter,
    LogFileAdapter,
    LakeAdapter,
    LakeDeliveryAdapter,
    GroupAdapter,
    EventBusAdapter,
    HeartbeatAdapter,
    SecurityHubAdapter,
    OwnEventsAdapter,
    ControlTowerAdapter,
    SecurityRulesAdapter,
):
    """The heal-path calls, and all the others."""

    def full(self) -> Everything:
        return self
