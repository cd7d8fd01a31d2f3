"""The rest of what the sweep and the restores call: baselines in the evidence bucket, a trail's KMS key, CloudTrail
Lake, the guardian's own EventBridge rules, the repeated-tampering table and the sweep's metrics."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from guardian.model.safe import json_bytes
from guardian.ports.errors import error_code

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.adapters.clients import ClientProvider
    from guardian.model.refs import KeyRef, ResourceRef
    from guardian.model.signing import PublicKey


_PUBLIC_KEYS: dict[str, PublicKey] = {}
_PUBLIC_KEYS_LOCK = threading.Lock()  # guards the two dicts only, never held over a request
_FETCHING: dict[str, Any] = {}  # a lock per key, held over its GetPublicKey: other keys are fetched meanwhile
_new_lock = threading.Lock  # module-level: the burst harness swaps it for its virtual-time locks

LEDGER_PARTITION = "#alerts"  # no principal ARN starts with "#"
LEDGER_DAYS = 7


class ServiceAdapter:
    _clients: ClientProvider
    _bucket: str  # the evidence bucket
    _topic_region: str  # the guardian's own Region
    signing_key: str | None  # the guardian's signing key (ARN)
    _ledger: str | None  # the activity table, which holds the alert ledger; None in the sweep's function

    # -- the alert ledger ----------------------------------------------------------------------------------------

    def ledger_entry(self, key: str) -> dict[str, Any] | None:
        """The ledger's entry for an evidence key: an item in the activity table under ``#alerts``, apart from the
        principals' items. None if there is none, or no ledger."""
        if self._ledger is None:
            return None
        item = (
            self._clients.dynamodb()
            .get_item(
                TableName=self._ledger,
                Key={"principal": {"S": LEDGER_PARTITION}, "at": {"S": key}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        if not item or "S" not in item.get("entry", {}):
            return None
        found = json.loads(item["entry"]["S"])
        return found if isinstance(found, dict) else None

    def put_ledger_entry(self, key: str, entry: dict[str, Any]) -> None:
        """Write the ledger's entry for an evidence key, kept a week (redeliveries come within a day). Without an
        activity table (the sweep's function, whose findings are never redelivered) there is no ledger."""
        if self._ledger is None:
            return
        import time  # noqa: PLC0415

        item: dict[str, Any] = {
            "principal": {"S": LEDGER_PARTITION},
            "at": {"S": key},
            "expires_at": {"N": str(int(time.time()) + LEDGER_DAYS * 86400)},
            "entry": {"S": json_bytes(entry).decode()},
        }
        self._clients.dynamodb().put_item(TableName=self._ledger, Item=item)

    # -- baselines -----------------------------------------------------------------------------------------------

    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None:
        """The document (the newest version, or ``version``); None if there is none. Raises ValueError if the
        object is not a JSON object: anyone able to write it could have written anything."""
        s3 = self._clients.s3()
        try:
            if version is None:
                body = s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
            else:
                body = s3.get_object(Bucket=self._bucket, Key=key, VersionId=version)["Body"].read()
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404", "NoSuchVersion"):
                return None
            raise
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError(f"{key} holds JSON {type(document).__name__}, not an object")  # noqa: TRY004  # noqa: TRY004 - the store's one error for unreadable content
        return document

    def write_json(self, key: str, document: dict[str, Any]) -> None:
        """A new version of ``key`` (the bucket is versioned: earlier versions stay, under Object Lock)."""
        body = json.dumps(document, ensure_ascii=True, indent=1, default=str).encode("ascii")
        self._clients.s3().put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")

    def versions(self, key: str) -> list[str]:
        """The object's version ids, newest first, as S3 lists them (a key's versions come newest first, the current
        one flagged IsLatest; their LastModified has whole seconds only, too coarse to order by). Delete markers are
        left out."""
        found: list[tuple[bool, str]] = []
        paginator = self._clients.s3().get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=key):
            found += [(bool(v.get("IsLatest")), v["VersionId"]) for v in page.get("Versions", []) if v["Key"] == key]
        return [version for latest, version in found if latest] + [version for latest, version in found if not latest]

    # -- the guardian's signing key ------------------------------------------------------------------------------

    def sign(self, message: bytes) -> bytes:
        """KMS Sign with the guardian's key, in the key's Region (see :mod:`guardian.model.signing`)."""
        from guardian.model.signing import ALGORITHM  # noqa: PLC0415 - not on the heal path

        key = self._signing_key()
        region = key.split(":")[3]
        response = self._clients.kms(region).sign(
            KeyId=key,
            Message=message,
            MessageType="RAW",
            SigningAlgorithm=ALGORITHM,  # type: ignore[arg-type]
        )
        return bytes(response["Signature"])

    def public_key(self) -> PublicKey:
        """The signing key's public half, read from KMS once per process and kept."""
        from guardian.model.signing import parse_public_key  # noqa: PLC0415

        key = self._signing_key()
        with _PUBLIC_KEYS_LOCK:  # the sweep's threads, an org read's 800 targets: many keys at once, each once
            if key in _PUBLIC_KEYS:
                return _PUBLIC_KEYS[key]
            fetching = _FETCHING.setdefault(key, _new_lock())
        with fetching:  # the first caller of a key fetches it; the others of that key wait for it
            if key not in _PUBLIC_KEYS:
                der = self._clients.kms(key.split(":")[3]).get_public_key(KeyId=key)["PublicKey"]
                _PUBLIC_KEYS[key] = parse_public_key(bytes(der))
        with _PUBLIC_KEYS_LOCK:
            _FETCHING.pop(key, None)  # after a failed fetch its lock stays: the next caller fetches under it
            return _PUBLIC_KEYS[key]

    def _signing_key(self) -> str:
        if not self.signing_key:
            raise RuntimeError("GUARDIAN_SIGNING_KEY_ARN is not set: baselines can be neither signed nor verified")
        return self.signing_key

    # -- the evidence digest chain ---------------------------------------------------------------------------------

    def object_versions(self, prefix: str) -> list[dict[str, Any]]:
        """Every version under ``prefix`` (delete markers left out): Key, VersionId, LastModified, IsLatest."""
        found: list[dict[str, Any]] = []
        paginator = self._clients.s3().get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            found += [dict(v) for v in page.get("Versions", [])]
        return found

    def object_bytes(self, key: str, version: str | None = None) -> bytes:
        extra: Any = {"VersionId": version} if version else {}
        return bytes(self._clients.s3().get_object(Bucket=self._bucket, Key=key, **extra)["Body"].read())

    def object_read(self, key: str, version: str) -> tuple[bytes, str | None, datetime | None]:
        """A version's bytes, and its Object Lock mode and retain-until date as S3 states them."""
        response = self._clients.s3().get_object(Bucket=self._bucket, Key=key, VersionId=version)
        return bytes(response["Body"].read()), response.get("ObjectLockMode"), response.get("ObjectLockRetainUntilDate")

    def list_keys(self, prefix: str) -> list[str]:
        return list(self.object_etags(prefix))

    def object_etags(self, prefix: str) -> dict[str, str]:
        """Every current object under ``prefix`` and its ETag, 1,000 to a ListObjectsV2 call."""
        found: dict[str, str] = {}
        paginator = self._clients.s3().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            found.update({o["Key"]: str(o.get("ETag", "")) for o in page.get("Contents", [])})
        return found

    # -- a trail's KMS key (ids, not ARNs: the key's Region picks the client) -------------------------------------

    def key_state(self, key: KeyRef) -> str:
        return str(self._clients.kms(key.region).describe_key(KeyId=key.key_id)["KeyMetadata"]["KeyState"])

    def key_origin(self, key: KeyRef) -> str:
        metadata = self._clients.kms(key.region).describe_key(KeyId=key.key_id)["KeyMetadata"]
        return "EXTERNAL_KEY_STORE" if metadata.get("CustomKeyStoreId") else str(metadata.get("Origin", "AWS_KMS"))

    def enable_key(self, key: KeyRef) -> None:
        self._clients.kms(key.region).enable_key(KeyId=key.key_id)

    def cancel_key_deletion(self, key: KeyRef) -> None:
        self._clients.kms(key.region).cancel_key_deletion(KeyId=key.key_id)

    def key_policy(self, key: KeyRef) -> str:
        return str(self._clients.kms(key.region).get_key_policy(KeyId=key.key_id, PolicyName="default")["Policy"])

    def put_key_policy(self, key: KeyRef, policy: str) -> None:
        self._clients.kms(key.region).put_key_policy(KeyId=key.key_id, PolicyName="default", Policy=policy)

    # -- CloudTrail Lake event data stores --------------------------------------------------------------------------

    def data_store_status(self, store: ResourceRef) -> str:
        assert store.region is not None
        response = self._clients.cloudtrail(store.region).get_event_data_store(EventDataStore=store.name)
        return str(response.get("Status", ""))

    def start_ingestion(self, store: ResourceRef) -> None:
        assert store.region is not None
        self._clients.cloudtrail(store.region).start_event_data_store_ingestion(EventDataStore=store.name)

    def restore_data_store(self, store: ResourceRef) -> None:
        assert store.region is not None
        self._clients.cloudtrail(store.region).restore_event_data_store(EventDataStore=store.name)

    # -- activity (repeated tampering) ---------------------------------------------------------------------------

    def recorder_recording(self, region: str, name: str) -> bool:
        found = self._clients.config_service(region).describe_configuration_recorder_status(
            ConfigurationRecorderNames=[name]
        )["ConfigurationRecordersStatus"]
        return bool(found and found[0].get("recording"))

    def start_recorder(self, region: str, name: str) -> None:
        self._clients.config_service(region).start_configuration_recorder(ConfigurationRecorderName=name)

    def detector_enabled(self, region: str, detector_id: str) -> bool:
        return self._clients.guardduty(region).get_detector(DetectorId=detector_id).get("Status") == "ENABLED"

    def enable_detector(self, region: str, detector_id: str) -> None:
        self._clients.guardduty(region).update_detector(DetectorId=detector_id, Enable=True)

    def record_activity(self, table: str, principal: str, key: str, expires_at: int, summary: str) -> bool:
        """Record one counted event; False if it was already recorded (a duplicate delivery)."""
        try:
            self._clients.dynamodb().put_item(
                TableName=table,
                Item={
                    "principal": {"S": principal},
                    "at": {"S": key},
                    "expires_at": {"N": str(expires_at)},
                    "summary": {"S": summary},
                },
                ConditionExpression="attribute_not_exists(principal)",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def count_activity(self, table: str, principal: str, since: str, until: str) -> int:
        """Events recorded for ``principal`` with keys in [since, until]."""
        paginator = self._clients.dynamodb().get_paginator("query")
        total = 0
        for page in paginator.paginate(
            TableName=table,
            KeyConditionExpression="principal = :p AND #at BETWEEN :since AND :until",
            ExpressionAttributeNames={"#at": "at"},
            ExpressionAttributeValues={":p": {"S": principal}, ":since": {"S": since}, ":until": {"S": until}},
            Select="COUNT",
        ):
            total += int(page.get("Count", 0))
        return total

    def put_metrics(self, namespace: str, values: dict[str, float]) -> None:
        self._clients.cloudwatch().put_metric_data(
            Namespace=namespace,
            MetricData=[{"MetricName": name, "Value": value, "Unit": "Count"} for name, value in values.items()],
        )

    # -- an operator's proof of who they are ---------------------------------------------------------------------

    def sts_endpoint(self, region: str) -> str:
        """Where proofs go: the Region's STS, or the endpoint the deployment's environment sets (the simulation)."""
        import os  # noqa: PLC0415

        from guardian.model.caller_proof import sts_url  # noqa: PLC0415

        return sts_url(region, os.environ)

    def caller_identity(self, url: str, headers: dict[str, str], body: str) -> bytes:
        """Send the signed GetCallerIdentity request to STS; its answer names the signer. A refusal by STS (a bad or
        expired signature) is a :class:`~guardian.model.caller_proof.ProofRefused`; a network failure raises."""
        import urllib.error  # noqa: PLC0415
        import urllib.request  # noqa: PLC0415
        from urllib.parse import urlsplit  # noqa: PLC0415

        from guardian.model.caller_proof import ProofRefused  # noqa: PLC0415

        parts = urlsplit(url)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ProofRefused(f"STS endpoint {url} is neither HTTPS nor the local simulation")
        request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - scheme checked above
                return bytes(answer.read(65536))
        except urllib.error.HTTPError as exc:
            detail = exc.read(2048).decode("utf-8", "replace")
            raise ProofRefused(f"STS refused the proof: HTTP {exc.code}: {detail}") from None
