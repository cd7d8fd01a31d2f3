"""A guardian's chain head, received in the security account: judged against the heads kept for its origin
(:mod:`guardian.model.chain_heads`), a regression published CRITICAL to the central topic, then the heads kept.

Publish first (an alert is never lost): if the write then fails the event is retried, and at worst alerted twice.
The write is conditional on the item's version, so two heads of one origin judged at once never lose one: the
loser reads again and judges again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from guardian.model.chain_heads import alert_message, judge, origin_of, sent_at

if TYPE_CHECKING:
    from datetime import datetime

    from guardian.ports.chain_heads import CentralTopic, HeadStore

LOG = logging.getLogger(__name__)
ATTEMPTS = 5


def receive(event: Any, store: HeadStore, topic: CentralTopic, *, now: datetime | None = None) -> str:
    """``kept``, ``seen before`` or ``CRITICAL: <why>``; raises :class:`~guardian.model.chain_heads.HeadError` for an
    event that is not a head, and RuntimeError when the item kept changing (the event is then retried). ``now``: the
    receiver's clock, a bound on the head's time besides the envelope's (which a sender may set)."""
    origin, head = origin_of(event)
    sent = sent_at(event) if now is None else min(sent_at(event), now)
    published: set[str] = set()
    for _ in range(ATTEMPTS):
        kept = store.kept(origin)
        verdict = judge(kept, head, sent=sent)
        if not verdict.changed:
            return "seen before"
        if verdict.regression is not None and verdict.regression not in published:
            published.add(verdict.regression)
            subject, message = alert_message(origin, head, verdict.regression, kept.last, refused=verdict.refused)
            topic.publish(subject, message)
            LOG.error("evidence chain went backwards", extra={"origin": origin.id, "why": verdict.regression})
        if verdict.refused:  # never kept: a forged head evicts no real one
            return f"CRITICAL: {verdict.regression}"
        if store.keep(origin, verdict.kept, regression=verdict.regression):
            return f"CRITICAL: {verdict.regression}" if verdict.regression else "kept"
    raise RuntimeError(f"the heads kept for {origin.id} changed {ATTEMPTS} times while judging one: retry")
