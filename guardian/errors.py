"""One way to name an AWS failure in alerts, evidence and logs."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError


def describe_error(exc: ClientError | BotoCoreError) -> tuple[str, str]:
    """(code, message): the service's error code and message, or the SDK exception's name and text."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return str(error.get("Code", "Unknown")), str(error.get("Message", ""))
    return type(exc).__name__, str(exc)
