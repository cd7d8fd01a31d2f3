"""The sentinel records management write events by default, reads only when asked (or when the CIS alarms read its
log group: CIS 4.1 counts denied reads) (issue 23)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.settings import GuardianSettings

pytestmark = pytest.mark.synth


def sentinel_selectors(synth: tuple[Any, Any]) -> list[dict[str, Any]]:
    template, _ = synth
    [trail] = [
        r["Properties"]
        for r in template.find_resources("AWS::CloudTrail::Trail").values()
        if str(r["Properties"].get("TrailName", "")).endswith("-sentinel")
    ]
    selectors: list[dict[str, Any]] = trail["EventSelectors"]
    return selectors


def test_the_sentinel_records_write_events_by_default(default_synth: tuple[Any, Any]) -> None:
    assert [s["ReadWriteType"] for s in sentinel_selectors(default_synth)] == ["WriteOnly"]


def test_the_cis_alarms_on_the_sentinels_log_group_make_it_record_reads_too(channels_synth: tuple[Any, Any]) -> None:
    assert [s["ReadWriteType"] for s in sentinel_selectors(channels_synth)] == ["All"]


def test_sentinel_read_events_is_an_option() -> None:
    context: dict[str, Any] = {"sentinelReadEvents": "true"}

    def read(key: str) -> Any:
        return context.get(key)

    assert GuardianSettings.from_context(read).sentinel_read_events is True
    assert GuardianSettings.from_context(lambda key: None).sentinel_read_events is False
