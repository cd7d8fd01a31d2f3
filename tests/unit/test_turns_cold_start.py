"""The write quota's turns cost a quiet account's heal nothing (issue 21): with the activity table set, as deployed,
the first StartLogging leaves before any module of the turns is loaded, and before any DynamoDB request (the probe
stops the process at the first request, which must be StartLogging)."""

from __future__ import annotations

from tests.unit.test_cold_start import probe_start_logging


def test_a_quiet_heal_loads_no_module_of_the_turns_before_start_logging() -> None:
    modules = set(probe_start_logging(GUARDIAN_ACTIVITY_TABLE="guardian-activity")["modules"])
    assert "guardian.flows.start_logging" in modules
    assert not {"guardian.flows.write_turns", "guardian.adapters.turns", "guardian.ports.turns"} & modules
