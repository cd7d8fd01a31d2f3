"""Any JSON through the pure model (issue 9): parsed or refused with a message, decided, and turned into an alert under
SNS's limit and an evidence record that encodes, with keys every store accepts. Seeded and bounded: a few thousand
events in a few seconds; the handler over moto is fuzzed in test_handler_fuzz.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings

from guardian.model.activity import principal_key, sort_key, window_end, window_start
from guardian.model.alert import MESSAGE_BUDGET, build_alert
from guardian.model.decide import PolicyContext, decide
from guardian.model.event_time import check_time
from guardian.model.events import MalformedEvent, parse_event
from guardian.model.evidence import evidence_key, evidence_record
from guardian.model.results import Result
from guardian.model.rules import Outcome, Severity
from guardian.model.safe import fit, json_bytes
from tests.odd_events import ANY_INPUT, JSON
from tests.support import ACCOUNT

NOW = datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
POLICY = PolicyContext(account_id=ACCOUNT)
SNS_LIMIT = 256 * 1024
FUZZ = settings(
    max_examples=2000, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _results(raw: object) -> list[Result]:
    event = check_time(parse_event(raw), NOW)
    decision = decide(event, POLICY)
    plain = Result(event, decision, decision.outcome, decision.severity)
    failed = replace(plain, outcome=Outcome.HEAL_FAILED, severity=Severity.CRITICAL, diagnosis=f"{event.raw}"[:200_000])
    return [plain, failed]


@pytest.mark.threat("odd-input")
@FUZZ
@given(ANY_INPUT)
def test_any_input_becomes_an_alert_within_snss_limit_and_a_record_that_encodes(raw: object) -> None:
    try:
        results = _results(raw)
    except MalformedEvent as refused:
        refusal: str | None = str(refused)
    else:
        refusal = None
    if refusal is not None:
        assert refusal  # refused with a message, logged by the handler with the raw input
        return
    for result in results:
        key = evidence_key(result)
        assert key.isascii()
        assert key.isprintable()
        assert len(key.encode()) <= 1024  # S3's key limit
        for error in (None, "AccessDenied: \ud800" + "x" * 5_000):
            alert = build_alert(result, evidence_bucket="b", evidence_key=key, function_name="fn", evidence_error=error)
            request = json.dumps(alert.publish_kwargs("arn:aws:sns:us-east-1:123456789012:t"), ensure_ascii=False)
            assert len(request.encode()) < SNS_LIMIT  # encodes as UTF-8, and fits SNS
            assert json.loads(alert.message)["schema"] == "cloudtrail-guardian/alert"
            assert alert.subject.isprintable()
            assert len(alert.subject) <= 99
        record = evidence_record(
            result,
            written_at=NOW,
            topic_arn="arn:t",
            alert_subject=alert.subject,
            function_name=None,
            request_id=None,
            boto3_version="1",
            botocore_version="1",
        )
        assert json.loads(json_bytes(record)) == json.loads(json_bytes(record))  # encodes, and reads back
    event = results[0].event
    moment = event.event_time or NOW
    principal = event.actor.session_issuer_arn or event.actor.arn
    if principal is not None:
        assert len(principal_key(principal).encode()) <= 2048  # DynamoDB's partition key limit
    for bound in (sort_key(moment, event.event_id), window_start(moment, 10), window_end(moment)):
        assert len(bound.encode()) <= 1024  # DynamoDB's sort key limit
    assert window_start(moment, 10) <= sort_key(moment, event.event_id) <= window_end(moment)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(JSON)
def test_fit_keeps_any_document_within_its_budget_and_says_what_it_cut(value: object) -> None:
    document = {"a": value, "b": [value] * 8, "c": {"d": value, "e": "x" * 200_000}}
    for budget in (2_000, 20_000, MESSAGE_BUDGET):
        fitted, paths = fit(document, budget)
        assert len(json_bytes(fitted)) <= budget
        assert paths  # the 200,000 characters of "e" never fit
        assert "c.e" in paths or "c" in paths or "*" in paths
