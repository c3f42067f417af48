"""The dashboard's JSON API: overview trends, mention search and export, incident actions.

Each endpoint is a thin wrapper over a library function the CLI also uses
(:mod:`storage.stats`, :mod:`storage.query`, :mod:`pipeline.export`, :mod:`storage.incidents`,
:func:`pipeline.alerting.close_incident`). Times go out as ISO 8601 in the config's time zone.

Times, counts and ids in the URL go through :mod:`pipeline.time_args`, the parser the CLI uses:
a bad or out-of-range one is HTTP 400 naming the parameter, never a 500 from the database.
"""

import shutil
import tempfile
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.background import BackgroundTask

from pipeline.alerting import close_incident
from pipeline.config import Config
from pipeline.export import ExportError, export_mentions
from pipeline.time_args import check_text, parse_count, parse_time_arg
from storage import incidents
from storage.db import Store
from storage.query import MentionFilter, find_mentions
from storage.stats import BUCKETS, LABELS, volume

MAX_LIMIT = 500
MAX_BUCKETS = 2_000  # 83 days of hours: more bars than a chart can show anyway
DEFAULT_SPAN = {"day": timedelta(days=7), "hour": timedelta(hours=48)}
SERIES = (*LABELS, "unscored")
EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonl": "application/x-ndjson; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
AUTHOR = "web"  # recorded on notes when the person acting gives no name


def _storable(value: str | None) -> str | None:
    return value if value is None else check_text(value)


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000)
    author: str | None = Field(None, max_length=64)

    _text = field_validator("note", "author")(lambda cls, v: _storable(v))


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000)
    author: str | None = Field(None, max_length=64)

    _text = field_validator("text", "author")(lambda cls, v: _storable(v))


def plain(value: Any, tz: tzinfo) -> Any:
    """``value`` with every datetime as ISO text in ``tz``, ready for JSON."""
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat(timespec="seconds")
    if isinstance(value, dict):
        return {k: plain(v, tz) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, tz) for v in value]
    return value


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _text(value: str | None, name: str) -> str | None:
    """A text parameter, blank meaning "any"; one the database cannot take is HTTP 400."""
    try:
        return _blank_to_none(check_text(value) if value else value)
    except ValueError as exc:
        raise HTTPException(400, f"{name}: {exc}") from None


def _time(text: str | None, name: str, tz: tzinfo) -> datetime | None:
    if not text:
        return None
    try:
        return parse_time_arg(text, tz)
    except ValueError as exc:
        raise HTTPException(400, f"{name}: {exc}") from None


def _count(text: str | None, name: str, minimum: int = 0) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_count(text, minimum=minimum)
    except ValueError as exc:
        raise HTTPException(400, f"{name}: {exc}") from None


def _incident_id(text: str) -> int:
    found = _count(text, "incident id", minimum=1)
    if found is None:
        raise HTTPException(400, "incident id: missing")
    return found


def bucket_starts(start: datetime, end: datetime, width: int, tz: tzinfo) -> list[int]:
    """Epoch seconds of every bucket from the one holding ``start`` to the last before ``end``,
    aligned as :func:`storage.stats.volume` aligns them (the zone's offset at ``end``)."""
    offset = end.astimezone(tz).utcoffset()
    shift = int(offset.total_seconds()) if offset else 0
    first = (int(start.timestamp()) + shift) // width * width - shift
    return list(range(first, int(end.timestamp()), width))


