"""Where the adapters get their boto3 clients: one provider, created lazily, so tests inject stubs or moto clients.

Every client retries throttling and transient errors (botocore "standard" mode) and carries a user agent that
names the guardian, so its calls are easy to find in CloudTrail.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
import botocore
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError, DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from guardian import __version__
from guardian.ports.errors import THROTTLING_CODES

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_guardduty import GuardDutyClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

    # The protocol lives in its own module, imported by no cold start: only its name is exported from here.
    from guardian.adapters.client_provider import ClientProvider as ClientProvider  # noqa: PLC0414 - re-exported

CLIENT_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": 6},  # 6 attempts: the first and 5 retries
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=32,  # the sweep's pool: guardian.flows.workers.WORKERS requests in flight at most
    user_agent_extra=f"cloudtrail-guardian/{__version__}",
)
SDK_VERSIONS = (boto3.__version__, botocore.__version__)
# The alias lookup (alert subjects): two attempts, short timeouts. If IAM is slow, the subject names the id alone.
ALIAS_CONFIG = CLIENT_CONFIG.merge(
    BotoConfig(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=1, read_timeout=2)
)
# Event history read for the caller behind a sweep's finding (the alert waits for it): one attempt, short timeouts.
# A throttled or slow LookupEvents fails at once ("not recorded"), never botocore's 20 s of backoff; one call takes at
# most connect + read (3 s), which guardian.flows.history.ACTOR_CALL_SECONDS counts before it starts a page.
LOOKUP_CONFIG = CLIENT_CONFIG.merge(
    BotoConfig(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=2)
)
# Every service the guardian makes a client for (the ClientProvider's), the only ones its botocore loader lists.
SERVICES = (
    "cloudtrail",
    "sns",
    "s3",
    "iam",
    "cloudwatch",
    "dynamodb",
    "kms",
    "logs",
    "events",
    "lambda",
    "cloudformation",
    "sqs",
    "config",
    "guardduty",
    "secretsmanager",
    "securityhub",
    "sts",
)


def parse_timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, with ISO 8601 (what S3's XML gives, for every object a listing names) read by
    the standard library: 0.3 µs in place of dateutil's 60 µs. Anything else (RFC 822 headers, epoch seconds) goes
    to botocore's own parser, which returns the same values."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    return botocore_parse_timestamp(value)


class PlainJSONFileLoader(JSONFileLoader):
    """botocore's model files read into plain dicts (ordered, as every dict is) where botocore builds OrderedDicts:
    half the parse. The first client parses endpoints.json (1.2 MB), 10 ms of a cold start with OrderedDicts.
    A file in a form this does not know is left to botocore's loader."""

    def load_file(self, file_path: str) -> Any:
        for suffix, opener in ((".json", open), (".json.gz", gzip.open)):
            if os.path.isfile(file_path + suffix):
                with opener(file_path + suffix, "rb") as file:
                    return json.loads(file.read().decode("utf-8"))
        return super().load_file(file_path)


class LeanLoader(Loader):
    """botocore's data loader, doing less on a cold start (half of the first client's creation). Before it loads a
    model, botocore's lists every service it knows to tell whether the one asked for exists: ~440 folders walked,
    15 ms. This one lists the guardian's own services only, each still looked up in botocore's data (a model
    missing there is still an error), and reads JSON into plain dicts."""

    FILE_LOADER_CLASS = PlainJSONFileLoader

    def list_available_services(self, type_name: str) -> list[str]:
        found = []
        for service in SERVICES:
            try:
                self.list_api_versions(service, type_name)
            except DataNotFoundError:
                continue
            found.append(service)
        return found


_LOADERS: dict[str | None, LeanLoader] = {}  # by data path (AWS_DATA_PATH), for the process: models are read-only


def lean_loader(data_path: str | None) -> LeanLoader:
    """The guardian's sessions' loader (any other session in the process, a test's or the simulation's, keeps
    botocore's), with the extra data paths botocore's own would search."""
    loader = _LOADERS.get(data_path)
    if loader is None:
        paths = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)] if data_path else None
        loader = _LOADERS[data_path] = LeanLoader(extra_search_paths=paths)
    return loader


# CloudTrail's write quota (1 request a second per account and Region, not adjustable): a throttled write is handed
# to the caller at once, never retried here, so the flows' backoff (guardian.flows.budget.quota_write) is the only
# one (retries multiply) and can see whether another invocation healed the trail meanwhile.
QUOTA_WRITES = frozenset({"StartLogging", "CreateTrail", "UpdateTrail", "PutEventSelectors", "PutInsightSelectors"})


