"""Exports: CSV with a BOM, XLSX, JSONL and Parquet, formula defusing, and ``yuqing export``."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline.export import ExportError, export_mentions, format_for
from storage.mentions import upsert_mentions
from storage.query import MentionFilter

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
FORMULA = '=HYPERLINK("http://evil.example","点我")'


def row(post_id: str, body: str, **over):
    base = {
        "platform": "weibo",
        "post_id": post_id,
        "url": f"https://m.weibo.cn/detail/{post_id}",
        "author_name": "作者",
        "text": body,
        "raw_text": body,
        "published_at": T0 + timedelta(minutes=int(post_id)),
        "crawled_at": T0 + timedelta(hours=1),
        "likes": 3,
        "sentiment_label": "negative",
        "keywords": ["星澜咖啡", "退款"],
        "topics": {"星澜咖啡": ["星澜咖啡"]},
    }
    return base | over


ROWS = [
    row("1", "星澜咖啡 退款太慢了，换行\n第二行"),
    row("2", FORMULA, author_name="@SUM(A1)"),
    row("3", "控制字符\x07不该出现在表格里"),
    row("4", "青禾手机", topics={"青禾手机": ["青禾手机"]}),
]


@pytest.fixture
def filled(store):
    upsert_mentions(store, ROWS)
    return store


def test_csv_has_a_bom_defuses_formulas_and_keeps_chinese(filled, tmp_path):
    path = tmp_path / "out.csv"
    count = export_mentions(filled, MentionFilter(topic="星澜咖啡", limit=None), path, tz=SHANGHAI)
    assert count == 3
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(keepends=True)))
    assert [r["post_id"] for r in rows] == ["3", "2", "1"]
    by_id = {r["post_id"]: r for r in rows}
    assert by_id["2"]["text"] == "'" + FORMULA and by_id["2"]["author_name"] == "'@SUM(A1)"
    assert by_id["1"]["text"] == "星澜咖啡 退款太慢了，换行\n第二行"
    assert by_id["1"]["published_at"] == "2026-11-20T10:01:00+08:00"
    assert by_id["1"]["topics"] == "星澜咖啡" and by_id["1"]["keywords"] == "星澜咖啡|退款"


def test_xlsx_defuses_formulas_and_drops_control_characters(filled, tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "out.xlsx"
    assert export_mentions(filled, MentionFilter(limit=None), path, tz=SHANGHAI) == 4
    sheet = load_workbook(path).active
    header = [c.value for c in sheet[1]]
    cells = {r[header.index("post_id")]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert cells["2"][header.index("text")] == "'" + FORMULA
    assert cells["3"][header.index("text")] == "控制字符不该出现在表格里"
    # Wall-clock time in the export's zone: Excel has no offsets.
    assert cells["1"][header.index("published_at")] == datetime(2026, 11, 20, 10, 1)


def test_jsonl_keeps_text_as_stored(filled, tmp_path):
    path = tmp_path / "out.jsonl"
    export_mentions(filled, MentionFilter(search="退款", limit=None), path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [m["post_id"] for m in lines] == ["1"]
    assert lines[0]["published_at"] == "2026-11-20T02:01:00+00:00"
    assert lines[0]["keywords"] == ["星澜咖啡", "退款"]


def test_parquet_round_trips_into_pandas(filled, tmp_path):
    import pandas as pd

    path = tmp_path / "out.parquet"
    export_mentions(filled, MentionFilter(limit=None), path, tz=SHANGHAI)
    df = pd.read_parquet(path)
    assert sorted(df["post_id"]) == ["1", "2", "3", "4"]
    assert df.loc[df["post_id"] == "2", "text"].item() == FORMULA  # data, not a spreadsheet
    first = df.loc[df["post_id"] == "1"].iloc[0]
    assert first["published_at"] == pd.Timestamp("2026-11-20T10:01:00+08:00")
    assert list(first["topics"]) == ["星澜咖啡"]


def test_empty_exports_are_valid_files(store, tmp_path):
    import pandas as pd

    for name in ("e.csv", "e.xlsx", "e.jsonl", "e.parquet"):
        assert export_mentions(store, MentionFilter(limit=None), tmp_path / name) == 0
    assert pd.read_parquet(tmp_path / "e.parquet").empty
    assert (tmp_path / "e.jsonl").read_text() == ""


def test_format_comes_from_the_suffix_or_is_asked_for(tmp_path):
    assert format_for(tmp_path / "a.XLSX", None) == "xlsx"
    assert format_for(tmp_path / "a.txt", "csv") == "csv"
    with pytest.raises(ExportError, match="pass --format"):
        format_for(tmp_path / "a.txt", None)


def test_failed_export_leaves_no_file(filled, tmp_path, monkeypatch):
    import pipeline.export

    monkeypatch.setattr(pipeline.export, "XLSX_MAX_ROWS", 2)
    (tmp_path / "out").mkdir()
    with pytest.raises(ExportError, match="Excel sheet"):
        export_mentions(filled, MentionFilter(limit=None), tmp_path / "out" / "big.xlsx")
    assert list((tmp_path / "out").iterdir()) == []


def test_export_command(run, tmp_path):
    from storage.db import Store

    store = Store.open(f"sqlite:///{tmp_path / 'y.db'}")
    upsert_mentions(store, ROWS)
    store.close()
    result = run("export", "--topic", "星澜咖啡", "--search", "退款", "--out", "x.csv")
    assert result.exit_code == 0, result.output
    assert "wrote 1 mention(s)" in result.output
    assert (tmp_path / "x.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    limited = run("export", "--format", "jsonl", "--limit", "2", "--out", "x.data")
    assert len((tmp_path / "x.data").read_text(encoding="utf-8").splitlines()) == 2
    assert limited.exit_code == 0
    unknown = run("export", "--out", "x.txt")
    assert unknown.exit_code == 2 and "pass --format" in unknown.output
