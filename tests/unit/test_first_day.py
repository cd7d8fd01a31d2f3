"""docs/first-day.md stays true: its commands parse, its options exist, a noisy watch rule is muted as it says, and an
upgrade keeps what the previous schema versions wrote readable and verifiable (issue 23)."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import shlex
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from guardian.flows.baselines import load_checked
from guardian.flows.record_signing import sign_object
from guardian.model import signing
from guardian.model.baselines import BASELINE_SCHEMA, BASELINE_SCHEMA_VERSION, trail_key
from guardian.model.digests import DIGEST_SCHEMA, DIGEST_SCHEMA_VERSION, digest_key
from guardian.model.evidence import EVIDENCE_SCHEMA, EVIDENCE_SCHEMA_VERSION
from guardian.model.record_signatures import sidecar_key
from guardian.model.trail import TrailState
from guardian.model.watch import matching, parse_compiled
from guardian_console import cli, verify
from guardian_console.evidence import read_one
from infra.self_protection import Guarded, watches
from infra.settings import APP_OPTIONS, OPTIONS, GuardianSettings
from tests.support import REPO_ROOT
from watch_rules.compile import compile_rules
from watch_rules.schema import load, parse

PAGE = REPO_ROOT / "docs" / "first-day.md"
KEY_ID = "arn:aws:kms:us-east-1:123456789012:key/guardian-signing"
PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NUMBERS = PRIVATE.public_key().public_numbers()
PUBLIC = signing.PublicKey(NUMBERS.n, NUMBERS.e)


def page() -> str:
    return PAGE.read_text()


def commands() -> list[str]:
    """Every `guardian ...` the page shows: in backticks, or a line of a code block (its comment cut)."""
    inline = re.findall(r"`(guardian [^`]+)`", page())
    blocks = re.findall(r"```sh\n(.*?)```", page(), flags=re.DOTALL)
    lines = [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()]
    return inline + [line for line in lines if line.startswith("guardian ")]


def test_every_command_on_the_page_parses() -> None:
    found = commands()
    assert {"mode", "selftest", "incidents", "rules", "confirm-subscription", "verify"} <= {c.split()[1] for c in found}
    parser = cli._parser()
    for command in found:
        try:
            parser.parse_args(shlex.split(command)[1:])
        except SystemExit:  # argparse's way of refusing
            pytest.fail(f"docs/first-day.md: `{command}` does not parse")


def test_every_context_option_on_the_page_exists() -> None:
    named = set(re.findall(r"-c (\w+)=", page()))
    assert {"mode", "alertEmails", "approvers", "watchRules"} <= named
    assert named <= {*OPTIONS, *APP_OPTIONS}
    [sandbox] = re.findall(r"make deploy CDK_ARGS='(-c mode=observe[^']*)'", page())
    words = shlex.split(sandbox)
    context = dict(pair.split("=", 1) for flag, pair in zip(words[::2], words[1::2], strict=True) if flag == "-c")
    settings = GuardianSettings.from_context(context.get)  # the sandbox's settings are valid as written
    assert (settings.mode, len(settings.approvers)) == ("observe", 1)


# -- Mute a noisy watch rule --------------------------------------------------------------------------------------

PIPELINE = "arn:aws:sts::123456789012:assumed-role/deploy-pipeline/run-42"
PERSON = "arn:aws:sts::123456789012:assumed-role/Admin/alice"


def put_role_policy(arn: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "eventSource": "iam.amazonaws.com",
        "eventName": "PutRolePolicy",
        "eventType": "AwsApiCall",
        "awsRegion": "us-east-1",
        "recipientAccountId": "123456789012",
        "userIdentity": {"type": "AssumedRole", "arn": arn},
    }


def deployed(rules: dict[str, Any]) -> set[str]:
    """The ids of the rules the function would match, from the compiled copy it ships with (per event)."""
    compiled = parse_compiled(json.dumps(compile_rules(parse(rules)).runtime_document()))
    return {r.id for r in matching(compiled, put_role_policy(PIPELINE))} | {
        f"{r.id} (person)" for r in matching(compiled, put_role_policy(PERSON))
    }


def test_a_muted_or_narrowed_rule_no_longer_matches() -> None:
    """The page's three ways, on the pack's IAM policy rule: off, the pipeline spared, or not mailed."""
    pack = json.loads((REPO_ROOT / "rules" / "watch.json").read_text())
    noisy = "cis-iam-policy-changed"
    assert deployed(pack) >= {noisy, f"{noisy} (person)"}

    off = copy.deepcopy(pack)
    next(r for r in off["rules"] if r["id"] == noisy)["enabled"] = False
    assert not {noisy, f"{noisy} (person)"} & deployed(off)

    narrowed = copy.deepcopy(pack)
    rule = next(r for r in narrowed["rules"] if r["id"] == noisy)
    rule["match"]["principal"] = {"exclude": ["arn:aws:sts::*:assumed-role/deploy-pipeline/*"]}
    assert f"{noisy} (person)" in deployed(narrowed)
    assert noisy not in deployed(narrowed)
    assert '"principal": {"exclude": ["arn:aws:sts::*:assumed-role/deploy-pipeline/*"]}' in page()

    quiet = copy.deepcopy(pack)
    next(r for r in quiet["rules"] if r["id"] == noisy)["severity"] = "LOW"
    assert next(r for r in compile_rules(parse(quiet)).rules if r.id == noisy).severity == "LOW"
    assert load(REPO_ROOT / "rules" / "watch.json").rules  # the pack itself still loads


# -- What self-protection alerts, as the page says (upgrade, secret rotation) -------------------------------------


def test_a_deployment_is_alerted_medium_and_a_secret_change_critical_as_the_page_says() -> None:
    guarded = Guarded(
        stack_name="CloudTrailGuardian",
        stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/CloudTrailGuardian/1",
        functions=[],
        rules=["CloudTrailGuardian-guard-events"],
        topic_arn="arn:aws:sns:us-east-1:123456789012:alerts",
        roles=[],
        keys=[],
        key_aliases="alias/CloudTrailGuardian-",
        buckets=[],
        alarms=[],
        queue_names=[],
        secrets=["CloudTrailGuardian/webhook/soc"],
    )
    found = {w.suffix: w for w in watches(guarded)}
    assert found["deployment"].severity == "MEDIUM"
    assert "one MEDIUM deployment alert" in page()
    secrets = found["secretsmanager"]
    assert secrets.severity == "CRITICAL"
    assert {"PutSecretValue", "UpdateSecretVersionStage"} <= set(secrets.event_names)
    assert "(PutSecretValue, UpdateSecretVersionStage) is alerted CRITICAL" in " ".join(page().split())


# -- Upgrade: what the previous schema versions wrote still reads and verifies ------------------------------------

# The version before today's, and the guardian release that wrote it (evidence 1.5 added the signature sidecar).
PREVIOUS_EVIDENCE = "1.4"
RELEASE = "0.1.0"
DAY = "2026/11/24"
WRITTEN = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def kms_sign(message: bytes) -> bytes:
    """KMS Sign with the guardian's key: RSASSA-PKCS1-v1_5 SHA-256 over a RAW message."""
    return PRIVATE.sign(message, padding.PKCS1v15(), hashes.SHA256())


