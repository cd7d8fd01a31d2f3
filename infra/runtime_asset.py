"""Stage the ``guardian`` package as the Lambda asset: only that package, no caches, no tests, no dependencies.

boto3 comes from the Lambda runtime, so the asset stays a few kilobytes and cold start stays small. Staging is
atomic and keyed by content (``build/lambda/<hash>/guardian``): concurrent synths (parallel test workers) never
see a half-copied package, and a staged copy never changes once written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_PACKAGE = ROOT / "guardian"
STAGING = ROOT / "build" / "lambda"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


def stage_runtime(source: Path = RUNTIME_PACKAGE, staging: Path = STAGING) -> Path:
    """Copy ``source`` to ``staging/<content hash>/<name>`` once; return the directory the asset zips."""
    files = sorted(p for p in source.rglob("*.py") if "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes() + b"\0")
    target = staging / digest.hexdigest()[:16]
    if target.is_dir():
        return target
    staging.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".staging-", dir=staging))
    shutil.copytree(source, scratch / source.name, ignore=_IGNORED)
    try:
        os.rename(scratch, target)  # atomic; another process may have won the race with identical content
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
