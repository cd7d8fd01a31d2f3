"""End to end over real HTTP: the CLI-synthesized template deployed into moto_server on 127.0.0.1, an attacker's
StopLogging, the rule's pattern, the guardian's handler with the template's environment, and what comes out."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from guardian.entrypoints import handler
from simulation import deploy, scenario, story
from simulation.moto_server import local_aws
from simulation.serve import moto_server_process
from tests.support import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.synth, pytest.mark.filterwarnings("ignore:Tried to parse")]


def test_stop_logging_is_healed_over_http_against_the_deployed_template(template: Path) -> None:
    with local_aws() as aws:
        assert aws.endpoint.startswith("http://127.0.0.1:")
        deployment = deploy.deploy(aws, template)
        print("\n".join(f"created {status} {type_} {lid}" for type_, lid, status in deployment.resources))
        created_types = {type_ for type_, _, _ in deployment.resources}
        assert {
            "AWS::Lambda::Function",
            "AWS::Events::Rule",
            "AWS::SNS::Topic",
            "AWS::S3::Bucket",
            "AWS::KMS::Key",
            "AWS::SQS::Queue",
            "AWS::IAM::Role",
            "AWS::IAM::Policy",
            "AWS::Logs::LogGroup",
        } <= created_types
        assert set(deployment.function_environment) == {
            "GUARDIAN_TOPIC_ARN",
            "GUARDIAN_EVIDENCE_BUCKET",
            "GUARDIAN_SELF_ROLE_ARN",
            "GUARDIAN_EXEMPT_PRINCIPALS",
            "GUARDIAN_ACTIVITY_TABLE",
            "GUARDIAN_REPEAT_THRESHOLD",
            "GUARDIAN_REPEAT_WINDOW_MINUTES",
            "GUARDIAN_ALERT_GROUP_MINUTES",  # alert groups (docs/alerts.md)
            "GUARDIAN_SIGNING_KEY_ARN",
            "GUARDIAN_SELF_FUNCTIONS",
            "GUARDIAN_SENTINEL_TRAIL",
            "GUARDIAN_STACK_ID",  # confirming CloudFormation's calls on its resources
            "GUARDIAN_CDK_QUALIFIER",  # a role-less stack operation lending the CDK execution role
        }

        outcome = scenario.run(aws, deployment)

        assert outcome.status_before["IsLogging"] is True
        assert outcome.status_after_attack["IsLogging"] is False
        assert outcome.pattern_matches
        assert outcome.handler_result["outcome"] == "healed"
        assert outcome.status_after["IsLogging"] is True

        [notification] = outcome.notifications
        assert notification["Type"] == "Notification"
        assert notification["TopicArn"] == deployment.outputs["AlertsTopicArn"]
        # The account follows the severity; the trail's name is shortened to keep the subject within 99 characters.
        subject = notification["Subject"]
        head, by = "[HIGH] 123456789012 CloudTrail logging stopped on trail ", f" by {scenario.ATTACKER} — restored in "
        assert subject.startswith(head)
        assert scenario.TRAIL.startswith(subject[len(head) : subject.index(by)].rstrip("…"))
        assert notification["MessageAttributes"]["outcome"] == {"Type": "String", "Value": "healed"}
        alert = json.loads(notification["Message"])
        assert alert["evidence"] == {
            "bucket": deployment.outputs["EvidenceBucketName"],
            "key": outcome.evidence_key,
            "written": True,
            "error": None,
        }
        assert alert["guardian"]["function"] == deployment.outputs["RemediationFunctionName"]

        assert outcome.evidence["record_id"] == outcome.event["detail"]["eventID"]
        assert outcome.evidence["original_event"] == outcome.event
        assert outcome.evidence["verification"]["is_logging"] is True
        assert outcome.evidence_lock["ObjectLockMode"] == "GOVERNANCE"

        assert outcome.first_sweep["statuses"] == {"baseline_recorded": 2}  # the trail and the sentinel
        act_two = outcome.lost_event
        assert act_two is not None
        assert not act_two.exists_after_attack
        assert act_two.sweep_summary["statuses"] == {"healed": 1, "in_baseline": 1}  # the sentinel untouched
        assert act_two.trail_after == act_two.trail_before
        assert act_two.status_after["IsLogging"] is True
        [sweep_alert] = act_two.notifications
        assert sweep_alert["Subject"] == f"[CRITICAL] 123456789012 Trail {scenario.TRAIL} deleted — healed by sweep"
        act_three = outcome.lifecycle  # Stratus cloudtrail-lifecycle-rule, over HTTP
        assert act_three is not None
        assert act_three.rules_after_attack is not None
        assert act_three.rules_after_attack[0]["Expiration"] == {"Days": 1}
        assert act_three.pattern_matches
        assert (act_three.handler_result["outcome"], act_three.rules_after) == ("healed", None)
        [lifecycle_alert] = act_three.notifications
        assert lifecycle_alert["Subject"].startswith("[HIGH] 123456789012 lifecycle of a trail's S3 bucket changed")
        act_four = outcome.switched_off  # the guardian's own rule disabled: alerted with no function, re-enabled
        assert act_four is not None
        assert (act_four.state_after_attack, act_four.function_invocations) == ("DISABLED", 0)
        assert act_four.self_protection_alert["resource_kind"] == "EventBridge rule"
        assert act_four.sweep_summary["guardian_rules"][f"us-east-1:{deployment.outputs['TamperRuleName']}"] == "healed"
        assert act_four.state_after_sweep == "ENABLED"
        [sweep_alert] = act_four.sweep_alerts
        assert sweep_alert["Subject"].startswith(
            "[CRITICAL] 123456789012 Guardian rule CloudTrailGuardian-tamper disabled"
        )
        assert json.loads(sweep_alert["Message"])["actor"]["arn"].endswith(f":user/{scenario.ATTACKER}")  # LookupEvents
        # The act-4 sweep finds the recreated trail in its baseline: no "strengthened" noise, no new version.
        assert act_four.sweep_summary["statuses"] == {"in_baseline": 2}

        # The demo's story, as a person reads it: every act, its evidence and lock, in at most 100 lines.
        bucket = deployment.outputs["EvidenceBucketName"]
        lines = story.lines(deployment, outcome, aws.endpoint)
        assert all(ok for _, ok in story.results(outcome))
        text = "\n".join(lines)
        assert len(lines) <= 100
        assert text.count("RESULT: ") == 5  # four acts, and act 1's finding NEW -> RESOLVED
        assert text.count("  evidence  s3://") == 4
        assert text.count("Object Lock GOVERNANCE until ") == 4
        assert "restarted logging" not in "\n".join(story.act_three(act_three, bucket))
        assert "unknown principal" not in text
        assert "The sweep found trail organization-audit (us-east-1) deleted" in text
        assert outcome.blind_window is not None  # what the attacker did while the trail was off, kept signed
        # Act 1's alert as a Security Hub finding (moto's, bridged: simulation.security_hub), created NEW and resolved
        [finding] = outcome.findings
        assert (finding["generator"], finding["workflows"]) == ("cloudtrail-guardian/StopLogging", ["NEW", "RESOLVED"])
        assert "  finding   Security Hub cloudtrail-guardian/StopLogging on " in text
        assert outcome.blind_window["summary"] == "4 calls by 1 principal"
        assert "  while off  4 calls by 1 principal (" in text

        # EventBridge may deliver the same event twice: the trail is re-checked, but no second alert or record.
        with scenario.function_environment(aws, deployment.function_environment):
            handler.reset()
            again = handler.lambda_handler(outcome.event, scenario.LambdaContext("fn", str(uuid.uuid4())))
            handler.reset()
        assert again["alert_published"] is False
        listing = aws.client("s3").list_objects_v2(Bucket=deployment.outputs["EvidenceBucketName"])
        listed = [o["Key"] for o in listing["Contents"] if o["Key"].startswith("evidence/")]
        keys = [k for k in listed if not k.endswith(".sig")]
        assert len(keys) == 4  # event heal, sweep heal, bucket, own rule: one object each, the duplicate added none
        assert sorted(k for k in listed if k.endswith(".sig")) == sorted(f"{k}.sig" for k in keys)  # each signed
        assert outcome.evidence_key in keys


SIMULATION_AS_AWS = """
import json
from simulation.moto_server import local_aws
with local_aws() as aws:
    s3, cloudtrail = aws.client("s3"), aws.client("cloudtrail")
    s3.create_bucket(Bucket="trail-logs-by-name")
    for name in ("first-trail", "second-trail", "third-trail"):
        cloudtrail.create_trail(Name=name, S3BucketName="trail-logs-by-name")
    cloudtrail.put_event_selectors(TrailName="second-trail", EventSelectors=[{"ReadWriteType": "WriteOnly"}])
    cloudtrail.put_insight_selectors(TrailName="third-trail", InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])
    arn = cloudtrail.describe_trails(trailNameList=["first-trail"])["trailList"][0]["TrailARN"]
    for key in ("a/1.json", "a/2.json", "b/1.json"):
        s3.put_object(Bucket="trail-logs-by-name", Key=key, Body=b"{}")
    print(json.dumps({
        "by_name": [t["Name"] for t in cloudtrail.describe_trails(trailNameList=["second-trail"])["trailList"]],
        "by_arn": [t["Name"] for t in cloudtrail.describe_trails(trailNameList=[arn])["trailList"]],
        "all": len(cloudtrail.describe_trails()["trailList"]),
        "none": cloudtrail.describe_trails(trailNameList=["no-such-trail"])["trailList"],
        "flags": {
            t["Name"]: [t["HasCustomEventSelectors"], t["HasInsightSelectors"]]
            for t in cloudtrail.describe_trails()["trailList"]
        },
        "versions": sorted(
            v["Key"] for v in s3.list_object_versions(Bucket="trail-logs-by-name", Prefix="a/")["Versions"]
        ),
    }))
