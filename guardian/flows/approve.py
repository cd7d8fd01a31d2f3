"""``guardian approve``: an approver's word that a trail's configuration, as it is now, is what the guardian must
hold. The trail, its bucket and its log group become their baselines (signed), with who approved it and why; the
approval is an evidence record and an alert (MEDIUM: the team sees every baseline a person changed; HIGH when it
adopts a bucket or log group weaker than its baseline, which it does only when the request names it: an insider's
change made while an approval runs is never adopted unnoticed).

Refused, with the reason, and nothing written: a trail that does not exist, is not protected, is not logging or is
below the floor; its home Region not covered; a bucket or log group that cannot be read, or that is weaker than its
baseline and not named by the request (``--include-bucket``, ``--include-log-group``); a KMS key CloudTrail cannot
use; a request already served (a replayed proof).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from guardian.flows import baselines, storage
from guardian.flows.deliver import deliver
from guardian.flows.key import key_of
from guardian.model.changes import weakened
from guardian.model.decide import Decision
from guardian.model.evidence import evidence_key
from guardian.model.floor import below_floor
from guardian.model.key_policy import cloudtrail_can_encrypt
from guardian.model.log_access import LogAccess
from guardian.model.operator_requests import operator_event
from guardian.model.purpose import Purpose
from guardian.model.refs import TrailRef
from guardian.model.results import Result
from guardian.model.rules import Action, Outcome, Severity
from guardian.model.trail import TrailState, compare
from guardian.ports.calls import BucketCalls, CallerCheck, Delivery, KeyCalls, LogGroupCalls, SignedStore, TrailCalls
from guardian.ports.errors import AWS_ERRORS, describe_error

if TYPE_CHECKING:
    from guardian.model.baselines import ResourceState
    from guardian.model.caller_proof import Identity
    from guardian.model.changes import Change
    from guardian.model.config import Config
    from guardian.model.operator_requests import OperatorRequest
    from guardian.model.rules import Subject
    from guardian.ports.invocation import Invocation


class Ports(CallerCheck, TrailCalls, BucketCalls, LogGroupCalls, KeyCalls, SignedStore, Delivery, Protocol):
    """The trail and what it delivers to, the signed baselines, STS, and the alert's path."""


class Refusal(ValueError):
    """The request cannot be served as asked; the message says why and what to do."""


def approve_trail(
    request: OperatorRequest, identity: Identity, aws: Ports, config: Config, run: Invocation
) -> dict[str, Any]:
    """Check everything first, then record the baselines, then the evidence and the alert."""
    event = operator_event(request, identity.arn, "ApproveBaseline", request.at)
    decision = Decision(Action.ALERT, Outcome.ALERTED, Severity.MEDIUM, "", None, None)
    approval = Result(event, decision, Outcome.ALERTED, Severity.MEDIUM)  # completed once the approval is made
    result_key = evidence_key(approval)
    if aws.read_json(result_key) is not None:
        raise Refusal(f"request {request.id} was served already ({result_key}): a replayed proof is not served twice")
    state = _approvable(request, aws, config)
    resources, adopted = _resources(request, state, aws, config)
    key_problem = _key_problem(state, aws, config)
    if key_problem:
        raise Refusal(key_problem)
    previous = baselines.load(aws, state.home_region, state.name, sentinel=config.sentinel)
    at, by = run.clock(), identity.arn
    why = f"approved by {by}: {request.reason}"
    severity = Severity.HIGH if adopted else Severity.MEDIUM
    for kind, live, trails in resources:
        baselines.record_resource(aws, kind, live, trails, at=at, by=by, why=why)
    key = baselines.record(
        aws, state.home_region, state.name, state, at=at, by=by, reason=why, sentinel=config.sentinel
    )
    changes = compare(previous, state) if isinstance(previous, TrailState) else ()
    trail = TrailRef(state.name, state.home_region, config.account_id, state.arn, state.arn)
    reason = (
        f"the configuration of trail {state.name} as it is now is its baseline ({key}, with its bucket and log group)"
        + (f"; changed from the previous baseline: {', '.join(c.field for c in changes)}" if changes else "")
        + "".join(f"; adopted, weaker than its baseline: {what}" for what in adopted)
    )
    approval = replace(
        approval,
        decision=replace(decision, reason=reason, trail=trail, severity=severity),
        severity=severity,
        changes=changes,
        purpose=Purpose("approval", request.id, by, request.reason),
    )
    sent = deliver(approval, aws, config, run)
    return {
        "approved": {
            "trail": state.name,
            "region": state.home_region,
            "baseline": key,
            "resources": [f"{kind.value}:{live.name}" for kind, live, _ in resources],
            "changes": [c.field for c in changes],
            "adopted_weaker": list(adopted),
            "evidence_key": result_key,
            "alerted": sent.published,
        }
    }


