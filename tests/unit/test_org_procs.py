"""``--processes`` (guardian_console/org_procs.py): how many by default, and which reads may go to another process."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from guardian_console import org_procs
from guardian_console.org_status import PeriodRead, StatusRead


def test_one_process_per_cpu_above_100_targets_else_one_unless_asked() -> None:
    assert org_procs.count(None, 100) == 1
    assert org_procs.count(None, 101) == (os.cpu_count() or 1)
    assert org_procs.count(1, 800) == 1
    assert org_procs.count(3, 4) == 3
    assert org_procs.count(0, 800) == 1


def test_the_status_and_incidents_reads_go_to_processes_a_lambda_stays_in_threads() -> None:
    assert org_procs.picklable(StatusRead(datetime(2026, 12, 6, tzinfo=UTC)))
    assert org_procs.picklable(PeriodRead(date(2026, 12, 1), date(2026, 12, 6)))
    assert not org_procs.picklable(lambda account: account)
