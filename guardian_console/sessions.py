"""Whose evidence to read: one session per ``--profile`` (or the default credentials), or one per account of
``--accounts`` through ``--assume-role``; each with what its stack says."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardian_console.errors import ConsoleError
from guardian_console.stack import find

if TYPE_CHECKING:
    import argparse

    from guardian_console.deployed import Deployed


@dataclass(frozen=True)
class Account:
    """One guardian to read: a session with credentials for its account, and what its stack says."""

    session: Any
    deployed: Deployed


def accounts(args: argparse.Namespace) -> list[Account]:
    """The guardians to read: one per --profile (or the default credentials), or one per account of --accounts
    through --assume-role."""
    import boto3  # noqa: PLC0415 - the console's own import, never the Lambda's

    found: list[Account] = []
    if args.assume_role:
        base = boto3.session.Session(profile_name=(args.profile or [None])[0], region_name=_region(args))
        for account in _account_ids(args):
            session = _assumed(base, account, args.assume_role, _region(args))
            found.append(Account(session, find(session, args.stack)))
        return found
    for profile in args.profile or [None]:
        try:
            session = boto3.session.Session(profile_name=profile, region_name=_region(args))
        except Exception as exc:
            raise ConsoleError(f"cannot use profile {profile!r}: {exc}", "check ~/.aws/config") from exc
        found.append(Account(session, find(session, args.stack)))
    return found


def _account_ids(args: argparse.Namespace) -> list[str]:
    if args.accounts:
        ids = [a.strip() for a in str(args.accounts).split(",") if a.strip()]
    else:
        ids = _environment_accounts(Path("cdk.json"))
    bad = [a for a in ids if not re.fullmatch(r"\d{12}", a)]
    if bad or not ids:
        raise ConsoleError(
            f"no account ids to read ({', '.join(bad) or 'none given'})",
            "pass --accounts 111111111111,222222222222, or list them in cdk.json's environments",
        )
    return ids


def _environment_accounts(path: Path) -> list[str]:
    try:
        context = json.loads(path.read_text()).get("context", {})
    except (OSError, ValueError):
        return []
    return sorted({str(e.get("account")) for e in context.get("environments", []) if isinstance(e, dict)})


def _assumed(base: Any, account: str, role: str, region: str | None) -> Any:
    import boto3  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    arn = f"arn:aws:iam::{account}:role/{role}"
    try:
        credentials = base.client("sts").assume_role(RoleArn=arn, RoleSessionName="guardian-console")["Credentials"]
    except (ClientError, BotoCoreError) as exc:
        raise ConsoleError(f"cannot assume {arn}: {exc}", "check the role's trust policy and your credentials") from exc
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region or base.region_name,
    )


def _region(args: argparse.Namespace) -> str | None:
    """``--region``, else ``AWS_REGION`` (which boto3's sessions do not read: they read ``AWS_DEFAULT_REGION`` and the
    profile), else the session's own default."""
    return args.region or os.environ.get("AWS_REGION") or None
