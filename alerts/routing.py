"""Which receivers, and so which channels, a notification goes to.

Alertmanager's rules: routes are tried in order and the first that matches wins, unless it says
``continue``, in which case matching goes on. A route matches when each of its non-empty lists
(topics, platforms, severities) contains the notification's value; for platforms, any of the
notification's platforms will do. When no route matches, ``default_receiver`` takes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.config import AlertsConfig, RouteConfig, parse_severity


@dataclass
class Match:
    receiver: str
    route: int | None  # index in alerts.routes; None = default_receiver


def _matches(route: RouteConfig, topic: str, platforms: list[str], severity: str) -> bool:
    if route.topics and topic not in route.topics:
        return False
    if route.platforms and not set(route.platforms) & set(platforms):
        return False
    return not (route.severities and severity not in route.severities)


def route(
    alerts: AlertsConfig, topic: str, severity: str, platforms: list[str] | None = None
) -> list[Match]:
    """The receivers for (topic, severity, platforms), in route order, each once."""
    severity = parse_severity(severity)
    platforms = platforms or []
    found: list[Match] = []
    for i, candidate in enumerate(alerts.routes):
        if not _matches(candidate, topic, platforms, severity):
            continue
        if all(m.receiver != candidate.receiver for m in found):
            found.append(Match(candidate.receiver, i))
        if not candidate.continue_:
            break
    if not found and alerts.default_receiver:
        found.append(Match(alerts.default_receiver, None))
    return found


def channels_for(alerts: AlertsConfig, notification: dict) -> list[tuple[str, object]]:
    """(channel id, channel config) of every channel the notification is routed to."""
    receivers = [
        m.receiver
        for m in route(
            alerts,
            notification.get("topic") or "",
            notification.get("severity") or "info",
            list(notification.get("platforms") or []),
        )
    ]
    by_receiver: dict[str, list] = {}
    for cid, receiver, channel in alerts.channels():
        by_receiver.setdefault(receiver.name, []).append((cid, channel))
    return [pair for name in receivers for pair in by_receiver.get(name, [])]


def find_channels(alerts: AlertsConfig, name: str) -> list[tuple[str, object]]:
    """Channels named by a receiver name or by one channel id (``receiver/0:dingtalk``)."""
    pairs = [
        (cid, channel) for cid, receiver, channel in alerts.channels() if receiver.name == name
    ]
    if pairs:
        return pairs
    return [(cid, channel) for cid, _, channel in alerts.channels() if cid == name]


def channel_by_id(alerts: AlertsConfig, channel_id: str):
    for cid, _, channel in alerts.channels():
        if cid == channel_id:
            return channel
    return None
