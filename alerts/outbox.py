"""The alert outbox: notifications are committed to the ``delivery`` table, then sent from it.

``enqueue`` commits one row per routed channel before anything is sent; ``deliver_due`` sends
what is due, retries failures with exponential backoff, and after ``max_age_minutes`` marks a row
failed and logs it as an ERROR (``yuqing alerts deliveries --check`` exits 1 while any is left).
Several processes may run ``deliver_due`` at once: a row is claimed by exactly one of them.

What "never twice" means (docs/channels.md has the long version):

* A row is sent only by the worker that claimed it, and only while pending: concurrent workers,
  restarts and retries after a *definite* failure (refused connection, error status, error code
  in the body) never produce a second copy.
* A send can end without knowing whether it arrived: a timeout after the request went out, or a
  crash between the platform's "ok" and our commit. Such a row is *in doubt*. The file channel
  checks its file and resolves it exactly. Elsewhere ``alerts.delivery.in_doubt`` decides:
  ``resend`` (default; losing a crisis alert is worse) sends it again marked "may be a
  duplicate", with the same idempotency key (webhook header, mail Message-ID); ``hold`` stops
  and lists it for an operator (``yuqing alerts deliveries --retry ID``).

An error's text is redacted by the channel (:meth:`alerts.channels.Sender.redact`) before it is
logged or stored: a receiver that echoes the request must not put its token in the table.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.channels import Sender, SendError, sender_for
from alerts.config import SEVERITIES, AlertsConfig
from alerts.routing import channel_by_id, channels_for
from alerts.secrets import SecretMissing
from storage import deliveries as rows_db
from storage.db import Store

log = logging.getLogger(__name__)

EVENTS = ("opened", "escalated", "reminder", "resolved", "test")
# last_error of a row whose previous send may have arrived; the next message says so.
IN_DOUBT = "in doubt: "
KEY_LIMIT = 200


def idempotency_key(notification: dict, channel_id: str) -> str:
    """``incident:event:sequence@channel``; hashed when longer than the column."""
    incident = notification.get("incident_id")
    test_id = notification.get("test_id")
    head = f"test:{test_id}" if test_id else f"{incident}:{notification['event']}"
    key = f"{head}:{notification.get('sequence', 0)}@{channel_id}"
    if len(key) <= KEY_LIMIT:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[: KEY_LIMIT - 66]}#{digest}"


def _check(notification: dict) -> None:
    if notification.get("event") not in EVENTS:
        raise ValueError(f"notification event must be one of {', '.join(EVENTS)}")
    if notification.get("severity") not in SEVERITIES:
        raise ValueError(f"notification severity must be one of {', '.join(SEVERITIES)}")
    if notification.get("incident_id") is None and not notification.get("test_id"):
        raise ValueError("notification needs an incident_id")


def enqueue(
    store: Store,
    alerts: AlertsConfig,
    notification: dict,
    tz: ZoneInfo | None = None,
    *,
    channels: list[tuple[str, object]] | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Queue ``notification`` for every channel it is routed to (or the given ``channels``).

    The rows are committed when this returns, before any send. Queuing the same notification
    (same incident, event, sequence) again adds nothing. Returns the delivery ids.
    """
    _check(notification)
    targets = channels if channels is not None else channels_for(alerts, notification)
    if not targets:
        log.warning(
            "notification for incident %s (%s) matches no receiver: nothing queued",
            notification.get("incident_id"),
            notification.get("topic"),
        )
        return []
    rows = [
        {
            "key": idempotency_key(notification, cid),
            "incident_id": notification.get("incident_id"),
            "channel": cid,
            "event": notification["event"],
            "payload": {"notification": notification},
        }
        for cid, _channel in targets
    ]
    return rows_db.enqueue(store, rows, now or datetime.now(UTC))


class _Clock:
    """The wall clock, or, when the caller fixed ``now`` (tests, backfills), ``now`` plus a
    microsecond per reading, so that sends stay distinct for the rate limit."""

    def __init__(self, fixed: datetime | None):
        self.fixed = fixed
        self.ticks = 0

    def __call__(self) -> datetime:
        if self.fixed is None:
            return datetime.now(UTC)
        self.ticks += 1
        return self.fixed + timedelta(microseconds=self.ticks)


