"""The ``guardian`` command line: every command and option. What each command does is in cli.py and the modules it
calls; what the help says to a person (each command's line and example) is in help_text.py.

``--region`` means one thing everywhere: the stack's home Region. ``approve`` names the trail's with ``--trail-region``;
its old ``--stack-region`` is a deprecated spelling of ``--region``, kept for one release.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from guardian import __version__
from guardian_console import acts, help_text, mode, org, rules, subscription
from guardian_console.errors import ConsoleError
from guardian_console.stack import DEFAULT_STACK

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    Command = Callable[[argparse.Namespace, datetime], int]

DEPRECATED_STACK_REGION = (
    "guardian: note: --stack-region is deprecated and goes in the next release: pass --region "
    "(the stack's home Region, as in every command); the trail's Region is --trail-region"
)


def common() -> argparse.ArgumentParser:
    """The options of every command that reads the deployed stack."""
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--stack", default=DEFAULT_STACK, help=f"the deployed stack's name (default {DEFAULT_STACK})")
    shared.add_argument("--region", help="the stack's home Region (default: the profile's or AWS_REGION)")
    shared.add_argument(
        "--profile", action="append", help="an AWS profile to read with; repeat it to read several accounts"
    )
    shared.add_argument("--assume-role", metavar="ROLE", help="a role name to assume in each account of --accounts")
    shared.add_argument(
        "--accounts", help="comma-separated account ids to read through --assume-role (default: cdk.json environments)"
    )
    shared.add_argument("--json", action="store_true", help="print JSON for machines instead of tables")
    shared.add_argument("--verbose", action="store_true", help="also print the guardian's own log lines")
    return shared


def offline() -> argparse.ArgumentParser:
    """The options of a command that reads no AWS account."""
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--json", action="store_true", help="print JSON for machines instead of text")
    shared.add_argument("--verbose", action="store_true", help="also print the guardian's own log lines")
    return shared


def build(reads: Mapping[str, Command]) -> argparse.ArgumentParser:
    """The whole parser; ``reads``: the commands cli.py implements (incidents, status, verify, report)."""
    shared = common()
    parser = argparse.ArgumentParser(prog="guardian")
    parser.add_argument("--version", action="version", version=f"guardian {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    incidents = commands.add_parser("incidents", parents=[shared], help=help_text.line("incidents"))
    incidents.add_argument("--since", default="7d", help="how far back: 24h, 7d, 2w (default 7d)")
    org.add_options(incidents)
    incidents.set_defaults(command=reads["incidents"])

    status = commands.add_parser("status", parents=[shared], help=help_text.line("status"))
    org.add_options(status)
    status.set_defaults(command=reads["status"])

    sweep = commands.add_parser("sweep", parents=[shared], help=help_text.line("sweep"))
    sweep.add_argument(
        "--dry-run", action="store_true", help="compute what the sweep would change, with read-only credentials"
    )
    sweep.set_defaults(command=acts.sweep_command)

    verify = commands.add_parser("verify", parents=[shared], help=help_text.line("verify"))
    verify.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    verify.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (inclusive)")
    verify.add_argument("--offline", metavar="DIR", help="verify a downloaded copy of the evidence bucket instead")
    verify.add_argument("--public-key", metavar="FILE", help="with --offline: the signing key's exported public key")
    verify.add_argument(
        "--head", metavar="KEY[:SHA256]", help="a head printed by an earlier verify: it must still be in the chain"
    )
    verify.add_argument(
        "--security-profile",
        metavar="PROFILE",
        help="credentials in the security account: the chain's head must not be behind the head it kept",
    )
    org.add_options(verify)
    verify.set_defaults(command=reads["verify"])

    report = commands.add_parser("report", parents=[shared], help=help_text.line("report"))
    report.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (inclusive)")
    report.add_argument("--format", choices=("html", "csv", "json"), default="html", help="html (default), csv, json")
    report.add_argument("-o", "--output", help="the file to write (default: standard output)")
    report.add_argument(
        "--require-coverage",
        action="store_true",
        help="exit 1 unless the whole period is covered (watched, swept without gaps, the evidence chain intact)",
    )
    org.add_options(report)
    report.set_defaults(command=reads["report"])

    approve = commands.add_parser("approve", parents=[shared], help=help_text.line("approve"))
    approve.add_argument("--trail", required=True, help="the trail's name")
    approve.add_argument("--trail-region", metavar="REGION", help="the trail's home Region (default: the stack's)")
    approve.add_argument("--reason", required=True, help="why this configuration is right: kept in the evidence")
    for kind in ("bucket", "log-group"):
        approve.add_argument(
            f"--include-{kind}",
            action="store_true",
            help=f"adopt the trail's {kind.replace('-', ' ')} even if it is weaker than its baseline (else refused); "
            "the approval's alert is then HIGH",
        )
    approve.add_argument(
        "--stack-region", metavar="REGION", help="deprecated: the same as --region (the stack's home Region)"
    )
    approve.set_defaults(command=acts.approve_command)

    selftest = commands.add_parser("selftest", parents=[shared], help=help_text.line("selftest"))
    selftest.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the alert (default 120)")
    selftest.add_argument("--reason", default="guardian selftest", help="kept with the self-test's evidence")
    selftest.set_defaults(command=acts.selftest_command)

    mode.add_command(commands, shared)
    rules.add_commands(commands, offline())
    subscription.add_command(commands, offline())
    help_text.apply(parser)
    return parser


def resolve(args: argparse.Namespace) -> None:
    """Options spelled the old way, taken with a one-line note: ``approve --stack-region`` is ``--region``."""
    old = getattr(args, "stack_region", None)
    if old is None:
        return
    print(DEPRECATED_STACK_REGION, file=sys.stderr)
    if args.region not in (None, old):
        raise ConsoleError(f"--stack-region {old} and --region {args.region} disagree", "pass --region alone")
    args.region = old