def api_router(config: Config, store: Store) -> APIRouter:
    tz = config.tz
    router = APIRouter(prefix="/api")

    def mention_filter(
        topic: str | None = None,
        platform: str | None = None,
        sentiment: Literal["negative", "neutral", "positive"] | None = None,
        since: str | None = None,
        until: str | None = None,
        contains: str | None = None,
        search: str | None = None,
        cause: str | None = None,
        min_engagement: str | None = None,
        order: Literal["newest", "engagement"] = "newest",
    ) -> MentionFilter:
        """The filters of ``yuqing mentions`` as query parameters; blanks mean "any"."""
        try:
            return MentionFilter(
                topic=_text(topic, "topic"),
                platform=_text(platform, "platform"),
                sentiment=sentiment,
                since=_time(since, "since", tz),
                until=_time(until, "until", tz),
                contains=_text(contains, "contains"),
                search=_text(search, "search"),
                cause=_text(cause, "cause"),
                min_engagement=_count(min_engagement, "min_engagement"),
                order=order,
            )
        except ValueError as exc:  # a malformed search query
            raise HTTPException(400, f"search: {exc}") from None

    Filter = Annotated[MentionFilter, Depends(mention_filter)]

    @router.get("/overview")
    def overview(
        bucket: Literal["day", "hour"] = "day",
        since: str | None = None,
        until: str | None = None,
        platform: str | None = None,
    ) -> dict[str, Any]:
        """Per configured topic: mention counts per bucket and sentiment, and live incidents."""
        end = _time(until, "until", tz) or datetime.now(UTC)
        start = _time(since, "since", tz) or end - DEFAULT_SPAN[bucket]
        if start >= end:
            raise HTTPException(400, "since: must be before until")
        width = BUCKETS[bucket]
        starts = bucket_starts(start, end, width, tz)
        if len(starts) > MAX_BUCKETS:
            raise HTTPException(400, f"more than {MAX_BUCKETS} buckets: shorten the range")
        position = {s: i for i, s in enumerate(starts)}
        live = incidents.live_incidents(store)
        topics = []
        for topic in config.topics:
            f = MentionFilter(
                topic=topic.name,
                platform=_text(platform, "platform"),
                since=start,
                until=end,
                limit=None,
            )
            series = {name: [0] * len(starts) for name in SERIES}
            for row in volume(store, f, bucket, tz):
                i = position.get(int(row["bucket"].timestamp()))
                if i is not None:
                    for name in SERIES:
                        series[name][i] += row[name]
            incident = live.get(topic.name)
            topics.append(
                {
                    "topic": topic.name,
                    "total": sum(sum(v) for v in series.values()),
                    "negative": sum(series["negative"]),
                    "series": series,
                    "live_incident": plain(incident, tz) if incident else None,
                }
            )
        return {
            "bucket": bucket,
            "since": plain(start, tz),
            "until": plain(end, tz),
            "timezone": config.general.timezone,
            "buckets": [plain(datetime.fromtimestamp(s, UTC), tz) for s in starts],
            "topics": topics,
        }

    @router.get("/mentions")
    def mentions(
        f: Filter, limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50
    ) -> dict[str, Any]:
        f.limit = limit
        rows = find_mentions(store, f)
        return {"count": len(rows), "limit": limit, "mentions": plain(rows, tz)}

    @router.get("/export")
    def export(f: Filter, format: Literal["csv", "xlsx", "jsonl", "parquet"] = "csv"):
        """Every mention matching the filter as a file download (streamed to a temporary file
        first, which is removed once sent)."""
        f.limit = None
        folder = tempfile.mkdtemp(prefix="yuqing-export-")
        path = Path(folder) / f"mentions-{datetime.now(tz):%Y%m%d-%H%M}.{format}"
        try:
            export_mentions(store, f, path, format, tz)
        except ExportError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise HTTPException(400, str(exc)) from None
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return FileResponse(
            path,
            media_type=EXPORT_TYPES[format],
            filename=path.name,
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    @router.get("/incidents")
    def incident_list(
        status: Literal["live", "open", "acknowledged", "resolved", "all"] = "live",
        topic: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ) -> dict[str, Any]:
        found = incidents.list_incidents(
            store,
            status=None if status == "all" else status,
            topic=_text(topic, "topic"),
            limit=limit,
        )
        return {"count": len(found), "incidents": plain(found, tz)}

    def _incident(incident_id: int) -> dict[str, Any]:
        # Ids come in as text (see _incident_id): FastAPI's int accepts numbers beyond int64.
        found = incidents.get_incident(store, incident_id)
        if found is None:
            raise HTTPException(404, f"no incident {incident_id}")
        return plain(found, tz)

    @router.get("/incidents/{incident_id}")
    def incident_show(incident_id: str) -> dict[str, Any]:
        return _incident(_incident_id(incident_id))

    @router.post("/incidents/{incident_id}/ack")
    def incident_ack(incident_id: str, body: Action) -> dict[str, Any]:
        incident_id = _incident_id(incident_id)
        try:
            _, changed = incidents.acknowledge_incident(
                store,
                incident_id,
                datetime.now(UTC),
                _blank_to_none(body.author) or AUTHOR,
                _blank_to_none(body.note),
            )
        except KeyError:
            raise HTTPException(404, f"no incident {incident_id}") from None
        return {"changed": changed, "incident": _incident(incident_id)}

    @router.post("/incidents/{incident_id}/note")
    def incident_note(incident_id: str, body: NoteBody) -> dict[str, Any]:
        incident_id = _incident_id(incident_id)
        text = body.text.strip()
        if not text:
            raise HTTPException(400, "text: must not be blank")
        try:
            incidents.add_note(
                store, incident_id, datetime.now(UTC), _blank_to_none(body.author) or AUTHOR, text
            )
        except KeyError:
            raise HTTPException(404, f"no incident {incident_id}") from None
        return {"changed": True, "incident": _incident(incident_id)}

    @router.post("/incidents/{incident_id}/resolve")
    def incident_resolve(incident_id: str, body: Action) -> dict[str, Any]:
        incident_id = _incident_id(incident_id)
        _incident(incident_id)  # 404 before anything is written
        # Through the alerting wiring, so the follow-up notification goes out as from the CLI.
        changed = close_incident(
            config,
            store,
            incident_id,
            author=_blank_to_none(body.author) or AUTHOR,
            note=_blank_to_none(body.note),
        )
        return {"changed": changed, "incident": _incident(incident_id)}

    return router
