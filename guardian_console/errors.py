"""What the console reports as a one-line error (exit status 2): what is wrong, and how to fix it. No traceback."""

from __future__ import annotations


class ConsoleError(Exception):
    """A problem the user can fix: the message names the thing and the fix."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        super().__init__(problem if fix is None else f"{problem} ({fix})")
