"""Lambda entry point: wiring only. Parse → decide → act, with configuration and clients created on first use."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

from guardian.aws import AwsAdapter, Boto3Clients
from guardian.config import CLIENT_VARIABLES, VARIABLES, Config
from guardian.events import API_CALL_DETAIL_TYPE, CloudTrailEvent, MalformedEvent, parse_event
from guardian.logs import configure, get_logger
from guardian.policy import Action, Decision, Outcome, decide
from guardian.workflow import handle

LOG = get_logger()
_RAW_LOG_LIMIT = 64 * 1024
_state: dict[tuple[str | None, ...], Any] = {}


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    config = _config()
    try:
        parsed = parse_event(event)
    except MalformedEvent as exc:
        LOG.error("rejected malformed event", extra={"problem": str(exc), "raw_event": _bounded(event)})
        return {"outcome": "rejected", "reason": str(exc)}
    decision = decide(parsed, config.policy)
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
                "raw_event": _bounded(event),
            },
        )
        return {"outcome": decision.outcome.value, "reason": decision.reason, "event_id": parsed.event_id}
    problems = _problems(parsed, decision)
    if problems:
        # Acted on anyway (a tamper event is never dropped), but the input was not what the rule sends: say so once.
        LOG.error(
            "incomplete or unexpected event",
            extra={
                "problems": problems,
                "event_id": parsed.event_id,
                "event_name": parsed.event_name,
                "raw_event": _bounded(event),
            },
        )
    adapter = AwsAdapter(
        _clients(), topic_arn=config.topic_arn, topic_region=config.topic_region, evidence_bucket=config.evidence_bucket
    )
    result, published = handle(
        parsed,
        decision,
        adapter,
        topic_arn=config.topic_arn,
        evidence_bucket=config.evidence_bucket,
        verify_attempts=config.verify_attempts,
        verify_delay_seconds=config.verify_delay_seconds,
        clock=_now,
        sleep=time.sleep,
        function_name=getattr(context, "function_name", None),
        request_id=getattr(context, "aws_request_id", None),
    )
    return {
        "outcome": result.outcome.value,
        "severity": result.severity.value,
        "event_id": parsed.event_id,
        "alert_published": published,
        "blind_window_seconds": result.blind_window_seconds,
    }


def _problems(parsed: CloudTrailEvent, decision: Decision) -> list[str]:
    problems = list(parsed.problems)
    if not parsed.is_api_call:
        problems.append(f"detail-type is {parsed.detail_type!r}, expected {API_CALL_DETAIL_TYPE!r}")
    if decision.outcome is Outcome.UNIDENTIFIED_TRAIL:
        problems.append("the event does not name a trail (requestParameters missing, omitted or unreadable)")
    return problems


def reset() -> None:
    """Forget cached configuration and clients (tests change the environment between cases)."""
    _state.clear()


def _config() -> Config:
    """Parsed and validated on the first invocation; again only if a GUARDIAN_* variable changed (never in Lambda,
    but one test process or the local simulation may run several environments)."""
    key = ("config", *(os.environ.get(name) for name in VARIABLES))
    config = _state.get(key)
    if config is None:
        configure()
        _state.clear()
        config = _state[key] = Config.from_env(os.environ)
    assert isinstance(config, Config)
    return config


def _clients() -> Boto3Clients:
    """Kept for warm invocations; created anew only if the endpoint, Region or credentials in the environment change."""
    key = ("clients", *(os.environ.get(name) for name in CLIENT_VARIABLES))
    clients = _state.get(key)
    if clients is None:
        for stale in [k for k in _state if k[0] == "clients"]:
            del _state[stale]
        clients = _state[key] = Boto3Clients()
    assert isinstance(clients, Boto3Clients)
    return clients


def _now() -> datetime:
    return datetime.now(UTC)


def _bounded(event: Any) -> Any:
    """The raw input for the log, so nothing is lost; cut at 64 KiB to stay within one log event."""
    text = json.dumps(event, default=str)
    return event if len(text) <= _RAW_LOG_LIMIT else text[:_RAW_LOG_LIMIT] + "…(truncated)"
