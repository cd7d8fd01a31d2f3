"""A trail's log group: its metric and subscription filters removed or changed are alerted HIGH (the decision
table's rows), and the same calls on a log group no protected trail uses are none of the guardian's business."""

from __future__ import annotations

import pytest

from guardian.entrypoints import handler
from tests.integration.conftest import Account
from tests.integration.test_storage_moto import log_group, logs_event

__all__ = ["log_group"]  # the fixture


@pytest.mark.parametrize(
    "name", ["DeleteMetricFilter", "PutMetricFilter", "DeleteSubscriptionFilter", "PutSubscriptionFilter"]
)
def test_a_filter_of_a_trails_log_group_changed_is_alerted_high(account: Account, log_group: str, name: str) -> None:
    result = handler.lambda_handler(logs_event(name, f"f-{name}", filterName="cis-4-5"), None)
    assert (result["outcome"], result["severity"]) == ("alerted", "HIGH")
    [alert] = account.alerts()
    assert alert["Subject"].startswith("[HIGH] ")


def test_a_filter_of_another_log_group_is_ignored(account: Account, log_group: str) -> None:
    result = handler.lambda_handler(logs_event("DeleteMetricFilter", "f-other", group="/app/logs"), None)
    assert result["outcome"] == "ignored"
