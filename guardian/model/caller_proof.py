"""Who is asking: an operator proves who they are to the guardian with a signed STS GetCallerIdentity request.

Pure. A Lambda invocation does not say who made it, and anyone allowed to invoke the guardian's function can hand it
any payload. So an operator's request (approve a trail, register a self-test) carries a GetCallerIdentity request
signed with the operator's own credentials (SigV4), which the guardian sends to STS itself: STS answers with the
caller's ARN only if the signature is good. The signature covers a header holding the SHA-256 of the operator's
request, so the proof cannot be moved to another request, and its ``X-Amz-Date``, so it expires. The guardian sends
the proof only to its own Region's STS endpoint, never to a URL the payload names. This is the method of HashiCorp
Vault's AWS IAM auth and of aws-iam-authenticator.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

if TYPE_CHECKING:
    from collections.abc import Mapping

BODY = "Action=GetCallerIdentity&Version=2011-06-15"
CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
REQUEST_HEADER = "x-guardian-request"  # the SHA-256 of the operator's request, under the signature
MAX_AGE = timedelta(minutes=5)  # SigV4's own clock skew allowance
_SIGNED = ("host", "x-amz-date", REQUEST_HEADER)  # what the signature must cover
_FORWARDED = ("authorization", "x-amz-date", "x-amz-security-token", REQUEST_HEADER, "content-type")
_CREDENTIAL = re.compile(r"^AWS4-HMAC-SHA256 Credential=[^,]+, ?SignedHeaders=([a-z0-9;-]+), ?Signature=[0-9a-f]{64}$")
_STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


class ProofRefused(ValueError):
    """The proof does not prove who is asking; the message says why."""


@dataclass(frozen=True)
class Identity:
    arn: str  # arn:aws:sts::<account>:assumed-role/<role>/<session>, or an IAM user's ARN
    account: str

    @property
    def principals(self) -> list[str]:
        """The ARNs an approver entry is matched against: the caller's, and for a role session the role's. STS names
        the role without its path, so the role's ARN here has none; an approver written with the path (an IAM
        Identity Center role, ``role/aws-reserved/sso.amazonaws.com/…/AWSReservedSSO_…``, as the console shows it)
        still matches it by account and name (:func:`guardian.model.decide.same_principal`), which IAM keeps unique
        whatever the path. A ``glob:`` is matched against these ARNs as they are: one with a path never matches."""
        found = [self.arn]
        match = re.match(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/", self.arn)
        if match:
            found.append(f"arn:{match[1]}:iam::{match[2]}:role/{match[3]}")
        return found


class CallerRefused(ProofRefused):
    """STS proved who is asking, and they may not make the request: the refusal's record names them."""

    def __init__(self, message: str, identity: Identity) -> None:
        super().__init__(message)
        self.identity = identity


def request_digest(request: Mapping[str, Any]) -> str:
    """The SHA-256 of the request as canonical JSON: what the signed header holds."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def sts_url(region: str, environ: Mapping[str, str]) -> str:
    """The STS endpoint proofs are signed for and sent to, the same on both sides: the Region's, unless the
    environment sets one as boto3 reads it (``AWS_ENDPOINT_URL_STS``, else ``AWS_ENDPOINT_URL``: the simulation)."""
    override = environ.get("AWS_ENDPOINT_URL_STS") or environ.get("AWS_ENDPOINT_URL")
    if override:
        return override.rstrip("/") + "/"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{suffix}/"


def check_proof(proof: object, request: Mapping[str, Any], *, url: str, now: datetime) -> dict[str, str]:
    """The headers to send to STS at ``url`` if the proof is well formed, bound to ``request`` and fresh; else
    :class:`ProofRefused`. Only STS can say whether the signature is good."""
    if not isinstance(proof, dict) or not all(isinstance(proof.get(k), str) for k in ("url", "body")):
        raise ProofRefused("the request carries no proof of who sent it (a signed GetCallerIdentity request)")
    raw_headers = proof.get("headers")
    if not isinstance(raw_headers, dict) or not all(isinstance(v, str) for v in raw_headers.values()):
        raise ProofRefused("the proof's headers are not a map of strings")
    if proof["url"].rstrip("/") + "/" != url:
        raise ProofRefused(f"the proof is signed for {proof['url']!r}, not for this Region's STS endpoint {url}")
    if proof["body"] != BODY:
        raise ProofRefused("the proof is not a GetCallerIdentity request")
    headers = {str(k).lower(): v for k, v in raw_headers.items()}
    match = _CREDENTIAL.match(headers.get("authorization", ""))
    if not match:
        raise ProofRefused("the proof has no SigV4 Authorization header")
    missing = [h for h in _SIGNED if h not in match[1].split(";")]
    if missing:
        raise ProofRefused(f"the proof's signature does not cover {', '.join(missing)}")
    if headers.get(REQUEST_HEADER) != request_digest(request):
        raise ProofRefused("the proof was signed for another request")
    try:
        signed_at = datetime.strptime(headers.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise ProofRefused("the proof has no valid X-Amz-Date") from None
    if abs(now - signed_at) > MAX_AGE:
        raise ProofRefused(f"the proof was signed at {signed_at:%Y-%m-%dT%H:%M:%SZ}, more than 5 minutes from now")
    return {name: headers[name] for name in _FORWARDED if name in headers}


def parse_identity(answer: bytes) -> Identity:
    """The caller STS names in its GetCallerIdentity answer."""
    try:
        root = ElementTree.fromstring(answer)  # noqa: S314 - STS's own answer, from the endpoint the guardian chose
    except ElementTree.ParseError as exc:
        raise ProofRefused(f"STS's answer is not XML: {exc}") from None
    arn = root.findtext(f".//{_STS_NS}Arn") or root.findtext(".//Arn")
    account = root.findtext(f".//{_STS_NS}Account") or root.findtext(".//Account")
    if not arn or not account:
        raise ProofRefused("STS's answer names no caller")
    return Identity(arn=arn.strip(), account=account.strip())
