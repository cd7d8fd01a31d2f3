"""An operator's request through the console (``guardian approve``, ``guardian selftest``), served by the sweep's
function: who is asking, proven by STS; whether they may; then the approval or the self-test's registration.

Anyone allowed to invoke the function can hand it a request, so nothing is done on the payload's word: the caller
proves who they are with a signed GetCallerIdentity request (:mod:`guardian.model.caller_proof`), and must be one of
the ``approvers``. A request refused after that proof was checked (a forged or replayed proof, a caller who is not an
approver) is alerted HIGH: someone tried to change what the guardian holds. A malformed request is only logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from guardian.flows import baselines
from guardian.flows.approve import Refusal, approve_trail, read_trail
from guardian.flows.deliver import deliver
from guardian.model.caller_proof import (
    BODY,
    CallerRefused,
    Identity,
    ProofRefused,
    check_proof,
    parse_identity,
)
from guardian.model.decide import Decision
from guardian.model.operator_requests import (
    REQUEST_KEY,
    OperatorRequest,
    RequestError,
    operator_event,
    parse_request,
    selftest_key,
    selftest_marker,
)
from guardian.model.results import Result
from guardian.model.rules import Action, Outcome, Severity
from guardian.ports.calls import CallerCheck, Delivery, SignedStore, TrailCalls

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from guardian.flows.approve import Ports as ApprovePorts
    from guardian.model.config import Config
    from guardian.ports.invocation import Invocation

LOG = logging.getLogger(__name__)


class Ports(CallerCheck, SignedStore, TrailCalls, Delivery, Protocol):
    """STS for the proof, the trail, the signed store, and the alert's path."""


def serve(event: Mapping[str, Any], aws: ApprovePorts, config: Config, run: Invocation) -> dict[str, Any]:
    """Answer one request: ``{"ok": true, ...}`` with what was done, or ``{"ok": false, "refused": why}``."""
    try:
        request = parse_request(event)
    except RequestError as exc:
        LOG.warning("operator request malformed", extra={"problem": str(exc)})
        return {"ok": False, "refused": f"malformed request: {exc}"}
    try:
        identity = identify(request, event, aws, config, run.clock())
    except ProofRefused as exc:
        proven = exc.identity.arn if isinstance(exc, CallerRefused) else None
        _alert_refusal(request, str(exc), aws, config, run, proven=proven)
        return {"ok": False, "id": request.id, **({"by": proven} if proven else {}), "refused": str(exc)}
    try:
        if request.action == "approve":
            done = approve_trail(request, identity, aws, config, run)
        else:
            done = register_selftest(request, identity, aws, config, run.clock())
    except Refusal as exc:
        LOG.warning("operator request refused", extra={"id": request.id, "by": identity.arn, "problem": str(exc)})
        return {"ok": False, "id": request.id, "by": identity.arn, "refused": str(exc)}
    LOG.info("operator request served", extra={"id": request.id, "by": identity.arn, "action": request.action})
    return {"ok": True, "id": request.id, "by": identity.arn, **done}


def identify(
    request: OperatorRequest, event: Mapping[str, Any], aws: CallerCheck, config: Config, now: datetime
) -> Identity:
    """The caller, as STS names them, if they may make the request; else :class:`ProofRefused` saying why (a
    :class:`CallerRefused`, naming them, once STS has proven who they are)."""
    url = aws.sts_endpoint(config.topic_region)
    headers = check_proof(event.get("proof"), event[REQUEST_KEY], url=url, now=now)
    # STS refusing the signature is a ProofRefused; STS out of reach raises (a function error, not an intruder).
    identity = parse_identity(aws.caller_identity(url, headers, BODY))
    if identity.account != config.account_id or request.account != config.account_id:
        raise CallerRefused(f"{identity.arn} is not of this account ({config.account_id})", identity)
    if not config.approvers:
        raise CallerRefused(
            f"{identity.arn} may not: this deployment names no approvers (set approvers in cdk.json and deploy)",
            identity,
        )
    allowed = [a for a in config.approvers if a.covers(identity.principals) and not a.expired_at(now)]
    if not allowed:
        raise CallerRefused(f"{identity.arn} is not one of this deployment's approvers", identity)
    return identity


def register_selftest(
    request: OperatorRequest, identity: Identity, aws: Ports, config: Config, now: datetime
) -> dict[str, Any]:
    """Sign a marker saying a StopLogging of the sentinel by this caller, in the next minutes, is a self-test: its
    alert and evidence then say so. Only the sentinel, only while it logs."""
    if not config.sentinel_trail:
        raise Refusal("this deployment has no sentinel trail: set sentinelTrail to true in cdk.json and deploy")
    if request.trail != config.sentinel_trail or request.region != config.topic_region:
        raise Refusal(f"a self-test stops only the sentinel trail {config.sentinel_trail} ({config.topic_region})")
    state = read_trail(aws, request.region, request.trail)
    if state is None or not state.logging:
        what = "does not exist" if state is None else "is not logging"
        raise Refusal(f"the sentinel trail {request.trail} {what}: run `guardian sweep` first, then the self-test")
    marker = selftest_marker(request, identity.arn, now)
    key = selftest_key(request.region, request.trail)
    baselines.write_signed(aws, key, marker)
    return {"selftest": {"key": key, "until": marker["until"], "trail": request.trail}}


def _alert_refusal(
    request: OperatorRequest, why: str, aws: Ports, config: Config, run: Invocation, *, proven: str | None
) -> None:
    """HIGH: a request whose proof failed, or whose caller may not make it. The alert names what was asked, and
    ``proven``, the caller's ARN when STS proved it (the record's ``who.arn``); a failed proof proves nobody."""
    event = operator_event(request, proven, "OperatorRequestRefused", run.clock())
    reason = (
        f"an operator request ({request.action} trail {request.trail} in {request.region}) was refused: {why}. "
        "Someone without the right tried to change what the guardian holds, or an approver's proof expired"
    )
    decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.HIGH, reason, None, None)
    deliver(Result(event, decision, Outcome.ALERTED, Severity.HIGH), aws, config, run)
    LOG.error("operator request refused", extra={"id": request.id, "problem": why})
