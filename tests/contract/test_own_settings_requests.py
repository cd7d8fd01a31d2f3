"""What holding the guardian's functions' settings and its KMS aliases costs a clean sweep, counted (not timed):
three reads per function (its event invoke config, policy and URL), one ListAliases per Region where the stack has
aliases, one signed baseline read for the aliases; no write, no signature, and nothing per trail."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from guardian.adapters.full import FullAdapter
from guardian.flows.own_aliases import check_own_aliases
from guardian.flows.own_functions import check_own_functions
from guardian.model.config import Config
from guardian.ports.invocation import Invocation
from simulation.counting import CountingClients
from tests.support import signing_key

EVIDENCE = "guardian-evidence-requests"
FUNCTIONS = ("CloudTrailGuardian-remediation", "CloudTrailGuardian-sweep")
REGIONS = ("us-east-1", "us-west-2")


@pytest.fixture
def check() -> Iterator[Any]:
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=EVIDENCE, ObjectLockEnabledForBucket=True)
        topic = boto3.client("sns").create_topic(Name="guardian-alerts")["TopicArn"]
        role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        for name in FUNCTIONS:
            boto3.client("lambda").create_function(
                FunctionName=name, Runtime="python3.13", Role=role, Handler="x.y", Code={"ZipFile": b"PK\x05\x06"}
            )
        for region, alias in zip(REGIONS, ("alerts", "forwarder-alerts"), strict=True):
            kms = boto3.client("kms", region_name=region)
            kms.create_alias(
                AliasName=f"alias/CloudTrailGuardian-{alias}", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"]
            )
        key = signing_key()
        config = Config.from_env(
            {
                "GUARDIAN_TOPIC_ARN": topic,
                "GUARDIAN_EVIDENCE_BUCKET": EVIDENCE,
                "GUARDIAN_SWEEP_REGIONS": json.dumps(list(REGIONS)),
                "GUARDIAN_FORWARDER_RULES": json.dumps(["CloudTrailGuardian-forward"]),
                "GUARDIAN_OWN_FUNCTIONS": json.dumps(list(FUNCTIONS)),
                "GUARDIAN_STACK_ID": "arn:aws:cloudformation:us-east-1:123456789012:stack/CloudTrailGuardian/0a1b",
            }
        )

        def run() -> tuple[list[str], Counter[str]]:
            clients = CountingClients()
            adapter = FullAdapter(
                clients, topic_arn=topic, topic_region="us-east-1", evidence_bucket=EVIDENCE, signing_key=key
            )
            clock = Invocation(lambda: datetime.now(UTC), lambda _: None)
            functions = check_own_functions(adapter, config, started=clock.clock(), run=clock, deployed_at=None)
            aliases = check_own_aliases(adapter, config, started=clock.clock(), run=clock, deployed_at=None)
            return [c.status for c in functions] + [a.status for a in aliases], clients.requests

        yield run


def test_a_clean_sweep_reads_three_settings_per_function_and_one_alias_list_per_region(check: Any) -> None:
    first, _ = check()
    assert set(first) == {"baseline_recorded"}
    statuses, sent = check()
    assert set(statuses) == {"in_baseline"}
    assert len(statuses) == len(FUNCTIONS) + len(REGIONS)
    settings = ("GetFunctionEventInvokeConfig", "GetPolicy", "GetFunctionUrlConfig")
    assert {op: sent[f"lambda.{op}"] for op in settings} == dict.fromkeys(settings, len(FUNCTIONS))
    assert sent["kms.ListAliases"] == len(REGIONS)
    # What the functions' check cost before (configuration, concurrency, baseline) and the aliases' baseline.
    assert sent["lambda.GetFunctionConfiguration"] == sent["lambda.GetFunctionConcurrency"] == len(FUNCTIONS)
    assert sent["s3.GetObject"] == len(FUNCTIONS) + 1
    added = sum(sent[f"lambda.{op}"] for op in settings) + sent["kms.ListAliases"] + 1
    assert added == 3 * len(FUNCTIONS) + len(REGIONS) + 1  # per sweep, whatever the number of trails
    # The signing key's public key, read once per run to verify the baselines (the whole sweep shares it).
    assert sum(sent.values()) == 6 * len(FUNCTIONS) + len(REGIONS) + 1 + sent["kms.GetPublicKey"], sent
    assert sent["kms.GetPublicKey"] <= 1
    assert sent["s3.PutObject"] == sent["kms.Sign"] == 0
