"""What importing the event handler builds, in a fresh interpreter (issue 21, cold start): no module only the rare
paths or the steps after the alert need, no pattern only another kind of event needs, and no annotation compiled
into a ForwardRef. No timing here: the figures are in ``make bench``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import ForwardRef, get_type_hints

import pytest

from guardian.model.refs import Actor, KeyRef, ResourceRef, TrailRef
from guardian.model.rules import RULES, Rule
from tests.support import REPO_ROOT

PROBE = """
import json, re, sys
import boto3
before = set(sys.modules)
patterns = []
compile_pattern = re.compile
def recording(pattern, flags=0):
    patterns.append(str(pattern))
    return compile_pattern(pattern, flags)
re.compile = recording
import guardian.entrypoints.handler
import guardian.adapters.clients as clients
re.compile = compile_pattern
print(json.dumps({"modules": sorted(set(sys.modules) - before), "patterns": patterns,
                  "provider_built": hasattr(clients, "ClientProvider")}))
"""

# Loaded on first use only: the steps after the alert, the other entry paths, what a StopLogging heal never reads.
RARE_PATH = (
    "guardian.entrypoints.watching",
    "guardian.entrypoints.stack_calls",
    "guardian.entrypoints.unreadable",
    "guardian.flows.after_alert",
    "guardian.flows.deliver",
    "guardian.flows.security_hub",
    "guardian.flows.blind_window",
    "guardian.flows.record_signing",
    "guardian.flows.grouping",
    "guardian.flows.digests",
    "guardian.flows.observe",
    "guardian.flows.selftest",
    "guardian.flows.start_logging",
    "guardian.adapters.full",
    "guardian.adapters.security_hub",
    "guardian.adapters.grouping",
    "guardian.adapters.client_provider",  # a type only
    "guardian.model.results",
    "guardian.model.alert",
    "guardian.model.evidence",
    "guardian.model.signing",
    "guardian.model.asff",
    "guardian.model.blind_window",
    "guardian.model.grouping",
    "guardian.model.watch",
    "guardian.model.control_tower",
    "guardian.model.alert_path_config",
)


@pytest.fixture(scope="module")
def imported() -> dict[str, object]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    found: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    return found


def test_importing_the_handler_loads_no_rare_path_module(imported: dict[str, object]) -> None:
    modules = imported["modules"]
    assert isinstance(modules, list)
    assert "guardian.model.rules" in modules  # the probe did import the handler
    assert sorted(set(modules) & set(RARE_PATH)) == []


def test_the_client_provider_protocol_is_a_type_only(imported: dict[str, object]) -> None:
    """Seventeen methods the type checker reads: never compiled nor built at a cold start."""
    assert imported["provider_built"] is False


def test_no_pattern_for_a_key_a_log_group_or_a_data_store_is_compiled_at_import(imported: dict[str, object]) -> None:
    """A trail's event names none of them: their patterns are compiled by the first event that does."""
    patterns = imported["patterns"]
    assert isinstance(patterns, list)
    assert any(":trail/" in p for p in patterns)  # the trail's own patterns are compiled at import
    read_from_events = [
        p for p in patterns if "(?P<" in p and ("key/" in p or "log-group" in p or "eventdatastore" in p)
    ]
    assert read_from_events == []


@pytest.mark.parametrize("kind", [Rule, Actor, TrailRef, KeyRef, ResourceRef])
def test_the_tables_rows_and_references_hold_types_not_text(kind: type) -> None:
    """A NamedTuple compiles every annotation written as text into a ForwardRef when its class is built: half its
    cost at a cold start. Their modules leave ``from __future__ import annotations`` out."""
    raw = kind.__annotations__
    assert raw
    assert [name for name, hint in raw.items() if isinstance(hint, str | ForwardRef)] == []
    assert get_type_hints(kind) == raw


def test_the_table_still_reads_as_it_did() -> None:
    """Rows are read by field, as before: the eventName's row, its heal, its subject."""
    row = RULES["StopLogging"]
    assert (row.what, row.heal, row.about.value, row.scoped) == (
        "CloudTrail logging stopped",
        "StartLogging",
        "trail",
        False,
    )
    assert RULES["DisableKey"].scoped
    assert len({rule.source for rule in RULES.values()}) == 5
