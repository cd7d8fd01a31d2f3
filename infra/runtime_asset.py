"""Stage the ``guardian`` package as the Lambda asset: only that package, no caches, no tests, no dependencies.

boto3 comes from the Lambda runtime, so the asset stays a few kilobytes and cold start stays small.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_PACKAGE = ROOT / "guardian"
STAGING = ROOT / "build" / "lambda"


def stage_runtime(source: Path = RUNTIME_PACKAGE, staging: Path = STAGING) -> Path:
    """Copy ``source`` to ``staging/<name>`` and return ``staging``, the directory the asset zips."""
    target = staging / source.name
    if target.exists():
        shutil.rmtree(target)
    staging.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))
    return staging
