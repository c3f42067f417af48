"""Config loading: the example is valid, every error names the file, the key and the problem,
and secrets are never required in the file nor shown."""

from __future__ import annotations

import pytest

from alerts.secrets import SecretMissing, SecretRef
from pipeline.config import EXAMPLE_PATH, ConfigError, load_config, parse_config

GOOD_TOPIC = """
[[topics]]
name = "星澜咖啡"
[topics.keywords]
any = ["星澜"]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(text, "my.toml")
    assert str(err.value).startswith("my.toml: ")
    return err.value.problems


def test_example_config_is_valid_and_complete():
    config = load_config(EXAMPLE_PATH)
    assert [t.name for t in config.topics] == ["星澜咖啡", "青禾手机", "云朵出行"]
    assert config.alerts.default_receiver == "local"
    assert config.crawl.schedules["weibo"] == "*/5 * * * *"


def test_missing_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    config = load_config()
    assert config.database_url() == "sqlite:///yuqing.db"
    assert config.source == "<embedded defaults>"


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_toml_syntax_error_names_the_line():
    [problem] = problems('[storage]\nurl = "sqlite:///x.db"\nbroken = \n')
    assert "not valid TOML" in problem and "line 3" in problem


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("[storage]\nurl = 'x'\nulr = 'typo'\n", "storage.ulr", "unknown key"),
        ("[crawl]\ndefault_schedule = '61 * * * *'\n", "crawl.default_schedule", "bad cron"),
        ("[crawl.schedules]\nweibo = 'every minute'\n", "crawl.schedules.weibo", "bad cron"),
        ("[crawl.schedules]\nfacebook = '* * * * *'\n", "crawl.schedules.facebook", ""),
        ("[general]\ntimezone = 'Mars/Olympus'\n", "general.timezone", "unknown time zone"),
        ("[nlp]\nnegative_below = 0.8\npositive_above = 0.6\n", "nlp.negative_below", "exceed"),
        (
            "[[topics]]\nname = 'x'\n[topics.keywords]\nexclude = ['a']\n",
            "topics[0].keywords.any",
            "at least one keyword",
        ),
        (
            "[[topics]]\nname = 'x'\nplatforms = ['douyin']\n[topics.keywords]\nany = ['a']\n",
            "topics[0].platforms[0]",
            "",
        ),
        (GOOD_TOPIC + GOOD_TOPIC, "topics[1].name", "duplicate topic"),
        (
            "[[topics]]\nname = 'x'\n[topics.keywords]\nany = ['a', ' ']\n",
            "topics[0].keywords.any",
            "blank",
        ),
        (
            "[[alerts.routes]]\nreceiver = 'nobody'\n",
            "alerts.routes[0].receiver",
            "unknown receiver",
        ),
        ("[[alerts.rules]]\nname = 'r'\nkind = 'astrology'\n", "alerts.rules[0].kind", ""),
        (
            "[[alerts.receivers]]\nname = 'a'\n[[alerts.receivers.channels]]\ntype = 'email'\n"
            "to = ['pr@example.com']\n",
            "alerts.smtp",
            "[alerts.smtp] is missing",
        ),
        (
            "[[alerts.receivers]]\nname = 'a'\n[[alerts.receivers.channels]]\ntype = 'dingtalk'\n"
            "webhook = { env = 'A', file = 'b' }\n",
            "alerts.receivers[0].channels[0].webhook",
            "exactly one",
        ),
        (
            "[[alerts.receivers]]\nname = 'a'\n[[alerts.receivers.channels]]\ntype = 'pager'\n",
            "alerts.receivers[0].channels[0]",
            "type",
        ),
        (
            "[[alerts.routes]]\nreceiver = 'x'\nseverities = ['紧急']\n",
            "alerts.routes[0].severities",
            "unknown severity",
        ),
    ],
)
def test_errors_name_the_key(text, key, fragment):
    found = problems(text)
    assert any(p.startswith(f"{key}:") and fragment in p for p in found), found


def test_all_problems_are_reported_at_once():
    found = problems("[storage]\nulr = 1\n[crawl]\ndefault_schedule = 'x'\n")
    assert len(found) == 2


def test_severity_accepts_chinese_and_english_names():
    config = parse_config(
        "[[alerts.receivers]]\nname = 'a'\n[[alerts.receivers.channels]]\ntype = 'file'\n"
        "path = 'x.jsonl'\n[[alerts.routes]]\nreceiver = 'a'\nseverities = ['危机', 'warning']\n"
    )
    assert config.alerts.routes[0].severities == ["critical", "warning"]


def test_secret_from_env_and_file(tmp_path, monkeypatch):
    monkeypatch.setenv("YQ_TEST_HOOK", "https://oapi.dingtalk.com/robot/send?access_token=s3cret")
    (tmp_path / "pw").write_text("hunter2\n", encoding="utf-8")
    config = parse_config(
        f"""
[[alerts.receivers]]
name = "pr"
[[alerts.receivers.channels]]
type = "dingtalk"
webhook = {{ env = "YQ_TEST_HOOK" }}
[[alerts.receivers.channels]]
type = "email"
to = ["pr@example.com"]
[alerts.smtp]
password = {{ file = "{tmp_path / "pw"}" }}
"""
    )
    hook = config.alerts.receivers[0].channels[0].webhook
    assert hook.reveal().endswith("s3cret")
    assert config.alerts.smtp.password.reveal() == "hunter2"
    # Printing or dumping the config never shows a value.
    assert "s3cret" not in repr(config) and "hunter2" not in repr(config)
    assert "s3cret" not in config.model_dump_json() and "hunter2" not in config.model_dump_json()
    assert config.missing_secrets() == []
    monkeypatch.delenv("YQ_TEST_HOOK")
    assert config.missing_secrets() == [
        "alerts.receivers[0].channels[0].webhook: environment variable YQ_TEST_HOOK is not set"
    ]


def test_inline_secret_is_masked():
    ref = SecretRef.model_validate("plain-value")
    assert ref.reveal() == "plain-value"
    assert "plain-value" not in repr(ref) and "plain-value" not in str(ref)


def test_empty_secret_file_is_missing(tmp_path):
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SecretMissing, match="is empty"):
        SecretRef(file=tmp_path / "empty").reveal()


def test_database_url_env_override(monkeypatch):
    config = parse_config("[storage]\nurl = 'sqlite:///a.db'\n")
    assert config.database_url() == "sqlite:///a.db"
    monkeypatch.setenv("YUQING_DATABASE_URL", "sqlite:///b.db")
    assert config.database_url() == "sqlite:///b.db"


def test_database_url_secret_missing_names_key(monkeypatch):
    monkeypatch.delenv("YQ_DB", raising=False)
    config = parse_config("[storage]\nurl = { env = 'YQ_DB' }\n")
    with pytest.raises(ConfigError, match=r"storage\.url: environment variable YQ_DB is not set"):
        config.database_url()
