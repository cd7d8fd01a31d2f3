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
    """In the Lambda package, the console and the watch rules compiler alike."""
    modules = [
        *PACKAGE.rglob("*.py"),
        *(REPO_ROOT / "guardian_console").rglob("*.py"),
        *(REPO_ROOT / "watch_rules").rglob("*.py"),
    ]
    sizes = {str(p.relative_to(REPO_ROOT)): len(p.read_text().splitlines()) for p in modules}
    assert {path: lines for path, lines in sizes.items() if lines > 300} == {}


def test_the_sweep_asset_leaves_out_only_what_the_sweep_never_imports() -> None:
    """The sweep's asset leaves out the watch rules' matching (infra REMEDIATION_ONLY), which only the handler runs."""
    from infra.runtime_asset import REMEDIATION_ONLY  # noqa: PLC0415

    reached = handler_imports("guardian.entrypoints.sweep")
    assert "flows/sweep.py" in reached
    assert "model/watch.py" in handler_imports()  # the handler does import them
    assert sorted(set(REMEDIATION_ONLY) & reached) == []
    assert all((PACKAGE / module).is_file() for module in REMEDIATION_ONLY)


def test_the_notifier_is_left_out_of_the_other_functions_and_leaves_them_out() -> None:
    """The notifier's modules (infra NOTIFIER_ONLY) are in neither the handler's nor the sweep's reach, and the
    notifier reaches none of the modules its asset leaves out."""
    from infra.runtime_asset import NOTIFIER_ONLY, REMEDIATION_ONLY, SWEEP_ONLY  # noqa: PLC0415

    notifier = handler_imports("guardian.entrypoints.notify", flows=False)
    assert set(NOTIFIER_ONLY) <= notifier
    assert sorted(set(NOTIFIER_ONLY) & (handler_imports() | handler_imports("guardian.entrypoints.sweep"))) == []
    assert sorted(notifier & {*SWEEP_ONLY, *REMEDIATION_ONLY}) == []


def test_the_chain_heads_function_is_left_out_of_the_other_functions() -> None:
    """The security account's chain-heads modules (infra CHAIN_HEADS_ONLY) are in none of the other functions' reach,
    so leaving them out of their assets breaks none of them; the chain-heads function reaches none of theirs."""
    from infra.runtime_asset import CHAIN_HEADS_ONLY, NOTIFIER_ONLY, REMEDIATION_ONLY, SWEEP_ONLY  # noqa: PLC0415

    heads = handler_imports("guardian.entrypoints.chain_heads", flows=False)
    assert set(CHAIN_HEADS_ONLY) <= heads
    others = handler_imports() | handler_imports("guardian.entrypoints.sweep")
    others |= handler_imports("guardian.entrypoints.notify", flows=False)
    assert sorted(set(CHAIN_HEADS_ONLY) & others) == []
    assert sorted(heads & {*SWEEP_ONLY, *REMEDIATION_ONLY, *NOTIFIER_ONLY}) == []


def handler_imports(entry: str = "guardian.entrypoints.handler", *, flows: bool = True) -> set[str]:
    """Every module the event handler can import, as a path in the package: its imports, at the top of a module or
    inside a function or for typing, followed all the way; and the flows the decision table names, which
    :mod:`guardian.flows.found` imports by name."""
    from guardian.model.rules import FLOWS, SUBJECT_FLOWS  # noqa: PLC0415

    graph = grimp.build_graph("guardian")
    roots = {entry, *(f"guardian.flows.{n}" for n in (*FLOWS.values(), *SUBJECT_FLOWS.values()) if flows)}
    reached = set(roots)
    for root in roots:
        reached |= graph.find_upstream_modules(root)
    return {
        str(Path(*m.split(".")[1:]).with_suffix(".py"))
        if (PACKAGE / Path(*m.split(".")[1:])).with_suffix(".py").exists()
        else str(Path(*m.split(".")[1:]) / "__init__.py")
        for m in reached
    }


def test_the_remediation_asset_leaves_out_only_what_the_handler_never_imports() -> None:
    """The remediation function's asset leaves out the sweep's modules (infra SWEEP_ONLY); a handler importing one of
    them would fail in Lambda, so none may be reachable from the handler, and each one left out must exist."""
    from infra.runtime_asset import SWEEP_ONLY  # noqa: PLC0415

    reached = handler_imports()
    assert "flows/start_logging.py" in reached  # found by name from the decision table
    assert "flows/selftest.py" in reached
    assert sorted(set(SWEEP_ONLY) & reached) == []
    assert all((PACKAGE / module).is_file() for module in SWEEP_ONLY)
