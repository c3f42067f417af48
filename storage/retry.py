"""Retrying a unit of database work through transient faults: a dropped connection (database
restart, failover, network blip), a deadlock or serialization failure, SQLite's "database is
locked". Only idempotent units may be retried; each one here is a whole transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL SQLSTATEs worth another try: serialization failure, deadlock, admin shutdown,
# crash shutdown, cannot connect now (starting up), connection failures.
_RETRY_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "08000", "08003", "08006"}


def transient(exc: BaseException) -> bool:
    """Worth another try? A full disk, a read-only file or a missing table is not: retrying
    would only delay the clear error."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None)
    if code is not None:
        return code in _RETRY_SQLSTATES
    if not isinstance(exc, OperationalError):
        return False
    message = str(orig or exc).lower()
    if "sqlite" in type(orig).__module__:
        return "locked" in message or "busy" in message
    # A driver error without a SQLSTATE is a connection that could not be made or was lost.
    return True


def retrying(
    work: Callable[[], T],
    *,
    attempts: int = 8,
    first_wait: float = 0.5,
    max_wait: float = 15.0,
    what: str = "database work",
) -> T:
    """Run ``work``; on a transient error wait (0.5 s, doubling up to 15 s) and run it again.
    Over the default eight attempts that rides out about a minute of downtime."""
    wait = first_wait
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if attempt == attempts or not transient(exc):
                raise
            log.warning(
                "%s failed (%s), retry %d/%d in %.1fs",
                what,
                type(exc.orig).__name__ if exc.orig else type(exc).__name__,
                attempt,
                attempts - 1,
                wait,
            )
            time.sleep(wait)
            wait = min(wait * 2, max_wait)
    raise AssertionError("unreachable")
