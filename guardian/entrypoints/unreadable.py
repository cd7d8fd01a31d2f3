"""The fallback for an event the guardian's own code failed to read: it may be tampering, so an alert goes out anyway.

Imported only on that path (a fault in the guardian), never at cold start.
"""

from __future__ import annotations

import logging
from typing import Any

from guardian.entrypoints.runtime import adapter, bounded, config
from guardian.flows.deliver import AlertNotPublished
from guardian.model.alert import fallback_alert
from guardian.model.rules import Outcome
from guardian.ports.errors import describe_failure


def unreadable(event: Any, exc: Exception, context: Any) -> dict[str, Any]:
    """An event the guardian's own code failed to read: it may be tampering, so the fallback alert goes out (and
    the failure is logged with the event); raises AlertNotPublished only if SNS refuses."""
    settings = config()
    detail = event.get("detail") if isinstance(event, dict) else None
    record = detail if isinstance(detail, dict) else event if isinstance(event, dict) else {}
    event_id, name = str(record.get("eventID", "unknown")), record.get("eventName")
    problem = f"reading the event failed ({describe_failure(exc)})"
    logging.getLogger(__name__).error(
        "the guardian failed to read an event: fallback alert", exc_info=exc, extra={"raw_event": bounded(event)}
    )
    alert = fallback_alert(
        event_id=event_id,
        event_name=name if isinstance(name, str) else None,
        outcome=Outcome.UNREADABLE.value,
        problem=problem,
        function_name=getattr(context, "function_name", None),
        account=settings.account_id,
    )
    try:
        message_id = adapter(settings).publish(alert.publish_kwargs(settings.topic_arn))
    except Exception as failure:
        raise AlertNotPublished(f"alert NOT published for unreadable event {event_id[:80]}: {failure}") from failure
    return {"outcome": Outcome.UNREADABLE.value, "reason": problem, "event_id": event_id, "alert_published": message_id}
