"""Importing the handler must do nothing: no environment read, no boto3 session or client (moto must start first,
and cold start must stay small)."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO_ROOT

PROBE = """
import os, sys
import boto3  # the runtime's own import, before the guardian's

class RecordingEnviron(dict):
    reads = []
    def __getitem__(self, key):
        self.reads.append(key); return super().__getitem__(key)
    def get(self, key, default=None):
        self.reads.append(key); return super().get(key, default)
    def __contains__(self, key):
        self.reads.append(key); return super().__contains__(key)

recording = RecordingEnviron(os.environ)
os.environ = recording
import guardian.entrypoints.handler
os.environ = dict.copy(recording)
assert boto3.DEFAULT_SESSION is None, "a boto3 session was created at import"
print(",".join(sorted(set(r for r in RecordingEnviron.reads if r.startswith(("GUARDIAN_", "AWS_"))))))
"""


def test_importing_the_handler_reads_no_configuration_and_creates_no_client() -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""  # no GUARDIAN_* or AWS_* variable was read during import


LATER = (
    "guardian.model.trail",
    "guardian.model.selectors",
    "guardian.model.baselines",
    "guardian.model.bucket",
    "guardian.model.log_group",
    "guardian.model.findings",
    "guardian.model.alert",
    "guardian.model.subjects",
    "guardian.model.signing",
    "guardian.model.floor",
    "guardian.model.approvals",
    "guardian.flows.approvals",
    "guardian.model.evidence",
    "guardian.ports.calls",
    "guardian.ports.flow",
    "guardian.flows.baselines",
    "guardian.flows.restore_trail",
    "guardian.flows.storage",
    "guardian.flows.key",
    "guardian.flows.lake",
    "guardian.flows.own_rules",
    "guardian.flows.repeats",
    "guardian.flows.steps",
    "guardian.flows.sweep",
    "guardian.flows.sweep_checks",
    "guardian.adapters.full",
    "guardian.adapters.trails",
    "guardian.adapters.storage",
    "guardian.adapters.services",
    "guardian.entrypoints.sweep",
    "guardian.entrypoints.unreadable",
    "guardian.flows.deliver",
    "guardian_console",
    "hashlib",
    "platform",
)
LAZY_PROBE = """
import sys
import boto3
already = set(sys.modules)
import guardian.entrypoints.handler
print(",".join(sorted(name for name in set(sys.modules) - already)))
"""


def test_the_cold_start_path_loads_nothing_needed_only_after_start_logging() -> None:
    """Kept off the import: what only the sweep, a restore or the alert needs, and OpenSSL (hashlib)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run([sys.executable, "-c", LAZY_PROBE], env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    loaded = set(run.stdout.strip().split(","))
    assert "guardian.flows.handle_event" in loaded
    assert loaded.isdisjoint(LATER), sorted(loaded & set(LATER))
