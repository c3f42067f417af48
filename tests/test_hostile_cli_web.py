"""Hostile and careless input at the CLI, the web API, the config and the alert channels (issue 16,
the half that is not ingest): every probe ends in a clear error with the documented exit code
(HTTP 400/422 on the web), never a traceback or a 500, and no secret reaches any output, log
or table. Probes that touch a database run on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
import warnings
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from alerts.outbox import IN_DOUBT, send_test
from alerts.secrets import MASK, redact
from pipeline import exit_codes
from pipeline.cli_web import RedactToken
from pipeline.config import ConfigError, parse_config
from pipeline.logs import RedactSecrets
from pipeline.time_args import INT64_MAX, parse_count, parse_time_arg
from pipeline.web import create_app
from pipeline.web.auth import COOKIE_NAME, web_token
from storage import incidents
from storage.db import Store, safe_url
from tests.conftest import TEST_CONFIG

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

TZ = ZoneInfo("Asia/Shanghai")
HUGE = str(2**64)  # beyond int64: SQLite INTEGER and PostgreSQL bigint overflow
DEEP = "(" * 2000 + "星澜" + ")" * 2000
DB_PASSWORD = "hostile-db-password-31337"
WEB_TOKEN = "hostile-web-token-0123456789"

# Channel secrets: each must stay out of every error, log line and table.
DT_TOKEN = "dingtalk-access-token-5f3a9c0e1b2d4f6a"
DT_SECRET = "SEC-dingtalk-signing-secret-77aa"
WECOM_KEY = "wecom-key-693a91f5-8d2b-4c7e-b1f0"
FEISHU_HOOK = "2f8e6c1a-4b3d-4e5f-9a7b-8c9d0e1f2a3b"
SLACK_SECRET = "slackSecretPart0123456789AB"
BEARER = "webhook-bearer-token-a1b2c3d4e5"
CHANNEL_SECRETS = (DT_TOKEN, DT_SECRET, WECOM_KEY, FEISHU_HOOK, SLACK_SECRET, BEARER)


# --- fixtures -----------------------------------------------------------------------------------


class Echo(BaseHTTPRequestHandler):
    """A receiver (or proxy) that quotes the request back in its error: path, headers, body."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        echoed = f"{self.command} {self.path} {dict(self.headers)} {body[:100]}"
        if "/robot/" in self.path or "/cgi-bin/" in self.path or "/hook/" in self.path:
            # IM robots answer 200 with an error code whose message quotes the request.
            payload = json.dumps(
                {"errcode": 310000, "code": 19001, "errmsg": echoed, "msg": echoed}
            )
            status, data = 200, payload.encode()
        else:
            status, data = 502, echoed.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def echo_port():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def channels_config(port: int, extra: str = "") -> str:
    base = f"http://127.0.0.1:{port}"
    return (
        TEST_CONFIG
        + f"""
[alerts]
default_receiver = "pr"
[alerts.delivery]
http_timeout_seconds = 2

[[alerts.receivers]]
name = "pr"
[[alerts.receivers.channels]]
type = "dingtalk"
webhook = "{base}/robot/send?access_token={DT_TOKEN}"
secret = "{DT_SECRET}"
[[alerts.receivers.channels]]
type = "wecom"
key = "{WECOM_KEY}"
base_url = "{base}"
[[alerts.receivers.channels]]
type = "feishu"
webhook = "{base}/open-apis/bot/v2/hook/{FEISHU_HOOK}"
[[alerts.receivers.channels]]
type = "slack"
webhook = "{base}/services/T0AAAA/B0BBBB/{SLACK_SECRET}"
[[alerts.receivers.channels]]
type = "webhook"
url = "{base}/hooks/yuqing"
token = "{BEARER}"
{extra}"""
    )


def assert_no_secret(*texts: object, secrets=CHANNEL_SECRETS) -> None:
    for shown in texts:
        for secret in secrets:
            assert secret not in str(shown), (secret, str(shown)[:500])