def signed(key: str, document: dict[str, Any]) -> dict[str, Any]:
    return signing.signed(document, key_id=KEY_ID, signature=kms_sign(signing.digest(key, document)))


def previous_record() -> dict[str, Any]:
    """A record as guardian 0.1.0 wrote it (evidence schema 1.4): no `planned`, no signature beside it."""
    event = {"eventID": "e-old", "eventName": "StopLogging", "eventTime": "2026-11-24T01:43:26Z"}
    return {
        "schema": EVIDENCE_SCHEMA,
        "schema_version": PREVIOUS_EVIDENCE,
        "record_id": "e-old",
        "record_id_derived": False,
        "written_at": "2026-11-24T01:43:28Z",
        "outcome": "healed",
        "severity": "HIGH",
        "decision": {"action": "start_logging", "reason": "logging stopped"},
        "who": {"arn": "arn:aws:iam::123456789012:user/mallory", "source_ip": "203.0.113.66"},
        "where": {"region": "us-east-1", "account": "123456789012"},
        "when": {"event_time": "2026-11-24T01:43:26Z"},
        "what": {"event_source": "cloudtrail.amazonaws.com", "event_name": "StopLogging", "error_code": None},
        "trail": {"name": "org-audit", "home_region": "us-east-1", "account": "123456789012"},
        "actions": [{"action": "StartLogging", "region": "us-east-1", "result": "succeeded"}],
        "verification": {"is_logging": True, "checks": 1, "checked_at": "2026-11-24T01:43:27Z"},
        "blind_window_seconds": 1.0,
        "detected_by": "event",
        "watch_rule": None,
        "purpose": None,
        "changes": [],
        "diagnosis": None,
        "alert": {"topic_arn": "arn:aws:sns:us-east-1:123456789012:alerts", "subject": "[HIGH] ..."},
        "input_problems": [],
        "guardian": {"version": RELEASE, "function": "CloudTrailGuardian-remediation"},
        "truncated": None,
        "original_event": event,
        "original_event_omitted": None,
    }


