"""The sweep's alerts' other copies, made as the event path makes its own after each alert
(:mod:`guardian.flows.after_alert`): an OCSF Detection Finding in the guardian's bucket (``ocsf``,
:mod:`guardian.flows.ocsf_findings`) and the alert as mailed on an event bus (``ownEvents``,
:mod:`guardian.flows.own_events`; not for an alert held for its group's digest: the digest is the one mailed).

Once the run is done (:mod:`guardian.flows.finding_batch` kept its alerts), after every alert went out: each copy
within the time the sweep has left less a margin; what fails or does not fit is logged and counted, never raised (the
alerts are out already), and the guardian's evidence records stay the proof.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from guardian.model.config import Config
    from guardian.model.results import Result
    from guardian.ports.calls import Everything
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
MARGIN = 5.0  # seconds kept before the sweep's timeout (as guardian.flows.sweep_findings)


@dataclass(frozen=True)
class Copied:
    """How many copies were made, and the failures (counted, never raised)."""

    made: int = 0
    failed: int = 0
    errors: tuple[str, ...] = ()


def copied(entries: list[tuple[Result, str | None]], aws: Everything, config: Config, run: Invocation) -> Copied:
    """Each kept alert's OCSF object and own event, where the setting is on."""
    if not config.ocsf and config.own_events is None:
        return Copied()
    from guardian.flows.budget import within  # noqa: PLC0415
    from guardian.flows.ocsf_findings import write_ocsf_finding  # noqa: PLC0415
    from guardian.flows.own_events import put_alert_event  # noqa: PLC0415
    from guardian.model.own_events import AS_REMEDIATION  # noqa: PLC0415
    from guardian.ports.errors import describe_failure  # noqa: PLC0415

    made, errors = 0, list[str]()
    if config.own_events is not None and config.own_events[0] == AS_REMEDIATION:
        try:
            config = replace(config, own_events=remediations_bus(aws, config))
        except Exception as exc:  # noqa: BLE001 - the copies only: counted, never raised
            config = replace(config, own_events=None)
            errors.append(f"own events: the remediation function's bus not read ({describe_failure(exc)})")
    for result, message in entries:
        calls: list[tuple[str, Callable[[], object]]] = []
        if config.ocsf:
            calls.append(("OCSF finding", partial(write_ocsf_finding, result, aws, config, run)))
        if config.own_events is not None and message is not None:
            calls.append(("own event", partial(put_alert_event, message, aws, config)))
        for what, call in calls:
            left = None if run.remaining is None else run.remaining() - MARGIN
            if left is not None and left <= 0:
                errors.append(f"{what}: no time left")
                continue
            try:
                within(left, call, what)
                made += 1
            except Exception as exc:  # noqa: BLE001 - a copy of an alert already sent: counted, never raised
                errors.append(f"{what}: {describe_failure(exc)}")
    if errors:
        LOG.error("some of the sweep's alert copies were not made", extra={"failed": len(errors), "first": errors[0]})
    return Copied(made, len(errors), tuple(errors[:20]))


def remediations_bus(aws: Everything, config: Config) -> tuple[str, str] | None:
    """The bus and detail-type in the remediation function's environment: the sweep's own is near Lambda's 4 KB, so
    it says ``remediation`` (guardian.model.own_events.AS_REMEDIATION) and reads them once a run, here."""
    from guardian.model.own_events import AS_REMEDIATION, own_events_config  # noqa: PLC0415

    name = next((f for f in config.own_functions if f.endswith("-" + AS_REMEDIATION)), None)
    found = None if name is None else aws.function_config(name)
    variables = ((found or {}).get("Environment") or {}).get("Variables")
    bus = own_events_config(variables) if isinstance(variables, dict) else None
    if bus is None or bus[0] == AS_REMEDIATION:
        raise RuntimeError(f"the remediation function ({name or 'not listed'}) names no bus for own events")
    return bus
