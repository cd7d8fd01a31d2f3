"""The deployed sweep's interval: what a gap in the sweeps and a stale chain head are measured against.

The live schedule rule (``<stack>-sweep-schedule``) is what anyone able to edit rules can set (``rate(30 days)``
would make a three-day-old head fresh); the sweep's signed baseline of that rule (``baselines/guardian-rules/``,
recorded as deployed) is not. The smaller of the two is used, and the source says when they differ; a disabled live
rule is no schedule at all: the deployed interval alone then. With neither, 5 minutes (``sweepMinutes``' default).
The baseline can be deleted (break-glass) and re-recorded by the sweep from an edited rule, so the stack's deployed
template (CloudFormation's own copy: no insider edits it short of deploying the stack) caps both when it can be read.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guardian.adapters.clients import Boto3Clients
from guardian.adapters.full import FullAdapter
from guardian.flows.baselines import read_verified
from guardian.model.baselines import rule_key
from guardian.ports.errors import describe_failure

if TYPE_CHECKING:
    from guardian_console.deployed import Deployed

DEFAULT_INTERVAL = 300  # sweepMinutes' default
RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def interval_of(session: Any, deployed: Deployed) -> tuple[int, str]:
    """The sweep's interval in seconds, and where it was read: at most what the stack's template deploys."""
    seconds, source = _interval(session, deployed)
    templated, template_text = _templated(session, deployed, f"{deployed.stack}-sweep-schedule")
    if templated is None or templated >= seconds:
        return seconds, source
    return templated, f"{source}, but {template_text}: the smaller used"


def _templated(session: Any, deployed: Deployed, name: str) -> tuple[int | None, str]:
    """The schedule the stack's deployed template gives the rule (None if it cannot be read)."""
    try:
        body = session.client("cloudformation").get_template(StackName=deployed.stack)["TemplateBody"]
        template = json.loads(body) if isinstance(body, str) else body
    except (ClientError, BotoCoreError, ValueError) as exc:
        return None, f"the stack's template not read ({describe_failure(exc)})"
    for resource in (template.get("Resources") or {}).values():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Events::Rule" and properties.get("Name") == name:
            expression = str(properties.get("ScheduleExpression", ""))
            return _seconds(expression), f"the stack deployed {expression} (its template)"
    return None, f"no rule {name} in the stack's template"


def _interval(session: Any, deployed: Deployed) -> tuple[int, str]:
    """The smaller of the live rule and its signed baseline."""
    name = f"{deployed.stack}-sweep-schedule"
    live, live_text = _live(session, name)
    recorded, recorded_text = _recorded(session, deployed, name)
    if live is None and recorded is None:
        return DEFAULT_INTERVAL, f"assumed 5 minutes: {live_text}; {recorded_text}"
    if recorded is None:
        return min(live or DEFAULT_INTERVAL, DEFAULT_INTERVAL), f"{live_text}; {recorded_text}: at most 5 minutes"
    if live is None:
        return recorded, f"{recorded_text}; {live_text}"
    if live == recorded:
        return live, live_text
    return min(live, recorded), f"{live_text}, but {recorded_text}: the smaller used"


def _live(session: Any, name: str) -> tuple[int | None, str]:
    try:
        rule = session.client("events").describe_rule(Name=name)
    except (ClientError, BotoCoreError) as exc:
        return None, f"rule {name} not read ({describe_failure(exc)})"
    expression = str(rule.get("ScheduleExpression", ""))
    if rule.get("State", "ENABLED") != "ENABLED":
        return None, f"rule {name} is {rule.get('State')} (no schedule: the sweep is not run by it)"
    seconds = _seconds(expression)
    return seconds, f"rule {name}: {expression}" if seconds else f"rule {name} has {expression!r}"


def _recorded(session: Any, deployed: Deployed, name: str) -> tuple[int | None, str]:
    """The schedule as deployed, from the sweep's signed baseline of its rule (the newest version that verifies)."""
    key = rule_key(deployed.region, name)
    aws = FullAdapter(
        Boto3Clients(session),
        topic_arn=deployed.topic_arn,
        topic_region=deployed.region,
        evidence_bucket=deployed.evidence_bucket,
        signing_key=deployed.signing_key,
    )
    try:
        document, _ = read_verified(aws, key)
    except (ClientError, BotoCoreError, ValueError) as exc:
        return None, f"its signed baseline {key} not read ({describe_failure(exc)})"
    rule = (document or {}).get("rule")
    if not isinstance(rule, dict):
        return None, f"no signed baseline of it ({key})"
    expression = str(rule.get("ScheduleExpression", ""))
    seconds = _seconds(expression)
    return seconds, f"deployed {expression} (signed baseline {key})"


def _seconds(expression: str) -> int | None:
    found = RATE.fullmatch(expression)
    return int(found[1]) * UNIT_SECONDS[found[2].rstrip("s")] if found else None
