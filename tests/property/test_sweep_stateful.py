"""Property: whatever sequence of tampering calls happens (no event delivered), one sweep puts every protected trail
and its bucket back to their baselines, and every trail logging. Changes made by an exempt principal (their event
delivered, CloudTrail's record confirming it) become the baseline, but never below the floor: an exempt stop is
approved and the trail still ends up logging."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from moto import mock_aws

from guardian.adapters.trails import TrailAdapter
from guardian.entrypoints import handler, runtime, sweep
from guardian.flows import baselines
from guardian.flows import storage as resources
from guardian.flows.baselines import Missing, Retired, load
from guardian.model.changes import weakened
from guardian.model.rules import Subject
from guardian.model.trail import compare
from tests.integration.conftest import BLOCK_ALL, trail_bucket_policy
from tests.support import ACCOUNT, load_event, signing_key

TRAILS = ("alpha", "bravo")
EXEMPT = "glob:arn:aws:iam::*:role/ci-*"
BUCKET = "guardian-evidence-prop"
LOGS = "prop-trail-logs"
ENV = {
    "GUARDIAN_EVIDENCE_BUCKET": BUCKET,
    "GUARDIAN_SWEEP_REGIONS": '["us-east-1"]',
    "GUARDIAN_VERIFY_DELAY_SECONDS": "0",
    "GUARDIAN_EXEMPT_PRINCIPALS": json.dumps([EXEMPT]),
}


class Tampering(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mock = mock_aws()
        self.mock.start()
        self.saved_env: dict[str, str | None] = {}
        self.exempt_changed: set[str] = set()
        self.history: dict[str, dict[str, Any]] = {}  # CloudTrail's LookupEvents (moto lacks it)
        self.lookup = TrailAdapter.lookup_event
        TrailAdapter.lookup_event = lambda _self, _region, event_id: self.history.get(event_id)  # type: ignore[method-assign, assignment]

    @initialize()
    def deploy(self) -> None:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        s3.create_bucket(Bucket=LOGS)
        s3.put_bucket_policy(Bucket=LOGS, Policy=json.dumps(trail_bucket_policy(LOGS)))
        s3.put_bucket_versioning(Bucket=LOGS, VersioningConfiguration={"Status": "Enabled"})
        s3.put_public_access_block(Bucket=LOGS, PublicAccessBlockConfiguration=BLOCK_ALL)
        self.s3 = s3
        topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="alerts")["TopicArn"]
        for name, value in {**ENV, "GUARDIAN_TOPIC_ARN": topic, "GUARDIAN_SIGNING_KEY_ARN": signing_key()}.items():
            self.saved_env[name] = os.environ.get(name)
            os.environ[name] = value
        runtime.reset()
        self.ct = boto3.client("cloudtrail", region_name="us-east-1")
        for name in TRAILS:
            self.ct.create_trail(
                Name=name,
                S3BucketName=LOGS,
                IsMultiRegionTrail=True,
                EnableLogFileValidation=True,
                TagsList=[{"Key": "team", "Value": "security"}],
            )
            self.ct.put_insight_selectors(TrailName=name, InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])
            self.ct.start_logging(Name=name)
        sweep.lambda_handler({}, None)  # the deployment's sweep records the baselines

    def exists(self, name: str) -> bool:
        return any(t["Name"] == name for t in self.ct.describe_trails()["trailList"])

    @rule(name=st.sampled_from(TRAILS))
    def stop_logging(self, name: str) -> None:
        if self.exists(name):
            self.ct.stop_logging(Name=name)

    @rule(name=st.sampled_from(TRAILS))
    def delete_trail(self, name: str) -> None:
        if self.exists(name):
            self.ct.delete_trail(Name=name)

    @rule(name=st.sampled_from(TRAILS), validation=st.booleans(), multi_region=st.booleans())
    def update_trail(self, name: str, validation: bool, multi_region: bool) -> None:
        if self.exists(name):
            self.ct.update_trail(Name=name, EnableLogFileValidation=validation, IsMultiRegionTrail=multi_region)

    @rule(
        name=st.sampled_from(TRAILS),
        read_write=st.sampled_from(["ReadOnly", "WriteOnly", "All"]),
        management=st.booleans(),
    )
    def put_event_selectors(self, name: str, read_write: str, management: bool) -> None:
        if self.exists(name):
            selectors: list[Any] = [{"ReadWriteType": read_write, "IncludeManagementEvents": management}]
            self.ct.put_event_selectors(TrailName=name, EventSelectors=selectors)

    @rule(name=st.sampled_from(TRAILS))
    def drop_insights(self, name: str) -> None:
        if self.exists(name):
            self.ct.put_insight_selectors(TrailName=name, InsightSelectors=[])

    @rule(name=st.sampled_from(TRAILS))
    def remove_tags(self, name: str) -> None:
        if self.exists(name):
            arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}"
            self.ct.remove_tags(ResourceId=arn, TagsList=[{"Key": "team", "Value": "security"}])

    @rule(days=st.integers(min_value=1, max_value=400))
    def expire_logs(self, days: int) -> None:
        """Stratus cloudtrail-lifecycle-rule, with any expiry."""
        rule: Any = {"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": days}}
        if self.bucket_exists():
            self.s3.put_bucket_lifecycle_configuration(Bucket=LOGS, LifecycleConfiguration={"Rules": [rule]})

    @rule(change=st.sampled_from(["delete_policy", "open_policy", "suspend_versioning", "drop_public_access_block"]))
    def weaken_bucket(self, change: str) -> None:
        if not self.bucket_exists():
            return
        if change == "delete_policy":
            self.s3.delete_bucket_policy(Bucket=LOGS)
        elif change == "open_policy":
            opened = trail_bucket_policy(LOGS)
            opened["Statement"].append(
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{LOGS}/*"}
            )
            self.s3.put_bucket_policy(Bucket=LOGS, Policy=json.dumps(opened))
        elif change == "suspend_versioning":
            self.s3.put_bucket_versioning(Bucket=LOGS, VersioningConfiguration={"Status": "Suspended"})
        else:
            self.s3.delete_public_access_block(Bucket=LOGS)

    @rule()
    def delete_bucket(self) -> None:
        if self.bucket_exists():
            for version in self.s3.list_object_versions(Bucket=LOGS).get("Versions", []):
                self.s3.delete_object(Bucket=LOGS, Key=version["Key"], VersionId=version["VersionId"])
            self.s3.delete_bucket(Bucket=LOGS)

    def bucket_exists(self) -> bool:
        return any(b["Name"] == LOGS for b in self.s3.list_buckets()["Buckets"])

    @rule(name=st.sampled_from(TRAILS))
    def exempt_stop_logging(self, name: str) -> None:
        """A CI role (exempt) stops the trail, and its event is delivered: approved, never undone."""
        if self.exists(name):
            self.ct.stop_logging(Name=name)
            event = load_event("stop_logging_exempt_ci")
            event["detail"]["requestParameters"]["name"] = name
            event["detail"]["eventID"] = f"exempt-{name}-{len(self.exempt_changed)}"
            assert handler.lambda_handler(event, None)["outcome"] == "exempt"
            self.history[event["detail"]["eventID"]] = event["detail"]  # a genuine call: CloudTrail has it
            self.exempt_changed.add(name)

    @invariant()
    def trails_are_this_accounts(self) -> None:
        assert {t["Name"] for t in self.ct.describe_trails()["trailList"]} <= set(TRAILS)

    def teardown(self) -> None:
        try:
            sweep.lambda_handler({}, None)
            adapter = runtime.adapter(runtime.config()).full()
            for name in TRAILS:
                stored = load(adapter, "us-east-1", name)
                assert not isinstance(stored, Missing | Retired), name
                live = adapter.trail_state("us-east-1", name)
                assert live is not None, f"{name} was not recreated"
                assert weakened(compare(stored, live)) == (), f"{name} is still weaker than its baseline"
                assert live.logging, f"{name} is not logging after the sweep (an exempt stop cannot lower the floor)"
                assert stored.logging, f"{name}'s baseline is below the floor"
            guarded = baselines.load_resource(adapter, Subject.BUCKET, LOGS, None)
            assert guarded is not None
            bucket = adapter.bucket_state(LOGS)
            assert weakened(resources.compare(guarded.baseline, bucket)) == (), "the bucket is still weaker"
            assert json.loads(bucket.policy or "{}") == trail_bucket_policy(LOGS)
            assert (bucket.versioning, bucket.public_access_block) == ("Enabled", BLOCK_ALL)
        finally:
            for name, value in self.saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            runtime.reset()
            TrailAdapter.lookup_event = self.lookup  # type: ignore[method-assign]
            self.mock.stop()


Tampering.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_any_tampering_then_one_sweep_restores_every_protected_trail = pytest.mark.filterwarnings("ignore")(
    Tampering.TestCase
)
