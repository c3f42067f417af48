"""The ``yuqing`` command line through click's runner: exit codes, formats, safe output."""

from __future__ import annotations

import csv
import io
import json

import click
import pytest
from click.testing import CliRunner

from pipeline import exit_codes
from pipeline.cli import cli
from tests.conftest import FIXTURES


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize(("path", "command"), list(all_commands(cli)), ids=lambda v: str(v))
def test_every_command_documents_an_example(path, command):
    assert command.help and "Example:" in command.help, f"yuqing {' '.join(path)} lacks an example"


def test_init_writes_the_example_and_refuses_to_overwrite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["init"])
    assert result.exit_code == 0 and (tmp_path / "yuqing.toml").exists()
    again = runner.invoke(cli, ["init"])
    assert again.exit_code == 1 and "already exists" in again.output
    assert runner.invoke(cli, ["init", "--force"]).exit_code == 0
    assert runner.invoke(cli, ["config", "check"]).exit_code == 0


def test_config_error_exit_code_and_message(run, tmp_path):
    (tmp_path / "yuqing.toml").write_text("[crawl]\ndefault_schedule = 'x'\n", encoding="utf-8")
    result = run("mentions")
    assert result.exit_code == exit_codes.CONFIG
    assert "yuqing.toml: crawl.default_schedule: bad cron expression" in result.output


def test_config_check_reports_missing_secret_without_values(run, tmp_path, monkeypatch):
    (tmp_path / "yuqing.toml").write_text(
        "[[alerts.receivers]]\nname = 'pr'\n[[alerts.receivers.channels]]\ntype = 'wecom'\n"
        "key = { env = 'YQ_WECOM_KEY' }\n",
        encoding="utf-8",
    )
    monkeypatch.delenv("YQ_WECOM_KEY", raising=False)
    result = run("config", "check")
    assert result.exit_code == exit_codes.CONFIG
    assert "alerts.receivers[0].channels[0].key: environment variable YQ_WECOM_KEY is not set" in (
        result.output
    )
    monkeypatch.setenv("YQ_WECOM_KEY", "key-value-123")
    result = run("config", "check")
    assert result.exit_code == 0 and "key-value-123" not in result.output


def test_ingest_then_query_in_every_format(run):
    result = run("ingest", str(FIXTURES / "mentions_good.jsonl"))
    assert result.exit_code == 0, result.output
    assert "7 valid, 0 rejected; 7 new" in result.output
    again = run("ingest", str(FIXTURES / "mentions_good.jsonl"))
    assert "0 new, 0 updated, 7 unchanged" in again.output

    table = run("mentions", "--topic", "星澜咖啡")
    assert table.exit_code == 0 and "咖啡爱好者" in table.output and "4 mention(s)" in table.output

    as_json = json.loads(run("mentions", "--format", "json", "--limit", "0").output)
    assert len(as_json) == 7
    first = as_json[0]
    assert first["published_at"].endswith("+08:00")  # shown in the config's zone
    assert set(first) >= {"platform", "post_id", "topics", "sentiment_label", "url", "text"}

    rows = list(csv.DictReader(io.StringIO(run("mentions", "--format", "csv").output)))
    assert len(rows) == 7 and rows[0]["published_at"].endswith("+08:00")

    negative = json.loads(run("mentions", "--sentiment", "negative", "--format", "json").output)
    assert negative and all(m["sentiment_label"] == "negative" for m in negative)
    tieba = json.loads(run("mentions", "--platform", "tieba", "--format", "json").output)
    assert [m["post_id"] for m in tieba] == ["9000000001"]
    window = json.loads(
        run(
            "mentions",
            "--since",
            "2026-11-20 09:30",
            "--until",
            "2026-11-20T11:30+08:00",
            "--format",
            "json",
        ).output
    )
    assert sorted(m["post_id"] for m in window) == ["5107000000000001", "5107000000000005"]
    # The repost (…05) quotes it only in its chain, which is not the repost's own text.
    found = json.loads(run("mentions", "--contains", "燕麦拿铁", "--format", "json").output)
    assert {m["post_id"] for m in found} == {"5107000000000001"}


def test_bad_time_is_a_usage_error(run):
    result = run("mentions", "--since", "last tuesday")
    assert result.exit_code == exit_codes.USAGE and "is not a time" in result.output


