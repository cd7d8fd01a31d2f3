"""``make demo``: deploy the synthesized stack into moto_server; stop a trail, delete it with no event, expire its
logs, switch the guardian's own rule off, and delete GuardDuty's detector, as an attacker; watch each put back or
alerted (the last through a watch rule, to a Slack webhook on 127.0.0.1). Then the operator's view: the
``guardian`` command's status, a self-test, the incidents and the auditor's HTML report.

The story goes to the screen (:mod:`simulation.story`); everything else (the guardian's JSON logs, each alert as
the email-json subscriber receives it, the evidence record, the sweeps' summaries) to ``build/demo.log``.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from guardian.entrypoints.logs import LOGGER_NAME, JsonFormatter
from simulation import channels, deploy, scenario, story
from simulation.cloudtrail_events import recording_calls
from simulation.lambda_runner import running_functions
from simulation.moto_server import ACCOUNT, LocalAws, environment, local_aws

LOG_FILE = deploy.ROOT / "build" / "demo.log"
REPORT = deploy.ROOT / "build" / "report.html"
OPERATOR = "security-operator"  # the demo's approver: an IAM user in moto, named in `approvers` at synth


def quiet_moto() -> None:
    """moto warns once per template resource type its CloudFormation skips; the demo lists those itself."""
    warnings.filterwarnings("ignore", message="Tried to parse", category=UserWarning)
    logging.getLogger("moto").setLevel(logging.ERROR)


def log_to(stream: TextIO) -> None:
    """The guardian's structured logs go to the log file, as they would go to CloudWatch Logs."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def record(stream: TextIO, title: str, value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, default=_iso, ensure_ascii=False)
    stream.write(f"\n== {title} ==\n{text}\n")


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def details(stream: TextIO, deployment: deploy.Deployment, outcome: scenario.Outcome) -> None:
    """Everything behind the story, for whoever wants to check it."""
    record(stream, "Resources created in moto CloudFormation", [list(r) for r in deployment.resources])
    record(stream, "Resource types moto's CloudFormation does not model", deployment.not_modelled)
    record(stream, "Function environment from the template", deployment.function_environment)
    record(stream, "Sweep environment from the template", deployment.sweep_environment)
    record(stream, "The sweep after deployment (records the baselines)", outcome.first_sweep)
    record(stream, "Act 1: the EventBridge event", outcome.event)
    record(stream, "Act 1: handler result", outcome.handler_result)
    for notification in outcome.notifications:
        record(stream, "Act 1: the alert exactly as the email-json subscriber receives it", notification)
        record(stream, "Act 1: its Message, decoded", json.loads(notification["Message"]))
    record(stream, f"Act 1: evidence record s3://{outcome.evidence_bucket}/{outcome.evidence_key}", outcome.evidence)
    acts = (outcome.lost_event, outcome.lifecycle, outcome.switched_off)
    for number, act in enumerate(acts, start=2):
        record(stream, f"Act {number}", act.__dict__ if act else None)


def main() -> int:
    quiet_moto()
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    with LOG_FILE.open("w") as log, tempfile.TemporaryDirectory(prefix="guardian-synth-") as tmp:
        log_to(log)
        print("Synthesizing the app with the CDK CLI (cdk-nag runs on this synth)...", flush=True)
        template = deploy.synth(Path(tmp), f"approvers=arn:aws:iam::{ACCOUNT}:user/{OPERATOR}", *channels.CONTEXT)
        with local_aws() as aws:
            deployment = deploy.deploy(aws, template)
            outcome = scenario.run(aws, deployment)
            queue_url = scenario.subscribe_security_team(aws, deployment.outputs["AlertsTopicArn"], "security-team-5")
            act_five = channels.watched_call(aws, deployment, queue_url, json.loads(template.read_text()))
            five = (channels.lines(act_five), channels.verdict(act_five))
            print("\n".join(story.lines(deployment, outcome, aws.endpoint, [five])))
            console_ok = the_console(aws)
        details(log, deployment, outcome)
        record(log, "Act 5: the watched call's event", act_five.event)
        record(log, "Act 5: the alert", act_five.notifications)
        record(log, "Act 5: what the webhook received", [r.__dict__ for r in act_five.received])
    print(f"\nEverything behind this story (JSON logs, full alerts, evidence, sweeps): {LOG_FILE}")
    verdicts = [*story.results(outcome), five[1]]
    return 0 if all(ok for _, ok in verdicts) and console_ok else 1


def the_console(aws: LocalAws) -> bool:
    """The operator's view of what just happened: the `guardian` command, as a user runs it, against the simulation."""
    from guardian_console.cli import main as guardian  # noqa: PLC0415

    today = datetime.now(UTC).date().isoformat()
    report = ["report", "--from", today, "--to", today, "-o", str(REPORT)]
    org = ["status", "--org"]  # the simulation's organization: its one account, through its read-only role
    commands = (["status"], org, ["selftest", "--timeout", "60"], ["incidents", "--since", "1d"], report)
    statuses = []
    iam = aws.client("iam")
    iam.create_user(UserName=OPERATOR)
    key = iam.create_access_key(UserName=OPERATOR)["AccessKey"]
    credentials = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    aws.client("organizations").create_organization(FeatureSet="ALL")
    allow = {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
    trust = json.dumps({"Version": "2012-10-17", "Statement": [allow]})
    iam.create_role(RoleName="CloudTrailGuardian-console-read", AssumeRolePolicyDocument=trust)  # ConsoleReadRole
    with (
        environment(AWS_ENDPOINT_URL=aws.endpoint, AWS_REGION="us-east-1", **credentials),
        running_functions(aws.endpoint, events=True),  # Lambda and CloudTrail's events, as far as moto lacks them
        recording_calls(),
    ):
        for args in commands:
            print(f"\n$ guardian {' '.join(args)}", flush=True)
            statuses.append(guardian(args))
            sys.stdout.flush()
    print(f"The auditor's report of today, one self-contained file: {REPORT}")
    return statuses == [0] * len(commands)


if __name__ == "__main__":
    sys.exit(main())
