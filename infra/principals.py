"""Principal ARNs in the deployment options, parsed strictly at synth: a principal that can never match (a colon
missing, a bare role name, an 11-digit account, another service's ARN) would otherwise deploy silently and exempt
nobody, or lock every approver out. Each mistake names the key, the entry and the fix.

What AWS accepts (IAM's CreateRole/CreateUser models, as botocore ships them, and the IAM quotas page
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): a role or user name is 1 to 64 of
``A-Za-z0-9+=,.@_-``; a path is ``/``, or ``/`` + printable ASCII + ``/``, at most 512 characters; a role session
name is 2 to 64 of the name characters. Role and user names are unique within an account whatever their path, and
not distinguished by case: a role is known by (account, name), its path is a label.

IAM Identity Center's roles live under the path ``aws-reserved/sso.amazonaws.com/`` (with a Region segment for
newer ones): accepted like any path. STS names a role session without the path, CloudTrail's session issuer with it;
the guardian's functions match either (:mod:`guardian.model.decide`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session

from infra.errors import SettingsError

GLOB = "glob:"
NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")
SESSION = re.compile(r"[A-Za-z0-9+=,.@_-]{2,64}")
PATH_CHARS = re.compile(r"[\x21-\x7e]*")
MAX_PATH = 512
ACCOUNT = re.compile(r"\d{12}")
# What each option may name. A role is matched by (account, name), with or without its path; a session only as
# that session; the root user where CloudTrail names it so.
EXEMPT_KINDS = ("role", "user", "assumed-role", "root")
APPROVER_KINDS = ("role", "user", "assumed-role")  # who STS can prove to be: the root user never approves
ROLE_ONLY = ("role",)
_EXPECTED = {
    "role": "arn:{p}:iam::<12-digit account>:role/{name}",
    "user": "arn:{p}:iam::<12-digit account>:user/{name}",
    "assumed-role": "arn:{p}:sts::<12-digit account>:assumed-role/<role name>/<session>",
    "root": "arn:{p}:iam::<12-digit account>:root",
}


@dataclass(frozen=True)
class Principal:
    """A principal ARN, taken apart."""

    partition: str
    account: str
    kind: str  # role, user, assumed-role or root
    name: str  # the role's or user's name ("" for root)
    path: str  # "/" unless the ARN gives one; "" for a session or the root user


@cache
def partitions() -> tuple[str, ...]:
    """The partitions botocore knows (aws, aws-cn, aws-us-gov, the isolated ones): no network."""
    return tuple(botocore.session.get_session().get_available_partitions())


def expected(kinds: Sequence[str], text: str = "", partition: str = "aws", name: str = "<name>") -> str:
    """The form ``text`` most likely meant (a role unless it looks like another kind this option takes)."""
    looks = next((k for k in ("assumed-role", "user", "root") if f":{k}" in text), "role")
    return _EXPECTED[looks if looks in kinds else kinds[0]].format(p=partition, name=name)


def parse(text: str, kinds: Sequence[str] = EXEMPT_KINDS) -> Principal:
    """``text`` as a principal of one of ``kinds``; else a SettingsError-ready sentence saying what is wrong and
    what was expected (raised as :class:`ValueError`: the caller names the key)."""
    partition = text.split(":")[1] if text.count(":") >= 2 and text.split(":")[1] in partitions() else "aws"
    fix = f"(expected {expected(kinds, text, partition)})"
    if any(ch.isspace() for ch in text):
        raise ValueError(f"holds a space; ARNs have none {fix}")
    if ":" not in text:
        named = text if NAME.fullmatch(text) else "<name>"
        raise ValueError(f"is a bare name, not an ARN (expected {expected(kinds, text, partition, named)})")
    if not text.startswith("arn:"):
        raise ValueError(f"does not start with 'arn:' {fix}")
    fields = text.split(":", 5)
    if len(fields) < 6:
        raise ValueError(f"{_missing_colon(fields)} {fix}")
    _, partition, service, region, account, resource = fields
    if partition not in partitions():
        raise ValueError(f"the partition {partition!r} is not one of {', '.join(partitions())} {fix}")
    if service not in ("iam", "sts"):
        raise ValueError(f"is an ARN of {service!r}, not of an IAM principal {fix}")
    if region:
        raise ValueError(f"names a Region ({region!r}); IAM and STS ARNs have none: '{service}::' {fix}")
    if not ACCOUNT.fullmatch(account):
        digits = f"{len(account)} digits" if account.isdigit() else f"{account!r}"
        raise ValueError(f"the account is {digits}; an account id is 12 digits {fix}")
    found = _resource(service, resource, fix)
    if found[0] not in kinds:
        raise ValueError(f"names {_a(found[0])}, which this option does not take {fix}")
    return Principal(partition, account, *found)


def _missing_colon(fields: list[str]) -> str:
    """Where a colon went missing: most often the empty Region field (``iam:123…`` for ``iam::123…``), or the one
    after the account (``123…role/x``)."""
    if len(fields) == 5 and ACCOUNT.fullmatch(fields[3]) and fields[2]:
        return f"a colon is missing after '{fields[2]}:'"
    if re.match(r"\d{12}[a-z]", fields[-1]):
        return f"a colon is missing after the account '{fields[-1][:12]}'"
    return f"has {len(fields)} colon-separated fields; an ARN has 6"


def _a(kind: str) -> str:
    return {"root": "the root user", "assumed-role": "a role session"}.get(kind, f"a {kind}")


def _resource(service: str, resource: str, fix: str) -> tuple[str, str, str]:
    """(kind, name, path) of the part after the account."""
    if service == "iam" and resource == "root":
        return "root", "", ""
    kind, _, rest = resource.partition("/")
    if service == "sts":
        role, _, session = rest.partition("/")
        if kind != "assumed-role" or not role or not session or "/" in session:
            raise ValueError(f"an STS principal is a role session: assumed-role/<role name>/<session> {fix}")
        _name(role, "role", fix)
        if not SESSION.fullmatch(session):
            raise ValueError(f"the session name {session!r} is not 2 to 64 of A-Za-z0-9+=,.@_- {fix}")
        return "assumed-role", role, ""
    if kind not in ("role", "user") or not rest:
        what = "names no role or user" if kind in ("role", "user") else f"names {kind!r}, not role/ or user/"
        raise ValueError(f"{what} {fix}")
    path, _, name = rest.rpartition("/")
    path = f"/{path}/" if path else "/"
    _name(name, kind, fix)
    if len(path) > MAX_PATH or not PATH_CHARS.fullmatch(path):
        raise ValueError(f"the path {path!r} is not 1 to 512 printable characters {fix}")
    return kind, name, path


def _name(name: str, kind: str, fix: str) -> None:
    if not name:
        raise ValueError(f"the {kind} name is empty (the ARN ends with '/') {fix}")
    if len(name) > 64:
        raise ValueError(f"the {kind} name is {len(name)} characters; IAM allows 64 {fix}")
    if not NAME.fullmatch(name):
        bad = "".join(sorted({ch for ch in name if not NAME.fullmatch(ch)}))
        raise ValueError(f"the {kind} name has {bad!r}; IAM names are A-Za-z0-9 and +=,.@_- {fix}")


def check_glob(pattern: str, kinds: Sequence[str], *, role_paths: bool = True) -> None:
    """A ``glob:`` pattern must still be an ARN (a bare ``ci-*`` matches nothing). For approvers, a role's path
    never matches: STS names the caller's role without it."""
    fields = pattern.split(":", 5)
    if len(fields) < 6 or fields[0] != "arn":
        raise ValueError(f"a glob is an ARN pattern with 6 colon-separated fields (glob:{expected(kinds, pattern)})")
    if fields[2] not in ("iam", "sts") and not any(ch in fields[2] for ch in "*?"):
        raise ValueError(f"is an ARN pattern of {fields[2]!r}, not of an IAM principal")
    if not role_paths and fields[5].startswith("role/") and "/" in fields[5][len("role/") :]:
        raise ValueError(
            "a glob with a role path never matches an approver: STS names the caller's role without its path; "
            f"write glob:{':'.join(fields[:5])}:role/<name pattern>"
        )


