"""The org-wide console's clients: what a read of 800 targets spends its CPU on is botocore making clients (a session's
~1,300 handlers registered, then copied into each client), not the requests. So one botocore session (its loader,
handlers and endpoint data) serves every worker of a run, and each target's read gets a :class:`TargetSession`: its
account's credentials and Region, each client made once (per service, Region and configuration), kept for the read.
"""

from __future__ import annotations

import functools
import threading
from datetime import UTC, datetime
from typing import Any

import botocore.client
import botocore.loaders
import botocore.session
from botocore.config import Config

from guardian.adapters.clients import parse_timestamp

ATTEMPTS = 8  # a throttled call is retried (adaptive mode); what still fails is an Unread
TIMEOUTS = {"connect_timeout": 5, "read_timeout": 30}
ACCOUNT_WIDE = frozenset({"sts"})  # the same answer from any Region's endpoint: one client per account, not per target


@functools.cache
def _loader() -> Any:
    return botocore.loaders.create_loader()  # the service models, parsed once for every run in the process


_MADE: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # what botocore makes anew for each client, made once: see below
_MADE_LOCK = threading.Lock()


@functools.cache
def _made_once() -> None:
    """botocore builds each client's service model (its shapes then parsed again, request by request) and its class
    (~70 methods) anew: 40% of an org read's CPU (0.11 s a target, 0.07 s without). For clients of this module's
    loader only (the org reads' sessions; any other client is botocore's as ever), both are made once: per service
    for the model (read-only once loaded), per service model and session events for the class (what the session's
    ``creating-client-class`` handlers make of it). Each cached value keeps what its key's ids name alive."""
    creator: Any = botocore.client.ClientCreator
    load_model, make_class = creator._load_service_model, creator._create_client_class

    def model(self: Any, service_name: str, api_version: str | None = None) -> Any:
        if self._loader is not _loader():
            return load_model(self, service_name, api_version)
        key = ("model", service_name, api_version)
        with _MADE_LOCK:
            if key not in _MADE:
                _MADE[key] = (load_model(self, service_name, api_version),)
            return _MADE[key][0]

    def made_class(self: Any, service_name: str, service_model: Any) -> Any:
        if self._loader is not _loader():
            return make_class(self, service_name, service_model)
        key = ("class", id(service_model), id(self._event_emitter))
        with _MADE_LOCK:
            if key not in _MADE:
                _MADE[key] = (make_class(self, service_name, service_model), service_model, self._event_emitter)
            return _MADE[key][0]

    creator._load_service_model = model
    creator._create_client_class = made_class


def timestamp(value: Any) -> datetime:
    """A response's timestamp: epoch seconds (JSON protocols: CloudWatch's datapoints, CloudTrail's) and ISO 8601 read
    by the standard library, where botocore's dateutil takes 0.4 ms each (a day of sweep runs: 288)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return parse_timestamp(value)


class Shared:
    """One botocore session for a run's workers, its clients made under a lock (creating clients is not thread-safe,
    using them is), each with the credentials it is given: the session itself holds none."""

    def __init__(self) -> None:
        import boto3  # noqa: PLC0415 - the console's own import, never the Lambda's

        _made_once()
        core = botocore.session.Session()
        core.register_component("data_loader", _loader())
        retries: Any = {"max_attempts": ATTEMPTS, "mode": "adaptive"}  # a fresh dict: botocore rewrites it
        core.set_default_client_config(Config(retries=retries, **TIMEOUTS))  # type: ignore[arg-type]
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=timestamp)
        self.boto3 = boto3.session.Session(botocore_session=core)
        self.lock = threading.Lock()
        self.per_account: dict[tuple[str, str], Any] = {}  # by access key and service: ACCOUNT_WIDE's clients

    def session(self, credentials: dict[str, Any], region: str) -> TargetSession:
        return TargetSession(self, credentials, region)


class TargetSession:
    """What a read uses of a boto3 session (``client``, ``region_name``, ``events``), for one target: each client
    made once, so a read that asks for Lambda three times makes one."""

    def __init__(self, shared: Shared, credentials: dict[str, Any], region: str) -> None:
        self.region_name = region
        self._shared = shared
        self._keys = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
        self._made: dict[tuple[Any, ...], Any] = {}
        self._configs: list[Any] = []  # kept: a key holds their id

    @property
    def events(self) -> Any:
        """The shared session's events: a handler registered here is copied into the clients made after it."""
        return self._shared.boto3.events

    def client(self, service: str, region_name: str | None = None, config: Config | None = None, **options: Any) -> Any:
        region = region_name or self.region_name
        key = (service, region, id(config), tuple(sorted(options.items())))
        wide = (
            (self._keys["aws_access_key_id"], service) if service in ACCOUNT_WIDE and not (config or options) else None
        )
        with self._shared.lock:
            found = self._made.get(key) or (self._shared.per_account.get(wide) if wide else None)
            if found is None:
                self._configs.append(config)
                found = self._made[key] = self._shared.boto3.client(
                    service,  # type: ignore[call-overload]  # any service the read asks for
                    region_name=region,
                    config=config,
                    **self._keys,
                    **options,
                )
                if wide:
                    self._shared.per_account[wide] = found
        return found
