"""The write quota's turns cost a quiet account's heal nothing (issue 21): with the activity table set, as deployed,
the first StartLogging leaves before any module of the turns is loaded, and before any DynamoDB request (the probe
stops the process at the first request, which must be StartLogging)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import REPO_ROOT
from tests.unit.test_cold_start import PROBE


def test_a_quiet_heal_loads_no_module_of_the_turns_before_start_logging() -> None:
    event = (REPO_ROOT / "tests" / "events" / "stop_logging.json").read_text()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "GUARDIAN_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:guardian-alerts",
        "GUARDIAN_EVIDENCE_BUCKET": "guardian-evidence-123456789012",
        "GUARDIAN_ACTIVITY_TABLE": "guardian-activity",
    }
    run = subprocess.run(
        [sys.executable, "-c", PROBE, event], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert run.returncode == 0, run.stderr[-3000:]
    modules = set(json.loads(run.stdout.strip().splitlines()[-1])["modules"])
    assert "guardian.flows.start_logging" in modules
    assert not {"guardian.flows.write_turns", "guardian.adapters.turns", "guardian.ports.turns"} & modules
