"""Lambda entry point: wiring only. Parse → decide → act, with configuration and clients created on first use.

Raises only so that Lambda retries: :class:`~guardian.flows.handle_event.HealFailed` (after its alert),
:class:`~guardian.flows.deliver.AlertNotPublished` (SNS refused the alert) and ``ConfigError`` (the function's
configuration is missing: nothing can be alerted). Anything else reading an event is alerted, then returned.
"""

from __future__ import annotations

import logging
from typing import Any

from guardian.entrypoints import runtime
from guardian.flows.handle_event import handle
from guardian.model.decide import Decision, decide
from guardian.model.event_time import check_time
from guardian.model.events import CloudTrailEvent, MalformedEvent, parse_event
from guardian.model.refs import API_CALL_DETAIL_TYPE
from guardian.model.rules import Action, Outcome

LOG = logging.getLogger(__name__)
reset = runtime.reset  # kept here too: tests and the simulation reset the handler between environments


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    if isinstance(event, dict) and event.get("guardian") == "stack-call":  # a -guard-cfn-* rule; never a heal
        from guardian.entrypoints.stack_calls import confirm  # noqa: PLC0415 - off the heal path's cold start

        return confirm(event, context)
    if isinstance(event, dict) and event.get("guardian") == "guard-denied":  # refused calls on the guardian
        from guardian.entrypoints.stack_calls import refused  # noqa: PLC0415 - off the heal path's cold start

        return refused(event, context)
    config = runtime.config()
    try:
        parsed = check_time(parse_event(event), runtime.now())
        decision = decide(parsed, config.policy)
        if not decision.alerts:  # not the table's: a watch rule may still alert on it (never on the heal path)
            from guardian.entrypoints.watching import watched  # noqa: PLC0415

            decision = watched(parsed, config) or decision
    except MalformedEvent as exc:
        LOG.error("rejected malformed event", extra={"problem": str(exc), "raw_event": runtime.bounded(event)})
        return {"outcome": "rejected", "reason": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a fault in the guardian's own reading: the event may be tampering
        from guardian.entrypoints.unreadable import unreadable  # noqa: PLC0415 - the fault path only

        return unreadable(event, exc, context)
    if not decision.alerts:
        level = logging.ERROR if decision.action is Action.REJECT else logging.WARNING
        LOG.log(
            level,
            "event not acted on",
            extra={
                "outcome": decision.outcome.value,
                "reason": decision.reason,
                "event_id": parsed.event_id,
                "event_name": parsed.event_name,
                "raw_event": runtime.bounded(event),
            },
        )
        return {"outcome": decision.outcome.value, "reason": decision.reason, "event_id": parsed.event_id}
    try:
        aws, run = runtime.adapter(config), runtime.invocation(context, config)
        handled = handle(parsed, decision, aws, config, run)
        if handled.result.outcome is Outcome.IGNORED and decision.watch_rule is None:
            # A row about keys, buckets or log groups found it is not a protected trail's: a watch rule may alert.
            from guardian.entrypoints.watching import watched  # noqa: PLC0415

            second = watched(parsed, config)
            if second is not None:
                decision = second
                handled = handle(parsed, second, aws, config, run)
    finally:
        # An unexpected shape is acted on anyway (a tamper event is never dropped) and reported once, after the
        # heal: serialising the raw event must not delay StartLogging.
        problems = _problems(parsed, decision)
        if problems:
            LOG.error(
                "incomplete or unexpected event",
                extra={
                    "problems": problems,
                    "event_id": parsed.event_id,
                    "event_name": parsed.event_name,
                    "raw_event": runtime.bounded(event),
                },
            )
    result = handled.result
    return {
        "outcome": result.outcome.value,
        "severity": result.severity.value,
        "event_id": parsed.event_id,
        "alert_published": handled.published,
        "blind_window_seconds": result.blind_window_seconds,
        "steps_failed": list(handled.steps_failed),
    }


def _problems(parsed: CloudTrailEvent, decision: Decision) -> list[str]:
    problems = list(parsed.problems)
    if not parsed.is_api_call and decision.watch_rule is None:
        problems.append(f"detail-type is {parsed.detail_type!r}, expected {API_CALL_DETAIL_TYPE!r}")
    if decision.outcome is Outcome.UNIDENTIFIED_TRAIL:
        problems.append("the event does not name a trail (requestParameters missing, omitted or unreadable)")
    return problems
