"""One CLI synth for every end-to-end test (it takes seconds: the real CDK CLI, with cdk-nag)."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from guardian_console.cli import main
from simulation import channels, deploy
from tests.support import REPO_ROOT


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthesized once per run: under xdist the first worker synthesizes into the run's shared directory and the
    other reads it (the tests only read the template and its assets)."""
    if shutil.which("npx") is None or not (REPO_ROOT / "node_modules" / ".bin" / "cdk").exists():
        pytest.skip("the pinned CDK CLI is not installed: run `make setup`")
    context = (
        f"approvers=arn:aws:iam::123456789012:user/{OPERATOR}",
        *channels.CONTEXT,  # a Slack webhook and the CIS alarms, as the demo deploys them
    )
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return deploy.synth(tmp_path_factory.mktemp("cdk.out"), *context)
    shared = tmp_path_factory.getbasetemp().parent / "e2e-cdk.out"  # this run's, common to its workers
    with open(f"{shared}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when closed: the other worker waits for the synth
        done = shared / "synthesized"
        if not done.exists():
            shared.mkdir(exist_ok=True)
            done.write_text(str(deploy.synth(shared, *context)))
        return Path(done.read_text())


OPERATOR = "guardian-operator"  # the IAM user the e2e deployment names in approvers


Console = Callable[..., tuple[int, str, str]]


def console_at(endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Console:
    """``guardian ARGS...`` as a user runs it, against the simulation at ``endpoint``: (exit status, stdout, stderr)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)

    def run(*args: str) -> tuple[int, str, str]:
        status = main(list(args), now=datetime.now(UTC))
        out, err = capsys.readouterr()
        return status, out, err

    return run


def today() -> str:
    return datetime.now(UTC).date().isoformat()
