"""Control Tower's confirmed change is adopted (audit 24, gap 6): a harmless change by Control Tower's role (its
PutEventSelectors adding data events), once CloudTrail confirms it, becomes the trail's baseline; then the same field
changed by another principal is healed back to Control Tower's value, not to the older baseline."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from guardian.entrypoints import sweep
from tests.integration.test_control_tower_moto import (
    CT_TRAIL,
    MANAGEMENT_ONLY,
    _confirmed_by_cloudtrail,
    ct,
    landing_zone,  # noqa: F401 - the fixture
)
from tests.integration.world import World, message_of
from tests.support import load_event

DATA = {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::aws-controltower-logs-123456789012-us-east-1/"]}
WITH_DATA = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [DATA]}]


def _data_resources() -> list[dict[str, Any]]:
    selectors = ct().get_event_selectors(TrailName=CT_TRAIL)["EventSelectors"]
    return [r for s in selectors for r in s.get("DataResources") or []]


def _baseline(world: World) -> dict[str, Any]:
    key = f"baselines/us-east-1/{CT_TRAIL}.json"
    document: dict[str, Any] = json.loads(world.clients["s3"].get_object(Bucket=world.bucket, Key=key)["Body"].read())
    return document


def _recorded(selectors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Selectors as CloudTrail records them in requestParameters (camelCase)."""
    return [{k[:1].lower() + k[1:]: v for k, v in s.items()} for s in selectors]


def test_control_towers_confirmed_change_becomes_the_baseline_and_is_what_another_principal_is_healed_back_to(
    landing_zone: World,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Control Tower adds data events to its trail: a deployment, LOW, left as made, pending CloudTrail's record.
    ct().put_event_selectors(TrailName=CT_TRAIL, EventSelectors=WITH_DATA)
    event = load_event("control_tower/ct_put_event_selectors_all")
    event["detail"]["requestParameters"]["eventSelectors"] = _recorded(copy.deepcopy(WITH_DATA))
    result = landing_zone.invoke(event)
    assert (result["outcome"], result["severity"]) == ("exempt", "LOW")
    landing_zone.alerts()

    _confirmed_by_cloudtrail(monkeypatch, dict(event["detail"]))
    sweep.lambda_handler({}, None)  # confirmed: Control Tower's selectors are the baseline now
    document = _baseline(landing_zone)
    assert "pending_approval" not in document
    assert json.dumps(document["trail"]["event_selectors"]).count("AWS::S3::Object") == 1
    assert _data_resources() == [DATA]
    assert not [a for a in landing_zone.alerts() if message_of(a).get("severity") in ("HIGH", "CRITICAL")]

    # Another principal puts back the older configuration (no data events): healed back to Control Tower's.
    ct().put_event_selectors(TrailName=CT_TRAIL, EventSelectors=MANAGEMENT_ONLY)
    other = load_event("control_tower/other_put_event_selectors")
    other["detail"]["requestParameters"]["eventSelectors"] = _recorded(copy.deepcopy(MANAGEMENT_ONLY))
    result = landing_zone.invoke(other)
    assert result["outcome"] == "healed"
    assert _data_resources() == [DATA]  # Control Tower's value, not the baseline before it
    sweep.lambda_handler({}, None)  # and the sweep finds nothing to put back
    assert _data_resources() == [DATA]