def one_error_line(output: str, *needles: str) -> str:
    """The single line saying what went wrong; fails on a traceback."""
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "rror" in line]
    assert len(lines) == 1, output
    for needle in needles:
        assert needle in lines[0], (needle, output)
    return lines[0]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A migrated database on each backend as a plain URL the CLI can be given."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hostile.db'}"
    else:
        base, args = request.getfixturevalue("pg_schema")
        url = f"{base}?options={quote(args['options'])}"
    Store.open(url, auto_migrate=True).close()
    return url


@pytest.fixture
def cli(run, db_url, monkeypatch):
    """``yuqing`` on the parametrised database."""
    monkeypatch.setenv("YUQING_DATABASE_URL", db_url)
    return run


# --- secrets: database URLs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://postgres@127.0.0.1:5432/test?password={DB_PASSWORD}",
        f"postgresql+psycopg://postgres:{DB_PASSWORD}@127.0.0.1:5432/test",
        f"postgresql+psycopg://postgres@127.0.0.1:5432/test?sslmode=prefer&password={DB_PASSWORD}",
        f"postgresql+psycopg://postgres@127.0.0.1:1/test?password={DB_PASSWORD}",  # dead
        f"postgresql+psycopg://postgres@127.0.0.1:1/test?PassWord={quote(DB_PASSWORD)}",
    ],
)
def test_database_password_never_printed(run, monkeypatch, url, caplog):
    monkeypatch.setenv("YUQING_DATABASE_URL", url)
    outputs = [run("config", "check"), run("db", "current"), run("status"), run("mentions")]
    for result in outputs:
        assert "Traceback" not in result.output
        assert DB_PASSWORD not in result.output, result.output
        assert quote(DB_PASSWORD) not in result.output
    assert outputs[0].exit_code == 0 and MASK in outputs[0].output
    assert DB_PASSWORD not in caplog.text
    if ":1/" in url:  # the dead database: a one-line error, exit 1
        for result in outputs[1:]:
            assert result.exit_code == exit_codes.FAILURE, result.output
            one_error_line(result.output, "database error", "127.0.0.1")


def test_safe_url_masks_every_credential_form():
    for url in (
        f"postgresql://u:{DB_PASSWORD}@h/db",
        f"postgresql://u@h/db?password={DB_PASSWORD}",
        f"postgresql://u@h/db?sslpassword={DB_PASSWORD}&application_name=x",
        f"postgresql://u@h/db?%70assword={DB_PASSWORD}",
    ):
        assert DB_PASSWORD not in safe_url(url), url
    assert "application_name=x" in safe_url("postgresql://u@h/db?application_name=x")


def test_unsupported_database_driver_is_a_clear_error(run, monkeypatch):
    monkeypatch.setenv("YUQING_DATABASE_URL", f"mysql://root:{DB_PASSWORD}@127.0.0.1/yuqing")
    checked = run("config", "check")
    assert checked.exit_code == exit_codes.CONFIG
    one_error_line(checked.output, "storage.url", "no driver for 'mysql'")
    listed = run("mentions")
    assert listed.exit_code == exit_codes.FAILURE
    one_error_line(listed.output, "no driver for 'mysql'")
    assert DB_PASSWORD not in checked.output + listed.output


# --- secrets: alert channels ----------------------------------------------------------------------


def test_echoed_requests_leave_no_token_in_rows_logs_or_output(store, echo_port, caplog):
    caplog.set_level(logging.DEBUG)
    config = parse_config(channels_config(echo_port), "t.toml")
    channels = [(cid, channel) for cid, _receiver, channel in config.alerts.channels()]
    rows = send_test(store, config.alerts, TZ, channels)
    assert len(rows) == 5
    for row in rows:
        # Each receiver refused with our request quoted back: a definite failure, not in doubt.
        assert row["state"] == "pending" and row["last_error"], row
        assert not row["last_error"].startswith(IN_DOUBT), row
        assert "127.0.0.1" in row["last_error"] or "errcode" in row["last_error"], row
    assert_no_secret(*(r["last_error"] for r in rows), caplog.text)
    with store.engine.connect() as conn:
        table = conn.execute(text("SELECT last_error, payload FROM delivery")).all()
    assert_no_secret(*(str(tuple(r)) for r in table))


