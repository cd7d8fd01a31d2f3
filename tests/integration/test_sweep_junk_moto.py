"""Junk invocations of the sweep's function cannot keep the dead man's switch green (issue 20, "also found").

The switch (``<stack>-sweep-silent``) counts the sweep function's invocations less its errors, AWS/Lambda's own
metrics: Lambda counts an invocation that raises as an error. So anything that is not a sweep's trigger (a function
URL's request, a hand-made payload, a malformed or unproven operator request) must raise, sweep nothing, and leave
invocations less errors where it was."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from guardian.entrypoints import sweep
from guardian_console import operator as console
from tests.integration.conftest import Account
from tests.unit.test_console import DEPLOYED

FUNCTION_URL_EVENT = {  # what Lambda hands the function for a request to a function URL (payload format 2.0)
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/",
    "headers": {"host": "abcdefg.lambda-url.us-east-1.on.aws"},
    "requestContext": {"http": {"method": "GET", "path": "/"}, "domainName": "abcdefg.lambda-url.us-east-1.on.aws"},
    "isBase64Encoded": False,
}
JUNK: list[Any] = [
    FUNCTION_URL_EVENT,
    {"junk": True},
    {"source": "my.app", "detail-type": "Scheduled Event"},  # PutEvents cannot set aws.*: not the schedule's
    {"source": "aws.events", "detail-type": "something else"},
    [],
    "ping",
    None,
    {"guardian_request": "not an object"},  # malformed operator request: refused before any proof
]


def switch(outcomes: list[bool]) -> float:
    """What the alarm's expression sees for these invocations (True: returned, False: raised): invocations - errors."""
    return float(len(outcomes) - outcomes.count(False))


def objects(account: Account) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=account.bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))


@pytest.mark.parametrize("event", JUNK, ids=[f"junk-{i}" for i in range(len(JUNK))])
@pytest.mark.threat("junk-invocations")
def test_junk_raises_and_sweeps_nothing(account: Account, event: Any) -> None:
    before = objects(account)
    with pytest.raises(sweep.NotASweep):
        sweep.lambda_handler(event, None)
    assert objects(account) == before  # no baseline recorded, no digest extended: nothing swept
    assert account.alerts() == []


@pytest.mark.threat("junk-invocations")
def test_a_flood_of_junk_keeps_the_switch_at_zero_and_a_real_tick_counts(account: Account) -> None:
    outcomes = []
    for event in JUNK * 3:
        try:
            sweep.lambda_handler(event, None)
        except sweep.NotASweep:
            outcomes.append(False)
        else:
            outcomes.append(True)
    assert switch(outcomes) == 0  # below the threshold of 1: the switch breaches, junk or not
    tick = {"source": "aws.events", "detail-type": "Scheduled Event", "resources": ["arn:aws:events:...:rule/x"]}
    assert sweep.lambda_handler(tick, None)["ok"] is True  # the schedule's tick sweeps (a real sweep counts)


def test_the_console_still_shows_a_refusal_the_function_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unproven request ends as a function error; ``guardian approve`` still prints why it was refused."""
    refusal = {"ok": False, "id": "r-1", "refused": "the proof is older than five minutes"}
    error = {"errorType": "NotASweep", "errorMessage": json.dumps(refusal)}
    monkeypatch.setattr(console, "call", lambda *_: (False, error))
    monkeypatch.setattr(console, "proof", lambda *_: {})
    assert console.ask(object(), DEPLOYED, {"action": "approve"}) == refusal
