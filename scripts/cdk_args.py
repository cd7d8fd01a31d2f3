"""``make synth|diff|deploy``: run the CDK CLI with ``CDK_ARGS`` as the person typed it.

Make pasted ``$(CDK_ARGS)`` into a shell line, which then ate the quotes of JSON, split ``{"a":1,"b":2}`` by brace
expansion and expanded ``$``: ``make deploy CDK_ARGS='-c webhooks=[{"name":"x",...}]'`` failed with "webhooks is not
valid JSON". The Makefile now hands CDK_ARGS over untouched, in the environment, and this splits it:

- at spaces, except inside ``[...]``, ``{...}`` and quotes (a JSON value may hold spaces);
- double quotes are kept (JSON needs them); single quotes group a word and are removed (shell habit: ``-c 'k=v'``);
- nothing else is interpreted: no ``$``, ``*``, ``{a,b}`` or backslash processing outside double quotes.

    CDK_ARGS='-c webhooks=[{"name":"x","url":"https://..."}]' python scripts/cdk_args.py npx cdk synth --quiet
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import NoReturn

_OPEN, _CLOSE = "[{", "]}"


class ArgsError(ValueError):
    """CDK_ARGS cannot be split: a quote or a bracket is not closed."""


def split(text: str) -> list[str]:
    """The words of ``text``, as the module docstring says."""
    words: list[str] = []
    word: list[str] = []
    started = False  # a word may be empty: -c key='' gives "key="
    depth, quote, escaped = 0, "", False
    for ch in text:
        if quote == '"':
            word.append(ch)
            quote = "" if ch == '"' and not escaped else quote
            escaped = ch == "\\" and not escaped
        elif quote == "'":
            if ch == "'":
                quote = ""
            else:
                word.append(ch)
        elif ch == "'":
            quote, started = ch, True
        elif ch.isspace() and depth == 0:
            if word or started:
                words.append("".join(word))
            word, started = [], False
        else:
            quote = '"' if ch == '"' else ""
            depth = max(0, depth + (ch in _OPEN) - (ch in _CLOSE))
            word.append(ch)
            started = True
    if quote:
        raise ArgsError(f"CDK_ARGS has an unclosed {quote} quote: {text!r}")
    if depth > 0:
        raise ArgsError(f"CDK_ARGS has an unclosed [ or {{: {text!r}")
    if word or started:
        words.append("".join(word))
    return words


def main(argv: list[str]) -> int:
    """Returns only on an error: else the CDK CLI replaces this process."""
    if not argv:
        print("usage: CDK_ARGS='...' python scripts/cdk_args.py <cdk command...>", file=sys.stderr)
        return 2
    try:
        command = [*argv, *split(os.environ.get("CDK_ARGS", ""))]
    except ArgsError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"+ {shlex.join(command)}", file=sys.stderr)
    return run(command)


def run(command: list[str]) -> NoReturn:
    sys.stdout.flush()
    os.execvp(command[0], command)  # noqa: S606 - the CDK CLI, with the caller's own arguments


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
