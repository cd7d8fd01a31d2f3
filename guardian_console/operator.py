"""Asking the deployed guardian to do something only it may do (approve a baseline, register a self-test): the
request goes to its sweep function with a proof of who is asking (:mod:`guardian.model.caller_proof`), a
GetCallerIdentity request signed with the caller's own credentials, which the guardian has STS check."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from typing import TYPE_CHECKING, Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, ClientError

from guardian.model.caller_proof import BODY, CONTENT_TYPE, REQUEST_HEADER, request_digest, sts_url
from guardian.model.operator_requests import REQUEST_KEY
from guardian_console.errors import ConsoleError

if TYPE_CHECKING:
    from datetime import datetime

    from guardian_console.deployed import Deployed


def proof(session: Any, region: str, request: dict[str, str]) -> dict[str, Any]:
    """A GetCallerIdentity request for ``region``'s STS, signed (SigV4) with the session's credentials, whose signature
    covers the request's SHA-256. Never sent by the console: the guardian sends it, and STS names the signer."""
    credentials = session.get_credentials()
    if credentials is None:
        raise ConsoleError("no AWS credentials found", "pass --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID")
    url = sts_url(region, os.environ)
    signed = AWSRequest(
        method="POST",
        url=url,
        data=BODY,
        headers={"Content-Type": CONTENT_TYPE, REQUEST_HEADER: request_digest(request)},
    )
    SigV4Auth(credentials.get_frozen_credentials(), "sts", region).add_auth(signed)
    return {"url": url, "body": BODY, "headers": dict(signed.headers.items())}


def request(
    action: str,
    deployed: Deployed,
    *,
    trail: str,
    region: str,
    reason: str,
    now: datetime,
    include: tuple[str, ...] = (),
) -> dict[str, str]:
    named = {"include": ",".join(include)} if include else {}  # absent when empty: an older guardian takes it
    return {
        **named,
        "action": action,
        "id": str(uuid.uuid4()),
        "at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "account": deployed.account,
        "region": region,
        "trail": trail,
        "reason": reason,
    }


def call(session: Any, deployed: Deployed, payload: bytes) -> tuple[bool, Any]:
    """Invoke the guardian's sweep function and wait for it: (whether it answered without a function error, its
    answer). ``guardian sweep`` runs it so; an operator's request goes through it too."""
    try:
        response = session.client("lambda", region_name=deployed.region).invoke(
            FunctionName=deployed.sweep_function, InvocationType="RequestResponse", Payload=payload
        )
    except (ClientError, BotoCoreError) as exc:
        raise ConsoleError(
            f"cannot invoke the guardian's function {deployed.sweep_function}: {exc}",
            "the caller needs lambda:InvokeFunction on it (where the SCP denies it, only the break-glass role may)",
        ) from exc
    return "FunctionError" not in response, json.loads(response["Payload"].read() or b"{}")


def ask(session: Any, deployed: Deployed, body: dict[str, str]) -> dict[str, Any]:
    """Send the request to the guardian's sweep function and return its answer (``ok``, and what it did or why
    it refused)."""
    payload = {REQUEST_KEY: body, "proof": proof(session, deployed.region, body)}
    answered, answer = call(session, deployed, json.dumps(payload).encode())
    if not answered and isinstance(answer, dict) and answer.get("errorType") == "NotASweep":
        # A request refused before its caller was proven an approver ends as a function error (so it never counts
        # as a sweep); its answer is the error's message.
        with contextlib.suppress(ValueError):
            answer, answered = json.loads(str(answer.get("errorMessage"))), True
    if not answered or not isinstance(answer, dict):
        raise ConsoleError(f"the guardian failed on the request: {answer}", "see the sweep function's logs")
    return answer
