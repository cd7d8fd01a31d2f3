"""A guardian's chain head, received in the security account: judged against the heads kept for its origin
(:mod:`guardian.model.chain_heads`), a regression published CRITICAL to the central topic, then the heads kept.

Publish first (an alert is never lost): if the write then fails the event is retried, and at worst alerted twice.
The write is conditional on the item's version, so two heads of one origin judged at once never lose one: the
loser reads again and judges again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from guardian.model.chain_heads import alert_message, judge, origin_of

if TYPE_CHECKING:
    from guardian.ports.chain_heads import CentralTopic, HeadStore

LOG = logging.getLogger(__name__)
ATTEMPTS = 5


def receive(event: Any, store: HeadStore, topic: CentralTopic) -> str:
    """``kept``, ``seen before`` or ``CRITICAL: <why>``; raises :class:`~guardian.model.chain_heads.HeadError` for an
    event that is not a head, and RuntimeError when the item kept changing (the event is then retried)."""
    origin, head = origin_of(event)
    published: set[str] = set()
    for _ in range(ATTEMPTS):
        kept = store.kept(origin)
        verdict = judge(kept, head)
        if not verdict.changed:
            return "seen before"
        if verdict.regression is not None and verdict.regression not in published:
            published.add(verdict.regression)
            subject, message = alert_message(origin, head, verdict.regression, kept.last)
            topic.publish(subject, message)
            LOG.error("evidence chain went backwards", extra={"origin": origin.id, "why": verdict.regression})
        if store.keep(origin, verdict.kept, regression=verdict.regression):
            return f"CRITICAL: {verdict.regression}" if verdict.regression else "kept"
    raise RuntimeError(f"the heads kept for {origin.id} changed {ATTEMPTS} times while judging one: retry")