def principal_list(
    value: Any, key: str, kinds: Sequence[str] = EXEMPT_KINDS, *, role_paths: bool = True
) -> tuple[str | dict[str, str], ...]:
    """Principal ARNs (a JSON list, or comma-separated), each exact, ``glob:``, or {"principal": ..., "until":
    ISO 8601 time}. Each entry is parsed; the error names ``key[index]``. ``role_paths`` False: the principals are
    matched against STS's names only (approvers), where a glob over a role's path can never match."""
    entries: list[str | dict[str, str]] = []
    for index, item in enumerate(_as_list(value, key)):
        if isinstance(item, str) and item.strip():
            entries.append(_entry(item, f"{key}[{index}]", kinds, role_paths))
        elif isinstance(item, dict) and isinstance(item.get("principal"), str) and set(item) <= {"principal", "until"}:
            until = item.get("until")
            if until is not None:
                try:
                    datetime.fromisoformat(str(until).replace("Z", "+00:00"))
                except ValueError as exc:
                    raise SettingsError(f"{key}[{index}]: 'until' must be an ISO 8601 time, got {until!r}") from exc
            principal = _entry(item["principal"], f"{key}[{index}]", kinds, role_paths)
            entries.append({**{k: str(v) for k, v in item.items()}, "principal": principal})
        elif not isinstance(item, str):  # an empty entry of a comma-separated list ("a,,b") is skipped
            raise SettingsError(
                f'{key} entries must be ARNs or {{"principal": "...", "until": "2026-12-31T00:00:00Z"}}, got {item!r}'
            )
    return tuple(entries)


