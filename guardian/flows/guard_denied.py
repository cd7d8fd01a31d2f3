"""A call on the guardian's own resources that AWS refused (rule ``<stack>-guard-denied``, marked
``{"guardian": "guard-denied"}``): one MEDIUM alert, "attempt on the guardian refused", through :func:`deliver`.

The self-protection guards go from EventBridge straight to the topic, CRITICAL, with no function on the path; any
principal can loop calls AWS denies (``lambda delete-function``, ``sns subscribe``), and each would be a CRITICAL
email for every address, locally and centrally. A refused call changed nothing: it is an attempt, grouped per
principal with the other denied attempts (one alert at once, then one digest per window) and held to the publish cap,
and the security account gets its copy through deliver's central copy. A record without ``errorCode`` (only
EventBridge can send these, but trust nothing) is a change, alerted CRITICAL and never grouped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from guardian.flows.deliver import deliver
from guardian.model.decide import Decision
from guardian.model.events import MalformedEvent, parse_event
from guardian.model.results import Result
from guardian.model.rules import Action, Outcome, Rule, Severity, Subject
from guardian.model.safe import cut, text
from guardian.model.stack_changes import NAMING_FIELDS as STACK_NAMING_FIELDS
from guardian.model.subjects import GUARD_DENIED, REFUSED

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.events import CloudTrailEvent
    from guardian.ports.calls import Delivery
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
NAME_LIMIT = 200  # a resource's name in the alert: the caller wrote it
# requestParameters fields that name a guardian resource: those CloudFormation's calls are confirmed by, and the
# guards' other fields (log groups, secrets, the default bus).
NAMING_FIELDS = (*STACK_NAMING_FIELDS, "logGroupName", "secretId", "eventBusName")


def handle_guard_denied(event: dict[str, Any], aws: Delivery, config: Config, run: Invocation) -> dict[str, Any]:
    """Alert the refused call (MEDIUM, grouped and capped); returns what was decided."""
    detail = event.get("detail")
    if not isinstance(detail, dict) or "eventName" not in detail:
        detail = {"eventName": "unknown", "eventSource": "unknown", "errorCode": "unreadable record"}
    try:
        parsed = parse_event(detail)
    except MalformedEvent as exc:  # an eventName that is not a string: still an attempt on the guardian
        LOG.error("refused call on the guardian unreadable", extra={"problem": str(exc)})
        parsed = parse_event({**detail, "eventName": text(str(detail.get("eventName")))})
    result = refused(parsed)
    sent = deliver(result, aws, config, run)
    return {
        "guard_denied": result.outcome.value,
        "severity": result.severity.value,
        "event_id": parsed.event_id,
        "alert_published": sent.published,
        "held": sent.held,
    }


def refused(event: CloudTrailEvent) -> Result:
    """The alert's decision: MEDIUM "attempt on the guardian refused", or CRITICAL if the call was not refused."""
    name = text(event.event_name or "?")
    name = name[:-8] if name[-8:].isdigit() and event.event_source == "lambda.amazonaws.com" else name  # API version
    resource = cut(text(resource_named(event.request_parameters)), NAME_LIMIT)
    if event.failed:
        what = f"{REFUSED}: {name} on {resource}"
        why = f"AWS refused the call ({event.error_code}): nothing changed; repeated attempts are grouped per caller"
        outcome, severity = Outcome.ATTEMPT_FAILED, Severity.MEDIUM
    else:  # never sent by the rule: a success here is a change to the guardian (the guards alert it too)
        what = f"Guardian changed: {name} on {resource}"
        why = "the record carries no errorCode: the call succeeded, a change to the guardian's own resource"
        outcome, severity = Outcome.ALERTED, Severity.CRITICAL
    rule = Rule(what, severity, None, Severity.MEDIUM, Severity.CRITICAL, event.event_source or "", Subject.ACCOUNT)
    decision = Decision(Action.ALERT, outcome, severity, why, rule, watch_rule=GUARD_DENIED)
    return Result(event, decision, outcome, severity)


def resource_named(parameters: Any) -> str:
    """The guardian resource the call names (the first naming field present), or "?"."""
    if not isinstance(parameters, Mapping):
        return "?"
    for field in NAMING_FIELDS:
        value = parameters.get(field)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if isinstance(value, str | int) and str(value):
            return str(value)
    return "?"
