"""Values copied from an event, made safe to write anywhere: encoded without failing, bounded with a marker of what was
cut, and hashed where a store limits a key's length.

Pure. An event is attacker-written text: a lone surrogate (JSON ``"\\ud800"``) cannot be encoded as UTF-8, a
90,000-character name does not fit an SNS message, and an eventID of 1,500 bytes does not fit a DynamoDB sort key.
None of these may cost an alert; see docs/alerts.md ("Odd input").
"""

from __future__ import annotations

import json
from typing import Any

CUT_MARK = "…[{n} chars cut]"
# Cutting in stages: first only the longest strings, then every string and list shorter, until the document fits.
_STAGES = ((2048, 64), (256, 16), (64, 4))


def text(value: str) -> str:
    """``value`` as text that encodes as UTF-8: a lone surrogate becomes its escape (``\\ud800``), nothing else
    changes."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode()
    return value


def cut(value: str, limit: int) -> str:
    """At most about ``limit`` characters: the start is kept and the marker says how many were cut."""
    if len(value) <= limit:
        return value
    keep = max(limit - 20, 8)
    return value[:keep] + CUT_MARK.format(n=len(value) - keep)


def json_text(document: Any, *, indent: int | None = None) -> str:
    """JSON that always encodes as UTF-8. Readable (non-ASCII kept as is); a lone surrogate is written as its JSON
    escape, so the document reads back exactly as it was."""
    separators = None if indent else (",", ":")
    rendered = json.dumps(document, ensure_ascii=False, indent=indent, separators=separators, default=str)
    # In JSON text a lone surrogate can only sit inside a string, where "\udXXX" is the standard escape of itself.
    return text(rendered)


def json_bytes(document: Any, *, indent: int | None = None) -> bytes:
    return json_text(document, indent=indent).encode()


def key_part(value: str, limit: int) -> str:
    """``value`` as part of a store's key: itself when it is short printable ASCII, else a digest that names it
    as one (``sha256-…``), so the same value always gives the same key."""
    if len(value) <= limit and value.isascii() and value.isprintable():
        return value
    return digest(value)


def digest(value: str) -> str:
    import hashlib  # noqa: PLC0415 - rare path (odd input only); keeps OpenSSL out of the cold start

    return "sha256-" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def fit(document: dict[str, Any], budget: int) -> tuple[dict[str, Any], list[str]]:
    """The document within ``budget`` bytes of JSON, and the paths of what was cut to get there.

    By construction: strings and lists are shortened in stages; if that is not enough, the largest top-level
    values are replaced by a marker one by one, which ends with a document of markers only.
    """
    if len(json_bytes(document)) <= budget:
        return document, []
    for limit, items in _STAGES:
        paths: list[str] = []
        shortened = _shorten(document, limit, items, "", paths)
        if len(json_bytes(shortened)) <= budget:
            return shortened, paths
    paths.append("*")
    sizes = sorted(((len(json_bytes(v)), k) for k, v in shortened.items()), reverse=True)
    for size, key in sizes:
        if len(json_bytes(shortened)) <= budget:
            break
        shortened[key] = f"…[{size} bytes cut]"
        paths.append(key)
    return shortened, paths


def shorten(value: Any, limit: int, items: int) -> tuple[Any, list[str]]:
    """``value`` with every string cut to about ``limit`` characters and every list to ``items`` (objects to four
    times that), and the paths of what was cut."""
    paths: list[str] = []
    return _shorten(value, limit, items, "", paths), paths


def _shorten(value: Any, limit: int, items: int, path: str, cut_paths: list[str]) -> Any:
    if isinstance(value, str):
        if len(value) > limit:
            cut_paths.append(path)
        return cut(value, limit)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for n, (key, item) in enumerate(value.items()):
            if n == items * 4:  # objects from the event (selectors, request fields) may be as wide as lists
                out["…"] = f"[{len(value) - n} more keys cut]"
                cut_paths.append(f"{path}.*" if path else "*")
                break
            name = cut(str(key), limit)
            out[name] = _shorten(item, limit, items, f"{path}.{name}" if path else name, cut_paths)
        return out
    if isinstance(value, list | tuple):
        kept = [_shorten(item, limit, items, f"{path}[{n}]", cut_paths) for n, item in enumerate(value[:items])]
        if len(value) > items:
            kept.append(f"…[{len(value) - items} more items cut]")
            cut_paths.append(f"{path}[{items}:]")
        return kept
    return value
