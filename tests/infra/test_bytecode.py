"""The cold path's byte-code in the asset (infra.bytecode): compiled for the runtime's Python, loaded by it without
its sources, the same bytes at every staging, and sources only, said at synth, where no such interpreter is found."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Annotations, Match

from infra import bytecode
from infra.guardian_function import NO_BYTECODE, RUNTIME, RUNTIME_VERSION, GuardianFunction
from infra.runtime_asset import SWEEP_ONLY, stage_runtime

pytestmark = pytest.mark.synth


def compiler() -> bytecode.Interpreter:
    found = bytecode.interpreter(RUNTIME_VERSION)
    if found is None:
        pytest.skip(f"no Python {RUNTIME_VERSION} here: the asset ships sources only (the synth warns; tested below)")
    return found


def pyc(package: Path, module: str, tag: str) -> Path:
    path = package / module
    return path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc"


def test_the_runtime_is_the_version_the_byte_code_is_compiled_for() -> None:
    assert RUNTIME.name == f"python{RUNTIME_VERSION}" == "python3.13"


def test_the_cold_path_ships_unchecked_hash_byte_code_of_the_lean_sources(tmp_path: Path) -> None:
    python = compiler()
    package = stage_runtime(staging=tmp_path, leave_out=SWEEP_ONLY, python=RUNTIME_VERSION) / "guardian"
    compiled = sorted(str(p.relative_to(package)) for p in package.rglob("*.pyc"))
    assert compiled == sorted(str(pyc(package, m, python.cache_tag).relative_to(package)) for m in bytecode.COLD_PATH)
    check = """
import importlib.util, sys
from pathlib import Path
for source, compiled in zip(sys.argv[1::2], sys.argv[2::2]):
    data = Path(compiled).read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER, compiled
    assert int.from_bytes(data[4:8], "little") == 0b01, compiled  # hash-based, its source never checked
    assert data[8:16] == importlib.util.source_hash(Path(source).read_bytes()), compiled  # of the lean source
print("ok")
"""
    pairs = [str(a) for m in bytecode.COLD_PATH for a in (package / m, pyc(package, m, python.cache_tag))]
    run = subprocess.run([python.path, "-c", check, *pairs], capture_output=True, text=True, check=False)
    assert (run.returncode, run.stdout.strip()) == (0, "ok"), run.stderr[-2000:]


def test_the_runtimes_python_loads_the_byte_code_without_reading_the_sources(tmp_path: Path) -> None:
    """Every cold-path module that needs no boto3, its source replaced by one that fails: it still imports."""
    python = compiler()
    package = stage_runtime(staging=tmp_path, leave_out=SWEEP_ONLY, python=RUNTIME_VERSION) / "guardian"
    modules = ["guardian.model.rules", "guardian.model.events", "guardian.model.config", "guardian.model.refs"]
    for module in modules:
        source = package.parent / (module.replace(".", "/") + ".py")
        source.chmod(0o644)
        source.write_text('raise SystemExit("the source was compiled, not the byte-code loaded")\n')
    probe = f"import importlib; [importlib.import_module(m) for m in {modules!r}]; print('loaded')"
    run = subprocess.run(
        [python.path, "-c", probe],
        cwd=package.parent,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(package.parent), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert (run.returncode, run.stdout.strip()) == (0, "loaded"), run.stderr[-2000:]


def test_staging_twice_writes_the_same_bytes(tmp_path: Path) -> None:
    """The asset's hash is its content's: the byte-code must not differ between two synths of the same tree."""
    python = compiler()
    first = stage_runtime(staging=tmp_path / "one", python=RUNTIME_VERSION) / "guardian"
    second = stage_runtime(staging=tmp_path / "two", python=RUNTIME_VERSION) / "guardian"
    for module in bytecode.COLD_PATH:
        path = pyc(first, module, python.cache_tag)
        assert path.read_bytes() == pyc(second, module, python.cache_tag).read_bytes(), module


def test_an_interpreter_that_does_not_run_or_is_another_version_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pyenv shim for a version not selected exits 127; another version answers with its own cache tag, a
    pre-release with its own magic number; one that hangs is given up on. The one kept is known by its SHA-256."""
    scripts = {
        "shim": "echo 'pyenv: python3.13: command not found' >&2\nexit 127",
        "other": "echo cpython-311 3.11.7 a70d0d0a",
        "beta": "echo cpython-313 3.13.0b1 e70d0d0a",  # a pre-release's magic: Lambda's 3.13 would pass it over
        "hangs": "sleep 5",
        "right": f"echo cpython-313 3.13.9 {bytecode.MAGIC['3.13']}",
    }
    for name, body in scripts.items():
        (tmp_path / name).write_text(f"#!/bin/sh\n{body}\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setattr(bytecode, "ASK_SECONDS", 0.5)
    wrong = [str(tmp_path / n) for n in ("shim", "absent", "other", "beta", "hangs")]
    monkeypatch.setattr(bytecode, "_candidates", lambda version: wrong)
    bytecode.interpreter.cache_clear()
    try:
        assert bytecode.interpreter("3.13") is None
        monkeypatch.setattr(bytecode, "_candidates", lambda version: [*wrong, str(tmp_path / "right")])
        bytecode.interpreter.cache_clear()
        found = bytecode.interpreter("3.13")
        digest = hashlib.sha256((tmp_path / "right").read_bytes()).hexdigest()
        assert found == bytecode.Interpreter(
            str(tmp_path / "right"), "cpython-313", "3.13.9", f"{tmp_path / 'right'} {digest}"
        )
    finally:
        bytecode.interpreter.cache_clear()


def test_without_the_runtimes_python_the_asset_ships_sources_and_the_synth_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bytecode, "interpreter", lambda version: None)
    package = stage_runtime(staging=tmp_path, python=RUNTIME_VERSION) / "guardian"
    assert list(package.rglob("*.pyc")) == []
    assert (package / "entrypoints" / "handler.py").is_file()

    stack = cdk.Stack(cdk.App(), "Bare")
    GuardianFunction(
        stack,
        "Fn",
        handler="guardian.entrypoints.handler.lambda_handler",
        description="d",
        environment={},
        log_retention_days=365,
        timeout=Duration.seconds(60),
        retry_attempts=2,
        cold_path_bytecode=True,
    )
    Annotations.from_stack(stack).has_warning("/Bare/Fn", Match.string_like_regexp("No Python 3.13 interpreter"))
    assert "docs/operations.md" in NO_BYTECODE


