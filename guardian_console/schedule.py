"""The deployed sweep's interval, from its schedule rule: what a gap in the sweeps and a stale chain head are
measured against."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from guardian_console.deployed import Deployed

DEFAULT_INTERVAL = 300  # sweepMinutes' default
RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def interval_of(session: Any, deployed: Deployed) -> tuple[int, str]:
    """The sweep's interval, from its schedule rule (``<stack>-sweep-schedule``, ``rate(N minutes)``)."""
    name = f"{deployed.stack}-sweep-schedule"
    try:
        expression = str(session.client("events").describe_rule(Name=name).get("ScheduleExpression", ""))
    except (ClientError, BotoCoreError) as exc:
        return DEFAULT_INTERVAL, f"assumed 5 minutes: rule {name} not read ({describe_failure(exc)})"
    found = RATE.fullmatch(expression)
    if not found:
        return DEFAULT_INTERVAL, f"assumed 5 minutes: rule {name} has {expression!r}"
    return int(found[1]) * UNIT_SECONDS[found[2].rstrip("s")], f"rule {name}: {expression}"
