"""moto_server on the loopback interface, on a free port, for as long as a ``with`` block lasts."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class LocalAws:
    endpoint: str

    def client(self, service: str, region: str = REGION, **credentials: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            **(credentials or CREDENTIALS),  # type: ignore[call-overload]
        )


@contextmanager
def local_aws() -> Iterator[LocalAws]:
    """Start moto_server on 127.0.0.1 (never another interface) and stop it afterwards."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        assert host == "127.0.0.1"
        yield LocalAws(endpoint=f"http://{host}:{port}")
    finally:
        server.stop()


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block, then put back exactly what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
