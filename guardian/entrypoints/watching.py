"""The watch rules the remediation function matches events against: the compiled copy in its own asset.

Written there at synth from ``rules/watch.json`` (infra/watch.py), so only a deployment can change it; read once
per environment, and only for an event the decision table does not act on (never on the heal path).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guardian.model.config import Config
    from guardian.model.decide import Decision
    from guardian.model.events import CloudTrailEvent
    from guardian.model.watch import WatchRule

WATCH_RULES_FILE = Path(__file__).resolve().parent.parent / "watch_rules.json"
_loaded: dict[str, tuple[WatchRule, ...]] = {}


def watch_rules() -> tuple[WatchRule, ...]:
    """The compiled rules (none if the asset carries none). An unreadable copy raises, naming the fault."""
    key = str(WATCH_RULES_FILE)
    found = _loaded.get(key)
    if found is None:
        from guardian.model.watch import parse_compiled  # noqa: PLC0415

        found = _loaded[key] = parse_compiled(WATCH_RULES_FILE.read_text()) if WATCH_RULES_FILE.is_file() else ()
    return found


def watched(parsed: CloudTrailEvent, config: Config) -> Decision | None:
    """The watch rules' decision on an event the table does not act on, or None."""
    rules = watch_rules()
    if not rules:
        return None
    from guardian.model.watch import watch_decision  # noqa: PLC0415

    return watch_decision(parsed, rules, config.policy)
