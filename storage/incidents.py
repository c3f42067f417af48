"""Incidents, their notes, silences and detector state: the alert engine's persistence.

Functions take and return plain dicts so the alert engine and the CLI never touch the ORM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from storage.db import Store
from storage.models import DetectorState, Incident, IncidentNote, Silence

LIVE = ("open", "acknowledged")
INCIDENT_FIELDS = tuple(c.name for c in Incident.__table__.columns)


def _as_dict(incident: Incident) -> dict[str, Any]:
    return {name: getattr(incident, name) for name in INCIDENT_FIELDS}


def live_incidents(store: Store) -> dict[str, dict[str, Any]]:
    """``{topic: incident}`` for incidents still open or acknowledged (the newest per topic)."""
    with store.session() as session:
        stmt = select(Incident).where(Incident.status.in_(LIVE)).order_by(Incident.opened_at)
        return {i.topic: _as_dict(i) for i in session.scalars(stmt)}


def unnotified_resolutions(store: Store) -> list[dict[str, Any]]:
    """Resolved incidents whose resolution was never announced (a crash between the two steps)."""
    with store.session() as session:
        stmt = select(Incident).where(
            Incident.status == "resolved",
            Incident.notified_severity.is_not(None),
            or_(
                Incident.last_notified_at.is_(None),
                Incident.last_notified_at < Incident.resolved_at,
            ),
        )
        return [_as_dict(i) for i in session.scalars(stmt)]


def create_incident(
    store: Store,
    *,
    topic: str,
    rule: str,
    severity: str,
    rules: list[str],
    now: datetime,
    evidence: dict[str, Any],
) -> dict[str, Any] | None:
    """Open an incident; None when a live one with the same dedup key already exists (another
    evaluator got there first)."""
    incident = Incident(
        topic=topic,
        rule=rule,
        severity=severity,
        dedup_key=f"{topic}:{rule}",
        status="open",
        opened_at=now,
        last_seen_at=now,
        evidence=evidence,
        rules=rules,
        sequence=0,
    )
    try:
        with store.session() as session:
            session.add(incident)
            session.flush()
            return _as_dict(incident)
    except IntegrityError:
        return None


def update_incident(store: Store, incident_id: int, **fields: Any) -> dict[str, Any]:
    with store.session() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise KeyError(f"no incident {incident_id}")
        for name, value in fields.items():
            setattr(incident, name, value)
        return _as_dict(incident)


def record_notification(store: Store, incident_id: int, severity: str, now: datetime) -> int:
    """Count one notification of the incident; returns its sequence number."""
    with store.session() as session:
        incident = session.get(Incident, incident_id)
        incident.sequence += 1
        incident.notified_severity = severity
        incident.last_notified_at = now
        return incident.sequence


def _change_status(
    store: Store,
    incident_id: int,
    status: str,
    now: datetime,
    author: str | None,
    note: str | None,
) -> tuple[dict[str, Any], bool]:
    """Set the status (and its timestamp), add the note; returns (incident, whether it changed)."""
    with store.session() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise KeyError(f"no incident {incident_id}")
        changed = incident.status != status and incident.status != "resolved"
        if changed:
            incident.status = status
            if status == "acknowledged":
                incident.acknowledged_at = now
            elif status == "resolved":
                incident.resolved_at = now
        if note:
            session.add(
                IncidentNote(incident_id=incident_id, created_at=now, author=author, text=note)
            )
        return _as_dict(incident), changed


def acknowledge_incident(store, incident_id, now, author=None, note=None):
    return _change_status(store, incident_id, "acknowledged", now, author, note)


def resolve_incident(store, incident_id, now, author=None, note=None):
    return _change_status(store, incident_id, "resolved", now, author, note)


def add_note(store: Store, incident_id: int, now: datetime, author: str | None, text: str) -> None:
    with store.session() as session:
        if session.get(Incident, incident_id) is None:
            raise KeyError(f"no incident {incident_id}")
        session.add(IncidentNote(incident_id=incident_id, created_at=now, author=author, text=text))


def list_incidents(
    store: Store, *, status: str | None = None, topic: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    stmt = select(Incident).order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit)
    if status == "live":
        stmt = stmt.where(Incident.status.in_(LIVE))
    elif status:
        stmt = stmt.where(Incident.status == status)
    if topic:
        stmt = stmt.where(Incident.topic == topic)
    with store.session() as session:
        return [_as_dict(i) for i in session.scalars(stmt)]


def get_incident(store: Store, incident_id: int) -> dict[str, Any] | None:
    with store.session() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            return None
        found = _as_dict(incident)
        found["notes"] = [
            {"created_at": n.created_at, "author": n.author, "text": n.text} for n in incident.notes
        ]
        return found


def add_silence(
    store: Store,
    *,
    topic: str | None,
    rule: str | None,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    author: str | None = None,
    comment: str | None = None,
) -> int:
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    with store.session() as session:
        silence = Silence(
            topic=topic,
            rule=rule,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=now,
            author=author,
            comment=comment,
        )
        session.add(silence)
        session.flush()
        return silence.id


def active_silences(store: Store, now: datetime) -> list[dict[str, Any]]:
    with store.session() as session:
        stmt = select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now)
        return [
            {c.name: getattr(s, c.name) for c in Silence.__table__.columns}
            for s in session.scalars(stmt)
        ]


def load_detector_states(store: Store, detector: str) -> dict[str, tuple[datetime | None, dict]]:
    """``{topic: (last bucket consumed, state)}`` of one detector."""
    with store.session() as session:
        stmt = select(DetectorState).where(DetectorState.detector == detector)
        return {s.topic: (s.last_bucket, s.state) for s in session.scalars(stmt)}


def save_detector_states(
    store: Store, detector: str, states: dict[str, tuple[datetime | None, dict]], now: datetime
) -> None:
    """Upsert many states in a few statements (one per 500 topics): this runs every minute for
    every topic, so a SELECT-then-UPDATE per topic would dominate the evaluation pass."""
    rows = [
        {
            "topic": topic,
            "detector": detector,
            "last_bucket": last,
            "state": state,
            "updated_at": now,
        }
        for topic, (last, state) in states.items()
    ]
    dialect = postgresql if store.dialect == "postgresql" else sqlite
    with store.session() as session:
        for start in range(0, len(rows), 500):
            stmt = dialect.insert(DetectorState).values(rows[start : start + 500])
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["topic", "detector"],
                    set_={
                        "last_bucket": stmt.excluded.last_bucket,
                        "state": stmt.excluded.state,
                        "updated_at": stmt.excluded.updated_at,
                    },
                )
            )
