"""Complaint cause of a negative post: a documented lexicon plus a few rules.

Causes are the client handbook's six (服务态度, 产品质量, 促销活动, 服务承诺, 产品标识, 店内事故)
plus 物流配送 for e-commerce, and 其他 when nothing matches. Rules, in order:

1. Every lexicon word found in the text scores its weight for its cause (1 unless given).
2. A word right after a contrast (但是, 就是, 可是, 不过, 结果) weighs double: in
   "东西还行，就是快递太慢" the complaint is what follows the contrast.
3. A word praised right after it ("态度很好", "质量不错") is not a complaint and scores nothing.
4. The cause with the highest score wins; ties go to the cause listed first in :data:`LEXICON`
   (店内事故 first: an injury matters more than the queue that came with it).

Users extend the lexicon in the config (``[nlp.causes]``, one list of extra words per cause, which
may also name a new cause); see docs/nlp.md. The evaluation set is
``tests/fixtures/nlp/causes_labelled.csv`` and ``bench/nlp_causes.py`` reports per-cause
precision and recall.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

OTHER = "其他"

# cause -> words, separated by spaces; "word*2" gives a word weight 2 (strong evidence).
_WORDS = {
    "店内事故": """
        摔倒*2 滑倒*2 摔了一跤*2 烫伤*2 受伤*2 划伤*2 割伤*2 砸到*2 砸伤*2 碰伤*2 夹伤*2 流血*2
        骨折*2 救护车*2 送医*2 触电*2 漏电*2 起火*2 着火*2 火灾*2 爆炸*2 冒烟 玻璃门 地面湿滑*2
        地滑 吊顶*2 掉下来 砸下来*2 电梯 扶梯 停车场 被偷 小偷 打架*2 晕倒*2 踩踏*2 安全隐患*2
        在店里 店内 门店里
    """,
    "物流配送": """
        快递*2 物流*2 配送*2 送货 派送*2 外卖 骑手*2 外卖员*2 快递员*2 包裹*2 丢件*2 发货*2 揽收*2
        签收*2 送达 没送到*2 送错*2 送晚 延误 超时 运输 运费 顺丰 中通 圆通 韵达 申通 京东物流
        菜鸟 驿站 还没到 迟迟不到 压坏 摔坏 撒了 洒了 漏了一袋 催单 配送费 在路上 几天了还没
    """,
    "服务态度": """
        态度*2 服务差 服务太差 服务员 店员 营业员 收银员 导购 店长 客服 不理人*2 爱理不理*2
        不耐烦*2 甩脸*2 摆脸色*2 脸色 翻白眼*2 白眼 冷漠*2 没礼貌*2 不礼貌*2 骂人*2 骂我*2 吼*2
        凶*2 怼*2 嘲讽*2 阴阳怪气*2 瞧不起*2 看不起*2 歧视*2 傲慢*2 敷衍*2 推诿 踢皮球 推来推去
        不搭理*2 没人理 聊天 玩手机 素质*2 口气 语气*2 赶我们 赶人
    """,
    "服务承诺": """
        承诺*2 说好的*2 答应*2 食言*2 不兑现*2 没兑现*2 退款*2 退货*2 换货*2 不给退*2 不给换*2
        拒绝退 售后*2 保修*2 三包*2 维修 返修 无理由 赔偿*2 补偿 理赔 投诉无门*2 投诉 工单 回访
        一直拖*2 拖着 拖了 没人处理*2 没有处理 不处理 没下文*2 等通知 给个说法 讨说法 消协 12315*2
        霸王条款*2 押金*2 退卡*2 会员卡 预约 保证 包退 包换 延保 上门
    """,
    "促销活动": """
        优惠券*2 优惠*2 满减*2 促销*2 活动*2 打折*2 折扣*2 降价*2 价保*2 保价*2 秒杀*2 抢购 抽奖*2
        中奖*2 赠品*2 送的 满赠 买一送一*2 第二杯半价*2 半价 返现*2 积分*2 套路*2 先涨后降*2
        原价*2 券*2 会员日*2 预售*2 定金*2 尾款*2 红包*2 领不了 用不了 不能用 限时 新人价 特价*2
        低价 差价*2 双十一*2 618*2 直播间*2 福利
    """,
    "产品标识": """
        标签*2 标识*2 生产日期*2 保质期*2 过期*2 临期*2 配料表*2 配料*2 成分表*2 成分*2 产地*2
        条形码*2 条码*2 说明书*2 中文标签*2 标注*2 标的*2 虚标*2 净含量*2 克数*2 缺斤少两*2
        与描述不符*2 和描述不符*2 货不对板*2 与图片不符*2 和图片不一样*2 宣传*2 虚假宣传*2
        包装上*2 包装写 商标*2 山寨*2 假冒*2 假货*2 三无*2 无标签*2 批号*2 日期*2 写着*2 印着*2
        热量*2 含糖*2 0糖*2 零糖*2 认证*2 进口
    """,
    "产品质量": """
        质量*2 品质*2 做工*2 坏了*2 故障*2 异物*2 头发*2 虫子*2 苍蝇*2 蟑螂*2 变质*2 发霉*2 馊了*2
        酸了 不新鲜*2 难吃*2 难喝*2 拉肚子*2 食物中毒*2 肚子疼*2 吃出 喝出 有股味*2 异味*2 怪味*2
        漏水*2 漏液*2 死机*2 卡顿*2 发烫*2 发热*2 黑屏*2 闪退*2 碎屏 花屏*2 断触*2 续航*2 电池*2
        充不进*2 掉漆*2 开线*2 起球*2 褪色*2 掉色*2 裂了*2 开裂*2 断了*2 次品*2 瑕疵*2 残次*2
        用了几天 没用几天 返厂 太淡*2 太甜*2 口感*2 味道*2 不好喝*2 不好吃*2 冷的*2 凉了 夹生*2
        没熟*2 信号*2 重启*2 自动关机*2 鼓包*2 异响*2 翻车
    """,
}
LEXICON: dict[str, tuple[str, ...]] = {
    cause: tuple(words.split()) for cause, words in _WORDS.items()
}
CAUSES = (*LEXICON, OTHER)

_CONTRAST = ("但是", "就是", "可是", "不过", "结果")
_PRAISE = re.compile(r".{0,2}?(很好|挺好|不错|还行|还可以|满意|没问题|很棒|给力|好评|很赞|超好)")


@dataclass(frozen=True)
class _Entry:
    word: str
    cause: str
    weight: float


def _parse(word: str) -> tuple[str, float]:
    word, _, weight = word.strip().partition("*")
    return word, float(weight) if weight else 1.0


class CauseClassifier:
    """Complaint cause of a text from the lexicon, extended with ``extra`` (cause -> words)."""

    def __init__(self, extra: Mapping[str, Sequence[str]] | None = None):
        lexicon = {cause: list(words) for cause, words in LEXICON.items()}
        for cause, words in (extra or {}).items():
            lexicon.setdefault(cause, []).extend(words)
        self.causes = (*lexicon, OTHER)
        entries: dict[str, _Entry] = {}
        for cause, words in lexicon.items():
            for raw in words:
                word, weight = _parse(raw)
                if word:
                    # A word listed under two causes keeps the later one: user words override.
                    entries[word] = _Entry(word, cause, weight)
        self._entries = entries
        # One alternation, longest words first, so "快递员" wins over "快递" at the same spot.
        ordered = sorted(entries, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(w) for w in ordered)) if ordered else None
        self._order = {cause: i for i, cause in enumerate(self.causes)}

    def scores(self, text: str) -> dict[str, float]:
        """Each cause's score in ``text`` (causes with no evidence left out)."""
        found: dict[str, float] = {}
        if not self._pattern or not text:
            return found
        contrast_at = max((text.rfind(c) for c in _CONTRAST), default=-1)
        for match in self._pattern.finditer(text):
            entry = self._entries[match.group()]
            if _PRAISE.match(text, match.end()):
                continue
            weight = entry.weight * (2 if 0 <= contrast_at < match.start() else 1)
            found[entry.cause] = found.get(entry.cause, 0.0) + weight
        return found

    def classify(self, text: str) -> str:
        found = self.scores(text)
        if not found:
            return OTHER
        return min(found, key=lambda cause: (-found[cause], self._order[cause]))