def test_the_benchmark_loads_the_asset_in_the_runtimes_version() -> None:
    """scripts/bench.py section 1b (it imports no aws_cdk, so it names the version itself)."""
    bench = (Path(__file__).resolve().parents[2] / "scripts" / "bench.py").read_text()
    assert f'RUNTIME_VERSION = "{RUNTIME_VERSION}"' in bench


def test_the_compiler_runs_isolated_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sitecustomize on PYTHONPATH (or PYTHON* variables) cannot change what is compiled: -I -S."""
    python = compiler()
    clean = stage_runtime(staging=tmp_path / "clean", python=RUNTIME_VERSION) / "guardian"
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "sitecustomize.py").write_text("import py_compile\npy_compile.compile = None\n")
    monkeypatch.setenv("PYTHONPATH", str(evil))
    monkeypatch.setenv("PYTHONSTARTUP", str(evil / "sitecustomize.py"))
    again = stage_runtime(staging=tmp_path / "again", python=RUNTIME_VERSION) / "guardian"
    for module in bytecode.COLD_PATH:
        assert pyc(clean, module, python.cache_tag).read_bytes() == pyc(again, module, python.cache_tag).read_bytes()


def test_a_deployed_asset_is_checked_against_its_sources(tmp_path: Path) -> None:
    """scripts/verify_bytecode.py on the zip as Lambda holds it: alike; then one module's byte-code compiled from
    another source (what a compiler that lies would ship) and one .pyc whose source is gone are named."""
    python = compiler()
    package = stage_runtime(staging=tmp_path / "s", leave_out=SWEEP_ONLY, python=RUNTIME_VERSION) / "guardian"
    tree = tmp_path / "asset"
    shutil.copytree(package, tree / "guardian")
    archive = tmp_path / "remediation.zip"

    def verify() -> subprocess.CompletedProcess[str]:
        archive.unlink(missing_ok=True)
        with zipfile.ZipFile(archive, "w") as zipped:
            for path in sorted(tree.rglob("*")):
                zipped.write(path, path.relative_to(tree))
        script = Path(__file__).resolve().parents[2] / "scripts" / "verify_bytecode.py"
        return subprocess.run([sys.executable, str(script), str(archive)], capture_output=True, text=True, check=False)

    clean = verify()
    assert (clean.returncode, clean.stdout.strip()) == (
        0,
        f"25 of 25 modules' byte-code recompiled alike with {python.path} ({python.version})",
    ), clean.stderr
    rules = tree / "guardian" / "model" / "rules.py"
    honest = rules.read_text()
    rules.write_text(honest + "\nINJECTED = True\n")
    bytecode.compile_cold_path(tree / "guardian", python)  # the byte-code of a source that is not shipped
    rules.write_text(honest)
    (tree / "guardian" / "ports" / "errors.py").unlink()
    tampered = verify()
    assert tampered.returncode == 1
    assert tampered.stdout.splitlines()[:2] == [
        "NOT its source's byte-code: guardian/model/rules.py",
        "NOT its source's byte-code: guardian/ports/errors.py",
    ]


def test_the_default_synth_warns_of_nothing_so_strict_refuses_only_a_missing_compiler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`cdk deploy --strict` fails on any synth warning: the stack has none but the byte-code's (docs/operations.md)."""
    from app import build_app  # noqa: PLC0415 - the whole app, synthesized once here

    def warnings() -> list[str]:
        assembly = build_app({"alertEmails": "sec@example.com"}).synth(force=True)
        found = [m for s in assembly.stacks for m in s.messages if m.level.name in ("WARNING", "ERROR")]
        return [str(m.entry.data).split(" [ack:")[0] for m in found]

    assert warnings() == ([] if bytecode.interpreter(RUNTIME_VERSION) else [NO_BYTECODE])
    monkeypatch.setattr(bytecode, "interpreter", lambda version: None)
    assert warnings() == [NO_BYTECODE]
