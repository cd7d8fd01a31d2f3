"""CloudTrail Lake's event data stores held to their signed baselines (issue 20, move #5): a retention cut to 7
days, termination protection turned off or selectors narrowed is put back, on the event and by the sweep. moto has
no CloudTrail Lake: the store lives in a dictionary behind the adapter's three Lake calls; the rest (the signed
baselines, the alerts) is moto's."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from guardian.adapters.lake import LakeAdapter
from guardian.entrypoints import handler, runtime
from tests.integration.conftest import Account, subject_and_message
from tests.support import ACCOUNT, load_event

STORE = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
SELECTORS = [
    {"Name": "all management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
]
DEPLOYED = {
    "EventDataStoreArn": STORE,
    "Status": "ENABLED",
    "RetentionPeriod": 2557,
    "TerminationProtectionEnabled": True,
    "MultiRegionEnabled": True,
    "OrganizationEnabled": False,
    "AdvancedEventSelectors": SELECTORS,
}


class Lake:
    def __init__(self) -> None:
        self.store = copy.deepcopy(DEPLOYED)
        self.updates: list[dict[str, Any]] = []

    def change(self, **settings: Any) -> None:
        self.store.update(settings)


@pytest.fixture
def lake(account: Account, monkeypatch: pytest.MonkeyPatch) -> Lake:
    found = Lake()

    def update(_: Any, store: Any, settings: dict[str, Any]) -> None:
        assert store.name == STORE
        found.updates.append(settings)
        found.store.update(copy.deepcopy(settings))

    monkeypatch.setattr(LakeAdapter, "data_stores", lambda _, region: [STORE] if region == "us-east-1" else [])
    monkeypatch.setattr(LakeAdapter, "data_store", lambda _, store: copy.deepcopy(found.store))
    monkeypatch.setattr(LakeAdapter, "update_data_store", update)
    monkeypatch.setenv("GUARDIAN_LAKE", "1")
    runtime.reset()
    assert account.sweep()["resources"][f"event_data_store:{STORE}"] == "baseline_recorded"
    return found


def lake_event(event_id: str, **request: Any) -> dict[str, Any]:
    event = load_event("stop_logging")
    event["detail"].update(
        eventName="UpdateEventDataStore", eventID=event_id, requestParameters={"eventDataStore": STORE, **request}
    )
    return event


@pytest.mark.threat("lake-retention")
def test_a_retention_cut_to_seven_days_is_put_back_by_the_sweep(account: Account, lake: Lake) -> None:
    lake.change(RetentionPeriod=7)
    assert account.sweep()["resources"][f"event_data_store:{STORE}"] == "healed"
    assert lake.store["RetentionPeriod"] == 2557
    subject, message = subject_and_message(account.alerts()[0])
    assert subject.startswith("[HIGH] ")
    assert message["action"]["taken"] == ["UpdateEventDataStore"]
    assert account.sweep()["resources"][f"event_data_store:{STORE}"] == "in_baseline"


@pytest.mark.threat("lake-retention")
def test_a_retention_cut_is_put_back_on_the_event(account: Account, lake: Lake) -> None:
    lake.change(RetentionPeriod=7, TerminationProtectionEnabled=False)
    result = handler.lambda_handler(lake_event("lake-u1", retentionPeriod=7, terminationProtectionEnabled=False), None)
    assert (result["outcome"], result["severity"]) == ("healed", "HIGH")
    assert (lake.store["RetentionPeriod"], lake.store["TerminationProtectionEnabled"]) == (2557, True)
    [update] = lake.updates
    assert update["AdvancedEventSelectors"] == SELECTORS


def test_narrowed_selectors_are_weakening_and_put_back(account: Account, lake: Lake) -> None:
    lake.change(AdvancedEventSelectors=[{"Name": "none", "FieldSelectors": [{"Field": "eventCategory",
                                                                             "Equals": ["Data"]}]}])  # fmt: skip
    result = handler.lambda_handler(lake_event("lake-u2"), None)
    assert result["outcome"] == "healed"
    assert lake.store["AdvancedEventSelectors"] == SELECTORS


def test_a_longer_retention_is_kept_as_the_new_baseline(account: Account, lake: Lake) -> None:
    lake.change(RetentionPeriod=3653)
    assert account.sweep()["resources"][f"event_data_store:{STORE}"] == "strengthened"
    assert lake.updates == []
    lake.change(RetentionPeriod=2557)  # now a cut, from the new baseline
    assert account.sweep()["resources"][f"event_data_store:{STORE}"] == "healed"
    assert lake.store["RetentionPeriod"] == 3653
