"""The threat model is tests (issue 20): every row of docs/threat-model.md's moves table names the tests that perform
its move, each of them marked ``@pytest.mark.threat("<row>")``; a row naming no test, a test that does not exist or
is not marked for it, or a marked test no row names, fails here. Read from the files' syntax (no collection, cheap)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO_ROOT

DOC = REPO_ROOT / "docs" / "threat-model.md"
ROW = re.compile(r"^\| `(?P<id>[a-z0-9-]+)` \|(?P<cells>.*)\|\s*$")
# Rows whose tests are still to come (`open: <who>` in the tests cell): empty now; a new move may wait here, named.
OPEN_ROWS: dict[str, str] = {}


@dataclass(frozen=True)
class Row:
    id: str
    tests: tuple[str, ...]  # node ids "tests/x.py::test_y"
    open: str | None  # who brings the tests, for a row whose tests cell is "open: <who>"


def rows(text: str) -> list[Row]:
    found = []
    for line in text.splitlines():
        match = ROW.match(line)
        if match is None:
            continue
        cells = [c.strip() for c in match["cells"].split(" | ")]
        last = cells[-1]
        opened = re.fullmatch(r"open: (\S+)", last)
        found.append(Row(match["id"], tuple(re.findall(r"`([^`]+)`", last)), opened[1] if opened else None))
    return found


def _threat_rows(decorator: ast.expr) -> list[str]:
    """The rows of a ``pytest.mark.threat("a", "b")`` decorator; [] for any other."""
    if not isinstance(decorator, ast.Call):
        return []
    func = decorator.func
    if not (isinstance(func, ast.Attribute) and func.attr == "threat"):
        return []
    return [a.value for a in decorator.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def marked_functions(root: Path = REPO_ROOT / "tests", base: Path = REPO_ROOT) -> dict[str, list[str]]:
    """Every module-level test function under ``root``, by node id, with the threat rows it is marked for."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("test_*.py")):
        relative = path.relative_to(base).as_posix()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                found[f"{relative}::{node.name}"] = [r for d in node.decorator_list for r in _threat_rows(d)]
    return found


def problems(text: str, functions: dict[str, list[str]], open_rows: dict[str, str]) -> list[str]:
    """What is wrong between the doc's rows and the tests' marks (empty: the threat model is its tests)."""
    found: list[str] = []
    listed = rows(text)
    ids = [r.id for r in listed]
    found += [f"row {i} appears twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for row in listed:
        if row.open is not None:
            if open_rows.get(row.id) != row.open:
                found.append(f"row {row.id} is open for {row.open}, which OPEN_ROWS does not say")
            continue
        if row.id in open_rows:
            found.append(f"row {row.id} names its tests now: remove it from OPEN_ROWS")
        if not row.tests:
            found.append(f"row {row.id} names no test")
        for node in row.tests:
            name = node.split("[", 1)[0]
            if name not in functions:
                found.append(f"row {row.id} names {node}, which does not exist")
            elif row.id not in functions[name]:
                found.append(f'row {row.id} names {node}, which lacks @pytest.mark.threat("{row.id}")')
    named = {(row.id, node.split("[", 1)[0]) for row in listed for node in row.tests}
    for node, marked in functions.items():
        found += [f"{node} is marked for row {r}, which does not name it" for r in marked if (r, node) not in named]
    found += [f"OPEN_ROWS names {i}, which is not a row" for i in open_rows if i not in ids]
    return found


def test_every_row_is_performed_by_the_tests_it_names_and_every_marked_test_by_a_row() -> None:
    assert problems(DOC.read_text(), marked_functions(), OPEN_ROWS) == []


def test_the_rows_are_the_moves_table_one_line_each() -> None:
    listed = rows(DOC.read_text())
    assert len(listed) >= 40
    assert {"trail-tamper", "own-rules", "cfn-other-stack", "activity-table", "own-roles"} <= {r.id for r in listed}


DOC_EXAMPLE = """\
| id | move | alone | + SCP | + security account | tests |
|---|---|---|---|---|---|
| `named` | a | b | c | d | `tests/x.py::test_ok` `tests/x.py::test_unmarked` |
| `missing` | a | b | c | d | `tests/x.py::test_gone` |
| `empty` | a | b | c | d | — |
| `waiting` | a | b | c | d | open: H9 |
| `named` | a | b | c | d | `tests/x.py::test_ok` |
"""


def test_the_check_reports_each_kind_of_mismatch() -> None:
    functions = {"tests/x.py::test_ok": ["named"], "tests/x.py::test_unmarked": [], "tests/x.py::test_stray": ["other"]}
    found = problems(DOC_EXAMPLE, functions, {"waiting": "H1", "gone": "H2"})
    assert found == [
        "row named appears twice",
        'row named names tests/x.py::test_unmarked, which lacks @pytest.mark.threat("named")',
        "row missing names tests/x.py::test_gone, which does not exist",
        "row empty names no test",
        "row waiting is open for H9, which OPEN_ROWS does not say",
        "tests/x.py::test_stray is marked for row other, which does not name it",
        "OPEN_ROWS names gone, which is not a row",
    ]


def test_marks_are_read_from_the_decorators(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text(
        "import pytest\n\n@pytest.mark.threat('x', 'y')\n@pytest.mark.synth\ndef test_one():\n    pass\n\n"
        "def test_two():\n    pass\n\ndef helper():\n    pass\n"
    )
    found = {k.rsplit("::", 1)[1]: v for k, v in marked_functions(tmp_path, tmp_path).items()}
    assert found == {"test_one": ["x", "y"], "test_two": []}
