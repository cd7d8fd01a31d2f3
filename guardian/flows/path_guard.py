"""A check of the alert path that cannot run is itself a finding: a topic policy that denies the guardian
``sns:*`` refuses the sweep's GetTopicAttributes as well as its alerts, and a check that only failed the run would
leave nobody told. So such a check gets one CRITICAL alert (its security-account copy and "alert path blocked" go
out even when the local topic refuses it) and a failed status, and the other checks still run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TypeVar

from guardian.flows.deliver import AlertNotPublished, deliver
from guardian.model.changes import Change, Effect
from guardian.model.findings import guardian_finding
from guardian.ports.errors import AWS_ERRORS, describe_failure

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from guardian.model.config import Config
    from guardian.ports.calls import Delivery
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
T = TypeVar("T")


def contained(
    part: Callable[[], list[T]],
    aws: Delivery,
    config: Config,
    *,
    started: datetime,
    run: Invocation,
    failed: Callable[[str, str], T],
) -> list[T]:
    """``part()``, or, if AWS refuses one of its calls, one CRITICAL alert and a failed check naming the error."""
    try:
        return part()
    except AWS_ERRORS as exc:
        what, error = "check refused", describe_failure(exc)  # one alert a sweep, whichever checks were refused
    LOG.error("a check of the alert path could not run", extra={"error": error})
    finding = guardian_finding(
        ("alert_path", what),
        account_id=config.account_id,
        region=config.topic_region,
        detected_at=started,
        reason=f"the alert path could not be checked ({error}): its topic, keys or subscriptions may refuse the "
        "guardian, which then cannot alert or put them back from here",
        found=((Change("checked", True, False, Effect.WEAKENED),), ()),
        healed=False,
    )
    try:
        deliver(finding, aws, config, run)
    except AlertNotPublished as exc:  # its security-account copy went out, with "alert path blocked"
        LOG.error("the alert of an alert-path check that could not run was refused", extra={"error": str(exc)})
    return [failed(f"{what}: {error}", "heal_failed")]  # the run's summary names the refusal
