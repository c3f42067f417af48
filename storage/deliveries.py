"""Outbox queries: queue notifications, claim due ones for sending, record what happened.

Row states: ``pending`` (waiting for its ``next_attempt_at``), ``sending`` (claimed by a worker;
``next_attempt_at`` is then the end of its lease), ``sent``, ``failed`` (gave up) and ``held``
(the outcome of a send is unknown and an operator decides). Every state change is one
conditional UPDATE, so two workers never both claim a row: PostgreSQL skips rows another
transaction has locked (``FOR UPDATE SKIP LOCKED``); SQLite runs the whole claim as one write
statement, which takes the database's write lock before it reads anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Row, and_, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Store
from storage.models import Delivery

STATES = ("pending", "sending", "sent", "failed", "held")
OPEN_STATES = ("pending", "sending", "failed", "held")

_COLUMNS = (
    "id",
    "key",
    "incident_id",
    "channel",
    "event",
    "state",
    "attempts",
    "last_error",
    "created_at",
    "next_attempt_at",
    "sent_at",
    "payload",
)


def _as_dict(row: Delivery | Row) -> dict:
    return {name: getattr(row, name) for name in _COLUMNS}


def enqueue(store: Store, rows: list[dict], now: datetime) -> list[int]:
    """Insert ``rows`` (key, incident_id, channel, event, payload) as pending, due ``now``.

    A key already present is left as it is (whatever its state), so queuing the same
    notification again is harmless. Returns the ids of all given keys, in order.
    """
    if not rows:
        return []
    with store.session() as session:
        dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
        values = [
            {
                "key": r["key"],
                "incident_id": r.get("incident_id"),
                "channel": r["channel"],
                "event": r["event"],
                "payload": r["payload"],
                "state": "pending",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for r in rows
        ]
        # ON CONFLICT rather than check-then-insert: two alert jobs racing must not both insert.
        session.execute(dialect.insert(Delivery).values(values).on_conflict_do_nothing())
        keys = [r["key"] for r in rows]
        ids = {
            key: delivery_id
            for key, delivery_id in session.execute(
                select(Delivery.key, Delivery.id).where(Delivery.key.in_(keys))
            )
        }
        return [ids[k] for k in keys]


def due_channels(store: Store, now: datetime, channel: str | None = None) -> list[str]:
    """Channels with at least one pending row due by ``now``, oldest row first."""
    query = (
        select(Delivery.channel, func.min(Delivery.id))
        .where(Delivery.state == "pending", Delivery.next_attempt_at <= now)
        .group_by(Delivery.channel)
        .order_by(func.min(Delivery.id))
    )
    if channel is not None:
        query = query.where(Delivery.channel == channel)
    with store.session() as session:
        return [name for name, _ in session.execute(query)]


def claim(
    store: Store,
    channel: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    ids: Iterable[int] | None = None,
) -> list[dict]:
    """Claim up to ``limit`` due pending rows of ``channel`` (oldest first) for this worker.

    The rows become ``sending`` with one more attempt and a lease until ``lease_until``.
    ``ids`` narrows the claim to those rows (a test message is sent on its own).
    """
    due = (
        select(Delivery.id)
        .where(
            Delivery.channel == channel,
            Delivery.state == "pending",
            Delivery.next_attempt_at <= now,
        )
        .order_by(Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL only
    )
    if ids is not None:
        due = due.where(Delivery.id.in_(list(ids)))
    with store.session() as session:
        if session.bind.dialect.name == "postgresql":
            # Lock first, then update: PostgreSQL may re-run a LIMIT subquery inside
            # UPDATE ... IN (...) and so claim more rows than asked for.
            chosen = session.execute(due).scalars().all()
            if not chosen:
                return []
            where = Delivery.id.in_(chosen)
        else:
            where = Delivery.id.in_(due.scalar_subquery())
        claimed = (
            session.execute(
                update(Delivery)
                .where(where, Delivery.state == "pending")
                .values(
                    state="sending", attempts=Delivery.attempts + 1, next_attempt_at=lease_until
                )
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
            .scalars()
            .all()
        )
        if not claimed:
            return []
        rows = session.execute(
            select(Delivery).where(Delivery.id.in_(claimed)).order_by(Delivery.id)
        ).scalars()
        return [_as_dict(r) for r in rows]


def _set(store: Store, ids: list[int], from_states: tuple[str, ...], **values) -> int:
    if not ids:
        return 0
    with store.session() as session:
        result = session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.state.in_(from_states))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount


def mark_sent(store: Store, ids: list[int], now: datetime) -> int:
    """Claimed rows delivered; all rows of one message share ``sent_at`` (rate counting)."""
    return _set(store, ids, ("sending",), state="sent", sent_at=now, last_error=None)


def mark_retry(store: Store, ids: list[int], error: str, next_attempt_at: datetime) -> int:
    """Claimed rows not delivered: pending again from ``next_attempt_at``."""
    return _set(
        store,
        ids,
        ("sending",),
        state="pending",
        last_error=error[:2000],
        next_attempt_at=next_attempt_at,
    )


def mark_failed(store: Store, ids: list[int], error: str) -> int:
    return _set(store, ids, ("sending", "pending"), state="failed", last_error=error[:2000])


def mark_held(store: Store, ids: list[int], error: str) -> int:
    """Claimed rows whose send may or may not have arrived, left for an operator to decide."""
    return _set(store, ids, ("sending",), state="held", last_error=error[:2000])


def interrupted(store: Store, now: datetime) -> list[dict]:
    """Rows whose worker's lease ran out (the process died or hung mid-send)."""
    with store.session() as session:
        rows = session.execute(
            select(Delivery)
            .where(Delivery.state == "sending", Delivery.next_attempt_at <= now)
            .order_by(Delivery.id)
        ).scalars()
        return [_as_dict(r) for r in rows]


