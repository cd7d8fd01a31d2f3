"""The webhook's calls: its URL from Secrets Manager (kept a few minutes), and an HTTPS POST of JSON.

The URL is a credential (whoever has it can post to the channel): it is read only from the secret, never logged,
never put in an error message, and must be ``https://``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from guardian import __version__

if TYPE_CHECKING:
    from guardian.adapters.clients import ClientProvider

CACHE_SECONDS = 300.0
TIMEOUT_SECONDS = 5.0


class WebhookSecretError(ValueError):
    """The secret does not hold a usable webhook URL. The message names the secret, never its value."""


class WebhookAdapter:
    def __init__(self, clients: ClientProvider, region: str) -> None:
        self._clients = clients
        self._region = region
        self._urls: dict[str, tuple[float, str]] = {}

    def webhook_url(self, secret: str, version: str | None = None) -> str:
        """The URL in ``secret``: in the ``version`` approved (``secretVersion``) if given, so a value put in the
        secret by anyone else is never posted to; else its current version."""
        cached = self._urls.get(f"{secret}|{version}")
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        request: Any = {"SecretId": secret, **({"VersionId": version} if version else {})}
        value = self._clients.secretsmanager(self._region).get_secret_value(**request).get("SecretString", "")
        url = value.strip()
        if url.startswith("{"):
            try:
                url = str(json.loads(url).get("url", "")).strip()
            except (ValueError, AttributeError):
                url = ""
        if not url.startswith("https://"):
            raise WebhookSecretError(
                f'secret {secret} does not hold an https:// webhook URL (put the URL in it, or {{"url": ...}})'
            )
        self._urls[f"{secret}|{version}"] = (time.monotonic(), url)
        return url

    def post_json(self, url: str, body: dict[str, Any]) -> tuple[int, float | None]:
        """(status, Retry-After in seconds if the answer gave one). Network failures raise OSError."""
        request = urllib.request.Request(  # noqa: S310 - https only, checked where the URL is read
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": f"cloudtrail-guardian/{__version__}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
                return int(answer.status), None
        except urllib.error.HTTPError as exc:
            return int(exc.code), _seconds(exc.headers.get("Retry-After"))


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the backoff applies
