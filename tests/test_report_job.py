"""The daemon's report jobs: planned from ``[reports]``, run under a lease, mailed to the sink."""

from __future__ import annotations

import pytest

from pipeline import jobs
from pipeline.config import load_config
from pipeline.scheduler import plan
from tests.conftest import TEST_CONFIG
from tests.servers.fixtures import running_smtp


@pytest.fixture
def smtp():
    yield from running_smtp()


def write_config(tmp_path, smtp, reports: str) -> str:
    path = tmp_path / "yuqing.toml"
    path.write_text(
        TEST_CONFIG
        + f"""
[storage]
url = 'sqlite:///{tmp_path / "y.db"}'

[reports]
{reports}
out_dir = "{tmp_path / "reports"}"

[alerts]
default_receiver = "pr-team"

[[alerts.receivers]]
name = "pr-team"

[[alerts.receivers.channels]]
type = "email"
to = ["pr@example.com"]

[alerts.smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "plain"
timeout_seconds = 5
""",
        encoding="utf-8",
    )
    return str(path)


def test_plan_has_report_jobs_only_when_configured(tmp_path, smtp):
    none = load_config(write_config(tmp_path, smtp, ""))
    assert not [p for p in plan(none, None) if p.id.startswith("report:")]
    path = write_config(tmp_path, smtp, 'daily_at = "9:30"\nweekly_on = "mon"')
    planned = {p.id: p for p in plan(load_config(path), path)}
    daily, weekly = planned["report:daily"], planned["report:weekly"]
    assert str(daily.trigger) == "cron[day_of_week='*', hour='9', minute='30']"
    assert str(weekly.trigger) == "cron[day_of_week='mon', hour='9', minute='0']"
    assert daily.kwargs == {
        "job": "report",
        "config_path": path,
        "kind": "daily",
        "period_seconds": 86400.0,
    }


def test_report_job_writes_and_mails_each_topic_once(tmp_path, smtp, monkeypatch):
    path = write_config(tmp_path, smtp, 'topics = ["星澜咖啡", "青禾手机"]\nemail = true')
    outcome = jobs.report_job(path, "daily", period_seconds=86400)
    assert outcome.ok, outcome.detail
    assert sorted(m["Subject"].split()[0] for _, _, m in smtp.messages) == ["星澜咖啡", "青禾手机"]
    assert len(list((tmp_path / "reports").glob("daily-*/report.html"))) == 2
    # The lease is held for most of the day: another daemon's run sends nothing.
    monkeypatch.setattr(jobs, "owner", lambda: "other-host:1:1")
    with pytest.raises(jobs.Locked):
        jobs.report_job(path, "daily", period_seconds=86400)
    assert len(smtp.messages) == 2


def test_report_job_reports_a_failed_mail(tmp_path, smtp):
    path = write_config(tmp_path, smtp, "email = true")
    smtp.fail_next = 1
    outcome = jobs.report_job(path, "weekly")
    assert not outcome.ok and "not mailed" in outcome.detail
    assert list((tmp_path / "reports").glob("weekly-*-all/report.html"))
