"""Faults injected below botocore's retries: each request of chosen operations answers throttling, a 5xx, AccessDenied,
a connection error or a timeout, as AWS or the network would, and botocore retries it as it would in Lambda.

The injector wraps moto's own ``before-send`` handler (the one that answers every request under ``mock_aws``), so it
sees every attempt of every call, retries included, and a request it fails never reaches moto: a PutObject that
answers AccessDenied writes nothing. Retries do not really sleep: botocore's waits go to ``waits``, the guardian's own
(its backoff under CloudTrail's write quota, its verification polls) to ``pauses``.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from moto.core.botocore_stubber import BotocoreStubber

from guardian.entrypoints import runtime

KINDS = ("throttle", "5xx", "denied", "connection", "timeout")  # "hang" (real seconds, then moto answers) is extra
# The wire protocol of each service the guardian calls, by botocore's service id: how an error body is written.
_QUERY = {"sns", "cloudformation", "cloudwatch", "iam"}
_REST_XML = {"s3"}
_DENIED = {"s3": "AccessDenied", "sns": "AuthorizationError", "cloudformation": "AccessDenied", "iam": "AccessDenied"}


class _Raw:
    """The raw body botocore reads an error response from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _error_response(service: str, url: str, status: int, code: str, message: str) -> AWSResponse:
    if service in _REST_XML:
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    elif service in _QUERY:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>fault</RequestId></ErrorResponse>"
        ).encode()
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
    headers = HTTPHeaders()
    headers["x-amzn-errortype"] = code
    return AWSResponse(url, status, headers, _Raw(body))


@dataclass
class Fault:
    """``kind`` on every attempt of ``operation`` ("service.Operation", botocore's names), or on the first ``times``."""

    operation: str
    kind: str
    times: int | None = None
    hits: int = 0
    seconds: float = 0.0  # how long a "hang" lasts at most, unless the test releases it first
    released: threading.Event = field(default_factory=threading.Event)  # set by the test: the hang ends now
    hang_over: threading.Event = field(default_factory=threading.Event)  # set once a hang has ended

    def answer(self, service: str, request: Any) -> AWSResponse | None:
        if self.times is not None and self.hits >= self.times:
            return None
        self.hits += 1
        url = str(request.url)
        match self.kind:
            case "throttle":
                code = "Throttling" if service in _QUERY else "ThrottlingException"
                return _error_response(service, url, 400, code, "Rate exceeded")
            case "5xx":
                return _error_response(service, url, 503, "ServiceUnavailable", "Service unavailable")
            case "denied":
                code = _DENIED.get(service, "AccessDeniedException")
                return _error_response(service, url, 403, code, "not authorized (injected)")
            case "connection":
                raise EndpointConnectionError(endpoint_url=url)
            case "timeout":
                raise ReadTimeoutError(endpoint_url=url)
            case "hang":  # a black-holed endpoint, until the test releases it (or `seconds`); then it goes through
                self.released.wait(self.seconds)
                self.hang_over.set()
                return None
        raise ValueError(f"unknown fault kind {self.kind!r}: one of {KINDS}")


@dataclass
class Faults:
    """Every request seen (by operation, attempts counted), the faults to answer with, and botocore's retry waits."""

    faults: list[Fault] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    waits: list[float] = field(default_factory=list)
    pauses: list[float] = field(default_factory=list)  # the guardian's own waits (run.sleep): none is real

    def add(self, operation: str, kind: str, times: int | None = None, seconds: float = 0.0) -> Fault:
        fault = Fault(operation, kind, times, seconds=seconds)
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()
        self.requests.clear()

    def __call__(self, event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
        _, service, operation = event_name.split(".", 2)
        name = f"{service}.{operation}"
        self.requests[name] += 1
        for fault in self.faults:
            if fault.operation == name:
                answer = fault.answer(service, request)
                if answer is not None:
                    return answer
        return None


def install(monkeypatch: pytest.MonkeyPatch) -> Faults:
    """Faults for every request moto answers from now on."""
    faults = Faults()
    answer = BotocoreStubber.__call__

    def call(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        return faults(event_name, request) or answer(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", call)
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=faults.waits.append))
    made = runtime.invocation

    def invocation(context: Any, settings: Any = None) -> Any:
        return replace(made(context, settings), sleep=faults.pauses.append)

    monkeypatch.setattr(runtime, "invocation", invocation)
    runtime.reset()
    return faults