def test_ingest_exit_code_when_nothing_valid(run, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n", encoding="utf-8")
    result = run("ingest", str(bad))
    assert result.exit_code == exit_codes.FAILURE
    assert "nothing valid was read" in result.output
    assert (tmp_path / "bad.jsonl.rejects.jsonl").exists()


def test_partial_ingest_exits_zero(run, tmp_path):
    result = run("ingest", str(FIXTURES / "mentions_mixed.jsonl"), "--rejects", "r.jsonl")
    assert result.exit_code == 0 and "7 rejected" in result.output
    assert len((tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()) == 7


def test_hostile_text_is_shown_inert(run, tmp_path):
    line = json.loads(
        (FIXTURES / "mentions_good.jsonl").read_text(encoding="utf-8").splitlines()[0]
    )
    line.update(
        post_id="666",
        text='[bold red]假冒[/bold red] \x1b[2J\x1b[31m清屏 星澜咖啡 =HYPERLINK("http://x")',
        author={"name": "坏人\x1b]0;title\x07\u202e反转", "followers": 1},
    )
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    assert run("ingest", str(path)).exit_code == 0
    table = run("mentions").output
    assert "\x1b" not in table and "\u202e" not in table
    assert "[bold red]假冒" in table  # markup printed literally, not interpreted
    assert "坏人" in table
    rows = list(csv.DictReader(io.StringIO(run("mentions", "--format", "csv").output)))
    assert not rows[0]["text"].startswith("=")


def test_db_upgrade_and_current(run):
    upgraded = run("db", "upgrade")
    from storage.db import head_revision

    assert upgraded.exit_code == 0 and f"-> {head_revision()}" in upgraded.output
    current = run("db", "current")
    assert "up to date" in current.output


def test_unreachable_database_is_a_clear_error(run, monkeypatch):
    monkeypatch.setenv("YUQING_DATABASE_URL", "postgresql+psycopg://u:pw-secret@127.0.0.1:1/x")
    result = run("mentions")
    assert result.exit_code == exit_codes.FAILURE
    assert "database error" in result.output and "pw-secret" not in result.output


def test_demo_runs_offline(tmp_path, monkeypatch):
    """The crisis demo end to end through `yuqing demo` (the test's plan crawls less often):
    crawl the replica -> score -> 预警 -> 危机 -> delivered to mailbox and webhook -> resolved."""
    import json
    import mailbox
    from email.header import decode_header, make_header

    from pipeline.demo import run as demo_run
    from pipeline.demo.scenario import FAST_PLAN

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YUQING_DATABASE_URL", raising=False)
    monkeypatch.setattr(demo_run, "DEFAULT_PLAN", FAST_PLAN)
    out = tmp_path / "d"
    result = CliRunner().invoke(cli, ["demo", "--dir", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "crawl weibo" in result.output and "crawl discuz" in result.output
    subjects = [
        str(make_header(decode_header(m["Subject"]))) for m in mailbox.mbox(out / "mailbox.mbox")
    ]
    assert subjects[0].startswith("【预警】"), subjects
    assert any(s.startswith("【危机】升级") for s in subjects), subjects
    assert "已恢复" in subjects[-1], subjects
    hooks = [json.loads(line) for line in (out / "webhook.jsonl").read_text("utf-8").splitlines()]
    assert [h["notification"]["event"] for h in hooks][-1] == "resolved"
    assert len(hooks) == len(subjects)
    assert "resolved" in result.output and "near-duplicate share" in result.output
    assert (out / "yuqing.toml").exists() and (out / "outbox" / "alerts.jsonl").exists()
    assert list((out / "reports").glob("*/report.html"))


def test_json_log_file_from_config(run, tmp_path):
    with open(tmp_path / "yuqing.toml", "a", encoding="utf-8") as f:
        f.write("\n[logging]\nfile = 'logs/y.log'\nformat = 'json'\nlevel = 'INFO'\n")
    assert run("ingest", str(FIXTURES / "mentions_good.jsonl")).exit_code == 0
    lines = (tmp_path / "logs" / "y.log").read_text(encoding="utf-8").splitlines()
    assert lines, "nothing was logged"
    entries = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
