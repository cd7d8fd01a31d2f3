"""Byte-code for what a cold start imports, compiled for the Lambda runtime's own Python.

Lambda's /var/task is read-only: Python cannot keep byte-code there, so every new execution environment compiles
each guardian module it imports from source. Shipping the byte-code of the modules the event handler has imported
when its StartLogging leaves (:data:`COLD_PATH`) halves that import (scripts/bench.py section 1). Only those: the
byte-code of all 128 modules would triple the zipped asset for modules a heal imports after the trail logs again,
or never. The files are unchecked-hash pycs: the asset never changes under a deployed function, so Python loads
them without reading their sources again; the sources ship beside them, for tracebacks and for readers.

Only an interpreter of the runtime's own minor version writes byte-code it will load: one is looked for where it
is usually installed (the synth's own, the PATH, pyenv, uv), final releases only (their magic number); where none
is found the asset ships sources only, as before, and the synth says so. The byte-code runs in place of the sources
beside it, so the interpreter that wrote it is trusted as the machine that deploys is: it runs isolated (no
site-packages, no sitecustomize, no PYTHON* variables), and its real path and SHA-256 key the staged asset.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# What the remediation function has imported when its StartLogging leaves, as files of the package: a test
# (tests/unit/test_cold_start.py) compares it with what a fresh interpreter has imported at that moment.
COLD_PATH = (
    "__init__.py",
    "adapters/__init__.py",
    "adapters/clients.py",
    "adapters/heal.py",
    "entrypoints/__init__.py",
    "entrypoints/handler.py",
    "entrypoints/logs.py",
    "entrypoints/runtime.py",
    "flows/__init__.py",
    "flows/budget.py",
    "flows/found.py",
    "flows/handle_event.py",
    "flows/start_logging.py",
    "model/__init__.py",
    "model/config.py",
    "model/config_values.py",
    "model/decide.py",
    "model/event_refs.py",
    "model/event_time.py",
    "model/events.py",
    "model/refs.py",
    "model/rules.py",
    "ports/__init__.py",
    "ports/errors.py",
    "ports/invocation.py",
)

_ASK = (
    "import importlib.util, sys; "
    "print(sys.implementation.cache_tag, sys.version.split()[0], importlib.util.MAGIC_NUMBER.hex())"
)
# The magic number each runtime's final releases load (Lib/importlib/_bootstrap_external.py): a pre-release of the
# same version may write another, which Lambda would pass over in silence.
MAGIC = {"3.13": "f30d0d0a"}
ASK_SECONDS = 30.0  # a candidate that does not answer in this long is passed over
_COMPILE = """
import py_compile, sys
for path, shown in zip(sys.argv[1::2], sys.argv[2::2]):
    py_compile.compile(path, dfile=shown, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
"""


@dataclass(frozen=True)
class Interpreter:
    path: str
    cache_tag: str  # cpython-313: the name its byte-code files carry
    version: str  # 3.13.0
    identity: str = ""  # its real path and its binary's SHA-256: part of the staged asset's key (the byte-code is
    # its output: another interpreter found later never reuses what this one compiled)


def _candidates(version: str) -> list[str]:
    """This interpreter, ``python<version>`` on the PATH, then pyenv's and uv's installs of that version."""
    found = [sys.executable, shutil.which(f"python{version}") or ""]
    for root in (
        Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions",
        Path.home() / ".local" / "share" / "uv" / "python",
    ):
        if root.is_dir():
            found += [str(p) for p in sorted(root.glob(f"*{version}*/bin/python{version}"), reverse=True)]
    return [c for c in dict.fromkeys(found) if c]


@functools.cache
def interpreter(version: str) -> Interpreter | None:
    """An interpreter of Python ``version`` (such as ``3.13``) that runs, or None."""
    wanted = ["cpython-" + version.replace(".", ""), MAGIC.get(version, "")]
    for path in _candidates(version):
        try:
            answer = subprocess.run(  # noqa: S603 - an interpreter of this machine's, asked its version
                [path, "-I", "-S", "-c", _ASK], capture_output=True, text=True, timeout=ASK_SECONDS, check=False
            )
        except (OSError, subprocess.SubprocessError):  # not runnable, or hanging: the next one
            continue
        words = answer.stdout.split()
        if answer.returncode == 0 and len(words) == 3 and [words[0], words[2]] == wanted:  # a bare pyenv shim fails
            real = Path(path).resolve()
            digest = hashlib.sha256(real.read_bytes()).hexdigest()
            return Interpreter(path, words[0], words[1], f"{real} {digest}")
    return None


def compile_cold_path(package: Path, python: Interpreter) -> list[str]:
    """Write the byte-code of the :data:`COLD_PATH` modules ``package`` carries; the modules compiled. Each names
    its source as the asset does (``guardian/...``); Python gives it its real path when it loads it."""
    modules = [m for m in COLD_PATH if (package / m).is_file()]
    _compile(package, python, modules)
    return modules


def mismatches(package: Path, python: Interpreter) -> list[str]:
    """The modules of ``package`` whose byte-code for ``python`` is not what ``python`` compiles from the source
    shipped beside it (or has no source): a deployed asset checked with an interpreter one trusts
    (scripts/verify_bytecode.py). Compiling is deterministic for one interpreter version."""
    shipped = {
        str(p.parent.parent.relative_to(package) / f"{p.name.split('.')[0]}.py"): p
        for p in sorted(package.rglob(f"__pycache__/*.{python.cache_tag}.pyc"))
    }
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / package.name
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
        sourced = [m for m in shipped if (copy / m).is_file()]
        _compile(copy, python, sourced)
        return sorted(
            m
            for m, pyc in shipped.items()
            if m not in sourced or (copy / pyc.relative_to(package)).read_bytes() != pyc.read_bytes()
        )


def _compile(package: Path, python: Interpreter, modules: list[str]) -> None:
    arguments = [a for m in modules for a in (str(package / m), f"{package.name}/{m}")]
    run = subprocess.run(  # noqa: S603 - the interpreter found above, on the staged package
        [python.path, "-I", "-S", "-c", _COMPILE, *arguments],  # isolated, no site: no sitecustomize, no PYTHON*
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"compiling byte-code with {python.path} failed: {run.stderr[-2000:]}")