def throttled_write_to_caller(response: Any = None, operation: Any = None, **_: Any) -> None:
    """botocore's ``needs-retry`` hook, called before its own retry handler: a throttled quota write raises its
    ClientError (as botocore would once done retrying); anything else is left to botocore (None)."""
    if response is None or operation is None or operation.name not in QUOTA_WRITES:
        return
    parsed = response[1]
    if isinstance(parsed, dict) and parsed.get("Error", {}).get("Code") in THROTTLING_CODES:
        raise ClientError(parsed, operation.name)  # type: ignore[arg-type]


class Boto3Clients:
    """Creates each client on first use (never at import: moto must start first) and keeps it for warm calls."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self._session = session
        self._cache: dict[tuple[str, str | None, int], Any] = {}  # by service, Region and config
        self._lock = threading.Lock()  # the sweep's threads may ask for a new client at once

    def _client(self, service: str, region: str | None, config: BotoConfig = CLIENT_CONFIG) -> Any:
        key = (service, region, id(config))
        client = self._cache.get(key)
        if client is None:
            with self._lock:  # creating sessions and clients is not thread-safe; using a client is
                client = self._cache.get(key)
                if client is None:
                    client = self._cache[key] = self._new_client(service, region, config)
        return client

    def _new_client(self, service: str, region: str | None, config: BotoConfig) -> Any:
        if self._session is None:
            self._session = boto3.session.Session()
            core = self._session._session
            core.register_component("data_loader", lean_loader(core.get_config_variable("data_path")))
            parsers = self._session._session.get_component("response_parser_factory")
            parsers.set_parser_defaults(timestamp_parser=parse_timestamp)
        client = self._session.client(service, region_name=region, config=config)  # type: ignore[call-overload]
        if service == "cloudtrail":
            client.meta.events.register_first("needs-retry.cloudtrail", throttled_write_to_caller)
        return client

    def cloudtrail(self, region: str) -> CloudTrailClient:
        client: CloudTrailClient = self._client("cloudtrail", region)
        return client

    def cloudtrail_lookup(self, region: str) -> CloudTrailClient:
        """LookupEvents for a sweep finding's caller, bounded (:data:`LOOKUP_CONFIG`)."""
        client: CloudTrailClient = self._client("cloudtrail", region, LOOKUP_CONFIG)
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

    def lambda_(self, region: str) -> LambdaClient:
        client: LambdaClient = self._client("lambda", region)
        return client

    def cloudformation(self, region: str) -> CloudFormationClient:
        client: CloudFormationClient = self._client("cloudformation", region)
        return client

    def sqs(self, region: str) -> SQSClient:
        client: SQSClient = self._client("sqs", region)
        return client

    def config_service(self, region: str) -> ConfigServiceClient:
        client: ConfigServiceClient = self._client("config", region)
        return client

    def guardduty(self, region: str) -> GuardDutyClient:
        client: GuardDutyClient = self._client("guardduty", region)
        return client

    def secretsmanager(self, region: str) -> SecretsManagerClient:
        client: SecretsManagerClient = self._client("secretsmanager", region)
        return client

    def securityhub(self, region: str) -> Any:
        return self._client("securityhub", region)

    def s3_as(self, role_arn: str, external_id: str, region: str) -> S3Client:
        """S3 as another role (AssumeRole with its external id, through the Region's STS endpoint): the Security Lake
        custom source's provider role. Kept while its credentials have 5 minutes or more left."""
        import time  # noqa: PLC0415

        key = ("s3-as", f"{role_arn}|{external_id}|{region}", 0)
        held = self._cache.get(key)
        if held is not None and held[1] - time.time() > 300:
            return held[0]  # type: ignore[no-any-return]
        sts = self._client("sts", region)
        answer = sts.assume_role(
            RoleArn=role_arn, RoleSessionName="cloudtrail-guardian", ExternalId=external_id, DurationSeconds=900
        )
        credentials = answer["Credentials"]
        with self._lock:
            assert self._session is not None  # made by the STS client above
            client = self._session.client(
                "s3",
                region_name=region,
                config=CLIENT_CONFIG,
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
            self._cache[key] = (client, credentials["Expiration"].timestamp())
        return client

    def iam(self) -> IAMClient:
        """IAM is global: the partition's endpoint, from the function's own Region. Read only for the account's
        alias in alert subjects, before the alert: so it may take a few seconds at most (ALIAS_CONFIG), never the
        minute the other clients' retries may."""
        client: IAMClient = self._client("iam", None, ALIAS_CONFIG)
        return client

    def warm(self, regions: list[str]) -> None:
        """Create the clients for these Regions now, in one thread: boto3 sessions are not thread-safe."""
        for region in regions:
            self.cloudtrail(region)
        self.s3()
        self.cloudwatch()
