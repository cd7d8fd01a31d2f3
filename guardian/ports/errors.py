"""How an AWS failure reaches the flows: the SDK's exceptions, and one way to name one in alerts, evidence and logs.

The flows catch :data:`AWS_ERRORS` and nothing broader: a bug in the guardian's own code is not an AWS failure.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

AWS_ERRORS = (ClientError, BotoCoreError)


def describe_error(exc: ClientError | BotoCoreError) -> tuple[str, str]:
    """(code, message): the service's error code and message, or the SDK exception's name and text."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return str(error.get("Code", "Unknown")), str(error.get("Message", ""))
    return type(exc).__name__, str(exc)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# A request refused for its rate: CloudTrail's write quota (1 a second per account and Region) answers
# ThrottlingException; the others are the same refusal in other services' words.
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})


def is_throttling(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in THROTTLING_CODES


def describe_failure(exc: BaseException) -> str:
    """Any failure in one bounded line for alerts and logs: "code: message" for AWS, else the exception's type and
    text (a time budget that ran out, or a fault in the guardian's own code)."""
    if isinstance(exc, AWS_ERRORS):
        code, message = describe_error(exc)
        line = f"{code}: {message}" if message else code
    else:
        line = f"{type(exc).__name__}: {exc}"
    line = line.encode("utf-8", "backslashreplace").decode()
    return line if len(line) <= 500 else line[:480] + f"…[{len(line) - 480} chars cut]"
