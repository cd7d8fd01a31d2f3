"""Stage the ``guardian`` package as the Lambda asset: only that package, no tests, no dependencies, no byte-code
but the cold path's, compiled for the runtime (:mod:`infra.bytecode`).

boto3 comes from the Lambda runtime, so the asset stays small; the remediation function's also leaves out the
modules only the sweep runs (:data:`SWEEP_ONLY`). Each module is shipped lean (:func:`lean_source`):
its docstrings and comments, which are for readers of the repository, and its functions' annotations, which are
for the type checker, are blanked out, every line and column kept where it is, so a traceback from Lambda points at
the same code here; what Lambda compiles at every cold start is smaller too. Staging is atomic and keyed by content
(``build/lambda/<hash>/guardian``): concurrent synths (parallel test workers) never see a half-copied package, and a
staged copy never changes once written.
"""

from __future__ import annotations

import ast
import hashlib
import io
import os
import re
import shutil
import tempfile
import tokenize
from collections.abc import Mapping, Sequence
from pathlib import Path

from infra import bytecode

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_PACKAGE = ROOT / "guardian"
STAGING = ROOT / "build" / "lambda"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")  # the byte-code shipped is compiled at staging
# What only the sweep's function runs: its entry point, the sweep and its checks, the digest chain, the settling of
# exempt approvals, the console's requests. Left out of the remediation function's asset, so what its cold start
# downloads stays small; tests/unit/test_architecture.py proves the handler can import none of them.
SWEEP_ONLY = (
    "entrypoints/sweep.py",
    "flows/settle_windows.py",  # blind windows read again once Event history holds them
    "flows/sweep.py",
    "flows/sweep_trails.py",
    "flows/sweep_left.py",  # what a sweep leaves to the event path, checked again (review 3)
    "flows/sweep_checks.py",
    "flows/log_policy_checks.py",  # account log policies reaching a trail's log group
    "flows/workers.py",
    "flows/key_checks.py",
    "flows/key_users.py",
    "model/service_key_policy.py",
    "flows/alert_path.py",
    "flows/own_rules.py",
    "flows/own_functions.py",
    "flows/function_settings.py",
    "flows/own_aliases.py",
    "flows/bus_keys.py",
    "flows/security_rules.py",  # the team's security-routing rules against their signed inventory
    "flows/security_region.py",
    "flows/forwarder_queues.py",
    "flows/webhook_secrets.py",
    "flows/own_buckets.py",
    "flows/lake_checks.py",
    "flows/approvals.py",
    "flows/digests.py",
    "flows/unsigned_records.py",
    "flows/operator.py",
    "flows/approve.py",
    "model/digests.py",
    "flows/log_files.py",
    "flows/log_denied.py",
    "flows/path_notes.py",
    "model/log_digests.py",
    "model/record_summary.py",
    "model/findings.py",
    "flows/path_guard.py",
    "flows/sweep_findings.py",  # the sweep's alerts as Security Hub findings, at the end of its run
    "flows/sweep_copies.py",  # the sweep's alerts as OCSF objects and own events, at the end of its run
    "flows/lake_delivery.py",  # the OCSF findings into a Security Lake custom source, as Parquet
    "model/ocsf_parquet.py",
    "model/parquet.py",
    "flows/mode_tag.py",  # a trail tagged mode=observe under heal (guardian.flows.observe)
    "model/sweep_triggers.py",
)

