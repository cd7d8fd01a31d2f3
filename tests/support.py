"""Helpers shared by the test layers: event fixtures, the published corpus, and constants of the fixtures."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = Path(__file__).resolve().parent / "events"
CORPUS_DIR = Path(os.environ.get("GUARDIAN_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus" / "cloudtrail"))

ACCOUNT = "123456789012"
REGION = "us-east-1"
TRAIL = "management-trail"
GUARDIAN_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/CloudTrailGuardian-RemediationRole0EF99D34-ABCDEF"
EXEMPT_PATTERN = "glob:arn:aws:iam::*:role/ci-*"


def load_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return data


def fixture_names() -> list[str]:
    return sorted(p.stem for p in EVENTS_DIR.glob("*.json"))


def corpus_files() -> list[Path]:
    """Every published record in ../shared (never copied here). Empty when ../shared is absent."""
    return sorted(CORPUS_DIR.glob("*/*.json")) if CORPUS_DIR.is_dir() else []


def corpus_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def require_corpus() -> None:
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"the CloudTrail corpus is not at {CORPUS_DIR} (../shared is absent; set GUARDIAN_CORPUS_DIR)")


def signing_key(region: str = "us-east-1") -> str:
    """The guardian's signing key as the stack creates it (RSA 2048, sign and verify), in the active moto mock;
    its ARN is GUARDIAN_SIGNING_KEY_ARN."""
    import boto3  # noqa: PLC0415 - only under a moto mock

    created = boto3.client("kms", region_name=region).create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    return str(created["KeyMetadata"]["Arn"])


def fits(subject: str, head: str, name: str, tail: str) -> bool:
    """``subject`` is ``head + name + tail`` within SNS's limit, the name whole or shortened (its start and end kept
    around an ellipsis), never the head or the verdict in the tail."""
    if len(subject) > 99 or not subject.startswith(head) or not subject.endswith(tail):
        return False
    middle = subject[len(head) : len(subject) - len(tail)]
    if middle == name:
        return True
    start, _, end = middle.partition("…")
    return "…" in middle and name.startswith(start) and name.endswith(end)


def named_by(values: list[Any], name: str) -> bool:
    """Whether an event pattern's list of values matches ``name`` exactly or by one of its ``prefix`` entries."""
    return any(v == name or (isinstance(v, dict) and str(name).startswith(str(v.get("prefix", "\0")))) for v in values)


def sweep_alarms(template: Any) -> set[str]:
    """The alarms the sweep keeps (GUARDIAN_ALERT_PATH's, under the stack's prefix), as deployed."""
    from tests.guarded import Instance  # noqa: PLC0415 - the resolver of deployed names

    instance = Instance(template.to_json(), "CloudTrailGuardian", "123456789012", "us-east-1")
    [sweep] = [r for lid, r in template.find_resources("AWS::Lambda::Function").items() if "Sweep" in lid]
    from guardian.model.alert_path_config import alert_path  # noqa: PLC0415 - as the sweep reads it

    text = instance.resolve(sweep["Properties"]["Environment"]["Variables"]["GUARDIAN_ALERT_PATH"])
    return set(alert_path(text).alarms)


def alert_topic_and_queue(sns: Any, sqs: Any) -> tuple[str, str]:
    """The guardian's alert topic, and the security team's queue subscribed to it (what the tests read alerts from):
    the topic's ARN and the queue's URL."""
    topic_arn = str(sns.create_topic(Name="guardian-alerts")["TopicArn"])
    queue_url = str(sqs.create_queue(QueueName="security-team")["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url
