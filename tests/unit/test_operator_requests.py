"""An operator's request and its proof (pure): what is refused before anything is asked of STS, and the self-test
marker's reach."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from guardian.model.caller_proof import (
    BODY,
    CONTENT_TYPE,
    REQUEST_HEADER,
    Identity,
    ProofRefused,
    check_proof,
    parse_identity,
    request_digest,
    sts_url,
)
from guardian.model.operator_requests import (
    REQUEST_KEY,
    RequestError,
    covers,
    parse_request,
    selftest_marker,
)

ZERO = timedelta(0)
URL = "https://sts.us-east-1.amazonaws.com/"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
REQUEST = {
    "action": "approve",
    "id": "6f0c3a1e-1b2c-4d5e-8f90-123456789abc",
    "at": "2026-11-27T12:00:00Z",
    "account": "123456789012",
    "region": "us-east-1",
    "trail": "org-audit",
    "reason": "CHG-1234",
}


def signed(request: dict[str, str] = REQUEST, url: str = URL) -> dict[str, Any]:
    """A proof as the console makes it (botocore's SigV4, signed now)."""
    aws = AWSRequest(
        method="POST",
        url=url,
        data=BODY,
        headers={"Content-Type": CONTENT_TYPE, REQUEST_HEADER: request_digest(request)},
    )
    signer = SigV4Auth(Credentials("AKIAEXAMPLE", "secret", "token"), "sts", "us-east-1")
    signer.add_auth(aws)
    return {"url": url, "body": BODY, "headers": dict(aws.headers.items())}


def test_a_well_formed_fresh_proof_gives_the_headers_to_send_to_sts() -> None:
    headers = check_proof(signed(), REQUEST, url=URL, now=datetime.now(UTC) + timedelta(minutes=1))
    assert set(headers) == {"authorization", "x-amz-date", "x-amz-security-token", REQUEST_HEADER, "content-type"}
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;" in headers["authorization"]


@pytest.mark.parametrize(
    ("proof", "request_", "later", "why"),
    [
        (None, REQUEST, ZERO, "the request carries no proof of who sent it"),
        ({"url": URL}, REQUEST, ZERO, "the request carries no proof of who sent it"),
        ({**signed(), "headers": {"a": 1}}, REQUEST, ZERO, "the proof's headers are not a map of strings"),
        (signed(url="https://evil.example/"), REQUEST, ZERO, "the proof is signed for 'https://evil.example/'"),
        ({**signed(), "body": "Action=AssumeRole"}, REQUEST, ZERO, "the proof is not a GetCallerIdentity request"),
        ({**signed(), "headers": {}}, REQUEST, ZERO, "the proof has no SigV4 Authorization header"),
        (signed(), {**REQUEST, "trail": "another"}, ZERO, "the proof was signed for another request"),
        (signed(), {**REQUEST, "reason": "CHG-9999"}, ZERO, "the proof was signed for another request"),
        (signed(), REQUEST, timedelta(minutes=6), "more than 5 minutes from now"),
        (signed(), REQUEST, timedelta(minutes=-60), "more than 5 minutes from now"),  # signed at collection
    ],
)
def test_a_proof_is_refused_with_the_reason(proof: Any, request_: dict[str, str], later: timedelta, why: str) -> None:
    with pytest.raises(ProofRefused, match=re.escape(why)):
        check_proof(proof, request_, url=URL, now=datetime.now(UTC) + later)


def test_a_proof_whose_signature_leaves_out_the_request_header_is_refused() -> None:
    proof = signed()
    headers = {k.lower(): v for k, v in proof["headers"].items()}
    headers["authorization"] = headers["authorization"].replace(f";{REQUEST_HEADER}", "")
    with pytest.raises(ProofRefused, match="does not cover x-guardian-request"):
        check_proof({**proof, "headers": headers}, REQUEST, url=URL, now=datetime.now(UTC))


def test_the_sts_endpoint_is_the_regions_unless_the_deployment_sets_one() -> None:
    assert sts_url("eu-west-1", {}) == "https://sts.eu-west-1.amazonaws.com/"
    assert sts_url("cn-north-1", {}) == "https://sts.cn-north-1.amazonaws.com.cn/"
    assert sts_url("us-east-1", {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}) == "http://127.0.0.1:5000/"
    both = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:6000"}
    assert sts_url("us-east-1", both) == "http://127.0.0.1:6000/"


def test_stss_answer_names_the_caller_and_a_roles_arn_without_its_path() -> None:
    answer = b"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
      <GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/SecurityOperator/alice</Arn>
      <UserId>AROAEXAMPLE:alice</UserId><Account>123456789012</Account></GetCallerIdentityResult>
    </GetCallerIdentityResponse>"""
    identity = parse_identity(answer)
    assert identity == Identity("arn:aws:sts::123456789012:assumed-role/SecurityOperator/alice", "123456789012")
    assert identity.principals == [identity.arn, "arn:aws:iam::123456789012:role/SecurityOperator"]
    with pytest.raises(ProofRefused, match="not XML"):
        parse_identity(b"<html")
    with pytest.raises(ProofRefused, match="names no caller"):
        parse_identity(b"<Error><Code>SignatureDoesNotMatch</Code></Error>")


def test_a_request_is_read_strictly_and_each_problem_named() -> None:
    good = parse_request({REQUEST_KEY: REQUEST})
    assert (good.action, good.trail, good.at) == ("approve", "org-audit", NOW)
    problems = {
        "action": "action must be one of approve, selftest",
        "id": "id must be 8 to 64 letters",
        "account": "account must be a 12-digit account id",
        "region": "region is not a Region name",
        "trail": "trail is not a trail name CloudTrail accepts",
        "reason": "reason must be 1 to 1024 printable characters",
        "at": "at is not an ISO 8601 time",
    }
    for field, message in problems.items():
        with pytest.raises(RequestError, match=message):
            parse_request({REQUEST_KEY: {**REQUEST, field: "not\x07valid" if field == "reason" else "x y"}})
    with pytest.raises(RequestError, match="unknown fields: extra"):
        parse_request({REQUEST_KEY: {**REQUEST, "extra": "1"}})
    with pytest.raises(RequestError, match="needs text fields: trail"):
        parse_request({REQUEST_KEY: {**REQUEST, "trail": 7}})
    with pytest.raises(RequestError, match="must carry its time zone"):
        parse_request({REQUEST_KEY: {**REQUEST, "at": "2026-11-27T12:00:00"}})
    with pytest.raises(RequestError, match="must be an object"):
        parse_request({REQUEST_KEY: []})


def test_a_self_test_marker_covers_only_its_trail_its_caller_and_its_minutes() -> None:
    request = parse_request({REQUEST_KEY: {**REQUEST, "action": "selftest", "trail": "CloudTrailGuardian-sentinel"}})
    by = "arn:aws:iam::123456789012:user/alice"
    marker = selftest_marker(request, by, NOW)
    trail = "CloudTrailGuardian-sentinel"
    purpose = covers(marker, trail=trail, principals=[by.upper()], at=NOW + timedelta(minutes=1))
    assert purpose is not None
    assert (purpose.kind, purpose.id, purpose.by, purpose.reason) == ("selftest", request.id, by, "CHG-1234")
    assert covers(marker, trail="org-audit", principals=[by], at=NOW) is None
    assert covers(marker, trail=trail, principals=["arn:aws:iam::123456789012:user/mallory"], at=NOW) is None
    assert covers(marker, trail=trail, principals=[by], at=NOW + timedelta(minutes=6)) is None
    assert covers(marker, trail=trail, principals=[by], at=NOW - timedelta(minutes=2)) is None
    assert covers({**marker, "until": "soon"}, trail=trail, principals=[by], at=NOW) is None