def read_trail(aws: TrailCalls, region: str, name: str) -> TrailState | None:
    """The trail as it is now (None: there is none); a read AWS refuses is a :class:`Refusal` that says so."""
    try:
        return aws.trail_state(region, name)
    except AWS_ERRORS as exc:
        code, message = describe_error(exc)
        raise Refusal(f"cannot read trail {name} in {region}: {code}: {message}") from None


def _approvable(request: OperatorRequest, aws: Ports, config: Config) -> TrailState:
    if config.sweep_regions and request.region not in config.sweep_regions:
        raise Refusal(f"{request.region} is not a Region this guardian covers ({', '.join(config.sweep_regions)})")
    state = read_trail(aws, request.region, request.trail)
    if state is None:
        raise Refusal(f"no trail named {request.trail} in {request.region}: check the name and --region")
    if state.home_region != request.region:
        home = state.home_region
        raise Refusal(f"trail {state.name}'s home Region is {home}: approve it with --region {home}")
    if not config.protects(state.name, state.tags):
        raise Refusal(f"trail {state.name} is not protected by this guardian: it holds no baseline for it")
    below = below_floor(state, config.sentinel)
    if below:
        raise Refusal(
            f"trail {state.name} cannot be approved as it is: {'; '.join(below)}. The guardian never holds a trail "
            "below that floor; fix the trail (or let the guardian heal it), then approve"
        )
    return state


def _resources(
    request: OperatorRequest, state: TrailState, aws: Ports, config: Config
) -> tuple[list[tuple[Subject, ResourceState, tuple[str, ...]]], tuple[str, ...]]:
    """The trail's bucket and log group as they are now, with every protected trail that delivers to each; and which
    of them, named by the request, are adopted weaker than their baselines (one not named is a :class:`Refusal`)."""
    found, adopted = [], []
    for kind, name, region in storage.resources_of(state):
        try:
            live = storage.read(aws, kind, name, region)
            known = baselines.load_resource(aws, kind, name, live.region)
        except AWS_ERRORS as exc:
            code, message = describe_error(exc)
            raise Refusal(f"cannot read the trail's {kind.value} {name}: {code}: {message}") from None
        if not live.exists:
            raise Refusal(f"the trail's {kind.value} {name} does not exist: the trail cannot deliver its logs")
        trails = tuple(sorted({*(known.trails if known else ()), state.arn}))
        weak: tuple[Change, ...] = ()
        if known is not None:
            access = LogAccess(config.account_id, trails, config.log_readers)
            weak = weakened(storage.compare(known.baseline, live, access))
        if weak:
            fields = ", ".join(c.field for c in weak)
            if kind.value not in request.include:
                flag = "--include-" + kind.value.replace("_", "-")
                raise Refusal(
                    f"the trail's {kind.value} {name} is weaker than its baseline ({fields}): an approval adopts it "
                    f"only when named ({flag}); else let the guardian put it back (guardian sweep), then approve"
                )
            adopted.append(f"{kind.value} {name} ({fields})")
        found.append((kind, live, trails))
    return found, tuple(adopted)


def _key_problem(state: TrailState, aws: Ports, config: Config) -> str | None:
    key = key_of(state, config.account_id)
    if key is None:
        return None
    try:
        key_state = aws.key_state(key)
        policy = json.loads(aws.key_policy(key))
    except AWS_ERRORS as exc:
        code, message = describe_error(exc)
        return f"cannot read the trail's KMS key {key.key_id}: {code}: {message}"
    if key_state != "Enabled":
        return f"the trail's KMS key {key.key_id} is {key_state}: CloudTrail cannot encrypt with it; fix it first"
    if not cloudtrail_can_encrypt(policy, state.arn, config.account_id):
        return f"the policy of the trail's KMS key {key.key_id} does not let CloudTrail encrypt this trail's logs"
    return None