def take_over(store: Store, ids: list[int], now: datetime, lease_until: datetime) -> list[int]:
    """Claim rows with an expired lease (see :func:`interrupted`); returns those this worker got.

    Only one worker gets each row, so only one of them decides what the interrupted send
    means (resend or hold).
    """
    got = []
    with store.session() as session:
        for delivery_id in ids:
            result = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.state == "sending",
                    Delivery.next_attempt_at <= now,
                )
                .values(next_attempt_at=lease_until)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                got.append(delivery_id)
    return got


def expired(store: Store, created_before: datetime) -> list[dict]:
    """Pending rows queued before ``created_before``: past their maximum age."""
    with store.session() as session:
        rows = session.execute(
            select(Delivery)
            .where(Delivery.state == "pending", Delivery.created_at < created_before)
            .order_by(Delivery.id)
        ).scalars()
        return [_as_dict(r) for r in rows]


def send_times(store: Store, channel: str, since: datetime) -> list[datetime]:
    """When ``channel`` was sent a message since ``since``: one entry per message, oldest first."""
    with store.session() as session:
        return sorted(
            session.execute(
                select(Delivery.sent_at)
                .where(Delivery.channel == channel, Delivery.sent_at >= since)
                .distinct()
            ).scalars()
        )


def list_deliveries(
    store: Store, states: Iterable[str] = OPEN_STATES, limit: int | None = None
) -> list[dict]:
    """Rows in ``states``, oldest first."""
    query = select(Delivery).where(Delivery.state.in_(list(states))).order_by(Delivery.id)
    if limit:
        query = query.limit(limit)
    with store.session() as session:
        return [_as_dict(r) for r in session.execute(query).scalars()]


def failing(store: Store) -> dict[str, dict[str, int]]:
    """Deliveries that are failing, ``{channel: {kind: count}}``: ``retrying`` (pending again
    after a failed attempt), ``failed`` (gave up) and ``held`` (outcome unknown, waiting for an
    operator). A successful send clears ``last_error``, so a channel that recovers drops out."""
    kind = case((Delivery.state == "pending", "retrying"), else_=Delivery.state)
    query = (
        select(Delivery.channel, kind, func.count())
        .where(
            or_(
                Delivery.state.in_(("failed", "held")),
                and_(Delivery.state == "pending", Delivery.last_error.is_not(None)),
            )
        )
        .group_by(Delivery.channel, kind)
    )
    found: dict[str, dict[str, int]] = {}
    with store.session() as session:
        for channel, state, count in session.execute(query):
            found.setdefault(channel, {})[state] = int(count)
    return found


def get(store: Store, ids: Iterable[int]) -> list[dict]:
    with store.session() as session:
        rows = session.execute(
            select(Delivery).where(Delivery.id.in_(list(ids))).order_by(Delivery.id)
        ).scalars()
        return [_as_dict(r) for r in rows]


def requeue(store: Store, ids: list[int], now: datetime) -> int:
    """Failed or held rows pending again, due now; their maximum age counts from ``now``."""
    return _set(
        store, ids, ("failed", "held"), state="pending", next_attempt_at=now, created_at=now
    )
