"""Lambda, as far as the simulation needs it: moto 5.2.5 runs functions only in Docker, which is not here.

While :func:`running_functions` is active, a function invoked through moto_server (``lambda:Invoke``, as the console
does) runs for real: the code deployed to it (the asset zip moto holds, unpacked once) in a fresh Python process,
with the function's own environment, its handler, and a context whose remaining time counts down from its timeout.
The answer is the handler's return value, or Lambda's error document with ``X-Amz-Function-Error``.

With ``events=True``, the invocations EventBridge makes (:func:`simulation.moto_server.eventbridge_targets`) run the
same way, asynchronously, as Lambda runs an asynchronous invocation (one attempt here; Lambda retries twice).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction

# The handler's process: read the event from stdin, call the handler, print its answer after a marker line.
_BOOT = """
import importlib, json, sys, time, uuid
module, name, timeout, function = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
deadline = time.monotonic() + timeout
class Context:
    function_name = function
    aws_request_id = str(uuid.uuid4())
    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.monotonic()) * 1000))
event = json.loads(sys.stdin.read() or "{}")
try:
    answer, failed = getattr(importlib.import_module(module), name)(event, Context()), False
except Exception as exc:
    answer, failed = {"errorMessage": str(exc), "errorType": type(exc).__name__}, True
print("\\n@@answer@@")
print(json.dumps(answer, default=str))
sys.exit(3 if failed else 0)
"""
_MARKER = "\n@@answer@@\n"


@dataclass
class Runs:
    """Every run: (function name, event, answer, failed), and the threads of asynchronous ones."""

    endpoint: str
    events: bool = False  # also run the invocations EventBridge makes
    env: dict[str, str] = field(default_factory=dict)  # added to every function's environment (the demo's CA file)
    done: list[tuple[str, Any, Any, bool]] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    _code: dict[str, Path] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def code_dir(self, function: LambdaFunction) -> Path:
        digest = hashlib.sha256(function.code_bytes).hexdigest()
        with self._lock:
            if digest not in self._code:
                target = Path(tempfile.mkdtemp(prefix="guardian-function-"))
                with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
                    archive.extractall(target)
                self._code[digest] = target
            return self._code[digest]

    def run(self, function: LambdaFunction, event: Any) -> tuple[Any, bool, str]:
        """Run the function's handler on ``event``: (its answer, whether it failed, its log)."""
        module, name = str(function.handler).rsplit(".", 1)
        code = self.code_dir(function)
        env = {
            "PATH": os.environ.get("PATH", ""),
            **{k: str(v) for k, v in function.environment_vars.items()},
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "PYTHONPATH": str(code),
            **self.env,
        }
        timeout = float(function.timeout)
        args = [sys.executable, "-c", _BOOT, module, name, str(timeout), function.function_name]
        try:
            proc = subprocess.run(
                args,
                input=json.dumps(event),
                env=env,
                # In the code's directory: `python -c` puts the working directory first on sys.path, so from the
                # repository's root the checkout's own guardian/ would be imported instead of the deployed code.
                cwd=code,
                capture_output=True,
                text=True,
                timeout=timeout + 30,
                check=False,
            )
        except subprocess.TimeoutExpired:
            answer: Any = {"errorMessage": f"Task timed out after {timeout:.0f} seconds", "errorType": "Timeout"}
            self.done.append((function.function_name, event, answer, True))
            return answer, True, ""
        log, _, printed = proc.stdout.rpartition(_MARKER)
        try:
            answer = json.loads(printed)
        except ValueError:
            answer = {"errorMessage": proc.stderr[-2000:] or "the runtime exited", "errorType": "Runtime.ExitError"}
        failed = proc.returncode != 0
        self.done.append((function.function_name, event, answer, failed))
        self.count(function, failed)
        return answer, failed, log + proc.stderr

    def count(self, function: LambdaFunction, failed: bool) -> None:
        """Lambda's own metrics for the run (:func:`lambda_metrics`)."""
        import boto3  # noqa: PLC0415 - the simulation only

        cloudwatch = boto3.client(
            "cloudwatch",
            region_name=function.region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        lambda_metrics(cloudwatch, function.function_name, failed=failed)

    def run_later(self, function: LambdaFunction, event: Any) -> None:
        thread = threading.Thread(target=self.run, args=(function, event), daemon=True)
        self.threads.append(thread)
        thread.start()

    def wait(self, timeout: float = 120.0) -> None:
        for thread in list(self.threads):
            thread.join(timeout)


_ACTIVE: list[Runs] = []


def lambda_metrics(cloudwatch: Any, function: str, *, failed: bool) -> None:
    """Lambda's own AWS/Lambda Invocations and Errors for one run, as Lambda publishes them (moto does not): the
    console reads the sweep's runs there (nobody in the account can publish to AWS/ namespaces in AWS)."""
    dimensions = [{"Name": "FunctionName", "Value": function}]
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": "Invocations", "Dimensions": dimensions, "Value": 1.0, "Unit": "Count"},
            {"MetricName": "Errors", "Dimensions": dimensions, "Value": float(failed), "Unit": "Count"},
        ],
    )


def active() -> Runs | None:
    """The runner, when the simulation runs functions (and EventBridge's invocations of them)."""
    return _ACTIVE[-1] if _ACTIVE else None


@contextmanager
def running_functions(endpoint: str, *, events: bool = False, env: dict[str, str] | None = None) -> Iterator[Runs]:
    runs = Runs(endpoint, events, dict(env or {}))
    original = LambdaFunction._invoke_lambda

    def invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        payload = json.loads(event) if isinstance(event, str) else (event or {})
        answer, failed, log = runs.run(self, payload)
        return json.dumps(answer, default=str), failed, log

    LambdaFunction._invoke_lambda = invoke_lambda  # type: ignore[method-assign]
    _ACTIVE.append(runs)
    try:
        yield runs
    finally:
        _ACTIVE.remove(runs)
        LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]
        runs.wait(timeout=5)
