"""The whole organization: which accounts and Regions to read (``targets``), and reading them all in parallel
through each account's read-only role (``over_org``), with what could not be read named, never skipped.

Run in the management account or a delegated administrator account (Organizations' ListAccounts), or with
``--accounts``, or over the deployment's ``environments`` (org_accounts.py). Each account is read through
``<stack>-console-read`` (the stack's ``ConsoleReadRole`` output; another with ``--assume-role``), assumed once per
account; each target's clients made once, from one botocore session (org_clients.py: client creation is most of the
run's CPU).
Used by ``status --org`` and ``incidents --org`` (org_status.py); ``add_options``: a command's ``--org`` options.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TextIO, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from guardian_console import org_accounts
from guardian_console.errors import ConsoleError
from guardian_console.org_clients import ATTEMPTS, Shared
from guardian_console.sessions import Account
from guardian_console.stack import DEFAULT_STACK, find

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from guardian_console.deployed import Deployed

T = TypeVar("T")
READ_ROLE_SUFFIX = "-console-read"  # the role the StackSet makes in each account (infra/console_read.py)
DESCRIPTION = "CloudTrail Guardian: self-healing CloudTrail"  # the guardian's template's (infra/stack.py)
LIVE = ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"]


@dataclass(frozen=True)
class Target:
    """One guardian to read: an account and the Region its stack is in."""

    account: str
    region: str


@dataclass(frozen=True)
class Unread:
    """A target that could not be read, and why (a role missing, access denied, no stack, throttled, timed out)."""

    account: str
    region: str
    why: str


@dataclass(frozen=True)
class OrgRun(Generic[T]):
    """What was read (sorted by account, Region) and what could not be; ``note``: the accounts were not those asked
    for (``org_accounts.FALLBACK``): the output says so first, and the command exits 1 (:func:`partial`)."""

    results: list[tuple[Target, T]]
    unread: list[Unread]
    note: str | None = None


def header(found: OrgRun[Any]) -> list[str]:
    """The line an output starts with where the accounts were not those asked for (and a blank line)."""
    return [found.note, ""] if found.note else []


def partial(found: OrgRun[Any]) -> bool:
    """Some account may not have been read: one could not be, or the accounts were not those asked for."""
    return bool(found.unread or found.note)


def read_role(stack: str) -> str:
    """The read-only role's name in every account: the StackSet's ``ConsoleReadRole`` output."""
    return f"{stack}{READ_ROLE_SUFFIX}"


def add_options(command: argparse.ArgumentParser) -> None:
    """``--org``, ``--regions``, ``--workers`` on a command that reads the whole organization."""
    command.add_argument(
        "--org",
        action="store_true",
        help="every account of the organization (or of --accounts), through its read-only role "
        f"(--assume-role, default <stack>{READ_ROLE_SUFFIX})",
    )
    command.add_argument("--regions", help="with --org: the Regions to read (default: each account's home Region)")
    command.add_argument("--workers", type=int, default=16, help="with --org: targets read at once (default 16)")
    command.add_argument(
        "--processes",
        type=int,
        help="with --org: processes, each with --workers threads (default: one per CPU above 100 targets, else 1)",
    )
    org_accounts.add_options(command)


def targets(args: argparse.Namespace, base_session: Any) -> list[Target]:
    """:func:`chosen`'s targets."""
    return chosen(args, base_session)[0]


def chosen(args: argparse.Namespace, base_session: Any) -> tuple[list[Target], str | None]:
    """``--accounts``, else the organization's ACTIVE accounts (those of ``environments`` with ``--accounts-from
    environments``, or where Organizations cannot be read: then the note, ``org_accounts.FALLBACK``, says why); in
    ``--regions``, else each account's Regions in ``environments``, else ``--region`` (or the session's)."""
    homes = org_accounts.homes(args)
    source, note = getattr(args, "accounts_from", None), None
    if getattr(args, "accounts", None):
        ids = _listed(args.accounts)
    elif source == org_accounts.ENVIRONMENTS:
        ids = org_accounts.accounts(homes)
    else:
        try:
            ids = organization_accounts(base_session)
        except ConsoleError as exc:
            if source == org_accounts.ORGANIZATIONS or not homes:
                raise
            ids, note = org_accounts.accounts(homes), org_accounts.FALLBACK.format(why=exc)
    fallback = getattr(args, "region", None) or base_session.region_name
    wanted = [r.strip() for r in str(getattr(args, "regions", None) or "").split(",") if r.strip()]
    found: list[Target] = []
    for account in ids:
        regions = wanted or homes.get(account) or ([fallback] if fallback else [])
        if not regions:
            raise ConsoleError(f"no Region to read account {account} in", "pass --regions or --region")
        found += [Target(account, r) for r in regions]
    return sorted(set(found), key=lambda t: (t.account, t.region)), note


def organization_accounts(base_session: Any) -> list[str]:
    """The organization's ACTIVE accounts (ListAccounts, every page)."""
    try:
        pages = base_session.client("organizations").get_paginator("list_accounts").paginate()
        listed = [a for page in pages for a in page.get("Accounts", [])]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "AWSOrganizationsNotInUseException":
            raise ConsoleError("this account is in no organization", "pass --accounts 111111111111,...") from exc
        raise ConsoleError(
            f"cannot list the organization's accounts: {code}",
            "run in the management or a delegated administrator account, with organizations:ListAccounts; "
            "or pass --accounts",
        ) from exc
    except BotoCoreError as exc:
        raise ConsoleError(f"cannot reach AWS Organizations: {exc}") from exc
    return sorted(str(a["Id"]) for a in listed if (a.get("State") or a.get("Status")) == "ACTIVE")