def deliver_due(
    store: Store,
    alerts: AlertsConfig,
    tz: ZoneInfo,
    now: datetime | None = None,
    *,
    only_ids: list[int] | None = None,
) -> dict[str, int]:
    """Send every due delivery once; returns counts (sent, messages, retried, failed, held,
    deferred, recovered). ``only_ids`` limits the run to those rows (test messages)."""
    settings = alerts.delivery
    clock = _Clock(now)
    stats: dict[str, int] = defaultdict(int)
    senders: dict[str, Sender | None] = {}

    def sender(channel_id: str) -> Sender | None:
        if channel_id not in senders:
            channel = channel_by_id(alerts, channel_id)
            senders[channel_id] = (
                sender_for(channel, alerts, channel_id) if channel is not None else None
            )
        return senders[channel_id]

    _recover_interrupted(store, alerts, sender, clock(), stats, only_ids)
    _give_up_old(store, alerts, clock(), stats, only_ids)

    wanted = set(only_ids) if only_ids is not None else None
    for channel_id in rows_db.due_channels(store, clock()):
        target = sender(channel_id)
        if target is None:
            lease = clock() + timedelta(seconds=settings.lease_seconds)
            orphans = rows_db.claim(store, channel_id, clock(), lease, 1000, wanted)
            rows_db.mark_failed(
                store, [r["id"] for r in orphans], f"channel {channel_id} is no longer configured"
            )
            stats["failed"] += len(orphans)
            for row in orphans:
                log.error("delivery %s failed: channel %s is gone", row["id"], channel_id)
            continue
        _deliver_channel(store, alerts, target, tz, clock, stats, wanted)
    return dict(stats)


def _deliver_channel(store, alerts, target: Sender, tz, clock, stats, wanted) -> None:
    """Send the channel's due rows, a bundle per message, as far as its rate allows."""
    settings = alerts.delivery
    start = clock()
    window = timedelta(seconds=target.rate.seconds) if target.rate else None
    earlier = rows_db.send_times(store, target.channel_id, start - window) if window else []
    sent_here: list[datetime] = []
    while True:
        now = clock()
        if window is not None:
            used = sum(t > now - window for t in earlier) + sum(t > now - window for t in sent_here)
            if used >= target.rate.messages:
                # The rest stays queued; a later run sends it once the window has room.
                if rows_db.due_channels(store, now, channel=target.channel_id):
                    stats["deferred"] += 1
                return
        lease = now + timedelta(seconds=settings.lease_seconds)
        limit = settings.bundle_max if target.bundles else 1
        claimed = rows_db.claim(store, target.channel_id, now, lease, limit, wanted)
        if not claimed:
            return
        sent_here.append(now)
        if not _send_claimed(store, alerts, target, tz, claimed, clock, stats):
            # The channel is failing: leave its other rows for the next run instead of
            # hammering it (or waiting out one timeout per row).
            return


def _send_claimed(store, alerts, target: Sender, tz, claimed: list[dict], clock, stats) -> bool:
    settings = alerts.delivery
    ids = [r["id"] for r in claimed]
    notifications = [r["payload"]["notification"] for r in claimed]
    keys = [r["key"] for r in claimed]
    doubtful = any((r["last_error"] or "").startswith(IN_DOUBT) for r in claimed)
    try:
        target.send(notifications, keys, tz, possible_duplicate=doubtful)
    except (SendError, SecretMissing) as exc:
        error = target.redact(exc)
        in_doubt = isinstance(exc, SendError) and exc.in_doubt
        retry_after = exc.retry_after if isinstance(exc, SendError) else None
    except Exception as exc:  # a bug must not stop other channels or lose the row
        log.error(
            "sending deliveries %s to %s crashed:\n%s",
            ids,
            target.channel_id,
            target.redact(traceback.format_exc()),
        )
        error, in_doubt, retry_after = target.redact(f"{type(exc).__name__}: {exc}"), False, None
    else:
        # The rows of one message share sent_at: that is how the rate limit counts messages.
        rows_db.mark_sent(store, ids, clock())
        stats["sent"] += len(ids)
        stats["messages"] += 1
        log.info("sent %d notification(s) to %s", len(ids), target.channel_id)
        return True

    now = clock()
    if in_doubt:
        log.warning("delivery %s to %s in doubt: %s", ids, target.channel_id, error)
        if settings.in_doubt == "hold":
            rows_db.mark_held(store, ids, IN_DOUBT + error)
            stats["held"] += len(ids)
            log.error(
                "deliveries %s held for an operator: `yuqing alerts deliveries --retry ID`", ids
            )
            return False
    for row in claimed:
        keep_doubt = in_doubt or (row["last_error"] or "").startswith(IN_DOUBT)
        message = (IN_DOUBT if keep_doubt else "") + error
        deadline = row["created_at"] + timedelta(minutes=settings.max_age_minutes)
        if now >= deadline:
            rows_db.mark_failed(store, [row["id"]], _gave_up(row, message))
            stats["failed"] += 1
            log.error("delivery %s to %s failed: %s", row["id"], target.channel_id, message)
            continue
        delay = settings.backoff_seconds * 2 ** max(row["attempts"] - 1, 0)
        delay = min(delay, settings.backoff_max_seconds)
        if retry_after is not None:
            delay = max(delay, retry_after)
        rows_db.mark_retry(store, [row["id"]], message, now + timedelta(seconds=delay))
        stats["retried"] += 1
    log.warning("delivery %s to %s failed, will retry: %s", ids, target.channel_id, error)
    return False


