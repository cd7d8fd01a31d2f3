"""Post one message of the topic to a chat webhook, with bounded retries; never lose it.

Up to :data:`ATTEMPTS` posts: a 429 waits what ``Retry-After`` asks (at most :data:`MAX_WAIT` seconds), a 5xx or a
network error waits a doubling backoff; any other answer is final. Then :class:`WebhookFailed` is raised, so Lambda
tries the whole message twice more and its dead-letter queue keeps it (an alarm on that queue tells the team). No
wait outlasts the time the function has left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)
ATTEMPTS = 3
MAX_WAIT = 10.0
FIRST_BACKOFF = 0.5


class WebhookFailed(RuntimeError):
    """The webhook did not take the message: raised so Lambda retries it and the dead-letter queue keeps it."""


class WebhookCalls(Protocol):
    def webhook_url(self, secret: str, version: str | None = None) -> str: ...
    def post_json(self, url: str, body: dict[str, Any]) -> tuple[int, float | None]: ...


@dataclass(frozen=True)
class Posted:
    status: int
    attempts: int


def post(
    aws: WebhookCalls, secret: str, body: dict[str, Any], run: Invocation, *, name: str, version: str | None = None
) -> Posted:
    """Post ``body`` to the URL kept in ``secret`` (in ``version``, the one approved, if given); raise
    :class:`WebhookFailed` if it never took it."""
    url = aws.webhook_url(secret, version)
    why = "no answer"
    for attempt in range(1, ATTEMPTS + 1):
        wait: float | None
        try:
            status, retry_after = aws.post_json(url, body)
        except OSError as exc:  # refused, reset, timed out, TLS: worth another try
            status, retry_after, why = 0, None, f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= status < 300:
                LOG.info("webhook took the message", extra={"webhook": name, "status": status, "attempts": attempt})
                return Posted(status, attempt)
            why = f"HTTP {status}"
            if status != 429 and status < 500:
                raise WebhookFailed(f"webhook {name} refused the message: {why} (not retried: fix the webhook)")
        wait = min(retry_after if retry_after is not None else FIRST_BACKOFF * 2 ** (attempt - 1), MAX_WAIT)
        LOG.warning("webhook did not take the message", extra={"webhook": name, "why": why, "attempt": attempt})
        left = run.remaining() if run.remaining else None
        if attempt == ATTEMPTS or (left is not None and left - wait < 5):
            break
        run.sleep(wait)
    raise WebhookFailed(f"webhook {name} did not take the message after {attempt} attempt(s): {why}")
