"""A chat webhook on 127.0.0.1 that records what it receives: HTTPS with a certificate made for it, so the notifier's
``https://`` rule holds in the simulation and the tests too (its process trusts the certificate via
``SSL_CERT_FILE``). It answers from a script (``429`` with ``Retry-After``, ``500``, then ``200``), as a real
webhook under load would.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    status: int


@dataclass
class RecordingWebhook:
    url: str
    ca_file: str
    script: list[tuple[int, float | None]] = field(default_factory=list)  # answers to give first, in order
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> tuple[int, float | None]:
        with self.lock:
            return self.script.pop(0) if self.script else (200, None)

    def taken(self) -> list[Any]:
        """The bodies it answered 2xx to."""
        return [r.body for r in self.received if 200 <= r.status < 300]


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "webhook.pem", directory / "webhook.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@contextmanager
def recording_webhook(script: list[tuple[int, float | None]] | None = None) -> Iterator[RecordingWebhook]:
    """A webhook at ``https://127.0.0.1:<port>/hook/secret-path`` until the block ends."""
    with tempfile.TemporaryDirectory(prefix="guardian-webhook-") as scratch:
        cert_file, key_file = _certificate(Path(scratch))
        hook: RecordingWebhook | None = None

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                assert hook is not None
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                status, retry_after = hook.answer()
                with hook.lock:
                    hook.received.append(Received(self.path, dict(self.headers), body, status))
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", f"{retry_after:g}")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        hook = RecordingWebhook(f"https://127.0.0.1:{server.server_address[1]}/hook/T000/B000/s3cr3t", str(cert_file))
        hook.script.extend(script or [])
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield hook
        finally:
            server.shutdown()
            server.server_close()