# What only the remediation function runs: matching events against the watch rules, confirming CloudFormation's
# calls on the guardian's resources. Left out of the sweep's asset.
REMEDIATION_ONLY = (
    "entrypoints/watching.py",
    "model/watch.py",
    "flows/first_sight.py",  # a security rule recorded on first sight by the event path (review 11)
    "entrypoints/stack_calls.py",  # confirming CloudFormation's calls on the guardian's resources
    "flows/deployments.py",
    "model/stack_changes.py",
    "flows/stack_roles.py",  # a role-less stack operation lending the CDK execution role
    "model/stack_roles.py",
    "flows/guard_denied.py",  # a refused call on the guardian's resources: MEDIUM, grouped, capped
    "flows/security_hub.py",  # an alert's copy as a Security Hub finding, after the alert
    "entrypoints/alert_copies.py",  # the copies of the alerts the routes without steps after them publish
    "entrypoints/handler.py",  # the event path's entry and orchestration, and what only they import: the sweep has
    "entrypoints/unreadable.py",  # its own (7 KiB zipped: room for model/asff.py and flows/sweep_findings.py, which
    "flows/handle_event.py",  # the sweep now ships)
    "flows/after_alert.py",
    "flows/found.py",
    "flows/repeats.py",
    "model/activity.py",
    "flows/selftest.py",
)
# What only the webhook notifier runs. Left out of the other two; the notifier's asset leaves out both lists above.
NOTIFIER_ONLY = (
    "entrypoints/notify.py",
    "flows/notify.py",
    "adapters/webhook.py",
    "model/notice.py",
    "model/chat.py",
)
# What only the security account's chain-heads function runs (infra.chain_heads). Left out of the other three.
CHAIN_HEADS_ONLY = (
    "entrypoints/chain_heads.py",
    "flows/chain_heads.py",
    "adapters/chain_heads.py",
    "ports/chain_heads.py",
    "model/chain_heads.py",
)


def stage_runtime(
    source: Path = RUNTIME_PACKAGE,
    staging: Path = STAGING,
    *,
    leave_out: Sequence[str] = (),
    extra: Mapping[str, str] | None = None,
    python: str | None = None,
) -> Path:
    """Copy ``source`` to ``staging/<content hash>/<name>`` once; return the directory the asset zips.
    ``leave_out``: modules (paths in the package) a function never imports, left out of its asset. ``extra``:
    files written into the package (the compiled watch rules), by path in it. ``python``: the runtime's version
    (``3.13``): the cold path's byte-code is compiled for it where an interpreter of it is found
    (:mod:`infra.bytecode`)."""
    extra = dict(extra or {})
    compiler = bytecode.interpreter(python) if python else None
    files = sorted(
        p for p in source.rglob("*.py") if "__pycache__" not in p.parts and str(p.relative_to(source)) not in leave_out
    )
    digest = hashlib.sha256(Path(__file__).read_bytes())  # a change to how modules are made lean restages them
    digest.update("\0".join(sorted(leave_out)).encode() + b"\0")
    digest.update(f"python\0{compiler.identity if compiler else ''}\0".encode() + Path(bytecode.__file__).read_bytes())
    for name, text in sorted(extra.items()):
        digest.update(b"extra\0" + name.encode() + b"\0" + text.encode() + b"\0")
    for path in files:
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes() + b"\0")
    target = staging / digest.hexdigest()[:16]
    if target.is_dir():
        return target
    staging.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".staging-", dir=staging))
    shutil.copytree(source, scratch / source.name, ignore=_IGNORED)
    for left in leave_out:
        (scratch / source.name / left).unlink()
    for path in (scratch / source.name).rglob("*.py"):
        path.write_text(lean_source(path.read_text()))
    for name, text in extra.items():
        (scratch / source.name / name).write_text(text)
    if compiler is not None:
        bytecode.compile_cold_path(scratch / source.name, compiler)
    try:
        os.rename(scratch, target)  # atomic; another process may have won the race with identical content
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def lean_source(text: str) -> str:
    """``text`` without its docstrings (each left as an empty string), comments and functions' annotations (blanked
    to spaces), every line where it was."""
    lines = text.splitlines(keepends=True)
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:  # columns of tokens are characters
            row, col = token.start
            line = lines[row - 1]
            lines[row - 1] = line[:col].rstrip() + ("\n" if line.endswith("\n") else "")
    tree = ast.parse(text)
    spans = [(*span, True) for span in _docstrings(tree)] + [(*span, False) for span in _annotations(tree, text)]
    for (row, col), (end_row, end_col), docstring in sorted(spans, reverse=True):
        head = lines[row - 1].encode()[:col].decode()  # columns of ast nodes are UTF-8 bytes
        tail = lines[end_row - 1].encode()[end_col:].decode()
        if docstring:
            middle = '""' if row == end_row else '"""' + "\n" * (end_row - row) + '"""'
        else:  # as many bytes: every column after it stays where it was
            cut = "".join(lines[row - 1 : end_row]).encode()[len(head.encode()) :]
            middle = re.sub(rb"[^\n]", b" ", cut[: len(cut) - len(tail.encode())]).decode()
        lines[row - 1 : end_row] = (head + middle + tail).splitlines(keepends=True)
    return "".join(lines)