def _gave_up(row: dict, error: str) -> str:
    return f"gave up after {row['attempts']} attempt(s): {error}"


def _recover_interrupted(store, alerts, sender, now, stats, only_ids) -> None:
    """Rows left ``sending`` by a worker that died or hung past its lease."""
    settings = alerts.delivery
    stale = rows_db.interrupted(store, now)
    if only_ids is not None:
        stale = [r for r in stale if r["id"] in set(only_ids)]
    if not stale:
        return
    lease = now + timedelta(seconds=settings.lease_seconds)
    mine = set(rows_db.take_over(store, [r["id"] for r in stale], now, lease))
    for row in (r for r in stale if r["id"] in mine):
        stats["recovered"] += 1
        target = sender(row["channel"])
        known = target.already_delivered([row["key"]]) if target is not None else None
        if known is not None:
            # The channel can tell: no guessing needed.
            if row["key"] in known:
                rows_db.mark_sent(store, [row["id"]], now)
                stats["sent"] += 1
            else:
                rows_db.mark_retry(store, [row["id"]], "interrupted before sending", now)
            continue
        error = f"{IN_DOUBT}the sending process stopped before recording the outcome"
        log.warning("delivery %s to %s was interrupted mid-send", row["id"], row["channel"])
        if settings.in_doubt == "hold":
            rows_db.mark_held(store, [row["id"]], error)
            stats["held"] += 1
            log.error("delivery %s held for an operator", row["id"])
        else:
            rows_db.mark_retry(store, [row["id"]], error, now)


def _give_up_old(store, alerts, now, stats, only_ids) -> None:
    cutoff = now - timedelta(minutes=alerts.delivery.max_age_minutes)
    for row in rows_db.expired(store, cutoff):
        if only_ids is not None and row["id"] not in only_ids:
            continue
        message = _gave_up(row, row["last_error"] or "never sent")
        if rows_db.mark_failed(store, [row["id"]], message):
            stats["failed"] += 1
            log.error("delivery %s to %s failed: %s", row["id"], row["channel"], message)


def send_test(
    store: Store,
    alerts: AlertsConfig,
    tz: ZoneInfo,
    channels: list[tuple[str, object]],
    *,
    now: datetime | None = None,
) -> list[dict]:
    """Queue a test notification for ``channels`` and send it now through the outbox.

    Returns the resulting delivery rows (state ``sent`` or ``pending`` with ``last_error``).
    """
    moment = now or datetime.now(UTC)
    notification = {
        "test_id": moment.strftime("%Y%m%dT%H%M%S%fZ"),
        "incident_id": None,
        "event": "test",
        "sequence": 0,
        "topic": "yuqing",
        "rule": "test",
        "rules": [],
        "severity": "info",
        "previous_severity": None,
        "status": "open",
        "opened_at": moment.isoformat(),
        "last_seen_at": moment.isoformat(),
        "resolved_at": None,
        "platforms": [],
        "evidence": {},
    }
    ids = enqueue(store, alerts, notification, tz, channels=channels, now=moment)
    deliver_due(store, alerts, tz, now, only_ids=ids)
    return rows_db.get(store, ids)
