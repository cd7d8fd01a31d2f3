"""The insider review's finding 3 (the sweep's part) against moto: a fault in one resource's check (a RecursionError,
a bug of the guardian's own) is that resource's heal_failed, alerted CRITICAL, and every other check still runs and
alerts; the run still ends failed, so the dead man's switch sees it."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from guardian.entrypoints import sweep
from guardian.flows import sweep_checks
from tests.integration.conftest import TRAIL, Account, subject_and_message
from tests.integration.test_storage_moto import BUCKET, GROUP
from tests.support import ACCOUNT


@pytest.fixture
def trail_group(account: Account) -> None:
    """org-audit delivers to its bucket and to a log group with 365 days' retention (both baselined)."""
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=365)
    arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{GROUP}:*"
    role = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role"
    account.ct().update_trail(Name=TRAIL, CloudWatchLogsLogGroupArn=arn, CloudWatchLogsRoleArn=role)
    assert account.sweep()["resources"][f"log_group:{GROUP}"] == "baseline_recorded"
    account.alerts()


@pytest.mark.threat("sweep-fault")
@pytest.mark.parametrize("fault", [RecursionError("maximum recursion depth exceeded"), KeyError("Statement")])
def test_a_fault_in_one_resources_check_is_alerted_critical_and_the_other_checks_still_run(
    account: Account, trail_group: None, monkeypatch: pytest.MonkeyPatch, fault: Exception
) -> None:
    check = sweep_checks.check_resource

    def faulty(aws: Any, config: Any, resource: Any, *args: Any, **kwargs: Any) -> Any:
        if resource[1] == BUCKET:
            raise fault
        return check(aws, config, resource, *args, **kwargs)

    monkeypatch.setattr(sweep_checks, "check_resource", faulty)
    boto3.client("logs").put_retention_policy(logGroupName=GROUP, retentionInDays=1)  # the other check's finding
    with pytest.raises(sweep.SweepFailed, match="heal_failed") as failed:
        account.sweep()
    assert f"'bucket:{BUCKET}': 'heal_failed'" in str(failed.value)
    assert f"'log_group:{GROUP}': 'healed'" in str(failed.value)
    [group] = boto3.client("logs").describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
    assert group["retentionInDays"] == 365  # the log group's check ran and put it back
    found = {subject_and_message(n)[0]: subject_and_message(n)[1] for n in account.alerts()}
    [critical] = [s for s in found if s.startswith(f"[CRITICAL] {ACCOUNT} Sweep could not check bucket {BUCKET}")]
    assert type(fault).__name__ in found[critical]["reason"]
    assert found[critical]["outcome"] == "heal_failed"
    assert any(s.startswith("[HIGH]") and "(retention_days) — healed by sweep" in s for s in found)


@pytest.mark.threat("sweep-fault")
def test_a_fault_in_a_whole_phase_fails_the_run_after_the_other_checks(
    account: Account, trail_group: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not one resource's check but the whole phase (listing what the trails use) raises: recorded, the run fails,
    and the trails' own checks and their alerts are not lost with it."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("guardian.flows.sweep.sweep_resources", broken)
    account.ct().stop_logging(Name=TRAIL)
    with pytest.raises(sweep.SweepFailed, match="trail_resources") as failed:
        account.sweep()
    assert "RecursionError" in str(failed.value)
    assert account.ct().get_trail_status(Name=TRAIL)["IsLogging"]  # the trail's check still ran and healed it
    assert any(TRAIL in n["Subject"] for n in account.alerts())
