"""The sweep's alert on a protected trail tagged ``cloudtrail-guardian:mode=observe`` under heal: the tag is ignored
(the trail is healed all the same) and alerted HIGH, once a day while it lasts. Sweep only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from guardian.flows.deliver import deliver
from guardian.flows.observe import IGNORED
from guardian.model.decide import Decision
from guardian.model.findings import sweep_event
from guardian.model.results import Result
from guardian.model.rules import SWEEP_RULE, Action, Outcome, Severity

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.model.trail import TrailState
    from guardian.ports.calls import Delivery
    from guardian.ports.invocation import Invocation


def report_ignored_tag(aws: Delivery, config: Config, trail: TrailState, *, started: datetime, run: Invocation) -> None:
    """The sweep found a protected trail tagged ``observe`` under heal: alert HIGH, once a day while it lasts."""
    event, ref = sweep_event(
        trail,
        account_id=config.account_id,
        detected_at=started,
        details={"mode_tag": "observe", "ignored": True},
        event_id=f"sweep-mode-tag-{started:%Y%m%d}-{trail.home_region}-{trail.name}",
    )
    decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.HIGH, IGNORED, SWEEP_RULE, ref)
    deliver(Result(event, decision, Outcome.ALERTED, Severity.HIGH), aws, config, run)
