"""One CLI synth for every end-to-end test (it takes seconds: the real CDK CLI, with cdk-nag)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from simulation import deploy
from tests.support import REPO_ROOT


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("npx") is None or not (REPO_ROOT / "node_modules" / ".bin" / "cdk").exists():
        pytest.skip("the pinned CDK CLI is not installed: run `make setup`")
    return deploy.synth(tmp_path_factory.mktemp("cdk.out"))
