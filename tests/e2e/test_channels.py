"""End to end over HTTP, as `make demo`'s fifth act: the CLI-synthesized template deployed in moto_server, a
watched call sent the way EventBridge sends it, the deployed functions' own code run (the remediation function with
its compiled watch rules, then the notifier that SNS invokes), and a Slack webhook on 127.0.0.1 over HTTPS that
records what it receives; the CIS alarms deployed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulation import channels, deploy, scenario
from simulation.moto_server import local_aws

pytestmark = [pytest.mark.e2e, pytest.mark.synth, pytest.mark.filterwarnings("ignore:Tried to parse")]


def test_a_watched_call_reaches_the_chat_through_the_deployed_functions(template: Path) -> None:
    with local_aws() as aws:
        deployment = deploy.deploy(aws, template)
        queue_url = scenario.subscribe_security_team(aws, deployment.outputs["AlertsTopicArn"])
        act = channels.watched_call(aws, deployment, queue_url, json.loads(template.read_text()))
    assert act.matched_rule == "CloudTrailGuardian-watch-1"  # the deployed EventBridge rule's own pattern
    assert (act.answer["outcome"], act.answer["severity"]) == ("alerted", "CRITICAL")
    [notification] = act.notifications
    assert notification["Subject"] == "[CRITICAL] 123456789012 GuardDuty detector deleted by mallory"
    assert notification["MessageAttributes"]["rule"]["Value"] == "guardduty-detector-deleted"
    [posted] = act.received
    assert posted.status == 200
    assert posted.path == "/hook/T000/B000/s3cr3t"
    blocks = posted.body["blocks"]
    assert blocks[0]["text"]["text"] == notification["Subject"]
    assert "*Watch rule*\nguardduty-detector-deleted" in [f["text"] for f in blocks[2]["fields"]]
    assert channels.verdict(act)[1] is True
    assert act.cis_filters == len(act.cis_alarms) == 15
