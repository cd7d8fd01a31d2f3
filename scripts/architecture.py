"""``make architecture``: the shape of guardian/ in figures. Prints; asserts nothing (import-linter enforces).

1. Every module with its line count, grouped by layer (the folder it sits in).
2. The internal import graph (module-level and function-level imports alike), and its import circles.
3. The modules one StopLogging event passes through, from ``lambda_handler`` to the published alert, and how many
   calls climb from a lower layer into a higher one.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "guardian"
sys.path.insert(0, str(ROOT))

from guardian.entrypoints.handler import lambda_handler  # noqa: E402
from tests.support import ACCOUNT, TRAIL  # noqa: E402


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def imports(path: Path, known: set[str]) -> set[str]:
    """Internal modules this one imports, wherever the import statement stands: at the top, inside a function, or
    under TYPE_CHECKING (a typing-only import still ties the two modules together, as import-linter counts it)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m in known and m != module_name(path)}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


LAYER_ORDER = ("model", "ports", "flows", "adapters", "entrypoints")


def layer(name: str) -> int:
    parts = name.split(".")
    return LAYER_ORDER.index(parts[1]) if len(parts) > 2 and parts[1] in LAYER_ORDER else -1


def trace_stop_logging() -> tuple[list[str], int]:
    """Run one StopLogging through the handler against in-process moto; record guardian modules as they are
    entered, in order, and count the calls made from a module of a lower layer into one of a higher layer (a
    callback climbing back up: the clock the entry point passes down, say)."""
    event = json.loads((ROOT / "tests" / "events" / "stop_logging.json").read_text())
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="trail-bucket")
        s3.create_bucket(Bucket="guardian-evidence", ObjectLockEnabledForBucket=True)
        boto3.client("cloudtrail", region_name="us-east-1").create_trail(Name=TRAIL, S3BucketName="trail-bucket")
        topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="alerts")["TopicArn"]
        assert topic.split(":")[4] == ACCOUNT
        os.environ.update(GUARDIAN_TOPIC_ARN=topic, GUARDIAN_EVIDENCE_BUCKET="guardian-evidence")
        visited: list[str] = []
        stack: list[str] = []
        upward = 0

        def profile(frame: Any, what: str, _arg: Any) -> None:
            nonlocal upward
            name = frame.f_globals.get("__name__", "")
            if not name.startswith("guardian"):
                return
            if what == "call":
                if name not in visited:
                    visited.append(name)
                if stack and layer(name) > layer(stack[-1]) > -1:
                    upward += 1
                stack.append(name)
            elif what == "return" and stack:
                stack.pop()

        sys.setprofile(profile)
        try:
            result = lambda_handler({**event}, None)
        finally:
            sys.setprofile(None)
        assert result["outcome"] == "healed", result
    return visited, upward


def main() -> None:
    found = modules()
    graph = {name: imports(path, set(found)) for name, path in found.items()}
    print("1. modules (lines)")
    by_folder: dict[str, list[str]] = defaultdict(list)
    for name, path in found.items():
        folder = str(path.parent.relative_to(ROOT))
        by_folder[folder].append(f"{name.rsplit('.', 1)[-1]} {len(path.read_text().splitlines())}")
    for folder, names in by_folder.items():
        print(f"   {folder}/ ({len(names)}): " + ", ".join(names))
    biggest = max(found.items(), key=lambda item: len(item[1].read_text().splitlines()))
    over = [n for n, p in found.items() if len(p.read_text().splitlines()) > 300]
    print(
        f"   {len(found)} modules; largest {biggest[0]} ({len(biggest[1].read_text().splitlines())} lines); "
        f"over 300 lines: {', '.join(over) or 'none'}"
    )
    print("2. internal imports")
    for name in sorted(graph):
        if graph[name]:
            print(f"   {name} -> {', '.join(sorted(graph[name]))}")
    circles = cycles(graph)
    print(f"   import circles: {len(circles)}" + "".join(f"\n     {' <-> '.join(c)}" for c in circles))
    upward = [(a, b) for a, targets in graph.items() for b in targets if -1 < layer(a) < layer(b)]
    print(f"   imports pointing up the layers: {len(upward)}" + "".join(f"\n     {a} -> {b}" for a, b in upward))
    visited, calls_up = trace_stop_logging()
    print("3. one StopLogging event, lambda_handler to the alert")
    print(f"   {len(visited)} modules, in the order entered: {', '.join(visited)}")
    print(f"   calls into a higher layer's code (a flow through a port into an adapter, the clock): {calls_up}")


if __name__ == "__main__":
    main()