def test_test_channel_prints_no_token(run, tmp_path, echo_port, caplog):
    (tmp_path / "yuqing.toml").write_text(
        channels_config(echo_port) + f"\n[storage]\nurl = 'sqlite:///{tmp_path / 'y.db'}'\n",
        encoding="utf-8",
    )
    result = run("alerts", "test-channel", "pr")
    assert result.exit_code == exit_codes.FAILURE
    assert result.output.count("NOT sent") == 5, result.output
    listed = run("alerts", "deliveries", "--format", "json")
    assert_no_secret(result.output, listed.output, caplog.text)


@pytest.mark.parametrize(
    "webhook",
    [
        "http://127.0.0.1:9/robot/send?access_token=abc def" + DT_TOKEN,
        "http://127.0.0.1:9/robot/send?access_token=" + DT_TOKEN + "\t",
        "http://127.0.0.1:9/robot/send?access_token=令牌" + DT_TOKEN,
        "http://127.0.0.1:99999/robot/send?access_token=" + DT_TOKEN,
    ],
)
def test_unsendable_webhook_url_refused_by_config_check(run, tmp_path, monkeypatch, webhook):
    config_file = tmp_path / "yuqing.toml"
    inline = TEST_CONFIG + (
        '\n[alerts]\n[[alerts.receivers]]\nname = "pr"\n[[alerts.receivers.channels]]\n'
        f'type = "dingtalk"\nwebhook = {json.dumps(webhook)}\n'
    )
    config_file.write_text(inline, encoding="utf-8")
    result = run("config", "check")
    assert result.exit_code == exit_codes.CONFIG
    one_error_line(result.output, "webhook")
    assert DT_TOKEN not in result.output
    # The same URL from the environment is only seen when revealed: config check reveals it.
    config_file.write_text(
        inline.replace(f"webhook = {json.dumps(webhook)}", 'webhook = { env = "HOSTILE_HOOK" }'),
        encoding="utf-8",
    )
    monkeypatch.setenv("HOSTILE_HOOK", webhook)
    result = run("config", "check")
    assert result.exit_code == exit_codes.CONFIG
    one_error_line(result.output, "HOSTILE_HOOK")
    assert DT_TOKEN not in result.output


def test_unsendable_webhook_is_failed_not_in_doubt(store, monkeypatch, caplog, run, tmp_path):
    caplog.set_level(logging.DEBUG)
    hook = f"http://127.0.0.1:9/robot/send?access_token={DT_TOKEN} x"
    monkeypatch.setenv("HOSTILE_HOOK", hook)
    config = parse_config(
        TEST_CONFIG
        + '\n[alerts]\n[[alerts.receivers]]\nname = "pr"\n[[alerts.receivers.channels]]\n'
        'type = "dingtalk"\nwebhook = { env = "HOSTILE_HOOK" }\n'
        '[[alerts.receivers.channels]]\ntype = "webhook"\nurl = "http://127.0.0.1:9/h"\n'
        'token = { env = "HOSTILE_BEARER" }\n',
        "t.toml",
    )
    monkeypatch.setenv("HOSTILE_BEARER", f"{BEARER}\r\nX-Injected: 1")
    channels = [(cid, channel) for cid, _r, channel in config.alerts.channels()]
    rows = send_test(store, config.alerts, TZ, channels)
    for row in rows:
        assert row["state"] == "pending", row
        assert "not sent" in row["last_error"] or "unusable" in row["last_error"], row
        assert not row["last_error"].startswith(IN_DOUBT), row
    assert_no_secret(*(r["last_error"] for r in rows), caplog.text)
    # And through the command, which prints the row.
    (tmp_path / "yuqing.toml").write_text(
        TEST_CONFIG
        + f"\n[storage]\nurl = 'sqlite:///{tmp_path / 'y.db'}'\n"
        + '\n[alerts]\n[[alerts.receivers]]\nname = "pr"\n[[alerts.receivers.channels]]\n'
        'type = "dingtalk"\nwebhook = { env = "HOSTILE_HOOK" }\n',
        encoding="utf-8",
    )
    result = run("alerts", "test-channel", "pr")
    assert result.exit_code == exit_codes.FAILURE and "NOT sent (pending)" in result.output
    assert DT_TOKEN not in result.output and "Traceback" not in result.output


