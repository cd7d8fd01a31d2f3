from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import botocore.loaders
import botocore.session
import pytest

from guardian.entrypoints import handler
from guardian.flows import security_hub
from simulation.security_hub import WORKFLOWS
from tests.faults import Faults, install
from tests.support import REPO_ROOT

# The Node.js LTS `make setup` installs runs jsii (in-process synths) and the CDK CLI, as under make.
NODE_BIN = REPO_ROOT / "node_modules" / ".bin"
if NODE_BIN.is_dir() and not os.environ.get("PATH", "").startswith(str(NODE_BIN)):
    os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

# One botocore data loader per data path for the whole test process, where each new session (every test resets the
# handler's) would read and parse every service model again: half of an integration test's time. The models are
# read-only; Lambda keeps one session per environment anyway.
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may reach real AWS: fake credentials, a fixed Region, no profile, and a fresh handler state."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    handler.reset()
    security_hub.forget()  # which accounts had Security Hub off: a process-wide note, per test here
    WORKFLOWS.clear()  # the bridged Security Hub's statuses, as moto's backends are fresh for each test
    yield
    handler.reset()


# When the tests' attacker stops a trail in moto: 10 minutes before the events of tests/events (moto would stamp
# StopLoggingTime with the machine's time, weeks after them). The heal reads a later StopLoggingTime as a later stop
# that supersedes the event's own heal, and the sweep leaves a stop younger than EVENT_PATH_SECONDS to the event path
# (guardian.flows.budget), on real and on the tests' fixed clocks: tests of those rules stamp their own times.
STOPPED_AT = datetime(2026, 11, 20, 9, 50, 0)


@pytest.fixture(autouse=True)
def stops_when_the_events_say(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.cloudtrail import models  # noqa: PLC0415 - moto's trail status, stamped as the test events say

    def stop_logging(self: Any) -> None:
        self.is_logging, self.stopped = False, STOPPED_AT

    monkeypatch.setattr(models.TrailStatus, "stop_logging", stop_logging)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    """Faults below botocore's retries for the clients the guardian makes from now on (see tests/faults.py)."""
    return install(monkeypatch)


@pytest.fixture(autouse=True, scope="session")
def one_key_pair_per_key_spec() -> Iterator[None]:
    """moto makes an RSA key pair for every KMS key it creates, symmetric ones too (0.1 s each, a fifth of a moto
    account's set-up). Tests here share one pair per key spec. Safe because no test signs with one key and
    verifies with another: every signature checked is the guardian's own, or a forgery without a key."""
    import moto.kms.models  # noqa: PLC0415 - patched for the session only

    made = moto.kms.models.generate_private_key  # type: ignore[attr-defined]
    pairs: dict[str, Any] = {}

    def shared(key_spec: str) -> Any:
        if key_spec not in pairs:
            pairs[key_spec] = made(key_spec)
        return pairs[key_spec]

    patch = pytest.MonkeyPatch()
    patch.setattr(moto.kms.models, "generate_private_key", shared)
    yield
    patch.undo()


@pytest.fixture(autouse=True, scope="session")
def one_sns_signing_key() -> Iterator[None]:
    """moto makes an RSA key for each SNS subscription to sign what it delivers (0.1 s, once per test that
    publishes). Tests here share one: none checks SNS's signature, which no guardian code reads either."""
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415
    from moto.sns.models import Subscription  # noqa: PLC0415 - patched for the session only

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    patch = pytest.MonkeyPatch()
    patch.setattr(Subscription, "private_key", lambda _self: key)
    yield
    patch.undo()


@pytest.fixture(autouse=True, scope="session")
def cloudtrail_answers_as_aws() -> Iterator[None]:
    """moto bridged as the simulation bridges it (simulation.moto_server): the selector flags DescribeTrails gives,
    DescribeTrails by name, and ListObjectVersions at the prefix's cost. The guardian reads a trail's selectors only
    where AWS says it has some, so without the bridge every trail would look as if it had none."""
    from simulation.event_history import event_history  # noqa: PLC0415 - LookupEvents, which moto lacks
    from simulation.log_transformers import log_transformers  # noqa: PLC0415 - transformers, account policies
    from simulation.moto_server import (  # noqa: PLC0415
        cloudtrail_as_aws,
        lambda_invoke_configs,
        log_group_keys,
        s3_versions_by_prefix,
    )
    from simulation.security_hub import security_hub_as_aws  # noqa: PLC0415 - not enabled, BatchUpdateFindings

    with (
        cloudtrail_as_aws(),
        s3_versions_by_prefix(),
        log_group_keys(),
        lambda_invoke_configs(),
        event_history(),
        log_transformers(),
        security_hub_as_aws(),
    ):
        yield