def _annotations(tree: ast.Module, text: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where each annotation of a function's parameters (``: type``) and return (``-> type``) is: (line, byte column).
    Under ``from __future__ import annotations`` they are strings nothing in the guardian reads at run time, and
    Lambda compiles them at every cold start (a sixth of the heal path's compiling). Annotations of names
    (dataclass and NamedTuple fields) are kept: they make the fields. A return annotation over several lines is
    kept too: blanked, its line breaks would end the ``def`` line."""
    found = []
    lines = text.encode().splitlines()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        arguments = node.args
        for arg in [*arguments.posonlyargs, *arguments.args, arguments.vararg, *arguments.kwonlyargs, arguments.kwarg]:
            if arg is not None and arg.annotation is not None and arg.end_lineno is not None:
                name_end = arg.col_offset + len(arg.arg.encode())
                found.append(((arg.lineno, name_end), (arg.end_lineno, arg.end_col_offset or 0)))
        returns = node.returns
        if returns is not None and returns.end_lineno == returns.lineno:
            line = lines[returns.lineno - 1]
            arrow = line.rfind(b"->", 0, returns.col_offset)
            if arrow >= 0 and not line[arrow + 2 : returns.col_offset].strip():
                found.append(((returns.lineno, arrow), (returns.lineno, returns.end_col_offset or 0)))
    return found


def _docstrings(tree: ast.Module) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where each docstring (of the module, a class or a function) starts and ends: (line, byte column)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
                and first.end_lineno is not None
            ):
                found.append(((first.lineno, first.col_offset), (first.end_lineno, first.end_col_offset or 0)))
    return found


# StackSets deploy to hundreds of accounts and Regions with no CDK asset bucket: the package travels in the template.
INLINE_CONTEXT = "cloudtrail-guardian:inlineCode"
_LOADER = """\"\"\"CloudTrail Guardian, self-contained for CloudFormation StackSets: the package is in this file.

At cold start it is unpacked once into /tmp (atomically: a half-written copy is never imported), then imported.
\"\"\"
import base64
import importlib
import io
import os
import sys
import tempfile
import zipfile

_PACKAGE = "{package}"
_HOME = "/tmp/cloudtrail-guardian-{digest}"
if not os.path.isdir(_HOME):
    _scratch = tempfile.mkdtemp(prefix=".guardian-", dir="/tmp")
    zipfile.ZipFile(io.BytesIO(base64.b64decode(_PACKAGE))).extractall(_scratch)
    try:
        os.rename(_scratch, _HOME)
    except OSError:
        pass  # another import in this environment won the race with the same content
sys.path.insert(0, _HOME)
lambda_handler = importlib.import_module("guardian.entrypoints.handler").lambda_handler


def sweep_handler(event, context):
    return importlib.import_module("guardian.entrypoints.sweep").lambda_handler(event, context)
"""


def inline_source(source: Path = RUNTIME_PACKAGE, extra: Mapping[str, str] | None = None) -> str:
    """An ``index.py`` that carries the zipped package (base64) and imports it: handlers ``index.lambda_handler``
    and ``index.sweep_handler``."""
    import base64  # noqa: PLC0415
    import io  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    staged = stage_runtime(source, extra=extra)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in (staged / source.name).rglob("*") if p.suffix in (".py", ".json")):
            archive.write(path, path.relative_to(staged))
    return _LOADER.format(package=base64.b64encode(buffer.getvalue()).decode(), digest=staged.name)
