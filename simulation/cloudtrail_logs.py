"""CloudTrail's log file delivery, which moto does not do: gzipped log files and hourly digest files, signed as
CloudTrail signs them (SHA256withRSA, the signature hex in the digest object's metadata), with a per-Region RSA key
generated here; ListPublicKeys (moto 5.2.5 has none), answering with those keys; and GetTrailStatus's
``LatestDigestDeliveryTime`` (moto leaves it out), the time of the last digest delivered.

Test and simulation only (``cryptography`` is a development dependency; the guardian verifies in plain Python).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from moto.cloudtrail.responses import CloudTrailResponse

_KEYS: dict[str, list[dict[str, Any]]] = {}  # Region -> ListPublicKeys entries, while ``cloudtrail_delivery`` lasts
_DELIVERED: dict[str, datetime] = {}  # trail name -> when its last digest was delivered
DELAY = timedelta(minutes=5)  # from a digest's end to its delivery


@dataclass
class Delivery:
    """One trail's delivery into its bucket, in one Region: each ``hour`` writes log files, then their digest."""

    bucket: str
    trail: str
    account: str = "123456789012"
    region: str = "us-east-1"
    home_region: str = "us-east-1"
    prefix: str | None = None
    kms_key: str | None = None  # the trail's key: log files are written under it (SSE-KMS), digests with SSE-S3
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    previous: tuple[str, str] | None = None  # (key, signature hex) of the last digest
    digests: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    fingerprint: str = field(init=False, default="")

    def __post_init__(self) -> None:
        der = self.key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        self.fingerprint = hashlib.md5(der, usedforsecurity=False).hexdigest()
        now = datetime.now(UTC)
        _KEYS.setdefault(self.region, []).append(
            {
                "Value": der,
                "ValidityStartTime": now - timedelta(days=30),
                "ValidityEndTime": now + timedelta(days=30),
                "Fingerprint": self.fingerprint,
            }
        )

    @property
    def _base(self) -> str:
        return f"{self.prefix.strip('/')}/AWSLogs/{self.account}" if self.prefix else f"AWSLogs/{self.account}"

    def hour(self, end: datetime, *, log_files: int = 2) -> str:
        """Deliver ``log_files`` log files for the hour ending at ``end``, then the signed digest listing them."""
        s3 = boto3.client("s3", region_name=self.home_region)
        listed: list[dict[str, Any]] = []
        for n in range(log_files):
            at = end - timedelta(minutes=50 - 10 * n)
            records = {"Records": [{"eventVersion": "1.08", "eventTime": f"{at:%Y-%m-%dT%H:%M:%SZ}", "n": n}]}
            raw = json.dumps(records).encode()
            key = (
                f"{self._base}/CloudTrail/{self.region}/{at:%Y/%m/%d}/"
                f"{self.account}_CloudTrail_{self.region}_{at:%Y%m%dT%H%MZ}_{n:016x}.json.gz"
            )
            encrypted: dict[str, Any] = (
                {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key} if self.kms_key else {}
            )
            s3.put_object(Bucket=self.bucket, Key=key, Body=gzip.compress(raw), **encrypted)
            self.logs.append(key)
            listed.append(
                {
                    "s3Bucket": self.bucket,
                    "s3Object": key,
                    "hashValue": hashlib.sha256(raw).hexdigest(),
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": f"{at:%Y-%m-%dT%H:%M:%SZ}",
                    "oldestEventTime": f"{at:%Y-%m-%dT%H:%M:%SZ}",
                }
            )
        key = (
            f"{self._base}/CloudTrail-Digest/{self.region}/{end:%Y/%m/%d}/{self.account}_CloudTrail-Digest_"
            f"{self.region}_{self.trail}_{self.home_region}_{end:%Y%m%dT%H%M%SZ}.json.gz"
        )
        document = {
            "awsAccountId": self.account,
            "digestStartTime": f"{end - timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}",
            "digestEndTime": f"{end:%Y-%m-%dT%H:%M:%SZ}",
            "digestS3Bucket": self.bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": self.fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": None,
            "oldestEventTime": None,
            "previousDigestS3Bucket": self.bucket if self.previous else None,
            "previousDigestS3Object": self.previous[0] if self.previous else None,
            "previousDigestHashValue": None,
            "previousDigestHashAlgorithm": "SHA-256" if self.previous else None,
            "previousDigestSignature": self.previous[1] if self.previous else None,
            "logFiles": listed,
        }
        body = json.dumps(document).encode()
        signed = "\n".join(
            (
                str(document["digestEndTime"]),
                f"{self.bucket}/{key}",
                hashlib.sha256(body).hexdigest(),
                self.previous[1] if self.previous else "null",
            )
        ).encode()
        signature = self.key.sign(signed, padding.PKCS1v15(), hashes.SHA256()).hex()
        s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=gzip.compress(body),
            Metadata={"signature": signature, "signature-algorithm": "SHA256withRSA"},
        )
        self.previous = (key, signature)
        self.digests.append(key)
        _DELIVERED[self.trail] = max(_DELIVERED.get(self.trail, end), end + DELAY)
        return key


@contextmanager
def cloudtrail_delivery() -> Iterator[None]:
    """For moto (in this process), while it lasts: ListPublicKeys with the keys of every :class:`Delivery`, and
    GetTrailStatus with the time each trail's last digest was delivered."""
    original = getattr(CloudTrailResponse, "list_public_keys", None)
    original_status = CloudTrailResponse.get_trail_status

    def get_trail_status(self: CloudTrailResponse) -> str:
        answer = json.loads(original_status(self))
        delivered = _DELIVERED.get(str(self._get_param("Name")).rsplit("/", 1)[-1])
        if delivered is not None:
            answer["LatestDigestDeliveryTime"] = delivered.timestamp()
        return json.dumps(answer)

    def list_public_keys(self: CloudTrailResponse) -> str:
        found = [
            {
                **k,
                "Value": base64.b64encode(k["Value"]).decode(),
                "ValidityStartTime": k["ValidityStartTime"].timestamp(),
                "ValidityEndTime": k["ValidityEndTime"].timestamp(),
            }
            for k in _KEYS.get(self.region, [])
        ]
        return json.dumps({"PublicKeyList": found})

    CloudTrailResponse.list_public_keys = list_public_keys  # type: ignore[attr-defined]
    CloudTrailResponse.get_trail_status = get_trail_status  # type: ignore[method-assign]
    try:
        yield
    finally:
        _KEYS.clear()
        _DELIVERED.clear()
        CloudTrailResponse.get_trail_status = original_status  # type: ignore[method-assign]
        if original is None:
            del CloudTrailResponse.list_public_keys  # type: ignore[attr-defined]
        else:
            CloudTrailResponse.list_public_keys = original  # type: ignore[attr-defined]
