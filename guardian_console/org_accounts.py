"""The deployment's ``environments`` (one guardian per entry: an account and its home Region), as ``--org`` reads
them: from ``-c environments=JSON`` as given to ``cdk deploy``, else from cdk.json's context. ``--org`` takes its
accounts from them with ``--accounts-from environments``, or where Organizations cannot be read (a member account:
neither the management nor a delegated administrator account); and each account's home Regions always."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardian_console.errors import ConsoleError

if TYPE_CHECKING:
    import argparse

ORGANIZATIONS, ENVIRONMENTS = "organizations", "environments"
# Where Organizations cannot be read, --org reads the accounts of environments (which the repository or CI may edit):
# an account not listed there is neither read nor named, so the output says so first and the run is partial (exit 1)
# unless the operator asked for them (--accounts-from environments).
FALLBACK = "accounts from environments: Organizations could not be read ({why})"


def add_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--accounts-from",
        choices=(ORGANIZATIONS, ENVIRONMENTS),
        help="with --org: the accounts of Organizations (default; where it cannot be read, those of environments) "
        "or of the deployment's environments (-c environments=JSON, else cdk.json), each in its Regions",
    )
    command.add_argument(
        "-c",
        "--context",
        action="append",
        metavar="KEY=VALUE",
        help="with --org: the deployment's context as given to cdk (-c environments=[...]); other keys are ignored",
    )


def homes(args: argparse.Namespace, path: Path = Path("cdk.json")) -> dict[str, list[str]]:
    """Each account of ``environments`` and its Regions: ``-c environments=`` if given, else cdk.json's (absent or
    unreadable: none). A value given but not a list of ``{"account", "region"}`` is refused, named."""
    given = [c.split("=", 1)[1] for c in getattr(args, "context", None) or [] if c.startswith("environments=")]
    if given:
        return _entries(given[-1], "-c environments")  # the last one, as cdk takes it
    try:
        value = json.loads(path.read_text()).get("context", {}).get("environments", [])
    except (OSError, ValueError, AttributeError):
        return {}
    try:
        return _entries(value, f"{path}'s environments")
    except ConsoleError:
        return {}  # cdk.json's own mistake: `cdk synth` names it; the accounts come from Organizations or --accounts


def accounts(found: dict[str, list[str]]) -> list[str]:
    if not found:
        raise ConsoleError(
            "no accounts in environments",
            'pass -c environments=[{"account": "111111111111", "region": "eu-west-1"}, ...], or list them in cdk.json',
        )
    return sorted(found)


def _entries(value: Any, where: str) -> dict[str, list[str]]:
    try:
        value = json.loads(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise ConsoleError(f"{where} is not valid JSON: {exc}") from exc
    entries: list[dict[str, Any]] = [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []
    if entries != value or not all(re.fullmatch(r"\d{12}", str(e.get("account"))) and e.get("region") for e in entries):
        raise ConsoleError(f'{where} must be a list of {{"account": "123456789012", "region": "eu-west-1", ...}}')
    found: dict[str, set[str]] = {}
    for entry in entries:
        found.setdefault(str(entry["account"]), set()).add(str(entry["region"]))
    return {a: sorted(r) for a, r in found.items()}
