"""Database leases: at most one holder per name, across processes and machines.

A lease is taken with one conditional write (insert, or take over an expired lease), so two
processes racing for it cannot both win on SQLite or PostgreSQL. A holder renews it while it
works; a crashed holder's lease simply expires.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from storage.db import Store
from storage.models import JobLease


def acquire(
    store: Store, name: str, owner: str, ttl: timedelta, now: datetime | None = None
) -> bool:
    """Take (or renew) the lease ``name`` for ``owner``; False when someone else holds it."""
    now = now or datetime.now(UTC)
    with store.session() as session:
        taken = session.execute(
            update(JobLease)
            .where(JobLease.name == name)
            .where((JobLease.owner == owner) | (JobLease.expires_at <= now))
            .values(owner=owner, acquired_at=now, expires_at=now + ttl)
        ).rowcount
    if taken:
        return True
    try:
        with store.session() as session:
            session.add(JobLease(name=name, owner=owner, acquired_at=now, expires_at=now + ttl))
        return True
    except IntegrityError:  # it exists and is held by someone else
        return False


def release(store: Store, name: str, owner: str, keep_until: datetime | None = None) -> None:
    """Give the lease up, or with ``keep_until`` keep it until then: a job that ran for this
    period keeps another scheduler whose clock fires a moment later from running it again."""
    with store.session() as session:
        mine = (JobLease.name == name) & (JobLease.owner == owner)
        if keep_until is None:
            session.execute(delete(JobLease).where(mine))
        else:
            session.execute(update(JobLease).where(mine).values(expires_at=keep_until))


def holders(store: Store, now: datetime | None = None) -> list[dict]:
    from sqlalchemy import select

    now = now or datetime.now(UTC)
    with store.session() as session:
        rows = session.scalars(select(JobLease).where(JobLease.expires_at > now))
        return [
            {
                "name": r.name,
                "owner": r.owner,
                "acquired_at": r.acquired_at,
                "expires_at": r.expires_at,
            }
            for r in rows
        ]
