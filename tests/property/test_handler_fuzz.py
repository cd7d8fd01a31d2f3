"""Any JSON into either handler, over moto (issue 9): no exception but the documented retry raise, and every event the
table alerts on is alerted. Seeded (derandomized) and bounded, so it is the same run every time.
"""

from __future__ import annotations

from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardian.entrypoints import sweep
from guardian.flows.handle_event import HealFailed
from tests.integration.world import World, world  # noqa: F401 - the fixture
from tests.odd_events import JSON, mutated_events

MOTO = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ALERTED: set[str] = set()  # event ids alerted so far in this run: a redelivery of one sends nothing new


def _invoke(account: World, event: Any) -> dict[str, Any] | None:
    """One delivery: the handler's answer, or None when it raised the documented retry (a heal that failed)."""
    try:
        return account.invoke(event)
    except HealFailed:
        return None


@settings(MOTO, max_examples=400)
@given(event=st.one_of(mutated_events(), JSON))
def test_any_event_into_the_handler_is_alerted_or_refused_never_crashes(world: World, event: Any) -> None:  # noqa: F811
    boto3.client("cloudtrail").stop_logging(Name="management-trail")  # something to heal, each time
    answer = _invoke(world, event)
    alerts = world.alerts()
    if answer is None:  # HealFailed: raised only after its CRITICAL alert went out
        assert [a["MessageAttributes"]["outcome"]["Value"] for a in alerts] in (["heal_failed"], [])
        return
    if "alert_published" not in answer:  # not the guardian's business, or malformed: logged, not alerted
        assert alerts == []
        return
    if answer["outcome"] == "ignored":  # a scoped event about no protected trail's resource
        assert alerts == []
    elif answer["alert_published"]:
        assert len([a for a in alerts if a["MessageAttributes"]["outcome"]["Value"] != "repeated_tampering"]) == 1
        ALERTED.add(answer["event_id"])
    else:
        assert answer["event_id"] in ALERTED  # a redelivery: its alert went out before
        assert [a["MessageAttributes"]["outcome"]["Value"] for a in alerts] in ([], ["repeated_tampering"])


@settings(MOTO, max_examples=15)
@given(event=JSON)
def test_any_input_into_the_sweep_handler_sweeps_or_raises_sweep_failed(world: World, event: Any) -> None:  # noqa: F811
    try:
        summary = sweep.lambda_handler(event, None)
    except sweep.SweepFailed:
        return
    assert summary["ok"] is True