def test_redact_masks_known_values_and_credential_shapes():
    found = redact(
        f"GET /x?access_token={DT_TOKEN}&%74oken=abc123xyz Authorization: Bearer {BEARER} "
        f'{{"key": "{WECOM_KEY}"}} https://u:{DB_PASSWORD}@h/ keyword=咖啡',
        [f"http://h/hook/{FEISHU_HOOK}"],
    )
    assert_no_secret(found, secrets=(DT_TOKEN, BEARER, WECOM_KEY, DB_PASSWORD, "abc123xyz"))
    assert "keyword=咖啡" in found  # ordinary parameters stay readable
    assert FEISHU_HOOK not in redact(
        f"error at /hook/{FEISHU_HOOK}", [f"http://h/hook/{FEISHU_HOOK}"]
    )


# --- tracebacks: CLI arguments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("mentions", "--search", DEEP), "--search"),
        (("mentions", "--search", "NOT " * 2000 + "星澜"), "--search"),
        (("mentions", "--search", "星澜 " * 500), "--search"),
        (("mentions", "--since", "0001-01-01"), "--since"),
        (("mentions", "--until", "0001-01-01"), "--until"),
        (("mentions", "--since", "99999999999w"), "--since"),
        (("mentions", "--since", "9999-12-31T23:59:59-08:00"), "--since"),
        (("mentions", "--min-engagement", HUGE), "--min-engagement"),
        (("mentions", "--limit", HUGE), "--limit"),
        (("mentions", "--limit", "1e3"), "--limit"),
        (("stats", "--since", "0001-01-01"), "--since"),
        (("stats", "--search", DEEP), "--search"),
        (("stats", "--top", HUGE), "--top"),
        (("export", "--out", "x.csv", "--min-engagement", HUGE), "--min-engagement"),
        (("export", "--out", "x.csv", "--limit", HUGE), "--limit"),
        (("alerts", "show", HUGE), "INCIDENT_ID"),
        (("alerts", "ack", HUGE), "INCIDENT_ID"),
        (("alerts", "note", HUGE, "x"), "INCIDENT_ID"),
        (("alerts", "resolve", HUGE), "INCIDENT_ID"),
        (("alerts", "list", "--limit", HUGE), "--limit"),
        (("alerts", "evaluate", "--at", "0001-01-01"), "--at"),
        (("alerts", "deliveries", "--retry", HUGE), "--retry"),
        (("alerts", "deliveries", "--limit", HUGE), "--limit"),
        (("report", "daily", "--end", "0001-01-01"), "--end"),
        (("report", "weekly", "--end", "99999999999w"), "--end"),
    ],
)
def test_hostile_cli_arguments_are_usage_errors(cli, args, option):
    result = cli(*args)
    assert result.exit_code == exit_codes.USAGE, result.output
    one_error_line(result.output, option)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("missing folder", lambda tmp: tmp / "missing" / "dir" / "x.csv"),
        ("name too long", lambda tmp: tmp / ("长" * 200 + ".csv")),
        ("a folder", lambda tmp: tmp),
    ],
)
def test_export_to_an_unwritable_path_is_one_clear_error(cli, tmp_path, name, make):
    out = make(tmp_path)
    result = cli("export", "--out", str(out), "--format", "csv")
    assert result.exit_code in (exit_codes.FAILURE, exit_codes.USAGE), result.output
    one_error_line(result.output, "x.csv" if name == "missing folder" else "")
    assert not (tmp_path / "missing").exists()


