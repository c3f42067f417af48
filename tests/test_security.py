"""Secrets stay out of what people and logs see: the config's repr, `yuqing config check`, and
a failed delivery's recorded error (a DingTalk access_token lives in the webhook URL)."""

from __future__ import annotations

import socket
from zoneinfo import ZoneInfo

from alerts.channels import SendError, sender_for
from pipeline.config import parse_config
from tests.conftest import TEST_CONFIG
from tests.servers.fixtures import notification

TOKEN = "leak-me-access-token-0123456789"
SECRET = "SECleak-me-signing-secret"
PASSWORD = "leak-me-db-password"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens


def config_text(tmp_path) -> str:
    port = closed_port()
    return (
        TEST_CONFIG
        + f"""
[storage]
url = "sqlite:///{tmp_path / "y.db"}"

[alerts]
default_receiver = "pr"
[alerts.delivery]
http_timeout_seconds = 0.5

[[alerts.receivers]]
name = "pr"
[[alerts.receivers.channels]]
type = "dingtalk"
webhook = "http://127.0.0.1:{port}/robot/send?access_token={TOKEN}"
secret = "{SECRET}"
"""
    )


def test_config_repr_and_config_check_hide_secrets(run, tmp_path):
    text = config_text(tmp_path)
    config = parse_config(text, "t.toml")
    for shown in (repr(config), str(config), repr(config.alerts)):
        assert SECRET not in shown
    (tmp_path / "yuqing.toml").write_text(text, encoding="utf-8")
    checked = run("config", "check")
    assert SECRET not in checked.output and TOKEN not in checked.output


def test_failed_delivery_error_names_the_host_not_the_token(tmp_path, caplog):
    config = parse_config(config_text(tmp_path), "t.toml")
    [(cid, _receiver, channel)] = list(config.alerts.channels())
    sender = sender_for(channel, config.alerts, cid)
    try:
        sender.send([notification()], ["k"], ZoneInfo("Asia/Shanghai"))
    except SendError as exc:
        error = str(exc)
    else:
        raise AssertionError("nothing listens there: the send must fail")
    assert "127.0.0.1" in error
    assert TOKEN not in error and SECRET not in error
    assert TOKEN not in caplog.text and SECRET not in caplog.text