def _as_list(value: Any, key: str) -> list[Any]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SettingsError(f"{key} is not a valid JSON list: {exc.msg}") from exc
        else:
            value = [part.strip() for part in text.split(",")] if text else []
    if value is None:
        return []
    if not isinstance(value, list):
        raise SettingsError(f"{key} must be a list of principal ARNs or a comma-separated string, got {value!r}")
    return value


def _entry(text: str, where: str, kinds: Sequence[str], role_paths: bool) -> str:
    text = text.strip()
    try:
        _check(text, kinds, role_paths)
    except ValueError as exc:
        raise SettingsError(f"{where}: {text!r} — {exc}") from None
    return text


def _check(text: str, kinds: Sequence[str], role_paths: bool) -> None:
    if text.startswith(GLOB):
        check_glob(text[len(GLOB) :], kinds, role_paths=role_paths)
    elif any(ch in text for ch in "*?"):
        raise ValueError(
            f"has a wildcard; a principal is an exact ARN unless written glob:{text} (a * never crosses a /)"
        )
    else:
        parse(text, kinds)


def role_arns(listed: Sequence[str], key: str) -> tuple[str, ...]:
    """IAM role ARNs, exactly (``listed``: the option's entries, already split)."""
    for index, arn in enumerate(listed):
        try:
            parse(arn, ROLE_ONLY)
        except ValueError as exc:
            raise SettingsError(f"{key}[{index}]: {arn!r} — {exc}") from None
    return tuple(dict.fromkeys(listed))


def role_name(value: Any, key: str) -> str | None:
    """A role's name, or its ARN (at path ``/``): the evidence bucket's policy and the SCPs name
    ``arn:<partition>:iam::<account>:role/<name>``, and ``aws:PrincipalArn`` carries the path, so a role with a
    path would never be spared."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        return _break_glass_name(text)
    except ValueError as exc:
        raise SettingsError(f"{key}: {text!r} — {exc}") from None


def _break_glass_name(text: str) -> str:
    if not text.startswith("arn:"):
        _name(text, "role", "(expected a role name such as BreakGlassAdmin, or arn:aws:iam::<account>:role/<name>)")
        return text
    principal = parse(text, ROLE_ONLY)
    if principal.path != "/":
        raise ValueError(
            f"the role has the path {principal.path!r}; the bucket policy and the SCPs spare "
            f"arn:{principal.partition}:iam::<account>:role/{principal.name} only: use a role at path /"
        )
    return principal.name


def account_id(value: Any, key: str) -> str | None:
    """A 12-digit account id; the error says how many digits it has."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not ACCOUNT.fullmatch(text):
        got = f"{len(text)} digits" if text.isdigit() else "not digits only"
        raise SettingsError(f"{key} must be a 12-digit AWS account id, got {text!r} ({got})")
    return text


TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}(\.fifo)?")
KEY_ID = re.compile(r"key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})")


def resource_arn(value: Any, key: str, service: str) -> str | None:
    """An SNS topic's ARN, or a KMS key's (``key/<id>``: an alias grants nothing in a policy), parsed strictly."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    form = f"arn:aws:{service}:<Region>:<12-digit account>:" + ("<topic name>" if service == "sns" else "key/<key id>")
    fields = text.split(":", 5)
    problem = None
    if ":" not in text:
        problem = "is not an ARN"
    elif len(fields) < 6 or fields[0] != "arn":
        problem = f"has {len(fields)} colon-separated fields; an ARN has 6"
    elif fields[1] not in partitions():
        problem = f"the partition {fields[1]!r} is not one of {', '.join(partitions())}"
    elif fields[2] != service:
        problem = f"is an ARN of {fields[2]!r}, not of {service}"
    elif not re.fullmatch(r"[a-z]{2,5}(-[a-z]+)+-\d+", fields[3]):
        problem = f"the Region {fields[3]!r} is not a Region name"
    elif not ACCOUNT.fullmatch(fields[4]):
        problem = f"the account {fields[4]!r} is not 12 digits"
    elif not (TOPIC_NAME if service == "sns" else KEY_ID).fullmatch(fields[5]):
        what = "a topic name (1 to 256 of A-Za-z0-9_-)" if service == "sns" else "key/<key id> (not an alias)"
        problem = f"{fields[5]!r} is not {what}"
    if problem:
        raise SettingsError(f"{key}: {text!r} — {problem} (expected {form})")
    return text


def located(message: str, *, index: int, entry: Any, read_last: str | None, from_top: Collection[str]) -> str:
    """An error of ``environments[index]``'s settings, prefixed with where the faulty key was written: the top
    level when the key failing its own check (it was the last one read) came from there, else the entry."""
    key = re.match(r"[A-Za-z]+", message)
    if key and key[0] == read_last and read_last in from_top:
        return f"top level: {message}"
    return f"environments[{index}] ({entry.get('account')}/{entry.get('region')}): {message}"
