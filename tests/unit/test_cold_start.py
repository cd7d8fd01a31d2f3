"""What a cold start does before StartLogging, in a fresh interpreter: the modules it has loaded and the botocore data
it has read when the request leaves (no timing: the figures are in ``make bench``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from guardian.adapters.clients import SERVICES
from tests.support import REPO_ROOT

PROBE = """
import json, os, sys
from datetime import UTC, datetime
import boto3
import botocore.endpoint
import guardian.entrypoints.handler as handler

files, folders = [], []
data = os.path.join(os.path.dirname(botocore.__file__), "data") + os.sep
def opened(event, args):  # every file opened and folder listed, whoever does it
    path = args[0] if args and isinstance(args[0], str) else ""
    if path.startswith(data):
        (files if event == "open" else folders if event == "os.listdir" else []).append(path[len(data):])
sys.addaudithook(opened)

def at_start_logging(self, request):  # the first request: StartLogging; nothing is sent
    assert b"StartLogging" in request.headers["X-Amz-Target"], request.headers
    guardian = {name: vars(module) for name, module in sys.modules.items() if name.startswith("guardian")}
    print(json.dumps({"modules": sorted(guardian), "classes": sorted({n for v in guardian.values() for n in v}),
                      "files": files, "folders": folders}), flush=True)
    os._exit(0)
botocore.endpoint.Endpoint._send = at_start_logging

event = json.loads(sys.argv[1])
event["detail"]["eventTime"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
handler.lambda_handler(event, None)
sys.exit("StartLogging was never sent")
"""


def probe_start_logging(**extra_env: str) -> dict[str, list[str]]:
    """Run :data:`PROBE` in a fresh interpreter on a StopLogging event: what it had imported at StartLogging."""
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
        **extra_env,
    }
    run = subprocess.run(
        [sys.executable, "-c", PROBE, event], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert run.returncode == 0, run.stderr[-3000:]
    found: dict[str, list[str]] = json.loads(run.stdout.strip().splitlines()[-1])
    return found


@pytest.fixture(scope="module")
def at_start_logging() -> dict[str, list[str]]:
    return probe_start_logging()


def test_the_sweeps_alert_path_setting_is_not_compiled_before_start_logging(
    at_start_logging: dict[str, list[str]],
) -> None:
    """GUARDIAN_ALERT_PATH is the sweep's (the remediation function has none): its reader and its dataclass are
    compiled only where it is set."""
    assert "guardian.model.alert_path_config" not in at_start_logging["modules"]
    assert "AlertPath" not in at_start_logging["classes"]
    assert "guardian.flows.start_logging" in at_start_logging["modules"]


def test_botocore_reads_only_the_data_the_cloudtrail_client_needs(at_start_logging: dict[str, list[str]]) -> None:
    """One session, one client: the endpoints, the SDK defaults, and CloudTrail's own model and endpoint rules, each
    read once; of botocore's ~440 service folders only the guardian's own are listed (botocore's loader lists them
    all before it loads a model)."""
    files = at_start_logging["files"]
    assert {f.split("/")[0] for f in files if "/" in f} == {"cloudtrail"}, files
    assert "endpoints.json" in files
    assert len(files) == len(set(files)), files
    listed = {folder.split("/")[0] for folder in at_start_logging["folders"] if folder}
    assert "cloudtrail" in listed
    assert listed <= set(SERVICES), sorted(listed - set(SERVICES))[:10]


def test_the_results_are_not_compiled_before_start_logging(at_start_logging: dict[str, list[str]]) -> None:
    """The result, its actions and its verification are built after StartLogging returns: their module (three frozen
    dataclasses, about 2 ms of a cold start from sources) is imported then (issue 21)."""
    assert "guardian.model.results" not in at_start_logging["modules"]
    assert "guardian.flows.handle_event" in at_start_logging["modules"]


def test_the_byte_code_shipped_is_of_what_a_cold_start_imports_before_start_logging(
    at_start_logging: dict[str, list[str]],
) -> None:
    """infra.bytecode.COLD_PATH names the modules whose byte-code the asset ships: exactly those loaded here."""
    from infra.bytecode import COLD_PATH  # noqa: PLC0415 - infra is not the guardian's: only this test reads it

    loaded = set()
    for name in at_start_logging["modules"]:
        path = REPO_ROOT.joinpath(*name.split("."))
        loaded.add(str((path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).relative_to(REPO_ROOT)))
    assert sorted(loaded) == sorted(f"guardian/{m}" for m in COLD_PATH)
