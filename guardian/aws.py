"""The only module that talks to AWS. Clients are passed in (a provider), so tests inject stubs or moto clients.

Every client retries throttling and transient errors (botocore "standard" mode) and carries a user agent that
names the guardian, so its calls are easy to find in CloudTrail. Errors are raised, never swallowed.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any, Protocol

import boto3
import botocore
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from guardian import __version__
from guardian.events import TrailRef

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

    from guardian.aws_full import FullAdapter

CLIENT_CONFIG = BotoConfig(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra=f"cloudtrail-guardian/{__version__}",
)
SDK_VERSIONS = (boto3.__version__, botocore.__version__)


class ClientProvider(Protocol):
    """Hands out clients by service and Region. The adapter never builds clients itself."""

    def cloudtrail(self, region: str) -> CloudTrailClient: ...
    def sns(self, region: str) -> SNSClient: ...
    def s3(self, region: str | None = None) -> S3Client: ...
    def cloudwatch(self) -> CloudWatchClient: ...
    def dynamodb(self) -> DynamoDBClient: ...
    def kms(self, region: str) -> KMSClient: ...
    def logs(self, region: str) -> CloudWatchLogsClient: ...
    def events(self, region: str) -> EventBridgeClient: ...


class Boto3Clients:
    """Creates each client on first use (never at import: moto must start first) and keeps it for warm calls."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self._session = session
        self._cache: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()  # the sweep's threads may ask for a new client at once

    def _client(self, service: str, region: str | None) -> Any:
        key = (service, region)
        client = self._cache.get(key)
        if client is None:
            with self._lock:  # creating sessions and clients is not thread-safe; using a client is
                client = self._cache.get(key)
                if client is None:
                    if self._session is None:
                        self._session = boto3.session.Session()
                    client = self._session.client(service, region_name=region, config=CLIENT_CONFIG)  # type: ignore[call-overload]
                    self._cache[key] = client
        return client

    def cloudtrail(self, region: str) -> CloudTrailClient:
        client: CloudTrailClient = self._client("cloudtrail", region)
        return client

    def sns(self, region: str) -> SNSClient:
        client: SNSClient = self._client("sns", region)
        return client

    def s3(self, region: str | None = None) -> S3Client:
        """None: the function's own Region, where the evidence bucket lives; else a trail bucket's Region."""
        client: S3Client = self._client("s3", region)
        return client

    def cloudwatch(self) -> CloudWatchClient:
        client: CloudWatchClient = self._client("cloudwatch", None)
        return client

    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb", None)
        return client

    def kms(self, region: str) -> KMSClient:
        client: KMSClient = self._client("kms", region)
        return client

    def logs(self, region: str) -> CloudWatchLogsClient:
        client: CloudWatchLogsClient = self._client("logs", region)
        return client

    def events(self, region: str) -> EventBridgeClient:
        client: EventBridgeClient = self._client("events", region)
        return client

    def warm(self, regions: list[str]) -> None:
        """Create the clients for these Regions now, in one thread: boto3 sessions are not thread-safe."""
        for region in regions:
            self.cloudtrail(region)
        self.s3()
        self.cloudwatch()


class AwsAdapter:
    """The heal path: StartLogging and GetTrailStatus in the trail's home Region, evidence writes, alert publishing.
    Everything else is in :class:`guardian.aws_full.FullAdapter` (``full()``)."""

    def __init__(self, clients: ClientProvider, *, topic_arn: str, topic_region: str, evidence_bucket: str) -> None:
        self._clients = clients
        self._topic_arn = topic_arn
        self._topic_region = topic_region
        self._bucket = evidence_bucket
        self.sdk_versions = SDK_VERSIONS
        self._full: FullAdapter | None = None

    def start_logging(self, trail: TrailRef) -> None:
        self._clients.cloudtrail(trail.region).start_logging(Name=trail.identifier)

    def trail_status(self, trail: TrailRef) -> dict[str, Any]:
        response = self._clients.cloudtrail(trail.region).get_trail_status(Name=trail.identifier)
        return dict(response)

    def describe_trail(self, trail: TrailRef) -> dict[str, Any] | None:
        """The trail as its home Region sees it, or None if it does not exist there."""
        try:
            response = self._clients.cloudtrail(trail.region).describe_trails(
                trailNameList=[trail.identifier], includeShadowTrails=True
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TrailNotFoundException":
                return None
            raise
        for found in response.get("trailList", []):
            if found.get("TrailARN") == trail.arn or found.get("Name") == trail.name:
                return dict(found)
        return None

    def put_if_absent(self, key: str, document: dict[str, Any]) -> bool:
        """Write once: False if the key already exists (a duplicate delivery), True if this call created it."""
        body = json.dumps(document, ensure_ascii=False, indent=1, default=str).encode()
        try:
            self._clients.s3().put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                return False
            raise
        return True

    def tags(self, key: str) -> dict[str, str]:
        """The tags of an existing evidence object."""
        tags = self._clients.s3().get_object_tagging(Bucket=self._bucket, Key=key)["TagSet"]
        return {t["Key"]: t["Value"] for t in tags}

    def set_tags(self, key: str, tags: dict[str, str]) -> None:
        """Replace an evidence object's tags with these. Tags are metadata: no new object, no new version, allowed
        under Object Lock."""
        tag_set: list[Any] = [{"Key": k, "Value": v} for k, v in tags.items()]
        self._clients.s3().put_object_tagging(Bucket=self._bucket, Key=key, Tagging={"TagSet": tag_set})

    def publish(self, request: dict[str, Any]) -> str:
        """Publish to the topic the request names, with a client in that topic's Region."""
        region = str(request["TopicArn"]).split(":")[3]
        response = self._clients.sns(region).publish(**request)
        return str(response["MessageId"])

    def full(self) -> FullAdapter:
        """The adapter with every other call (configuration, baselines, buckets, keys, rules...): loaded on first
        use, so a StopLogging heal never imports or compiles it (Lambda compiles sources at every cold start)."""
        if self._full is None:
            from guardian.aws_full import FullAdapter  # noqa: PLC0415

            self._full = FullAdapter(
                self._clients, topic_arn=self._topic_arn, topic_region=self._topic_region, evidence_bucket=self._bucket
            )
        return self._full


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
