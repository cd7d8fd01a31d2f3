"""cdk-nag (AwsSolutions) on every synth, cfn-lint on the template, and one synth with the real CDK CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

from app import build_app
from infra import bytecode
from infra.guardian_function import RUNTIME_VERSION
from infra.runtime_asset import CHAIN_HEADS_ONLY, NOTIFIER_ONLY, REMEDIATION_ONLY, SWEEP_ONLY
from tests.support import REPO_ROOT

pytestmark = pytest.mark.synth


def test_cdk_nag_reports_no_unacknowledged_finding(tmp_path: Path) -> None:
    app = build_app({"alertEmails": "sec@example.com"})
    app.synth(force=True)  # raises ValidationFailed if any AwsSolutions finding is left unacknowledged
    # Exactly these findings are acknowledged, each with a specific reason (recorded in construct metadata).
    acknowledged = {
        (child.node.path, rule): reason
        for child in app.node.find_all()
        for entry in child.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry.data.items()
        if "AwsSolutions" in rule
    }
    common = [
        "Annotation::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        "Annotation::AwsSolutions-IAM5[Action::logs:*RetentionPolicy]",  # Put, Delete
        "Annotation::AwsSolutions-IAM5[Action::logs:*KmsKey]",  # Associate, Disassociate
        "Annotation::AwsSolutions-IAM5[Action::logs:*Transformer]",  # Get, Delete, Put (an approved one back)
        "Annotation::AwsSolutions-IAM5[Resource::<EvidenceBucketC67FF768.Arn>/baselines/*]",
        "Annotation::AwsSolutions-IAM5[Resource::<EvidenceBucketC67FF768.Arn>/blind-windows/*]",  # healed windows
        "Annotation::AwsSolutions-IAM5[Resource::<EvidenceBucketC67FF768.Arn>/evidence/*]",
        "Annotation::AwsSolutions-IAM5[Resource::<EvidenceBucketC67FF768.Arn>/evidence/*.json.sig]",  # locked
        "Annotation::AwsSolutions-IAM5[Resource::<EvidenceBucketC67FF768.Arn>/groups/*]",  # alert groups' windows
        "Annotation::AwsSolutions-IAM5[Resource::<EvidenceBucketC67FF768.Arn>/selftests/*]",
        "Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudtrail:*:<AWS::AccountId>:trail/*]",
        "Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*]",
        "Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::*]",
        "Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:*:<AWS::AccountId>:log-group:*]",
        "Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:<AWS::AccountId>:key/*]",
    ]
    assert sorted(acknowledged) == sorted(
        [
            ("CloudTrailGuardian/DeadLetters/Queue", "Annotation::AwsSolutions-SQS3"),
            ("CloudTrailGuardian/Evidence/AccessLogs", "Annotation::AwsSolutions-S1"),
            # Python 3.13, the newest whose byte-code the asset can ship (infra.bytecode)
            ("CloudTrailGuardian/Remediation/Function", "Annotation::AwsSolutions-L1"),
            ("CloudTrailGuardian/Sweep/Function", "Annotation::AwsSolutions-L1"),
            *(("CloudTrailGuardian/Remediation/Role", rule) for rule in common),
            ("CloudTrailGuardian/Remediation/Role", "Annotation::AwsSolutions-IAM5[Resource::*]"),  # the account alias
            (  # a watch rule's check: DescribeRule, ListTargetsByRule of the rule a call named (infra.watch)
                "CloudTrailGuardian/Remediation/Role",
                "Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:*:<AWS::AccountId>:rule/*]",
            ),
            (  # DescribeStacks only: which role a stack run without one lends (the CDK execution role is alerted)
                "CloudTrailGuardian/Remediation/Role",
                "Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:"
                "<AWS::AccountId>:stack/*]",
            ),
            *(("CloudTrailGuardian/Sweep/Role", rule) for rule in common),
            ("CloudTrailGuardian/Sweep/Role", "Annotation::AwsSolutions-IAM5[Resource::*]"),
            (
                "CloudTrailGuardian/Sweep/Role",
                "Annotation::AwsSolutions-IAM5[Resource::<EvidenceBucketC67FF768.Arn>/digests/*]",
            ),
            *(
                ("CloudTrailGuardian/Sweep/Role", f"Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:{r}]")
                for r in (
                    "events:*:<AWS::AccountId>:rule/CloudTrailGuardian-*",  # its rules, and the forwarders'
                    "iam::<AWS::AccountId>:role/CloudTrailGuardian-forwarder-*",
                    "s3:::*/AWSLogs/*",  # the trails' log and digest files, validated (read only)
                )
            ),
            *(  # the sweep's checks of the guardian itself, in the managed policy it names (infra.sweep_schedule)
                ("CloudTrailGuardian/Sweep/Checks", f"Annotation::AwsSolutions-IAM5[Resource::{r}]")
                for r in (
                    "*",  # cloudtrail:ListEventDataStores
                    "arn:<AWS::Partition>:cloudtrail:*:<AWS::AccountId>:eventdatastore/*",  # held to its baseline
                    "arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:CloudTrailGuardian-*",
                    "arn:<AWS::Partition>:events:*:<AWS::AccountId>:event-bus/default",  # read: a key on it is alerted
                    "arn:<AWS::Partition>:events:*:<AWS::AccountId>:rule/*",  # the rules routing security: listed
                    # every forwarder's dead-letter queue, one name in each Region: its depth read
                    "arn:<AWS::Partition>:sqs:*:<AWS::AccountId>:CloudTrailGuardian-forward-dead-letters",
                )
            ),
            (  # Security Hub findings carry each record's SHA-256, read from its signature sidecar (infra.security_hub)
                "CloudTrailGuardian/Remediation/SecurityHubFindings",
                "Annotation::AwsSolutions-IAM5[Resource::<EvidenceBucketC67FF768.Arn>/evidence/*.json.sig]",
            ),
            *(  # its functions' settings and its key aliases, held as deployed (infra.own_checks)
                ("CloudTrailGuardian/SweepHoldsItsSettings", f"Annotation::AwsSolutions-IAM5[Resource::{r}]")
                for r in (
                    "*",  # kms:ListAliases
                    "arn:<AWS::Partition>:kms:*:<AWS::AccountId>:alias/CloudTrailGuardian-*",
                    "arn:<AWS::Partition>:kms:*:<AWS::AccountId>:key/*",  # the key an alias leaves: anyone's
                )
            ),
            (  # every Lake store, repaired on an event (the sweep's grant is in its Checks policy)
                "CloudTrailGuardian/Remediation/Role",
                "Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudtrail:*:<AWS::AccountId>:"
                "eventdatastore/*]",
            ),
        ]
    )
    assert all(len(reason) > 50 for reason in acknowledged.values())


def test_cdk_nag_does_fail_a_non_compliant_resource(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Careless")
    s3.Bucket(stack, "Open")  # no SSL enforcement, no access logs: AwsSolutions-S1 and S10
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed.*AwsSolutions-S1'.*AwsSolutions-S10"):
        app.synth()


def synthesized_template(outdir: Path) -> Path:
    env = {**os.environ, "CDK_OUTDIR": str(outdir)}
    subprocess.run([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    return outdir / "CloudTrailGuardian.template.json"


def test_cfn_lint_finds_no_error(cli_synth: CLISynth, tmp_path: Path) -> None:
    """On the CDK CLI's template where the CLI runs (one synth for both tests), else on app.py's own."""
    synth, outdir = cli_synth
    template = outdir / CLI_TEMPLATE if synth is not None and synth.returncode == 0 else synthesized_template(tmp_path)
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    run = subprocess.run(
        [str(cfn_lint), "--format", "parseable", str(template)], capture_output=True, text=True, check=False
    )
    errors = [line for line in run.stdout.splitlines() if ":E" in line]
    assert run.returncode & 2 == 0, run.stdout  # cfn-lint exit bit 2 = errors (4 = warnings, 8 = informational)
    assert errors == []


CLI_TEMPLATE = "CloudTrailGuardian.template.json"
CLISynth = tuple["subprocess.CompletedProcess[str] | None", Path]


@pytest.fixture(scope="module")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> CLISynth:
    """The real CDK CLI's synth into a directory of its own, once for this module (None: the CLI is not installed)."""
    tmp_path = tmp_path_factory.mktemp("cli-synth")
    if shutil.which("npx") is None or not (REPO_ROOT / "node_modules" / ".bin" / "cdk").exists():
        return None, tmp_path
    env = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"}
    run = subprocess.run(
        [
            "npx",
            "--no-install",
            "cdk",
            "synth",
            "--quiet",
            "--output",
            str(tmp_path),
            "-c",
            "alertEmails=sec@example.com",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return run, tmp_path


@pytest.mark.skipif(shutil.which("npx") is None, reason="node/npx is not installed")
def test_real_cdk_cli_synth(cli_synth: CLISynth) -> None:
    run, tmp_path = cli_synth
    if run is None:
        pytest.skip("the pinned CDK CLI is not installed: run `make setup`")
    assert run.returncode == 0, run.stderr[-3000:]
    template = json.loads((tmp_path / CLI_TEMPLATE).read_text())
    assert any(r["Type"] == "AWS::Lambda::Function" for r in template["Resources"].values())
    assets = json.loads((tmp_path / "CloudTrailGuardian.assets.json").read_text())
    staged_assets = [
        tmp_path / a["source"]["path"]
        for a in assets["files"].values()
        if a["source"].get("packaging") == "zip" and (tmp_path / a["source"]["path"] / "guardian").is_dir()
    ]
    by_entry = {(s / "guardian/entrypoints/sweep.py").is_file(): s for s in staged_assets}
    assert len(staged_assets) == len(by_entry) == 2  # the sweep's asset, and the remediation function's
    source = REPO_ROOT / "guardian"
    every = sorted(str(p.relative_to(source)) for p in source.rglob("*.py") if "__pycache__" not in p.parts)
    compiler = bytecode.interpreter(RUNTIME_VERSION)
    for staged in staged_assets:
        files = [str(p.relative_to(staged / "guardian")) for p in (staged / "guardian").rglob("*") if p.is_file()]
        shipped = sorted(f for f in files if not f.endswith(".pyc"))
        compiled = sorted(f for f in files if f.endswith(".pyc"))
        # Byte-code only for the cold path, compiled for the runtime's Python where one is found (infra.bytecode).
        # The remediation function's only: the sweep's cold start is no heal's.
        cold = [Path(m) for m in bytecode.COLD_PATH if m in shipped] if compiler and staged == by_entry[False] else []
        tag = compiler.cache_tag if compiler else ""
        assert compiled == sorted(
            str(m.parent / "__pycache__" / f"{m.stem}.{tag}.pyc").removeprefix("./") for m in cold
        )
        # The remediation function's also carries the compiled watch rules it matches events against.
        if staged == by_entry[True]:
            expected = sorted(set(every) - set(REMEDIATION_ONLY) - set(NOTIFIER_ONLY) - set(CHAIN_HEADS_ONLY))
        else:
            expected = sorted(
                {*every, "watch_rules.json"} - set(SWEEP_ONLY) - set(NOTIFIER_ONLY) - set(CHAIN_HEADS_ONLY)
            )
        assert shipped == expected
    extra = 80 if compiler else 0  # KiB of byte-code, where it is compiled
    # Issue 24's watch-rule check (an EventBridge rule read: model/rule_routing.py, adapters/event_rules.py) and
    # four more compiled rules: about 3 KiB to the remediation function's, off the cold start's imports: 192.
    # The Security Lake copy (a Parquet writer, the OCSF column schema, the delivery: sweep-only) and every route's
    # finding copies (both) about 12 KiB to the sweep's: 237.6 KiB measured, so 250.
    # The security-routing inventory's check on the event path (review 10: flows/security_inventory.py,
    # model/security_rules.py) and every route's finding copies: 275.8 KiB measured with byte-code, so 200 + 80.
    # Review 11 (targets' configurations hashed, the check time-bounded, rules recorded on first sight): 278.9 and
    # 252.3 KiB measured (249.2 before), so the sweep's 255.
    # Review 12 (first-sight entries re-recorded, folded entries skipped): 279.6 KiB measured for the remediation
    # function's, at its bound; 210 + 80 and 265 leave room for one more check, none of it on the cold start's import.
    for staged, limit in ((by_entry[False], 210 + extra), (by_entry[True], 265)):
        archive = tmp_path / f"{staged.name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(staged.rglob("*")):
                zf.write(path, path.relative_to(staged))
        # The remediation function's asset (what its cold start downloads) stayed under 140 KiB (93 KiB before issue
        # 20 added judging policies by IAM's semantics, confirming CloudFormation's calls and the roles stacks lend,
        # the independent alert copies and Lake's settings, and issue 21 alert groups, the publish cap and the paced
        # writes: the 100 KiB target is missed, its cold start's imports are not; docs/architecture.md); the sweep's,
        # which also carries the sweep, both digest chains, the console's requests and the watch rules' opt-in undos
        # (which it never runs, but the flows are found by name), under 180 KiB.
        # Issues 21-23 (observe mode, records signed at write, blind windows read back from Event history, log
        # transformers and account log policies) added about 22 KiB zipped, every module of it reachable from the
        # handler (tests/unit/test_architecture.py), sweep-only modules left out (SWEEP_ONLY): 159 KiB and 207 KiB
        # measured, so 165 and 215 KiB. What the cold start imports did not grow: the same 24 guardian modules as at
        # 2178390; `scripts/bench.py` section 1 alternating with 2178390 (two runs of 20), sources only, medians
        # 21.9 ms against 20.2 and 21.0 ms (x1.09, x1.04), byte-code cached x1.02 and x1.07, within the 30 ms
        # target. About 4.6 KiB of it is the security account's chain-head modules (guardian/*/chain_heads.py), which
        # neither function imports: once they are left out of both, the budgets can come down.
        # Issues 21 and 24 (the write quota's turns, Control Tower, OCSF objects and own events, the sweep's findings
        # and copies) added about 20 KiB to each, none of it on the cold start's import (tests/unit/
        # test_handler_import.py lists what the handler may not load): 179 and 223 KiB measured, so 190 and 235.
        # Issue 21 (cold start): the byte-code of the 25 modules a cold start imports before StartLogging, compiled
        # for Python 3.13, adds 79 KiB to the remediation function's: 258 KiB measured (the sweep's has none: its
        # cold start is no heal's). Lambda fetches that once per environment; it saves compiling them at every cold
        # start (the handler's import x0.43: 27.5 to 11.8 ms, scripts/bench.py section 1b).
        assert archive.stat().st_size < limit * 1024