def test_time_and_count_parser_bounds():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_time_arg("2w", TZ, now) == now - timedelta(weeks=2)
    assert parse_time_arg("2026-11-20", TZ).utcoffset() == timedelta(hours=8)
    for bad in ("0001-01-01", "99999999999w", "9999-12-31", "1899-12-31T23:59", "x" * 5000):
        with pytest.raises(ValueError):
            parse_time_arg(bad, TZ, now)
    assert parse_count(str(INT64_MAX)) == INT64_MAX
    for bad in (HUGE, "-1", "1e3", "0x10", "１２", "9" * 5000, ""):
        with pytest.raises(ValueError):
            parse_count(bad)


# --- tracebacks: the web API ----------------------------------------------------------------------


@pytest.fixture
def web(config, store):
    with TestClient(create_app(config, store, WEB_TOKEN)) as client:
        client.headers["Authorization"] = f"Bearer {WEB_TOKEN}"
        yield client


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/api/mentions?search={quote(DEEP)}", 400),
        (f"/api/mentions?search={quote('NOT ' * 2000 + '星澜')}", 400),
        ("/api/mentions?since=0001-01-01", 400),
        ("/api/mentions?until=0001-01-01", 400),
        ("/api/mentions?since=99999999999w", 400),
        ("/api/mentions?since=9999-12-31T23:59:59-08:00", 400),
        (f"/api/mentions?min_engagement={HUGE}", 400),
        ("/api/mentions?min_engagement=1e3", 400),
        (f"/api/mentions?limit={HUGE}", 422),
        ("/api/overview?since=0001-01-01", 400),
        ("/api/overview?until=0001-01-01", 400),
        ("/api/overview?since=99999999999w", 400),
        (f"/api/export?search={quote(DEEP)}", 400),
        ("/api/export?until=0001-01-01", 400),
        (f"/api/export?min_engagement={HUGE}", 400),
        (f"/api/incidents/{HUGE}", 400),
        ("/api/incidents/-1", 400),
        (f"/api/incidents?limit={HUGE}", 422),
    ],
)
def test_hostile_api_parameters_are_client_errors(web, path, status):
    response = web.get(path)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail and "Traceback" not in response.text


@pytest.mark.parametrize("action", ["ack", "note", "resolve"])
def test_incident_actions_with_an_id_beyond_int64(web, action):
    body = {"text": "x"} if action == "note" else {}
    response = web.post(f"/api/incidents/{HUGE}/{action}", json=body)
    assert response.status_code == 400, response.text


# --- config ---------------------------------------------------------------------------------------


def test_log_file_that_is_a_folder_is_a_config_error(run, tmp_path):
    config = tmp_path / "yuqing.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + f"\n[logging]\nfile = '{tmp_path}'\n", encoding="utf-8"
    )
    result = run("mentions")
    assert result.exit_code == exit_codes.CONFIG
    one_error_line(result.output, "logging.file", "is a folder")


def test_missing_folders_are_created_with_a_warning(run, tmp_path):
    config = tmp_path / "yuqing.toml"
    config.write_text(
        TEST_CONFIG
        + f"\n[storage]\nurl = 'sqlite:///{tmp_path / 'db' / 'deep' / 'y.db'}'\n"
        + f"\n[logging]\nfile = '{tmp_path / 'logs' / 'deep' / 'yuqing.log'}'\n",
        encoding="utf-8",
    )
    result = run("mentions")
    assert result.exit_code == 0, result.output
    assert f"created folder {tmp_path / 'logs' / 'deep'} for the log file" in result.output
    assert f"created folder {tmp_path / 'db' / 'deep'} for the SQLite database" in result.output
    assert (tmp_path / "db" / "deep" / "y.db").exists()
    again = run("mentions")  # nothing new to say the second time
    assert "created folder" not in again.output


