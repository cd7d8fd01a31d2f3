"""The package's shape holds: its layers are visible in the folder listing, imports point down the layers only, there
is no import circle anywhere in guardian/, and no module outgrows a reader (300 lines)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

from tests.support import REPO_ROOT

PACKAGE = REPO_ROOT / "guardian"
LAYERS = ("guardian.entrypoints", "guardian.adapters", "guardian.flows", "guardian.ports", "guardian.model")


def test_the_layers_are_the_folders_of_the_package() -> None:
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == sorted(layer.split(".")[1] for layer in LAYERS)
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py"]


def test_every_import_linter_contract_is_kept() -> None:
    """The contracts in pyproject.toml: the layer order, independent repair flows, no circles, boto3 only in the
    adapters, a pure model, and neither guardian/ nor infra/ importing the other."""
    run = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "0 broken" in run.stdout


def test_no_import_circle_anywhere_in_the_package() -> None:
    """Every import counts, at the top of a module, inside a function, or for typing only."""
    graph = grimp.build_graph("guardian")
    modules = sorted(graph.modules)
    circles = [
        (a, b)
        for a in modules
        for b in graph.find_modules_directly_imported_by(a)
        if b.startswith("guardian") and graph.chain_exists(importer=b, imported=a)
    ]
    assert circles == []


def test_the_layer_check_catches_an_import_pointing_up() -> None:
    """The check can fail: the same graph with one upward import added breaks the layers."""
    graph = grimp.build_graph("guardian")
    assert graph.find_illegal_dependencies_for_layers(layers=LAYERS) == set()
    graph.add_import(importer="guardian.model.rules", imported="guardian.flows.sweep")
    broken = graph.find_illegal_dependencies_for_layers(layers=LAYERS)
    assert {(d.importer, d.imported) for d in broken} == {("guardian.model", "guardian.flows")}


def test_no_module_is_over_300_lines() -> None:
    """In the Lambda package and in the console alike."""
    modules = [*PACKAGE.rglob("*.py"), *(REPO_ROOT / "guardian_console").rglob("*.py")]
    sizes = {str(p.relative_to(REPO_ROOT)): len(p.read_text().splitlines()) for p in modules}
    assert {path: lines for path, lines in sizes.items() if lines > 300} == {}
