"""moto_server in a process of its own, with the simulation's bridges to AWS's answers applied
(:func:`simulation.moto_server.cloudtrail_as_aws`, :func:`~simulation.moto_server.s3_versions_by_prefix`) and its
connections kept alive between requests, as AWS's endpoints keep them: ``python -m simulation.serve -H 127.0.0.1
-p PORT``.

Werkzeug's server, which moto_server runs on, closes the connection after every response (and, after each, reads
whatever else the client sent, which would swallow a kept-alive connection's next request), so each request would
open a TCP connection and start a server thread: a cost no client pays against AWS, where botocore keeps its
connections. Here every request but a chunked one keeps its connection; the benchmark serves from here so its
figures are the guardian's, and the server's CPU is not the client's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto import server
from moto.moto_server.werkzeug_app import MotoRequestHandler

from simulation.log_transformers import log_transformers
from simulation.moto_server import cloudtrail_as_aws, log_group_keys, s3_versions_by_prefix

ROOT = Path(__file__).resolve().parent.parent


class _ThisBody:
    """The connection's input, limited to the current request's body: what werkzeug drains after a response is
    then only what the application left unread of it, never the next request."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream, self._left = stream, length

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._stream.read(size) if size else b""
        self._left -= len(data)
        return bytes(data)

    def readline(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._stream.readline(size) if size else b""
        self._left -= len(data)
        return bytes(data)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class KeepAliveHandler(MotoRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Werkzeug writes a response in several small writes: without this, Nagle's algorithm holds the last one
        # for the client's delayed ACK (40 ms), which a new connection per request never met.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # no length to stop at: as werkzeug does, one request per connection
            super().run_wsgi()
            return
        connection = self.rfile
        length = int(self.headers.get("Content-Length") or 0)  # HTTP/1.1: neither header, no body
        self.rfile = _ThisBody(connection, length)  # type: ignore[assignment]
        try:
            super().run_wsgi()
        finally:
            self.rfile = connection

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close" and not self.close_connection:
            return  # werkzeug's "always close"
        super().send_header(keyword, value)


@contextmanager
def moto_server_process() -> Iterator[str]:
    """This server in a process of its own on 127.0.0.1, for as long as the ``with`` block lasts: its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "simulation.serve", "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as attempt:
                if attempt.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # still busy with a backlog of requests
            server.kill()
            server.wait(timeout=10)


if __name__ == "__main__":
    server.MotoRequestHandler = KeepAliveHandler  # type: ignore[attr-defined]  # the handler moto's main() passes on
    with cloudtrail_as_aws(), s3_versions_by_prefix(), log_group_keys(), log_transformers():
        server.main(sys.argv[1:])
