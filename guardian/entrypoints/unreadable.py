"""The fallback for an event the guardian's own code failed to read: it may be tampering, so an alert goes out anyway.

Imported only on that path (a fault in the guardian), never at cold start.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from guardian.entrypoints.runtime import adapter, bounded, config, invocation
from guardian.flows.deliver import AlertNotPublished
from guardian.flows.finding_batch import noted, opened
from guardian.model.alert import fallback_alert
from guardian.model.rules import Outcome
from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.results import Result
    from guardian.ports.invocation import Invocation

UNREADABLE = "unreadable"  # the finding's generator (guardian.model.asff: a watch rule's id names it)


def unreadable(event: Any, exc: Exception, context: Any) -> dict[str, Any]:
    """An event the guardian's own code failed to read: it may be tampering, so the fallback alert goes out (and
    the failure is logged with the event), then its copies (a Security Hub finding...: alert_copies); raises
    AlertNotPublished only if SNS refuses."""
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
        message_id = (aws := adapter(settings)).publish(alert.publish_kwargs(settings.topic_arn))
    except Exception as failure:
        raise AlertNotPublished(f"alert NOT published for unreadable event {event_id[:80]}: {failure}") from failure
    answer: dict[str, Any] = {
        "outcome": Outcome.UNREADABLE.value,
        "reason": problem,
        "event_id": event_id,
        "alert_published": message_id,
    }
    try:  # its copies, once the alert is out, as the other routes' (guardian.entrypoints.alert_copies)
        from guardian.entrypoints.alert_copies import copied  # noqa: PLC0415

        run = invocation(context, settings)
        if opened(run, settings):
            noted(_result(record, (event_id, name, problem), settings, run), run, alert)
            failed = copied(run, aws, settings)
            answer |= {"steps_failed": failed} if failed else {}
    except Exception as failure:  # the copies only: the alert went out
        logging.getLogger(__name__).error("the unreadable event's alert not copied", exc_info=failure)
        answer["steps_failed"] = ["copy the alert"]
    return answer


def _result(record: dict[str, Any], known: tuple[str, object, str], settings: Config, run: Invocation) -> Result:
    """The fallback alert as a result, for its copies: CRITICAL, about the account, what is known of the event
    (``known``: its id, its name, the problem)."""
    from guardian.model.decide import Decision  # noqa: PLC0415
    from guardian.model.events import guardian_event  # noqa: PLC0415
    from guardian.model.results import Result  # noqa: PLC0415
    from guardian.model.rules import Action, Rule, Severity, Subject  # noqa: PLC0415
    from guardian.model.safe import cut, text  # noqa: PLC0415

    event_id, name, problem = known
    source = cut(text(str(record.get("eventSource") or "unknown")), 128)
    region = str(record.get("awsRegion") or settings.topic_region)
    event = guardian_event(
        cut(text(event_id), 256),
        name=cut(text(name if isinstance(name, str) else "unknown"), 128),
        source=source,
        event_type="GuardianFault",
        at=run.clock(),
        region=cut(text(region), 64),
        account_id=settings.account_id,
        raw={},
    )
    severity, outcome = Severity.CRITICAL, Outcome.UNREADABLE
    rule = Rule("The guardian failed to read an event", severity, None, severity, severity, source, Subject.ACCOUNT)
    decision = Decision(Action.ALERT, outcome, severity, problem, rule, watch_rule=UNREADABLE)
    return Result(event, decision, outcome, severity, diagnosis=problem)
