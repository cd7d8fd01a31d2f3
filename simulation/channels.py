"""The demo's fifth act: a watched call (GuardDuty's detector deleted) is alerted by a watch rule, and the alert
reaches a Slack webhook (a recording HTTPS server on 127.0.0.1) through the notifier; the CIS alarms are in the
deployed template.

Both functions run their deployed code (the assets moto holds, the remediation function's with its compiled watch
rules), as Lambda would: the remediation function is invoked as EventBridge invokes it, and SNS invokes the notifier.
The notifier's process trusts the local webhook's certificate (``SSL_CERT_FILE``), nothing else is special.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from moto.events.models import EventPattern

from simulation.cloudtrail_events import api_call_record
from simulation.deploy import STACK, Deployment, create_subscriptions
from simulation.lambda_runner import running_functions
from simulation.moto_server import ACCOUNT, LocalAws
from simulation.scenario import drain, eventbridge_envelope
from simulation.webhook_server import Received, recording_webhook

WEBHOOK = "soc"  # the demo deploys -c webhooks=[{"name": "soc", "kind": "slack"}]
CONTEXT = (f'webhooks=[{{"name": "{WEBHOOK}", "kind": "slack"}}]', "cisAlarms=true")


@dataclass
class ChannelsAct:
    event: dict[str, Any]
    matched_rule: str | None  # the deployed watch rule whose pattern matches the event
    answer: dict[str, Any]
    notifications: list[dict[str, Any]]
    received: list[Received]
    cis_filters: int
    cis_alarms: list[str] = field(default_factory=list)


def watched_call(aws: LocalAws, deployment: Deployment, queue_url: str, template: dict[str, Any]) -> ChannelsAct:
    """The attacker deletes GuardDuty's detector; the event goes the way EventBridge sends it."""
    attacker = {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEMALLORY1",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory",
        "accountId": ACCOUNT,
        "userName": "mallory",
    }
    detector = aws.client("guardduty").create_detector(Enable=True)["DetectorId"]
    aws.client("guardduty").delete_detector(DetectorId=detector)
    record = api_call_record(
        attacker,
        source="guardduty.amazonaws.com",
        name="DeleteDetector",
        region="us-east-1",
        request={"detectorId": detector},
        user_agent="aws-cli/2.22.0",
        source_ip="203.0.113.66",
    )
    event = eventbridge_envelope(record)
    event["source"] = "aws.guardduty"
    events = aws.client("events")
    rules = [r for r in events.list_rules(NamePrefix=f"{STACK}-watch-")["Rules"] if r.get("EventPattern")]
    patterns = {r["Name"]: EventPattern.load(r["EventPattern"]) for r in rules}
    matched = next((name for name, p in patterns.items() if p.matches_event(event)), None)  # type: ignore[arg-type]
    create_subscriptions(aws, template)
    with recording_webhook() as hook:
        secret = f"{STACK}/webhook/{WEBHOOK}"
        aws.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=hook.url)  # as the operator does
        with running_functions(aws.endpoint, env={"SSL_CERT_FILE": hook.ca_file}):
            answer = invoke(aws, deployment.outputs["RemediationFunctionName"], event)
        received = list(hook.received)
    alarms = aws.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{STACK}-cis-")["MetricAlarms"]
    return ChannelsAct(
        event,
        matched,
        answer,
        drain(aws, queue_url),
        received,
        sum(r["Type"] == "AWS::Logs::MetricFilter" for r in template["Resources"].values()),
        sorted(a["AlarmName"] for a in alarms),
    )


def invoke(aws: LocalAws, function: str, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke the deployed function as EventBridge does (asynchronously in AWS; here the call waits for it)."""
    answer = aws.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
    document: dict[str, Any] = json.loads(answer["Payload"].read())
    return document


def lines(act: ChannelsAct) -> list[str]:
    subjects = [n["Subject"] for n in act.notifications] or ["(no alert)"]
    slack = next((r.body for r in act.received if 200 <= r.status < 300), None)
    shown = ["  webhook   (nothing received)"]
    if isinstance(slack, dict):
        header = slack["blocks"][0]["text"]["text"]
        fields = (
            [f["text"].replace("\n", ": ") for f in slack["blocks"][2]["fields"]] if len(slack["blocks"]) > 2 else []
        )
        shown = [f"  webhook   Slack received: {header}", *(f"            {f}" for f in fields[:7])]
    return [
        "ACT 5 — GuardDuty switched off: a watch rule, an alert in the team's chat; the CIS alarms",
        "  attack    mallory deletes GuardDuty's detector (not a CloudTrail call: no row of the table)",
        f"  rule      the deployed watch rule {act.matched_rule or 'NONE'} matches; the function says "
        f"{act.answer.get('outcome')} ({act.answer.get('severity') or act.answer.get('reason')})",
        *(f"  alert     {subject}" for subject in subjects),
        *shown,
        f"  CIS       {act.cis_filters} metric filters in the template; {len(act.cis_alarms)} alarms to the topic, "
        f"e.g. {next((a for a in act.cis_alarms if 'root' in a), '-')}",
    ]


def verdict(act: ChannelsAct) -> tuple[str, bool]:
    posted = [r for r in act.received if 200 <= r.status < 300]
    ok = (
        act.matched_rule is not None
        and act.answer.get("outcome") == "alerted"
        and len(act.notifications) == 1
        and len(posted) == 1
        and all(200 <= r.status < 300 for r in act.received)
        and act.cis_filters == len(act.cis_alarms) == 15
    )
    text = "a watch rule alerted, the chat got it, the CIS alarms are deployed" if ok else "FAILED (act 5)"
    return text, ok