def test_non_utf8_secret_file_is_a_config_error(run, tmp_path):
    secret = tmp_path / "hook"
    secret.write_bytes(b"http://127.0.0.1/robot/send?access_token=\xff\xfe" + DT_TOKEN.encode())
    (tmp_path / "yuqing.toml").write_text(
        TEST_CONFIG
        + '\n[alerts]\n[[alerts.receivers]]\nname = "pr"\n[[alerts.receivers.channels]]\n'
        f"type = \"dingtalk\"\nwebhook = {{ file = '{secret}' }}\n",
        encoding="utf-8",
    )
    result = run("config", "check")
    assert result.exit_code == exit_codes.CONFIG
    one_error_line(result.output, str(secret), "not UTF-8")
    assert DT_TOKEN not in result.output


def test_config_with_a_byte_order_mark_loads(run, tmp_path):
    config = tmp_path / "yuqing.toml"
    config.write_bytes("\ufeff".encode() + config.read_bytes())
    result = run("config", "check")
    assert result.exit_code == 0, result.output
    assert "星澜咖啡" in result.output


# --- web auth -------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [" " * 20, "\t" * 16 + " ", "a" * 32, "abc def ghi jkl mno"])
def test_weak_or_blank_web_token_refused(config, run, monkeypatch, token):
    monkeypatch.setenv("YUQING_WEB_TOKEN", token)
    with pytest.raises(ConfigError, match="web.token"):
        web_token(config)
    result = run("web")
    assert result.exit_code == exit_codes.CONFIG
    one_error_line(result.output, "web.token")


@pytest.fixture
def browser(config, sqlite_url):
    store = Store.open(sqlite_url, auto_migrate=True)
    app = create_app(config, store, WEB_TOKEN)
    with TestClient(app) as client:
        yield client, app.state.auth
    store.close()


def test_encoded_token_parameter_is_redacted_in_the_access_log(browser):
    client, _auth = browser
    assert client.get(f"/login?%74oken={WEB_TOKEN}", follow_redirects=False).status_code == 303
    for path in (f"/login?%74oken={WEB_TOKEN}", f"/login?next=/&%54OKEN={WEB_TOKEN}"):
        record = logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5000", "GET", path, "1.1", 303),
            None,
        )
        RedactToken().filter(record)
        assert WEB_TOKEN not in record.getMessage()
        # And the handlers' own filter catches it even without the access-log filter.
        raw = logging.LogRecord("x", logging.INFO, __file__, 1, "GET %s", (path,), None)
        RedactSecrets().filter(raw)
        assert WEB_TOKEN not in raw.getMessage()


def test_sessions_differ_per_login_and_logout_revokes_a_copied_cookie(browser):
    client, _auth = browser
    client.get(f"/login?token={WEB_TOKEN}")
    first = client.cookies[COOKIE_NAME]
    assert WEB_TOKEN not in first
    client.cookies.clear()
    client.get(f"/login?token={WEB_TOKEN}")
    second = client.cookies[COOKIE_NAME]
    assert first != second  # not a fixed function of the token
    client.post("/logout")
    client.cookies.set(COOKIE_NAME, second)  # a copy taken before logging out
    assert client.get("/api/incidents").status_code == 401
    assert client.get("/", follow_redirects=False).status_code == 303
    # The other browser's session is its own: still valid until it logs out too.
    client.cookies.set(COOKIE_NAME, first)
    assert client.get("/api/incidents").status_code == 200
    client.post("/logout")
    client.cookies.set(COOKIE_NAME, first)
    assert client.get("/api/incidents").status_code == 401


def test_sessions_expire(browser):
    client, auth = browser
    now = [1_000_000.0]
    auth.clock = lambda: now[0]
    response = client.get(f"/login?token={WEB_TOKEN}", follow_redirects=False)
    assert "Max-Age=43200" in response.headers["set-cookie"]
    assert client.get("/api/incidents").status_code == 200
    now[0] += 12 * 3600 - 1
    assert client.get("/api/incidents").status_code == 200
    now[0] += 2
    assert client.get("/api/incidents").status_code == 401


