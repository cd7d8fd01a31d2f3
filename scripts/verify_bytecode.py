"""Check that a deployed remediation function runs its sources: its byte-code, recompiled here from the sources
shipped beside it by a Python 3.13 you trust, must be the same bytes (infra.bytecode.mismatches).

    aws lambda get-function --function-name <stackName>-remediation --query Code.Location --output text \\
        | xargs curl -s -o remediation.zip
    .venv/bin/python scripts/verify_bytecode.py remediation.zip      # or a staged directory (build/lambda/<hash>)

Exit 0: every .pyc is its source's; 1: the modules that are not (or have no source), named; 2: no Python 3.13 here.
The same 3.13 patch release as the deploying machine's compiles the same bytes; another may differ for all modules.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.bytecode import interpreter, mismatches  # noqa: E402

RUNTIME_VERSION = "3.13"  # infra.guardian_function.RUNTIME (this script imports no aws_cdk)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Is a deployed asset's byte-code its sources'?")
    parser.add_argument("asset", type=Path, help="the function's code zip, or a directory holding guardian/")
    args = parser.parse_args(argv)
    python = interpreter(RUNTIME_VERSION)
    if python is None:
        print(f"no Python {RUNTIME_VERSION} found (PATH, pyenv, uv): nothing checked", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        root = args.asset
        if root.is_file():
            with zipfile.ZipFile(root) as archive:
                archive.extractall(scratch)
            root = Path(scratch)
        package = root / "guardian"
        if not package.is_dir():
            print(f"{args.asset}: no guardian/ package in it", file=sys.stderr)
            return 2
        checked = len(list(package.rglob(f"__pycache__/*.{python.cache_tag}.pyc")))
        wrong = mismatches(package, python)
    for module in wrong:
        print(f"NOT its source's byte-code: guardian/{module}")
    print(
        f"{checked - len(wrong)} of {checked} modules' byte-code recompiled alike with {python.path} ({python.version})"
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
