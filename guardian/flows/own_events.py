"""Put each alert mailed on an EventBridge bus as the guardian's own event (``ownEvents`` setting), for any team's
rules to route (:mod:`guardian.model.own_events`).

A step after the alert (:func:`guardian.flows.after_alert.steps_after`): only for an alert this call published (not
one held for its group's digest, nor a duplicate delivery), with the document as mailed and a ``verify`` object: the
evidence record's key and SHA-256, read from its signature sidecar (signed before the steps after the alert run), as
the OCSF copy reads it. A refused entry raises, so the step is reported as failed; the alert is never affected. A
copy, not the channel: a receiver checks ``verify`` against the signed record.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from guardian.ports.finding_copies import OcsfCalls, OwnEventCalls

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.ports.calls import Everything

from guardian.flows.sidecars import signed_sha256

LOG = logging.getLogger(__name__)


def put_alert_event(message: str, aws: Everything, config: Config) -> bool:
    """PutEvents of the alert's document ``message``; False where the setting is off."""
    if config.own_events is None or not isinstance(aws, OwnEventCalls):
        return False
    from guardian.model.own_events import AS_REMEDIATION, alert_entry, evidence_key_of  # noqa: PLC0415

    bus, detail_type = config.own_events
    if bus == AS_REMEDIATION:  # resolved once a run by the sweep (guardian.flows.sweep_copies) before it gets here
        raise RuntimeError("the remediation function's bus for the guardian's own events was not read")
    key = evidence_key_of(message)
    sha256 = signed_sha256(key, aws, "own event") if key is not None and isinstance(aws, OcsfCalls) else None
    entry = alert_entry(message, bus_arn=bus, detail_type=detail_type, evidence_sha256=sha256)
    aws.put_own_event(entry)
    LOG.info("alert put on the event bus", extra={"bus": bus, "detail_type": entry["DetailType"]})
    return True