def test_login_attempts_are_rate_limited(browser):
    client, auth = browser
    now = [1_000_000.0]
    auth.clock = lambda: now[0]
    for i in range(10):
        wrong = client.post("/login", data={"token": f"guess-{i:02d}-0123456789"})
        assert wrong.status_code == 401
    # Locked out: even the right token is refused unseen, and so is a bearer guess.
    blocked = client.post("/login", data={"token": WEB_TOKEN}, follow_redirects=False)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert client.get(f"/login?token={WEB_TOKEN}").status_code == 429
    bearer = {"Authorization": f"Bearer {WEB_TOKEN}"}
    assert client.get("/api/incidents", headers=bearer).status_code == 429
    now[0] += 61
    assert client.get("/api/incidents", headers=bearer).status_code == 200
    good = client.post("/login", data={"token": WEB_TOKEN}, follow_redirects=False)
    assert good.status_code == 303


def test_bearer_guessing_is_rate_limited(browser):
    client, auth = browser
    auth.clock = lambda: 5_000_000.0
    codes = [
        client.get("/api/incidents", headers={"Authorization": f"Bearer guess-{i}"}).status_code
        for i in range(15)
    ]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}


def test_existing_session_survives_a_lockout(browser):
    client, auth = browser
    auth.clock = lambda: 7_000_000.0
    client.get(f"/login?token={WEB_TOKEN}")
    for i in range(12):
        client.get("/api/incidents", headers={"Authorization": f"Bearer guess-{i}"})
    assert client.get("/api/incidents").status_code == 200  # the cookie alone


def test_incident_id_probe_on_the_cli_and_web_agree(cli, db_url, config):
    store = Store.open(db_url)
    try:
        found = incidents.create_incident(
            store,
            topic="星澜咖啡",
            rule="negative_spike",
            severity="warning",
            rules=["negative_spike"],
            now=datetime(2026, 11, 20, tzinfo=UTC),
            evidence={},
        )
        shown = cli("alerts", "show", str(found["id"]))
        assert shown.exit_code == 0, shown.output
        with TestClient(create_app(config, store, WEB_TOKEN)) as client:
            client.headers["Authorization"] = f"Bearer {WEB_TOKEN}"
            assert client.get(f"/api/incidents/{found['id']}").status_code == 200
            assert client.get(f"/api/incidents/{found['id']}x").status_code == 400
    finally:
        store.close()


@pytest.mark.parametrize("name", ["contains", "search", "topic", "platform", "cause"])
@pytest.mark.parametrize("value", ["a%00b", "%00"])
def test_nul_in_a_text_parameter_is_a_client_error(web, name, value):
    for endpoint in ("mentions", "export"):
        response = web.get(f"/api/{endpoint}?{name}={value}")
        assert response.status_code == 400, (endpoint, response.text)
        assert name in response.json()["detail"]


@pytest.mark.parametrize("bad", ["\u0000", "a\ud800b"])
def test_nul_or_lone_surrogate_in_an_incident_note_is_a_client_error(web, store, bad):
    found = incidents.create_incident(
        store,
        topic="星澜咖啡",
        rule="negative_spike",
        severity="warning",
        rules=["negative_spike"],
        now=datetime(2026, 11, 20, tzinfo=UTC),
        evidence={},
    )
    base = f"/api/incidents/{found['id']}"
    body = json.dumps({"text": f"note {bad}"}, ensure_ascii=True)
    headers = {"Content-Type": "application/json"}
    assert web.post(f"{base}/note", content=body, headers=headers).status_code in (400, 422)
    body = json.dumps({"author": f"x{bad}"}, ensure_ascii=True)
    assert web.post(f"{base}/ack", content=body, headers=headers).status_code in (400, 422)
    assert incidents.get_incident(store, found["id"])["status"] == "open"


@pytest.mark.parametrize(
    "args",
    [
        ("mentions", "--contains", "星澜\udcff"),
        ("mentions", "--search", "\udce6\udc98"),
        ("alerts", "note", "1", "bad \udcff bytes"),
        ("stats", "--topic", "\udcff"),
    ],
)
def test_arguments_that_are_not_utf8_are_usage_errors(cli, args):
    result = cli(*args)
    assert result.exit_code == exit_codes.USAGE, result.output
    one_error_line(result.output, "not valid UTF-8")


