"""One CLI synth for every end-to-end test (it takes seconds: the real CDK CLI, with cdk-nag)."""

from __future__ import annotations

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
    if shutil.which("npx") is None or not (REPO_ROOT / "node_modules" / ".bin" / "cdk").exists():
        pytest.skip("the pinned CDK CLI is not installed: run `make setup`")
    return deploy.synth(
        tmp_path_factory.mktemp("cdk.out"),
        f"approvers=arn:aws:iam::123456789012:user/{OPERATOR}",
        *channels.CONTEXT,  # a Slack webhook and the CIS alarms, as the demo deploys them
    )


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