def over_org(
    targets: list[Target],
    read: Callable[[Account], T],
    *,
    role: str,
    base_session: Any,
    workers: int = 16,
    progress: TextIO | None = None,
    stack: str = DEFAULT_STACK,
    on_done: Callable[[str, bool], None] | None = None,
) -> OrgRun[T]:
    """``read`` of each target's guardian, at most ``workers`` at once; every failure an :class:`Unread`.
    ``on_done(account, failed)``: each target read (org_procs.py counts a child's that way)."""
    sts = base_session.client("sts")  # clients, unlike sessions, may be shared between threads
    partition = _partition(base_session)
    credentials: dict[str, Any] = {}  # per account: its credentials, or the ConsoleError that refused them
    locks = {t.account: threading.Lock() for t in targets}
    left = {a: sum(1 for t in targets if t.account == a) for a in locks}
    counter = Progress(progress, len(locks))
    shared = Shared()

    def assumed(account: str) -> dict[str, Any]:
        with locks[account]:
            if account not in credentials:
                credentials[account] = _assume(sts, partition, account, role)
        got = credentials[account]
        if isinstance(got, ConsoleError):
            raise ConsoleError(str(got))  # a new one per target: threads do not share a traceback
        return dict(got)

    def one(target: Target) -> tuple[Target, T | None, Unread | None]:
        failed = None
        try:
            session = shared.session(assumed(target.account), target.region)
            return target, read(Account(session, _guardian(session, stack))), None
        except Exception as exc:  # noqa: BLE001 - one account's failure is named, never the whole run's end
            failed = Unread(target.account, target.region, _why(exc))
            return target, None, failed
        finally:
            counter.done(target.account, left, failed=failed is not None)
            if on_done is not None:
                on_done(target.account, failed is not None)

    results: list[tuple[Target, T]] = []
    unread: list[Unread] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for target, value, failed in pool.map(one, targets):
            if failed is not None:
                unread.append(failed)
            else:
                results.append((target, value))  # type: ignore[arg-type]  # read returned it
    counter.show(end="\n")
    return OrgRun(
        sorted(results, key=lambda r: (r[0].account, r[0].region)), sorted(unread, key=lambda u: (u.account, u.region))
    )


class Progress:
    """``N/M accounts read, K unread``, one line rewritten on a terminal's stderr; nothing elsewhere."""

    def __init__(self, stream: TextIO | None, total: int) -> None:
        self.stream = stream if stream is not None and stream.isatty() else None
        self.total, self.read, self.bad = total, 0, set[str]()
        self.lock = threading.Lock()

    def done(self, account: str, left: dict[str, int], *, failed: bool) -> None:
        with self.lock:
            left[account] -= 1
            if failed:
                self.bad.add(account)
            if left[account] == 0:
                self.read += 1
            self.show()

    def show(self, end: str = "") -> None:
        if self.stream is not None:
            self.stream.write(f"\r{self.read}/{self.total} accounts read, {len(self.bad)} unread{end}")
            self.stream.flush()


def _guardian(session: Any, stack: str) -> Deployed:
    """The stack named ``stack``, else the one StackSet instance of the guardian's template whose outputs the read
    role may read: instances are named ``StackSet-<set>-<id>``, and the role may describe its own stack only, so a
    look-alike stack cannot pass for it (two that can are refused, named)."""
    try:
        return find(session, stack)
    except ConsoleError as exc:
        try:
            pages = session.client("cloudformation").get_paginator("list_stacks").paginate(StackStatusFilter=LIVE)
            instances = [
                str(s["StackName"])
                for page in pages
                for s in page.get("StackSummaries", [])
                if str(s["StackName"]).startswith("StackSet-") and s.get("TemplateDescription") == DESCRIPTION
            ]
        except (ClientError, BotoCoreError):
            raise exc from None
        found = []
        for name in instances:
            try:
                found.append(find(session, name))
            except ConsoleError:
                continue
        if len(found) > 1:
            raise ConsoleError(f"several guardian stacks: {', '.join(d.stack for d in found)}", "pass --stack") from exc
        if not found:
            raise
        return found[0]


def _assume(sts: Any, partition: str, account: str, role: str) -> dict[str, Any] | ConsoleError:
    arn = f"arn:{partition}:iam::{account}:role/{role}"
    try:
        return dict(sts.assume_role(RoleArn=arn, RoleSessionName="guardian-console-org")["Credentials"])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        return ConsoleError(f"cannot assume {arn}: {code} (no such role, or it does not trust this account)")
    except BotoCoreError as exc:
        return ConsoleError(f"cannot assume {arn}: {exc}")


def _why(exc: Exception) -> str:
    if isinstance(exc, ConsoleError):
        return str(exc)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if "Throttl" in code or code in ("TooManyRequestsException", "RequestLimitExceeded"):
            return f"throttled after {ATTEMPTS} attempts: {code}"
        return f"{code}: {error.get('Message', '')}".rstrip(": ")
    if isinstance(exc, BotoCoreError):
        return f"{type(exc).__name__}: {exc}"
    return f"unexpected {type(exc).__name__}: {exc}"


def _partition(session: Any) -> str:
    try:
        return str(session.get_partition_for_region(session.region_name or "us-east-1"))
    except Exception:  # noqa: BLE001 - an unknown Region: the commercial partition
        return "aws"


def _listed(text: str) -> list[str]:
    ids = [a.strip() for a in str(text).split(",") if a.strip()]
    bad = [a for a in ids if not re.fullmatch(r"\d{12}", a)]
    if bad or not ids:
        raise ConsoleError(f"not account ids: {', '.join(bad) or 'none given'}", "pass --accounts 111111111111,...")
    return sorted(set(ids))
