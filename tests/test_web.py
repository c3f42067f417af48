"""The dashboard's HTTP side through FastAPI's TestClient: the token guard, security headers,
escaping, the overview, mention search and export, and incident actions (on both backends)."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from pipeline import exit_codes
from pipeline.cli_web import RedactToken
from pipeline.config import ConfigError, parse_config
from pipeline.web import create_app
from pipeline.web.auth import COOKIE_NAME, web_token
from storage import incidents
from storage.db import Store
from storage.mentions import upsert_mentions
from tests.conftest import TEST_CONFIG

with warnings.catch_warnings():
    # Starlette would rather have the httpx2 fork; plain httpx still works and is what we pin.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

TOKEN = "test-token-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
EVIL = '<img src=x onerror="document.body.dataset.pwned=1">星澜咖啡 <script>alert(1)</script>'


def mention(post_id: str, at: datetime, *, platform="weibo", label="negative", **over):
    base = {
        "platform": platform,
        "post_id": post_id,
        "url": f"https://example.com/{post_id}",
        "author_id": f"a{post_id}",
        "author_name": f"作者{post_id}",
        "author_followers": 100,
        "text": "星澜咖啡 产品质量太差 退款",
        "raw_text": "星澜咖啡 产品质量太差 退款",
        "published_at": at,
        "crawled_at": at + timedelta(minutes=5),
        "reposts": 1,
        "comments": 1,
        "likes": 1,
        "sentiment_label": label,
        "sentiment_score": 0.1 if label == "negative" else 0.9,
        "cause": "产品质量" if label == "negative" else None,
        "keywords": ["星澜咖啡", "质量"],
        "topics": {"星澜咖啡": ["星澜咖啡"]},
    }
    return base | over


def seed_mentions(store, t0: datetime = T0) -> None:
    """Three days of 星澜咖啡 mentions (mixed sentiment), one 青禾手机 post, one hostile post."""
    rows = [
        mention("1", t0),
        mention("2", t0 + timedelta(hours=1)),
        mention(
            "3", t0 + timedelta(hours=2), platform="tieba", label="positive", text="星澜咖啡 好喝"
        ),
        mention("4", t0 + timedelta(days=1), reposts=500, text="星澜咖啡 店员态度差 招聘"),
        mention("5", t0 + timedelta(days=2), label="neutral", text="星澜咖啡 新店开业"),
        mention(
            "6",
            t0 + timedelta(days=1, hours=3),
            text="青禾手机 屏幕碎了",
            topics={"青禾手机": ["青禾手机"]},
        ),
        mention(
            "7",
            t0 + timedelta(days=2, hours=1),
            text=EVIL,
            raw_text=EVIL,
            title='=HYPERLINK("http://evil")',
            url="javascript:alert(1)",
        ),
    ]
    upsert_mentions(store, rows)


def open_incident(store, topic="星澜咖啡", at: datetime = T0) -> dict:
    return incidents.create_incident(
        store,
        topic=topic,
        rule="negative_spike",
        severity="warning",
        rules=["negative_spike"],
        now=at,
        evidence={"top_posts": [{"text": EVIL, "url": "https://example.com/7"}]},
    )


@pytest.fixture
def client(config, store):
    with TestClient(create_app(config, store, TOKEN)) as c:
        yield c


@pytest.fixture
def sqlite_store(sqlite_url):
    """For tests of the HTTP layer alone: one backend is enough."""
    store = Store.open(sqlite_url, auto_migrate=True)
    yield store
    store.close()


@pytest.fixture
def local_client(config, sqlite_store):
    with TestClient(create_app(config, sqlite_store, TOKEN)) as c:
        yield c


@pytest.fixture
def logged_in(client):
    client.get(f"/login?token={TOKEN}")
    return client


# --- the token guard ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/overview", "/api/mentions", "/api/incidents", "/api/export"]
)
def test_api_refuses_requests_without_the_token(local_client, path):
    wrong = ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN})
    for headers in wrong:
        response = local_client.get(path, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
    local_client.cookies.set(COOKIE_NAME, TOKEN)  # the token itself is not a session value
    assert local_client.get(path).status_code == 401
    assert local_client.post("/api/incidents/1/ack", json={}).status_code == 401
    assert local_client.get(path, headers=BEARER).status_code == 200


def test_pages_redirect_to_login_and_login_sets_an_httponly_cookie(local_client):
    client = local_client
    for path in ("/", "/mentions", "/incidents"):
        response = client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert client.get("/static/dashboard.css").status_code == 200  # assets hold no data

    wrong = client.get("/login?token=nope-nope-nope-nope")
    assert wrong.status_code == 401 and "令牌不正确" in wrong.text
    response = client.get(f"/login?token={TOKEN}", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert TOKEN not in cookie
    page = client.get("/")
    assert page.status_code == 200 and TOKEN not in page.text
    assert client.get("/api/incidents").status_code == 200

    client.post("/logout")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_form_posts_the_token(local_client):
    client = local_client
    bad = client.post("/login", data={"token": "wrong"}, follow_redirects=False)
    assert bad.status_code == 401
    good = client.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert good.status_code == 303 and COOKIE_NAME in good.cookies


def test_cookie_sessions_refuse_cross_site_writes(logged_in, store):
    incident = open_incident(store)
    url = f"/api/incidents/{incident['id']}/ack"
    # What a hostile page's <form> can send: urlencoded, with the cookie.
    assert logged_in.post(url, data={"note": "x"}).status_code == 403
    foreign = {"Origin": "http://evil.example"}
    assert logged_in.post(url, json={}, headers=foreign).status_code == 403
    assert incidents.get_incident(store, incident["id"])["status"] == "open"
    # Behind a TLS proxy the browser's origin is https while the app itself speaks http.
    proxied = {"Origin": "https://testserver"}
    assert logged_in.post(url, json={}, headers=proxied).status_code == 200


# --- headers, escaping -------------------------------------------------------------------------


def test_security_headers_and_no_inline_script(local_client):
    logged_in = local_client
    logged_in.get(f"/login?token={TOKEN}")
    for path in ("/", "/mentions", "/incidents", "/login", "/api/incidents"):
        response = logged_in.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        if path.startswith("/api"):
            continue
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), f"inline script on {path}"
        assert not re.search(r"\son[a-z]+=", html), f"inline event handler on {path}"
        assert "cdn" not in html.lower()


def test_topic_names_are_escaped_in_pages(sqlite_store):
    store = sqlite_store
    config = parse_config(
        TEST_CONFIG.replace('name = "青禾手机"', 'name = "<b>青禾</b>\\"x"'), "test.toml"
    )
    with TestClient(create_app(config, store, TOKEN)) as client:
        client.get(f"/login?token={TOKEN}")
        html = client.get("/mentions").text
    assert "&lt;b&gt;青禾&lt;/b&gt;&#34;x" in html
    assert "<b>青禾" not in html


def test_crawled_text_goes_out_as_json_verbatim(logged_in, store):
    seed_mentions(store)
    response = logged_in.get("/api/mentions", params={"search": "新店 OR 屏幕 OR onerror"})
    assert response.headers["content-type"] == "application/json"
    texts = {m["post_id"]: m["text"] for m in response.json()["mentions"]}
    assert texts["7"] == EVIL  # data stays data; the page inserts it with textContent


# --- overview ----------------------------------------------------------------------------------


def test_overview_counts_per_topic_day_and_sentiment(logged_in, store):
    seed_mentions(store)
    open_incident(store)
    data = logged_in.get(
        "/api/overview", params={"since": "2026-11-20", "until": "2026-11-23"}
    ).json()
    assert data["buckets"] == [
        "2026-11-20T00:00:00+08:00",
        "2026-11-21T00:00:00+08:00",
        "2026-11-22T00:00:00+08:00",
    ]
    coffee, phone = data["topics"]
    assert coffee["topic"] == "星澜咖啡" and phone["topic"] == "青禾手机"
    assert coffee["series"]["negative"] == [2, 1, 1]
    assert coffee["series"]["positive"] == [1, 0, 0]
    assert coffee["series"]["neutral"] == [0, 0, 1]
    assert (coffee["total"], coffee["negative"]) == (6, 4)
    assert coffee["live_incident"]["severity"] == "warning"
    assert phone["series"]["negative"] == [0, 1, 0] and phone["live_incident"] is None

    tieba = logged_in.get(
        "/api/overview", params={"since": "2026-11-20", "until": "2026-11-23", "platform": "tieba"}
    ).json()
    assert tieba["topics"][0]["total"] == 1


def test_overview_by_hour_and_bad_ranges(logged_in, store):
    seed_mentions(store)
    data = logged_in.get(
        "/api/overview",
        params={"bucket": "hour", "since": "2026-11-20T08:00", "until": "2026-11-20T12:00"},
    ).json()
    assert len(data["buckets"]) == 4 and data["buckets"][0] == "2026-11-20T08:00:00+08:00"
    assert data["topics"][0]["series"]["negative"] == [1, 1, 0, 0]
    assert data["topics"][0]["series"]["positive"] == [0, 0, 1, 0]

    backwards = {"since": "2026-11-21", "until": "2026-11-20"}
    assert logged_in.get("/api/overview", params=backwards).status_code == 400
    too_many = {"bucket": "hour", "since": "2025-01-01", "until": "2026-11-20"}
    assert logged_in.get("/api/overview", params=too_many).status_code == 400
    assert logged_in.get("/api/overview", params={"since": "yesterday"}).status_code == 400
    assert logged_in.get("/api/overview", params={"bucket": "week"}).status_code == 422


# --- mentions and export -----------------------------------------------------------------------


def _ids(client, **params) -> list[str]:
    response = client.get("/api/mentions", params=params)
    assert response.status_code == 200, response.text
    return [m["post_id"] for m in response.json()["mentions"]]


def test_mention_search_filters(logged_in, store):
    seed_mentions(store)
    assert _ids(logged_in, topic="青禾手机") == ["6"]
    assert _ids(logged_in, topic="星澜咖啡", sentiment="positive") == ["3"]
    assert _ids(logged_in, platform="tieba") == ["3"]
    assert _ids(logged_in, search="星澜咖啡 AND (态度 OR 开业) NOT 招聘") == ["5"]
    assert _ids(logged_in, contains="好喝") == ["3"]
    assert _ids(logged_in, cause="产品质量", limit=2) == ["7", "6"]
    assert _ids(logged_in, min_engagement=100) == ["4"]
    assert _ids(logged_in, order="engagement", limit=1) == ["4"]
    assert _ids(logged_in, since="2026-11-22", until="2026-11-23") == ["7", "5"]
    # Blank fields, as a form sends them, mean "any".
    assert len(_ids(logged_in, topic="", platform="", search="")) == 7

    first = logged_in.get("/api/mentions", params={"topic": "青禾手机"}).json()["mentions"][0]
    assert first["published_at"] == "2026-11-21T11:00:00+08:00"
    assert first["topics"] == ["青禾手机"]

    for bad, status in (
        ({"search": "AND 质量"}, 400),
        ({"since": "last tuesday"}, 400),
        ({"limit": 0}, 422),
        ({"limit": 501}, 422),
        ({"sentiment": "angry"}, 422),
        ({"order": "random"}, 422),
    ):
        response = logged_in.get("/api/mentions", params=bad)
        assert response.status_code == status, bad


def test_export_formats_follow_the_filter(logged_in, store):
    seed_mentions(store)
    response = logged_in.get("/api/export", params={"format": "csv", "topic": "星澜咖啡"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert re.match(
        r'attachment; filename="mentions-\d{8}-\d{4}\.csv"', response.headers["content-disposition"]
    )
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert sorted(r["post_id"] for r in rows) == ["1", "2", "3", "4", "5", "7"]
    evil = next(r for r in rows if r["post_id"] == "7")
    assert evil["title"].startswith("'=")  # formula defused

    xlsx = logged_in.get("/api/export", params={"format": "xlsx", "sentiment": "positive"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[2]][2] == "3"  # post_id column of the only row

    jsonl = logged_in.get("/api/export", params={"format": "jsonl", "search": "屏幕"})
    lines = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [line["post_id"] for line in lines] == ["6"]

    assert logged_in.get("/api/export", params={"format": "pdf"}).status_code == 422
    assert logged_in.get("/api/export", params={"search": "("}).status_code == 400


# --- incidents ---------------------------------------------------------------------------------


def test_incident_list_ack_note_resolve(logged_in, store):
    first = open_incident(store, "星澜咖啡")
    second = open_incident(store, "青禾手机", T0 + timedelta(hours=1))
    listed = logged_in.get("/api/incidents").json()
    assert [i["id"] for i in listed["incidents"]] == [second["id"], first["id"]]
    assert listed["incidents"][1]["opened_at"] == "2026-11-20T08:00:00+08:00"
    only = logged_in.get("/api/incidents", params={"topic": "青禾手机"}).json()["incidents"]
    assert [i["id"] for i in only] == [second["id"]]

    url = f"/api/incidents/{first['id']}"
    acked = logged_in.post(f"{url}/ack", json={"note": "已联系门店核实", "author": "小王"}).json()
    assert acked["changed"] is True and acked["incident"]["status"] == "acknowledged"
    assert logged_in.post(f"{url}/ack", json={}).json()["changed"] is False

    noted = logged_in.post(f"{url}/note", json={"text": "<b>官方声明</b>已发布"}).json()
    notes = noted["incident"]["notes"]
    assert [(n["author"], n["text"]) for n in notes] == [
        ("小王", "已联系门店核实"),
        ("web", "<b>官方声明</b>已发布"),
    ]
    shown = logged_in.get(url).json()
    assert shown["evidence"]["top_posts"][0]["text"] == EVIL

    resolved = logged_in.post(f"{url}/resolve", json={"note": "涉事批次已召回"}).json()
    assert resolved["changed"] is True and resolved["incident"]["status"] == "resolved"
    assert resolved["incident"]["resolved_at"] is not None
    assert logged_in.post(f"{url}/resolve", json={}).json()["changed"] is False
    live = logged_in.get("/api/incidents").json()["incidents"]
    assert [i["id"] for i in live] == [second["id"]]
    everything = logged_in.get("/api/incidents", params={"status": "all"}).json()
    assert everything["count"] == 2


def test_incident_action_errors(logged_in, store):
    incident = open_incident(store)
    for action in ("ack", "resolve"):
        assert logged_in.post(f"/api/incidents/999/{action}", json={}).status_code == 404
    assert logged_in.post("/api/incidents/999/note", json={"text": "x"}).status_code == 404
    assert logged_in.get("/api/incidents/999").status_code == 404
    url = f"/api/incidents/{incident['id']}"
    assert logged_in.post(f"{url}/note", json={"text": "   "}).status_code == 400
    assert logged_in.post(f"{url}/note", json={}).status_code == 422
    assert logged_in.post(f"{url}/ack", json={"note": "x" * 2001}).status_code == 422
    assert logged_in.post(f"{url}/ack", json={"mood": "calm"}).status_code == 422
    assert logged_in.get("/api/incidents", params={"status": "closed"}).status_code == 422


def test_resolving_announces_through_the_alerting_wiring(logged_in, store):
    incident = open_incident(store)
    # As if the opening had been notified: resolving must then announce the end.
    incidents.record_notification(store, incident["id"], "warning", T0)
    logged_in.post(f"/api/incidents/{incident['id']}/resolve", json={})
    assert incidents.unnotified_resolutions(store) == []


# --- the token's sources and the command -------------------------------------------------------


def test_token_from_env_or_config_secret(config, tmp_path, monkeypatch):
    monkeypatch.delenv("YUQING_WEB_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="no dashboard token"):
        web_token(config)
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n", encoding="utf-8")
    from_file = parse_config(TEST_CONFIG + f"\n[web]\ntoken = {{ file = '{secret}' }}\n")
    assert web_token(from_file) == TOKEN
    from_env = parse_config(TEST_CONFIG + "\n[web]\ntoken = { env = 'MY_DASH_TOKEN' }\n")
    with pytest.raises(ConfigError, match="MY_DASH_TOKEN is not set"):
        web_token(from_env)
    monkeypatch.setenv("MY_DASH_TOKEN", "short")
    with pytest.raises(ConfigError, match="shorter than 16") as err:
        web_token(from_env)
    assert "short" not in str(err.value).replace("shorter", "")
    monkeypatch.setenv("YUQING_WEB_TOKEN", "env-token-wins-0123456789")
    assert web_token(from_env) == "env-token-wins-0123456789"


def test_yuqing_web_binds_loopback_and_never_prints_the_token(run, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    monkeypatch.delenv("YUQING_WEB_TOKEN", raising=False)
    missing = run("web")
    assert missing.exit_code == exit_codes.CONFIG and "YUQING_WEB_TOKEN" in missing.output

    monkeypatch.setenv("YUQING_WEB_TOKEN", TOKEN)
    result = run("web", "--port", "8765")
    assert result.exit_code == 0, result.output
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["port"] == 8765
    assert TOKEN not in result.output
    wide = run("web", "--host", "0.0.0.0")
    assert "warning: listening on 0.0.0.0" in wide.output and TOKEN not in wide.output


def test_access_log_masks_a_token_in_the_url():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/login?next=/&token={TOKEN}", "1.1", 303),
        None,
    )
    RedactToken().filter(record)
    assert TOKEN not in record.getMessage() and "token=***" in record.getMessage()
