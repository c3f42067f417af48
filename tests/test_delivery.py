"""The outbox against real local servers, on SQLite and PostgreSQL: committed before sending,
retried through outages, resumed after a restart, never sent twice, failed after its max age."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts import outbox
from alerts.outbox import deliver_due, enqueue
from storage import deliveries as rows_db
from tests.servers.fixtures import (
    T0,
    add_incidents,
    make_config,
    notification,
    running_sink,
    running_smtp,
)

TZ = ZoneInfo("Asia/Shanghai")
CHANNELS = 7  # dingtalk, wecom, feishu, slack, webhook, file, email


@pytest.fixture
def sink():
    yield from running_sink()


@pytest.fixture
def smtp():
    yield from running_smtp()


def states(store) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows_db.list_deliveries(store, rows_db.STATES):
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return counts


def _seconds(moment):
    """A fixed ``now`` still advances a microsecond per clock reading; compare whole seconds."""
    return moment.replace(microsecond=0)


def message_text(platform: str, payload: dict) -> str:
    if platform == "dingtalk":
        return payload["markdown"]["text"]
    if platform == "wecom":
        return payload["markdown"]["content"]
    return json.dumps(payload["card" if platform == "feishu" else "blocks"], ensure_ascii=False)


def im_incidents(server, platform: str) -> list[str]:
    """ "#id event" markers of every notification the robot showed, one entry per appearance."""
    found = []
    for r in server.of(platform):
        text = message_text(platform, r.payload)
        for incident_id in range(1, 50):
            for event in ("新告警", "升级", "已恢复"):
                found += [f"#{incident_id} {event}"] * text.count(f"#{incident_id} {event}（")
    return sorted(found)


def test_enqueue_commits_one_row_per_channel_and_is_idempotent(store, sink, smtp, tmp_path):
    config = make_config(sink, smtp, tmp_path)
    [incident] = add_incidents(store, 1)
    n = notification(incident_id=incident)
    ids = enqueue(store, config.alerts, n, TZ, now=T0)
    assert len(ids) == CHANNELS
    # Committed: another connection sees the rows, and nothing was sent yet.
    assert states(store) == {"pending": CHANNELS}
    assert sink.received == [] and smtp.messages == []
    assert enqueue(store, config.alerts, n, TZ, now=T0) == ids
    assert states(store) == {"pending": CHANNELS}
    keys = {r["key"] for r in rows_db.list_deliveries(store)}
    assert f"{incident}:opened:1@pr-team/0:dingtalk" in keys
    # A new event or sequence is a new notification.
    enqueue(store, config.alerts, notification(incident_id=incident, event="escalated", sequence=2))
    assert states(store) == {"pending": 2 * CHANNELS}


def test_delivers_everything_once_through_an_outage_and_a_restart(
    store_factory, sink, smtp, tmp_path
):
    config = make_config(sink, smtp, tmp_path)
    store = store_factory()
    incident_ids = add_incidents(store, 3)
    sent_notifications = [
        notification(incident_id=incident_ids[0], event="opened", sequence=1),
        notification(incident_id=incident_ids[1], event="opened", sequence=1, severity="warning"),
    ]
    for n in sent_notifications:
        enqueue(store, config.alerts, n, TZ, now=T0)

    # Outage: every HTTP endpoint and the mail server are down.
    sink.stop()
    smtp.stop()
    stats = deliver_due(store, config.alerts, TZ, now=T0)
    assert stats["sent"] == 2  # only the local file got through
    # The robots got one bundle attempt each; webhook and email one row each, and then the
    # run left that channel alone instead of trying every row against a dead server.
    assert stats["retried"] == 4 * 2 + 2 and "failed" not in stats
    pending = rows_db.list_deliveries(store, ("pending",))
    assert len(pending) == 2 * (CHANNELS - 1)
    tried = [r for r in pending if r["attempts"]]
    assert {_seconds(r["next_attempt_at"]) for r in tried} == {T0 + timedelta(seconds=30)}
    assert all("cannot connect" in r["last_error"] for r in tried)

    # Not due yet: nothing happens.
    assert deliver_due(store, config.alerts, TZ, now=T0 + timedelta(seconds=10)).get("sent", 0) == 0

    # More notifications arrive while down; one escalation, one resolution.
    later = [
        notification(
            incident_id=incident_ids[0], event="escalated", sequence=2, previous_severity="warning"
        ),
        notification(incident_id=incident_ids[1], event="resolved", sequence=2, status="resolved"),
        notification(incident_id=incident_ids[2], event="opened", sequence=1),
    ]
    for n in later:
        enqueue(store, config.alerts, n, TZ, now=T0 + timedelta(seconds=20))
    store.close()

    # "Restart": a new process (new engine and connections), servers back on the same ports.
    sink.start()
    smtp.start()
    store = store_factory()
    stats = deliver_due(store, config.alerts, TZ, now=T0 + timedelta(seconds=31))
    # The webhook's and mail's second rows were tried (and failed) at +10s: due at +40s.
    assert states(store) == {"sent": 5 * CHANNELS - 2, "pending": 2}
    stats2 = deliver_due(store, config.alerts, TZ, now=T0 + timedelta(seconds=41))
    assert states(store) == {"sent": 5 * CHANNELS}
    assert stats["sent"] + stats2["sent"] == 5 * CHANNELS - 2  # the file had the first two

    # Run again later: nothing more goes out.
    before = len(sink.received)
    deliver_due(store, config.alerts, TZ, now=T0 + timedelta(hours=1))
    assert len(sink.received) == before

    every = sorted(f"#{n['incident_id']} {ev}" for n, ev in _events(sent_notifications + later))
    for platform in ("dingtalk", "wecom", "feishu", "slack"):
        assert im_incidents(sink, platform) == every, platform
    # The IM robots got bundles: the 3 notifications that queued up at the restart (plus the
    # first two) arrive in one message, not five.
    assert len(sink.of("dingtalk")) == 1
    webhook_keys = [r.payload["key"] for r in sink.of("webhook")]
    assert len(webhook_keys) == 5 == len(set(webhook_keys))
    assert sorted(m.get("Message-ID") for _, _, m in smtp.messages) == sorted(
        {m.get("Message-ID") for _, _, m in smtp.messages}
    )
    assert len(smtp.messages) == 5
    lines = (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5 == len({json.loads(line)["key"] for line in lines})
    assert sink.rejected == []


def _events(notifications):
    names = {"opened": "新告警", "escalated": "升级", "resolved": "已恢复"}
    return [(n, names[n["event"]]) for n in notifications]


def test_errors_in_a_200_body_are_failures_and_are_retried(store, sink, tmp_path):
    config = make_config(sink, None, tmp_path)
    [incident] = add_incidents(store, 1)
    enqueue(store, config.alerts, notification(incident_id=incident), TZ, now=T0)
    sink.fail("dingtalk", "errcode")
    sink.fail("feishu", "errcode")
    sink.fail("wecom", "500")
    sink.fail("slack", "errcode")
    sink.fail("webhook", "errcode")
    stats = deliver_due(store, config.alerts, TZ, now=T0)
    assert stats["retried"] == 5 and stats["sent"] == 1
    errors = {r["channel"]: r["last_error"] for r in rows_db.list_deliveries(store, ("pending",))}
    assert "errcode 300001" in errors["pr-team/0:dingtalk"]
    assert "Feishu code 9499" in errors["pr-team/2:feishu"]
    assert "HTTP 500" in errors["pr-team/1:wecom"]
    assert "HTTP 404" in errors["pr-team/3:slack"]
    # No token or key leaks into stored errors.
    assert not any("dt-token" in e or "wecom-key" in e for e in errors.values())
    deliver_due(store, config.alerts, TZ, now=T0 + timedelta(seconds=31))
    assert states(store) == {"sent": 6}
    assert sink.rejected == []


def test_throttling_answers_back_off_as_the_platform_asks(store, sink, tmp_path):
    config = make_config(sink, None, tmp_path)
    [incident] = add_incidents(store, 1)
    enqueue(store, config.alerts, notification(incident_id=incident), TZ, now=T0)
    sink.fail("dingtalk", "throttle")
    deliver_due(store, config.alerts, TZ, now=T0)
    [row] = [r for r in rows_db.list_deliveries(store) if r["channel"].endswith("dingtalk")]
    # errcode 130101 means the robot is muted for 10 minutes.
    assert _seconds(row["next_attempt_at"]) == T0 + timedelta(seconds=600)


def test_backoff_doubles_and_gives_up_after_the_max_age(store, sink, tmp_path, caplog):
    config = make_config(
        sink, None, tmp_path, delivery="max_age_minutes = 5\nbackoff_max_seconds = 100"
    )
    [incident] = add_incidents(store, 1)
    enqueue(store, config.alerts, notification(incident_id=incident), TZ, now=T0)
    sink.stop()
    moments, now = [], T0
    for _ in range(6):
        deliver_due(store, config.alerts, TZ, now=now)
        row = next(r for r in rows_db.list_deliveries(store) if r["channel"].endswith("webhook"))
        if row["state"] != "pending":
            break
        moments.append(round((row["next_attempt_at"] - now).total_seconds()))
        now = row["next_attempt_at"]
    assert moments[:4] == [30, 60, 100, 100]
    caplog.set_level(logging.ERROR)
    deliver_due(store, config.alerts, TZ, now=T0 + timedelta(minutes=6))
    failed = rows_db.list_deliveries(store, ("failed",))
    assert len(failed) == 5  # all HTTP channels; the file was written at once
    assert all(r["last_error"].startswith("gave up after") for r in failed)
    assert any("failed" in rec.message for rec in caplog.records if rec.levelno == logging.ERROR)
    # Nothing is sent for a failed row any more, even once the server is back.
    sink.start()
    deliver_due(store, config.alerts, TZ, now=T0 + timedelta(minutes=7))
    assert sink.received == []
    # An operator can requeue it.
    assert rows_db.requeue(store, [failed[0]["id"]], T0 + timedelta(minutes=8)) == 1
    deliver_due(store, config.alerts, TZ, now=T0 + timedelta(minutes=8))
    assert len(sink.received) == 1


def test_crash_between_send_and_commit_resend_policy(store_factory, sink, tmp_path, monkeypatch):
    """The send succeeds, the process dies before recording it. After the lease: the file
    channel checks its file (exactly once), the webhook resends with the same idempotency key
    (the receiver drops it), the robots resend flagged as a possible duplicate."""
    config = make_config(sink, None, tmp_path)
    store = store_factory()
    [incident] = add_incidents(store, 1)
    enqueue(store, config.alerts, notification(incident_id=incident), TZ, now=T0)

    class Crash(BaseException):
        pass

    def die(*args, **kwargs):
        raise Crash

    monkeypatch.setattr(rows_db, "mark_sent", die)
    with pytest.raises(Crash):
        deliver_due(store, config.alerts, TZ, now=T0)
    monkeypatch.undo()
    sent_first = {r.platform for r in sink.received}
    assert len(sent_first) == 1  # the first channel's message went out, then the "crash"
    store.close()

    store = store_factory()
    # Still within the lease: the row belongs to the dead worker; nobody touches it.
    deliver_due(store, config.alerts, TZ, now=T0 + timedelta(seconds=30))
    assert states(store)["sending"] == 1
    stats = deliver_due(store, config.alerts, TZ, now=T0 + timedelta(seconds=61))
    assert stats["recovered"] == 1
    assert states(store) == {"sent": 6}
    [platform] = sent_first
    again = sink.of(platform)
    assert len(again) == 2
    assert "可能重复" in json.dumps(again[1].payload, ensure_ascii=False)


@pytest.mark.parametrize("first", ["file", "webhook"])
def test_interrupted_file_and_webhook_sends_are_not_doubled(
    store_factory, sink, tmp_path, monkeypatch, first
):
    config = make_config(sink, None, tmp_path)
    store = store_factory()
    [incident] = add_incidents(store, 1)
    ids = enqueue(store, config.alerts, notification(incident_id=incident), TZ, now=T0)
    row = next(r for r in rows_db.get(store, ids) if r["channel"].endswith(first))

    class Crash(BaseException):
        pass

    def die(*args, **kwargs):
        raise Crash

    monkeypatch.setattr(rows_db, "mark_sent", die)
    with pytest.raises(Crash):
        deliver_due(store, config.alerts, TZ, now=T0, only_ids=[row["id"]])
    monkeypatch.undo()
    store.close()
    store = store_factory()
    deliver_due(store, config.alerts, TZ, now=T0 + timedelta(seconds=61))
    assert states(store) == {"sent": 6}
    if first == "file":
        lines = (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == 1
    else:
        assert len(sink.of("webhook")) == 1 and sink.webhook_duplicates == 1


def test_timeouts_are_in_doubt_and_hold_policy_waits_for_an_operator(store, sink, tmp_path):
    config = make_config(sink, None, tmp_path, delivery='in_doubt = "hold"')
    [incident] = add_incidents(store, 1)
    enqueue(store, config.alerts, notification(incident_id=incident), TZ, now=T0)
    sink.fail("dingtalk", "accept_hang")  # taken, but the answer never comes
    sink.fail("wecom", "hang")  # not taken, no answer either: we cannot tell the difference
    sink.fail("slack", "500")  # a definite failure is retried as usual
    stats = deliver_due(store, config.alerts, TZ, now=T0)
    assert stats["held"] == 2
    held = {r["channel"] for r in rows_db.list_deliveries(store, ("held",))}
    assert held == {"pr-team/0:dingtalk", "pr-team/1:wecom"}
    deliver_due(store, config.alerts, TZ, now=T0 + timedelta(hours=1))
    assert len(sink.of("dingtalk")) == 1 and len(sink.of("slack")) == 1
    assert states(store) == {"held": 2, "sent": 4}


def test_timeouts_with_resend_policy_are_flagged_as_possible_duplicates(store, sink, tmp_path):
    config = make_config(sink, None, tmp_path)
    [incident] = add_incidents(store, 1)
    enqueue(store, config.alerts, notification(incident_id=incident), TZ, now=T0)
    sink.fail("feishu", "accept_hang")
    sink.fail("wecom", "drop")
    deliver_due(store, config.alerts, TZ, now=T0)
    errors = {r["channel"]: r["last_error"] for r in rows_db.list_deliveries(store, ("pending",))}
    assert set(errors) == {"pr-team/1:wecom", "pr-team/2:feishu"}
    assert all(e.startswith(outbox.IN_DOUBT) for e in errors.values())
    deliver_due(store, config.alerts, TZ, now=T0 + timedelta(minutes=1))
    assert states(store) == {"sent": 6}
    resent = sink.of("feishu")[-1].payload["card"]["elements"][0]["text"]["content"]
    assert "可能重复" in resent
    assert "可能重复" in sink.of("wecom")[-1].payload["markdown"]["content"]


def test_rate_limit_queues_the_rest(store, sink, tmp_path):
    config = make_config(
        sink,
        None,
        tmp_path,
        delivery="bundle_max = 1\nrate_per_minute = { dingtalk = 5, wecom = 5 }",
    )
    incidents = add_incidents(store, 8)
    for incident in incidents:
        enqueue(store, config.alerts, notification(incident_id=incident), TZ, now=T0)
    stats = deliver_due(store, config.alerts, TZ, now=T0)
    # 5 a minute to each robot (as configured), 1 a second to Slack; the rest waits.
    assert len(sink.of("dingtalk")) == 5 and len(sink.of("wecom")) == 5
    assert len(sink.of("slack")) == 1
    assert len(sink.of("webhook")) == 8 and len(sink.of("feishu")) == 8
    assert stats["deferred"] == 3
    deliver_due(store, config.alerts, TZ, now=T0 + timedelta(seconds=30))
    assert len(sink.of("dingtalk")) == 5  # the window is a minute
    assert len(sink.of("slack")) == 2
    deliver_due(store, config.alerts, TZ, now=T0 + timedelta(seconds=61))
    assert len(sink.of("dingtalk")) == 8 and len(sink.of("wecom")) == 8
    assert im_incidents(sink, "dingtalk") == sorted(f"#{i} 新告警" for i in incidents)


def test_bundles_name_every_incident_within_the_size_limits(store, sink, tmp_path):
    config = make_config(sink, None, tmp_path, delivery="bundle_max = 8")
    incidents = add_incidents(store, 10)
    for incident in incidents:
        enqueue(store, config.alerts, notification(incident_id=incident), TZ, now=T0)
    deliver_due(store, config.alerts, TZ, now=T0)
    deliver_due(store, config.alerts, TZ, now=T0 + timedelta(seconds=2))
    assert len(sink.of("dingtalk")) == 2  # 8 + 2
    assert sink.of("dingtalk")[0].payload["markdown"]["title"].startswith("【危机】8 条舆情告警")
    # 8 full alerts do not fit WeCom's 4096 bytes: each is shown in brief instead.
    assert len(sink.of("wecom")[0].payload["markdown"]["content"].encode()) <= 4096
    for platform in ("dingtalk", "wecom", "feishu", "slack"):
        assert im_incidents(sink, platform) == sorted(f"#{i} 新告警" for i in incidents)
    assert sink.rejected == []
    assert states(store) == {"sent": 10 * 6}


def test_two_workers_never_send_the_same_row(store_factory, sink, tmp_path):
    config = make_config(
        sink, None, tmp_path, delivery="bundle_max = 1\nrate_per_minute = { slack = 6000 }"
    )
    first = store_factory()
    incidents = add_incidents(first, 10)
    for incident in incidents:
        enqueue(first, config.alerts, notification(incident_id=incident), TZ, now=T0)
    stores = [first, store_factory(), store_factory()]
    barrier = threading.Barrier(len(stores), timeout=120)
    errors = []

    def work(store):
        try:
            # Rounds in lockstep: the simulated clock must not run ahead of a worker that is
            # still sending (under load), or its lease would look expired and its rows in doubt.
            for second in range(0, 180, 61):
                barrier.wait()
                deliver_due(store, config.alerts, TZ, now=T0 + timedelta(seconds=second))
                barrier.wait()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert states(first) == {"sent": 10 * 6}
    webhook_keys = [r.payload["key"] for r in sink.of("webhook")]
    assert len(webhook_keys) == 10 == len(set(webhook_keys)) and sink.webhook_duplicates == 0
    assert im_incidents(sink, "dingtalk") == sorted(f"#{i} 新告警" for i in incidents)
    lines = (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 10


def test_unrouted_and_removed_channels(store, sink, tmp_path, caplog):
    config = make_config(sink, None, tmp_path)
    config.alerts.default_receiver = None
    [incident] = add_incidents(store, 1)
    assert enqueue(store, config.alerts, notification(incident_id=incident), TZ) == []
    config = make_config(sink, None, tmp_path)
    enqueue(store, config.alerts, notification(incident_id=incident), TZ, now=T0)
    config.alerts.receivers[0].channels.pop()  # the email-less config's last one: file
    config.alerts.receivers[0].channels.pop()  # and the webhook
    deliver_due(store, config.alerts, TZ, now=T0)
    assert states(store) == {"sent": 4, "failed": 2}
    assert {r["last_error"] for r in rows_db.list_deliveries(store, ("failed",))} == {
        "channel pr-team/4:webhook is no longer configured",
        "channel pr-team/5:file is no longer configured",
    }


def test_send_test_goes_through_the_outbox(store, sink, smtp, tmp_path):
    from alerts.routing import find_channels

    config = make_config(sink, smtp, tmp_path)
    rows = outbox.send_test(store, config.alerts, TZ, find_channels(config.alerts, "pr-team"))
    assert [r["state"] for r in rows] == ["sent"] * CHANNELS
    assert "测试" in sink.of("dingtalk")[0].payload["markdown"]["title"]
    assert smtp.messages[0][2]["Subject"] == "【测试】yuqing 告警通道测试"


def test_failing_counts_retrying_failed_and_held_rows_per_channel(store):
    """What ``alerts evaluate`` reports with exit 5 (pipeline.jobs.delivery_problem)."""
    from pipeline.jobs import delivery_problem

    rows = [
        {"key": f"k{i}", "incident_id": None, "channel": channel, "event": "test", "payload": {}}
        for i, channel in enumerate(["a/0:webhook", "a/0:webhook", "a/1:slack", "b/0:file"])
    ]
    ids = rows_db.enqueue(store, rows, T0)
    assert rows_db.failing(store) == {} and delivery_problem({}) is None  # pending, never tried
    for channel in ("a/0:webhook", "a/1:slack", "b/0:file"):
        rows_db.claim(store, channel, T0, T0 + timedelta(minutes=5), 10)
    rows_db.mark_retry(store, [ids[0]], "refused", T0 + timedelta(seconds=30))
    rows_db.mark_held(store, [ids[1]], "in doubt: timeout")
    rows_db.mark_failed(store, [ids[2]], "gave up")
    rows_db.mark_sent(store, [ids[3]], T0)
    failing = rows_db.failing(store)
    assert failing == {"a/0:webhook": {"retrying": 1, "held": 1}, "a/1:slack": {"failed": 1}}
    assert delivery_problem(failing) == (
        "3 delivery(ies) failing (1 waiting for retry, 1 failed (gave up), 1 held) on "
        "a/0:webhook (2), a/1:slack (1); see `yuqing alerts deliveries`"
    )