def test_log_file_lines_and_tracebacks_are_redacted(tmp_path):
    from pipeline.logs import add_log_file

    root = logging.getLogger()
    before = list(root.handlers)
    path = tmp_path / "logs" / "y.log"
    try:
        add_log_file(path, "json")
        log = logging.getLogger("hostile")
        log.warning("POST /robot/send?access_token=%s failed", DT_TOKEN)
        try:
            raise RuntimeError(f"echo Authorization: Bearer {BEARER}")
        except RuntimeError:
            log.exception("crashed")
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
    written = path.read_text(encoding="utf-8")
    assert "access_token=***" in written and "RuntimeError" in written
    assert_no_secret(written)


def test_report_into_an_unwritable_folder_is_one_clear_error(cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    result = cli("report", "daily", "--out", str(blocker / "reports"))
    assert result.exit_code == exit_codes.FAILURE, result.output
    one_error_line(result.output, "report not written")


def test_huge_log_size_is_a_config_error(run, tmp_path):
    config = tmp_path / "yuqing.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + f"\n[logging]\nfile = '{tmp_path / 'y.log'}'\nmax_megabytes = 1e308\n",
        encoding="utf-8",
    )
    result = run("mentions")
    assert result.exit_code == exit_codes.CONFIG
    one_error_line(result.output, "logging.max_megabytes")


def test_smtp_password_masked_in_its_base64_forms_too():
    import base64

    from alerts.channels import sender_for

    password = "smtp-pass-w0rd-9f8e"
    config = parse_config(
        TEST_CONFIG + f'\n[alerts]\n[alerts.smtp]\nusername = "bot"\npassword = "{password}"\n'
        '[[alerts.receivers]]\nname = "pr"\n[[alerts.receivers.channels]]\n'
        'type = "email"\nto = ["pr@example.com"]\n',
        "t.toml",
    )
    [(cid, _receiver, channel)] = config.alerts.channels()
    sender = sender_for(channel, config.alerts, cid)
    login = base64.b64encode(password.encode()).decode()
    plain_auth = base64.b64encode(f"\0bot\0{password}".encode()).decode()
    shown = sender.redact(f"535 5.7.8 rejected AUTH LOGIN {login} / AUTH PLAIN {plain_auth}")
    assert_no_secret(shown, secrets=(password, login, plain_auth))


def test_secret_file_with_a_byte_order_mark_is_read_without_it(run, tmp_path, monkeypatch):
    token = tmp_path / "token"
    token.write_bytes("\ufeff".encode() + WEB_TOKEN.encode() + b"\r\n")
    config = parse_config(TEST_CONFIG + f"\n[web]\ntoken = {{ file = '{token}' }}\n")
    monkeypatch.delenv("YUQING_WEB_TOKEN", raising=False)
    assert web_token(config) == WEB_TOKEN


def test_crawler_logs_mask_the_cookie_and_proxies_of_the_run(monkeypatch, caplog):
    import logging

    from pipeline.crawl_settings import ConfigSettingsAddon

    monkeypatch.setenv("YUQING_TEST_COOKIE", "SUB=cookievalue8842; SUBP=otherpart5531")
    monkeypatch.setenv("YUQING_TEST_PROXIES", "http://alice:proxypass77@10.0.0.1:8080\n")
    handler = logging.StreamHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        ConfigSettingsAddon._redact_logs(["YUQING_TEST_COOKIE", "YUQING_TEST_PROXIES"])
        assert any(type(f).__name__ == "RedactSecrets" for f in handler.filters)
        record = logging.LogRecord(
            "scrapy.core",
            logging.ERROR,
            __file__,
            1,
            "request with cookievalue8842 via http://alice:proxypass77@10.0.0.1:8080 failed",
            None,
            None,
        )
        for f in handler.filters:
            f.filter(record)
        shown = record.getMessage()
        assert "cookievalue8842" not in shown and "proxypass77" not in shown
        assert "10.0.0.1" in shown  # the host still says where
    finally:
        root.removeHandler(handler)
