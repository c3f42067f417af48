"""Incremental crawl state: per (spider, topic) and stream, the newest post time of the last
complete pass. Spiders stop paging a little before it; only a complete pass moves it forward."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import Store
from storage.models import CrawlState


def load_watermarks(store: Store, spider: str, topic: str | None) -> dict[str, datetime]:
    with store.session() as session:
        state = session.get(CrawlState, (spider, topic or ""))
        if state is None:
            return {}
        return {
            stream: datetime.fromisoformat(value).astimezone(UTC)
            for stream, value in (state.watermarks or {}).items()
        }


def advance_watermarks(
    store: Store,
    spider: str,
    topic: str | None,
    newest: dict[str, datetime],
    run_id: int | None = None,
) -> dict[str, datetime]:
    """Move each given stream's watermark to its newest time (never backwards); returns all."""
    with store.session() as session:
        state = session.get(CrawlState, (spider, topic or ""), with_for_update=True)
        if state is None:
            state = CrawlState(spider=spider, topic=topic or "", watermarks={})
            session.add(state)
        marks = {
            stream: datetime.fromisoformat(value)
            for stream, value in (state.watermarks or {}).items()
        }
        for stream, when in newest.items():
            when = when.astimezone(UTC)
            if stream not in marks or when > marks[stream]:
                marks[stream] = when
        # A new dict: SQLAlchemy does not see in-place changes of a JSON column.
        state.watermarks = {stream: when.isoformat() for stream, when in sorted(marks.items())}
        state.updated_at = datetime.now(UTC)
        state.last_run_id = run_id
        return marks


def reset_watermarks(store: Store, spider: str, topic: str | None) -> bool:
    """Forget the state, so the next run is a full crawl. True if there was any."""
    with store.session() as session:
        state = session.get(CrawlState, (spider, topic or ""))
        if state is None:
            return False
        session.delete(state)
        return True