class Store:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_if_absent(self, key: str, document: dict[str, Any], *, locked_until: datetime | None = None) -> bool:
        self.objects[key] = json.dumps(document).encode()
        return True


class Kms:
    signing_key: str | None = KEY_ID

    def sign(self, message: bytes) -> bytes:
        return kms_sign(message)

    def public_key(self) -> signing.PublicKey:
        return PUBLIC


def digest(sequence: int, schema_version: str, entries: list[tuple[str, bytes]], previous: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema": DIGEST_SCHEMA,
        "schema_version": schema_version,
        "sequence": sequence,
        "covers": {"from": None, "to": "2026-11-24T02:00:00Z"},
        "previous": previous,
        "records": [
            {"key": k, "version_id": "v1", "sha256": _sha(b), "last_modified": "2026-11-24T01:43:28Z"}
            for k, b in entries
        ],
        "written_at": "2026-11-24T02:00:00Z",
        "broken": [],
    }
    if schema_version != "1.0":  # digest 1.1 added the records the chain refused
        document["unsigned"] = []
    return document


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def write(root: Path, key: str, body: bytes) -> None:
    (root / key).parent.mkdir(parents=True, exist_ok=True)
    (root / key).write_bytes(body)


class Body(io.BytesIO):
    pass


class S3:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        return {"Body": Body(self.objects[Key]), "VersionId": "v1"}


