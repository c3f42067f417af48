"""``yuqing alerts backtest --mentions``: an exported history replayed through every rule in
simulated time (pipeline/replay.py). Histories are generated here, in Beijing time."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import parse_config
from pipeline.replay import replay_file
from storage import incidents
from storage.db import Store
from storage.models import EngagementSnapshot, Mention, TopicMatch
from tests.conftest import TEST_CONFIG

BEIJING = ZoneInfo("Asia/Shanghai")
BRAND = "星澜咖啡"
# The day of the crisis; four quiet hours before it give the rules a baseline (longer histories
# only make the tests slower: a replay evaluates every 5 simulated minutes).
DAY = datetime(2026, 11, 20, tzinfo=BEIJING)
CRISIS_POST = DAY.replace(hour=10, minute=2)
BURST = DAY.replace(hour=10, minute=30)
MORNING = DAY.replace(hour=6)

_CHATTER = [
    "{b}的新品燕麦拿铁真的好喝",
    "路过{b}排队的人有点多",
    "今天在{b}买了一杯美式",
    "{b}第二杯半价太香了",
    "和同事在{b}开了个小会，环境不错",
    "{b}出了秋季限定杯",
    "{b}今天的拿铁有点淡，不太满意",
]
_COMPLAINTS = [
    "气死了，{b}店员态度太差了，再也不去了{n}",
    "{b}喝出塑料碎片太吓人了，食品安全呢，必须给个说法{n}",
    "{b}的品控太差了，退钱有什么用{n}",
    "作为老顾客，{b}这次真的让人失望，差评{n}",
]


def mention(
    post_id: str,
    text: str,
    published: datetime,
    crawled: datetime | None = None,
    **extra,
) -> dict:
    line = {
        "platform": "weibo",
        "post_id": post_id,
        "url": f"https://m.weibo.cn/detail/{post_id}",
        "text": text,
        "published_at": published.isoformat(),
        "author": {"id": f"u{post_id}", "name": f"用户{post_id}", "followers": 100},
        **extra,
    }
    if crawled is not None:
        line["crawled_at"] = crawled.isoformat()
    return line


def chatter(
    start: datetime, end: datetime, *, every: tuple[float, float], seed: int, age=timedelta(0)
) -> list[dict]:
    """Ordinary posts about the brand, one every ``every`` (min, max) seconds, each crawled 3
    minutes after publication and published ``age`` before that (``age`` > 0: a backfill)."""
    rng = random.Random(seed)
    lines, moment, n = [], start, 0
    while True:
        moment += timedelta(seconds=rng.uniform(*every))
        if moment >= end:
            return lines
        n += 1
        text = rng.choice(_CHATTER).format(b=BRAND) + "。" * (n % 3) + "！" * (n % 5)
        lines.append(mention(f"c{seed}-{n}", text, moment - age, moment + timedelta(minutes=3)))


def crisis_history(*, quiet_from: datetime = MORNING, age: timedelta = timedelta(0)) -> list[dict]:
    """Quiet chatter from ``quiet_from`` to 14:00 on DAY (a post every 6 to 14 minutes); at
    10:02 a post with a crisis word near the brand, crawled a minute later; from 10:30 a burst of
    40 complaints in 30 minutes, each crawled 2 minutes after it was published. ``age`` moves
    every publication time that far back (a backfill of old posts), arrivals unchanged."""
    lines = chatter(quiet_from, DAY.replace(hour=14), every=(360, 840), seed=7, age=age)
    lines.append(
        mention(
            "crisis",
            f"{BRAND}万象城店门店起火了，现场浓烟",
            CRISIS_POST - age,
            CRISIS_POST + timedelta(minutes=1),
        )
    )
    for i in range(40):
        at = BURST + timedelta(seconds=45 * i)
        text = _COMPLAINTS[i % len(_COMPLAINTS)].format(b=BRAND, n="！" * (i // 4))
        lines.append(mention(f"burst{i}", text, at - age, at + timedelta(minutes=2)))
    lines.sort(key=lambda m: m["crawled_at"])
    return lines


def write_jsonl(path: Path, lines: list) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for line in lines:
            f.write(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False))
            f.write("\n")
    return path


@pytest.fixture(scope="module")
def config():
    return parse_config(TEST_CONFIG, "test.toml")


@pytest.fixture(scope="module")
def whole(tmp_path_factory, config):
    """The crisis history replayed once, its database kept for inspection."""
    workdir = tmp_path_factory.mktemp("replay")
    path = write_jsonl(workdir / "history.jsonl", crisis_history())
    return replay_file(path, config, database=workdir / "replay.db"), workdir / "replay.db"


def test_crisis_opens_at_the_crisis_post_escalates_on_the_burst_and_resolves(whole, config):
    result, _ = whole
    assert result.rejects == [] and result.replayed == len(crisis_history())
    events = [(e.at.astimezone(BEIJING), e.event, e.severity, e.rules) for e in result.events]
    assert events, "nothing fired"
    at, event, severity, rules = events[0]
    # The crisis post arrives at 10:03; the next 5-minute step is 10:05.
    assert (at, event, severity) == (DAY.replace(hour=10, minute=5), "opened", "warning")
    assert rules == ("crisis_words",)
    assert "起火" in result.events[0].detail
    # The burst of complaints (arriving from 10:32) makes it a crisis within half an hour, on a
    # volume rule.
    escalated = [e for e in events if e[1] == "escalated"]
    assert escalated and escalated[0][2] == "critical"
    assert DAY.replace(hour=10, minute=35) <= escalated[0][0] <= DAY.replace(hour=11, minute=5)
    assert {"negative_spike", "negative_share"} & set(escalated[0][3])
    # The spike detector itself sees the burst (it counts every match of a bucket).
    assert any("negative_spike" in e[3] for e in events)
    resolved = [e for e in events if e[1] == "resolved"]
    assert len(resolved) == 1 and resolved[0] == events[-1]
    # The burst's last post arrives at 11:01: nothing resolves before the hold period after it.
    hold = timedelta(minutes=config.alerts.resolve_hold_minutes)
    assert BURST + timedelta(minutes=31) + hold <= resolved[0][0] <= DAY.replace(hour=16)
    assert result.opened == 1 and result.still_live == 0


def test_stored_rows_carry_simulated_times(whole):
    result, database = whole
    store = Store.open(f"sqlite:///{database}")
    try:
        incident = incidents.list_incidents(store, status=None)[0]
        assert incident["opened_at"] == result.events[0].at
        assert incident["resolved_at"] == result.events[-1].at
        with store.session() as session:
            crisis = session.query(Mention).filter_by(post_id="crisis").one()
            match = session.query(TopicMatch).filter_by(mention_id=crisis.id).one()
            snapshot = session.query(EngagementSnapshot).filter_by(mention_id=crisis.id).one()
            latest = max(m.matched_at for m in session.query(TopicMatch))
    finally:
        store.close()
    arrived = CRISIS_POST + timedelta(minutes=1)
    assert crisis.crawled_at == crisis.first_seen_at == match.matched_at == arrived
    assert snapshot.observed_at == arrived
    assert latest.astimezone(BEIJING) <= DAY.replace(hour=14, minute=3)


def test_posts_published_long_before_they_arrive_open_nothing(tmp_path, config):
    path = write_jsonl(tmp_path / "old.jsonl", crisis_history(age=timedelta(days=200)))
    result = replay_file(path, config)
    assert result.replayed == len(crisis_history()) and result.steps > 80
    assert result.events == []


def test_a_prefix_of_the_file_replays_to_the_start_of_the_whole_timeline(tmp_path, whole, config):
    lines = crisis_history()
    arrival = [datetime.fromisoformat(m["crawled_at"]) for m in lines]
    # Cut after the burst, before a gap of over one step: the rest of the file arrives after the
    # prefix's last step, so up to that step both replays have seen the same mentions.
    after_burst = next(i for i, m in enumerate(lines) if m["post_id"] == "burst39")
    cut = next(
        i
        for i in range(after_burst + 1, len(lines))
        if arrival[i] - arrival[i - 1] > timedelta(minutes=5)
    )
    path = write_jsonl(tmp_path / "part.jsonl", lines[:cut])
    prefix = replay_file(path, config, tail=timedelta(0))
    result, _ = whole

    assert prefix.ended_at < arrival[cut]
    assert [e.event for e in prefix.events] == ["opened", "escalated"]
    assert prefix.events == result.events[: len(prefix.events)]
    assert len(result.events) > len(prefix.events)
    assert all(e.at > prefix.ended_at for e in result.events[len(prefix.events) :])


def test_bad_lines_are_reported_and_the_rest_replayed(tmp_path, config):
    lines: list = crisis_history(quiet_from=DAY.replace(hour=9))
    lines.insert(5, "{not json")
    lines.insert(9, {"platform": "weibo", "post_id": "x", "url": "https://m.weibo.cn/x"})
    path = write_jsonl(tmp_path / "mixed.jsonl", lines)
    result = replay_file(path, config, tail=timedelta(0))

    assert [r.line for r in result.rejects] == [6, 10]
    assert "invalid JSON" in result.rejects[0].reason
    assert "text" in result.rejects[1].reason and "published_at" in result.rejects[1].reason
    assert result.lines == len(lines) and result.replayed == len(lines) - 2
    assert result.events[0].event == "opened"
    assert result.events[0].at.astimezone(BEIJING) == DAY.replace(hour=10, minute=5)


def test_cli_prints_the_timeline_and_never_touches_the_configured_database(run, tmp_path):
    lines: list = crisis_history(quiet_from=DAY.replace(hour=9))
    lines.insert(3, "{not json")
    path = write_jsonl(tmp_path / "exported.jsonl", lines)
    result = run("alerts", "backtest", "--mentions", str(path), "--format", "json")

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["event"] for r in rows] == ["opened", "escalated", "resolved"]
    assert rows[0]["at"] == "2026-11-20T10:05:00+08:00"  # in the config's zone
    assert rows[0]["topic"] == BRAND and rows[0]["rules"] == ["crisis_words"]
    assert "exported.jsonl:4: (line): invalid JSON" in result.stderr
    assert f"{len(lines) - 1} mention(s) replayed" in result.stderr
    assert "1 line(s) rejected; 1 incident(s) opened" in result.stderr
    assert not (tmp_path / "y.db").exists()  # the config's database was never opened

    table = run("alerts", "backtest", "--mentions", str(path))
    assert table.exit_code == 0 and "2026-11-20 10:05" in table.stdout and "预警" in table.stdout


def test_cli_escapes_crawled_text_in_the_timeline(run, tmp_path):
    # A high-reach author (named in the influencer rule's detail) whose name would clear the
    # screen and forge a line if printed raw.
    post = mention(
        "evil",
        f"气死了，{BRAND}店员态度太差了，再也不去了",
        CRISIS_POST,
        CRISIS_POST + timedelta(minutes=1),
    )
    post["author"] = {"name": "大V\x1b[2J\x1b[31m伪造\r\n一行", "followers": 2_000_000}
    path = write_jsonl(tmp_path / "evil.jsonl", [post])
    result = run("alerts", "backtest", "--mentions", str(path), "--tail", "0m")
    assert result.exit_code == 0, result.output
    assert "influencer_post" in result.stdout and "大V" in result.stdout
    assert "\x1b" not in result.stdout and "\r" not in result.stdout


def test_cli_keeps_the_series_backtest_and_wants_one_input(run, tmp_path):
    series = tmp_path / "volume.csv"
    series.write_text(
        "timestamp,value\n"
        + "".join(f"2026-11-20T00:{5 * i:02d}:00Z,{i % 2}\n" for i in range(12)),
        encoding="utf-8",
    )
    out = tmp_path / "alerts.csv"
    ok = run("alerts", "backtest", str(series), "--out", str(out))
    assert ok.exit_code == 0 and "12 buckets of 5 min" in ok.output and out.exists()

    neither = run("alerts", "backtest")
    assert neither.exit_code == 2 and "--mentions" in neither.output
    both = run("alerts", "backtest", str(series), "--mentions", str(series))
    assert both.exit_code == 2
    no_out = run("alerts", "backtest", str(series))
    assert no_out.exit_code == 2 and "--out" in no_out.output


def test_quiet_days_are_skipped_without_changing_what_fires(tmp_path, config):
    # Two crisis posts ten days apart, with an hour of chatter before each: the clock jumps
    # over the empty days (a pass every 5 minutes would be about 3,000 passes).
    later = timedelta(days=10)
    first = crisis_history(quiet_from=DAY.replace(hour=9))
    second = [
        m
        | {
            k: (datetime.fromisoformat(m[k]) + later).isoformat()
            for k in ("published_at", "crawled_at")
        }
        | {"post_id": "late-" + m["post_id"]}
        for m in first
    ]
    path = write_jsonl(tmp_path / "two.jsonl", first + second)
    result = replay_file(path, config)

    opened = [e.at.astimezone(BEIJING) for e in result.events if e.event == "opened"]
    assert opened == [DAY.replace(hour=10, minute=5), DAY.replace(hour=10, minute=5) + later]
    assert [e.event for e in result.events].count("resolved") == 2
    assert result.steps < 288  # fewer passes than one simulated day has


def test_a_line_without_crawled_at_arrives_at_publication_plus_the_delay(tmp_path, config):
    post = mention("p1", f"{BRAND}门店起火了", CRISIS_POST)  # no crawled_at
    path = write_jsonl(tmp_path / "published.jsonl", [post])
    on_time = replay_file(path, config, tail=timedelta(0))
    delayed = replay_file(path, config, arrival_delay=timedelta(minutes=10), tail=timedelta(0))
    assert on_time.events[0].at.astimezone(BEIJING) == DAY.replace(hour=10, minute=5)
    assert delayed.events[0].at.astimezone(BEIJING) == DAY.replace(hour=10, minute=15)