"""


def test_the_simulation_answers_describe_trails_and_lists_versions_as_aws_does() -> None:
    """moto lists every trail whatever trailNameList says, says no trail has selectors, and copies the whole bucket
    for each ListObjectVersions; the simulation's moto_server (run in a process of its own here, so that only
    local_aws's bridges apply) answers with the named trails, the true flags, and only the prefix's versions."""
    done = subprocess.run(
        [sys.executable, "-c", SIMULATION_AS_AWS],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert (answer["by_name"], answer["by_arn"], answer["all"], answer["none"]) == (
        ["second-trail"],
        ["first-trail"],
        3,
        [],
    )
    assert answer["flags"] == {
        "first-trail": [False, False],
        "second-trail": [True, False],
        "third-trail": [False, True],
    }
    assert answer["versions"] == ["a/1.json", "a/2.json"]


def test_the_benchmarks_server_keeps_a_connection_for_the_next_request() -> None:
    """python -m simulation.serve (the benchmark's moto_server) answers several requests on one connection, as AWS
    does; werkzeug alone closes it after each response."""
    import http.client  # noqa: PLC0415

    with moto_server_process() as endpoint:
        port = int(endpoint.rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        auth = "AWS4-HMAC-SHA256 Credential=testing/20261127/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
        answers = []
        for method, path, body in (
            ("PUT", "/keep-alive-bucket", None),
            ("PUT", "/keep-alive-bucket/note.json", b'{"a": 1}'),
            ("GET", "/keep-alive-bucket/note.json", None),
            ("GET", "/keep-alive-bucket/note.json", None),
        ):
            connection.request(method, path, body=body, headers={"Host": f"127.0.0.1:{port}", "Authorization": auth})
            response = connection.getresponse()
            answers.append((response.status, response.read(), response.getheader("Connection")))
        assert [status for status, _, _ in answers] == [200, 200, 200, 200]
        assert answers[2][1] == answers[3][1] == b'{"a": 1}'
        assert all(header is None for _, _, header in answers)  # never "close"