def test_a_record_and_a_baseline_of_the_previous_schema_still_verify_and_read(tmp_path: Path) -> None:
    assert EVIDENCE_SCHEMA_VERSION > PREVIOUS_EVIDENCE  # today's writes a newer one
    # Before the upgrade: a 1.4 record, chained by a digest of schema 1.0.
    old_key = f"evidence/{DAY}/e-old.json"
    old_body = json.dumps(previous_record()).encode()
    first_key = digest_key(0, WRITTEN)
    first = json.dumps(signed(first_key, digest(0, "1.0", [(old_key, old_body)], None))).encode()
    # After it: a record signed at write (its sidecar), chained by today's digest schema after the old digest.
    new_key = f"evidence/{DAY}/e-new.json"
    new_body = json.dumps(
        {**previous_record(), "schema_version": EVIDENCE_SCHEMA_VERSION, "record_id": "e-new"}
    ).encode()
    sidecars = Store()
    assert sign_object(new_key, new_body, Kms(), sidecars, at=WRITTEN) is None
    second_key = digest_key(1, WRITTEN)
    second_doc = digest(1, DIGEST_SCHEMA_VERSION, [(new_key, new_body)], {"key": first_key, "sha256": _sha(first)})
    second = json.dumps(signed(second_key, second_doc)).encode()

    copy_dir = tmp_path / "bucket"
    for key, body in [(old_key, old_body), (first_key, first), (new_key, new_body), (second_key, second)]:
        write(copy_dir, key, body)
    write(copy_dir, sidecar_key(new_key), sidecars.objects[sidecar_key(new_key)])
    public = tmp_path / "public.der"
    public.write_bytes(
        PRIVATE.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    verdict = verify.offline(copy_dir, public, date(2026, 11, 24), date(2026, 11, 24))
    assert verdict.ok, verdict.breaks
    assert (verdict.digests, verdict.records) == (2, 2)
    assert [w for w in verdict.warnings if old_key in w and f"guardian {RELEASE}" in w and "before signing" in w]

    s3 = S3({old_key: old_body})
    stored = read_one(s3, "evidence-bucket", "123456789012", old_key)
    assert getattr(stored, "summary", None), stored  # read, not Unread
    summary = stored.summary  # type: ignore[union-attr]
    assert (summary["event"], summary["outcome"], summary["guardian_version"]) == ("StopLogging", "healed", RELEASE)

    # A trail baseline of the previous release (baseline schema 1.0, unchanged since), signed then: read and held to.
    trail = {
        "name": "org-audit",
        "arn": "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-audit",
        "home_region": "us-east-1",
        "logging": True,
        "s3_bucket": "org-audit-logs",
        "s3_prefix": None,
        "sns_topic_arn": None,
        "include_global_service_events": True,
        "multi_region": True,
        "log_file_validation": True,
        "kms_key_id": None,
        "cloudwatch_logs_group_arn": None,
        "cloudwatch_logs_role_arn": None,
        "organization": False,
        "event_selectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}],
        "advanced_event_selectors": None,
        "insight_types": [],
        "tags": [{"Key": "team", "Value": "security"}],
    }
    key = trail_key("us-east-1", "org-audit")
    header = {"recorded_at": "2026-11-24T00:00:00Z", "recorded_by": "sweep", "reason": "first seen by the sweep"}
    document = {"schema": BASELINE_SCHEMA, "schema_version": "1.0", "kind": "trail", **header, "trail": trail}
    assert BASELINE_SCHEMA_VERSION == "1.0"  # a new baseline schema needs a fixture of 1.0 here, as evidence has
    checked = load_checked(Baselines({key: signed(key, document)}), "us-east-1", "org-audit")
    assert checked.refused is None
    assert isinstance(checked.state, TrailState)
    assert (checked.state.s3_bucket, checked.state.multi_region, checked.state.tags) == (
        "org-audit-logs",
        True,
        (("team", "security"),),
    )


class Baselines(Kms):
    """The evidence bucket's baselines as the sweep reads them (one version each)."""

    def __init__(self, documents: dict[str, dict[str, Any]]) -> None:
        self.documents = documents

    def read_json(self, key: str, version: str | None = None) -> dict[str, Any] | None:
        found = self.documents.get(key)
        return None if found is None else json.loads(json.dumps(found))

    def versions(self, key: str) -> list[str]:
        return ["v1"] if key in self.documents else []

    def write_json(self, key: str, document: dict[str, Any]) -> None:
        raise AssertionError(f"reading a baseline wrote {key}")

    def list_keys(self, prefix: str) -> list[str]:
        return [k for k in self.documents if k.startswith(prefix)]

    def object_etags(self, prefix: str) -> dict[str, str]:
        return dict.fromkeys(self.list_keys(prefix), "etag")
