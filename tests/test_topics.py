"""Topic keyword rules: must / any / exclude, case- and width-insensitive."""

from nlp.topics import TopicRule, match_topics

COFFEE = TopicRule("星澜咖啡", any=("星澜咖啡", "星澜", "Xinglan"), exclude=("招聘",))
PHONE = TopicRule("青禾手机", must=("青禾",), any=("手机", "X5"))


def test_any_word_matches_and_reports_hits():
    assert match_topics("星澜咖啡的燕麦拿铁", [COFFEE]) == {"星澜咖啡": ["星澜咖啡", "星澜"]}


def test_exclude_wins():
    assert match_topics("星澜咖啡招聘店员", [COFFEE]) == {}


def test_must_and_any_together():
    assert match_topics("青禾X5 续航不错", [PHONE]) == {"青禾手机": ["青禾", "X5"]}
    assert match_topics("青禾 很好", [PHONE]) == {}  # must without any
    assert match_topics("X5 手机", [PHONE]) == {}  # any without must


def test_case_and_full_width_are_ignored():
    assert "星澜咖啡" in match_topics("ＸＩＮＧＬＡＮ coffee", [COFFEE])
    assert "青禾手机" in match_topics("青禾ｘ５到手", [PHONE])


def test_several_topics_at_once():
    assert set(match_topics("星澜咖啡店里用青禾手机拍照", [COFFEE, PHONE])) == {
        "星澜咖啡",
        "青禾手机",
    }


def test_must_only_rule():
    rule = TopicRule("t", must=("A", "B"))
    assert match_topics("a b", [rule]) == {"t": ["A", "B"]}
    assert match_topics("a", [rule]) == {}
