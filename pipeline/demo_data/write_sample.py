"""Generator for the bundled demo sample ``pipeline/demo_data/mentions.jsonl``.

``make demo`` and the tests ingest that file: about 360 fictional Chinese social-media mentions
(Weibo, Tieba, a Discuz! forum and news sites) in the documented JSONL exchange format
(``docs/mention-format.md``). Every sentence below is hand-written for this sample; no real post
is copied. The brands are fictional and match the topics of ``pipeline/yuqing.example.toml``:

* 星澜咖啡 (coffee chain) has a negative episode in the last ~36 hours (a foreign object in the
  new oat latte, stomach upsets, refunds refused, rude staff, coupons not honoured, slow
  delivery), including a burst of near-identical posts from low-follower accounts, plus a few
  job ads that the topic's ``exclude = ["招聘", ...]`` rule must reject;
* 青禾手机 (phones) is mostly positive or neutral with mild complaints (heat, lag);
* 云朵出行 (ride hailing) is mixed and mostly neutral, on Weibo and news only (its topic is
  limited to those platforms);
* about a tenth of the rows mention no brand at all.

The output is deterministic (``random.Random(20261122)``, stdlib only). To regenerate::

    python pipeline/demo_data/write_sample.py > pipeline/demo_data/mentions.jsonl

``--stats`` additionally prints counts and the intended sentiment mix to stderr.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from random import Random

SEED = 20261122
rng = Random(SEED)

TZ = timezone(timedelta(hours=8))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


START = at("2026-11-14T00:00:00")  # a Saturday
END = at("2026-11-21T23:59:00")
EPISODE = END - timedelta(hours=36)  # 2026-11-20 11:59, the negative episode starts here
ORIGIN_T = at("2026-11-20T12:47:13")  # the post that starts it
STATEMENT_T = at("2026-11-21T15:32:40")  # 星澜咖啡's official statement

XL, QH, YD = "星澜咖啡", "青禾手机", "云朵出行"
# What topic matching in the example config looks for (the sample checks itself against it).
MATCH_WORDS = {
    XL: ("星澜咖啡", "星澜"),
    QH: ("青禾手机", "青禾x5", "青禾pro"),
    YD: ("云朵出行", "云朵打车"),
}
XL_EXCLUDE = ("招聘", "兼职")

WINDOWS = {
    "all": (START, END),
    "pre": (START, EPISODE),
    "epi": (EPISODE, END),
    "after_origin": (ORIGIN_T + timedelta(minutes=35), END),
    "day2": (at("2026-11-21T06:30:00"), END),
    "evening1": (at("2026-11-20T18:00:00"), END),
    "oat": (at("2026-11-17T10:30:00"), EPISODE),
    "member_pre": (at("2026-11-18T10:00:00"), at("2026-11-19T23:00:00")),
    "member_am": (at("2026-11-20T07:00:00"), at("2026-11-20T11:55:00")),
    "member_pm": (at("2026-11-20T12:05:00"), at("2026-11-20T23:30:00")),
    "after_statement": (STATEMENT_T + timedelta(minutes=20), END),
    "fri": (at("2026-11-20T07:00:00"), at("2026-11-20T23:00:00")),
    "qh_launch": (at("2026-11-16T20:40:00"), at("2026-11-18T23:00:00")),
    "qh_price": (at("2026-11-16T10:30:00"), END),
    "yd_weekend": (at("2026-11-20T10:30:00"), END),
}
# Relative posting activity by hour of day (Beijing time).
HOUR_WEIGHT = [3, 2, 1, 0.6, 0.4, 0.4, 1, 3, 5, 6, 6, 6, 7, 6, 5, 5, 5, 6, 7, 8, 9, 9, 7, 5]


def sample_time(lo: datetime, hi: datetime, by_hour: bool = True) -> datetime:
    span = (hi - lo).total_seconds()
    while True:
        t = lo + timedelta(seconds=int(rng.random() * span))
        if not by_hour or rng.random() < HOUR_WEIGHT[t.hour] / 9:
            return t


def window(name: str) -> datetime:
    return sample_time(*WINDOWS[name])


# ---------------------------------------------------------------------------------------------
# Authors: a pool of 120 (media, brand accounts, bloggers, ordinary users, copy accounts).
# ---------------------------------------------------------------------------------------------
_used_uids: set[str] = set()


def new_uid() -> str:
    while True:
        uid = str(rng.randrange(1_000_000_000, 7_999_999_999))
        if uid not in _used_uids:
            _used_uids.add(uid)
            return uid


def log_uniform(lo: float, hi: float) -> int:
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def author(name: str, followers: int, verified_type: int | None, uid: str | None = None) -> dict:
    return {
        "id": uid or new_uid(),
        "name": name,
        "followers": followers,
        "verified": verified_type is not None,
        "verified_type": verified_type,
    }


MEDIA_NAMES = [
    "城市晚报",
    "南江财经",
    "消费前沿观察",
    "每日商业速递",
    "数码前哨",
    "江城都市报",
    "新消费研究社",
    "出行产业观察",
    "晨光新闻",
    "财经早知道",
]
MEDIA = {n: author(n, log_uniform(1e5, 5e6), 3) for n in MEDIA_NAMES}
OFFICIAL = {
    XL: author("星澜咖啡官方", log_uniform(2e5, 1.5e6), 2),
    QH: author("青禾手机官方", log_uniform(5e5, 3e6), 2),
    YD: author("云朵出行官方", log_uniform(2e5, 1e6), 2),
}
KOL = {
    n: author(n, log_uniform(2e4, 8e5), 0)
    for n in [
        "数码老K",
        "小周爱测评",
        "科技闲谈阿杰",
        "咖啡馆探店日记",
        "魔都吃喝指南",
        "打工人的早C晚A",
        "出行观察员老王",
    ]
}


def _ordinary_followers() -> int:
    return min(5000, int(rng.lognormvariate(4.2, 1.5)))


_NICK_A = [
    "柠檬",
    "橘子",
    "阿花",
    "小鹿",
    "猫猫",
    "大饼",
    "豆包",
    "晚风",
    "山竹",
    "芝士",
    "月亮",
    "西瓜",
    "可乐",
    "汤圆",
    "饭团",
    "小熊",
    "兔子",
    "布丁",
    "麻薯",
    "番茄",
]
_NICK_B = [
    "不加糖",
    "今天也要努力",
    "在杭州",
    "爱喝咖啡",
    "的日常",
    "吃不胖",
    "想睡觉",
    "超甜的",
    "不想上班",
    "在路上",
    "酱",
    "同学",
    "快跑",
    "_",
    "2016",
    "呀",
    "的碎碎念",
    "本尊",
]
_NICK_LATIN = [
    "Kiki_",
    "Leo在上海",
    "momo今天不加班",
    "Yuki的碎碎念",
    "Ethan_Z",
    "Cherry樱桃",
    "Sunny小太阳",
    "Jason不是杰森",
]


def _build_ordinary() -> list[dict]:
    names = ["橘子不加糖呀"] + list(_NICK_LATIN)
    while len(names) < 73:
        name = rng.choice(_NICK_A) + rng.choice(_NICK_B)
        if name not in names:
            names.append(name)
    people = [author(n, _ordinary_followers(), None) for n in names]
    for _ in range(15):  # Weibo's default nickname is 用户 + uid
        uid = new_uid()
        people.append(author("用户" + uid, _ordinary_followers(), None, uid))
    rng.shuffle(people)
    return people


ORDINARY = _build_ordinary()
ORIGIN_AUTHOR = next(a for a in ORDINARY if a["name"] == "橘子不加糖呀")
ORIGIN_AUTHOR["followers"] = 1862
# Copy accounts: fresh default names, almost no followers.
COPY_ACCOUNTS = []
for _ in range(12):
    _uid = new_uid()
    COPY_ACCOUNTS.append(author("用户" + _uid, rng.randint(0, 25), None, _uid))

# Some people post a lot, most post once or twice.
_ORD_WEIGHTS = [1 / (i + 15) for i in range(len(ORDINARY))]


def pick_ordinary(exclude: tuple = ()) -> dict:
    while True:
        person = rng.choices(ORDINARY, weights=_ORD_WEIGHTS)[0]
        if person["name"] not in exclude:
            return person


def friend_name() -> str:
    while True:
        person = rng.choice(ORDINARY)
        if not person["name"].startswith("用户"):
            return person["name"]


# ---------------------------------------------------------------------------------------------
# Hand-written sentence material.  An observation is the core of a post; context, verdict,
# emoticons, hashtags and @mentions are added around it.
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Obs:
    text: str
    senti: str  # pos / neu / neg: what a reader would call the post
    sub: str  # sub-theme, picks titles and hashtags
    win: str | None = None  # time window (see WINDOWS); None = the group's default


def obs_list(senti: str, sub: str, texts: list, win: str | None = None) -> list[Obs]:
    return [Obs(t, senti, sub, win) for t in texts]


XL_POS = (
    obs_list(
        "pos",
        "product",
        [
            "星澜新出的桂花拿铁好好喝，甜度刚刚好，一点都不腻",
            "星澜的冷萃一直是我的续命水，少冰的话量还挺足",
            "星澜咖啡的秋冬限定杯子太好看了，收集癖又犯了",
            "星澜和隔壁那家比，豆子香一点，价格也差不多",
            "星澜咖啡积分换了个保温杯，做工比想象中好",
            "星澜咖啡店的可颂意外地好吃，外酥里软还不贵",
            "今天的星澜是焦糖玛奇朵，奶泡绵密，给打工魂续个命",
            "星澜出了低因款，晚上也敢喝一杯了，完全不影响睡觉",
            "星澜的生椰拿铁被我喝成了日常款，椰香很足",
            "星澜的手冲单品豆换新了，这次的埃塞果酸很明亮",
            "星澜的抹茶拿铁抹茶味很正，不是那种香精味",
            "星澜咖啡的外卖今天二十分钟就到了，拿铁还是烫的",
            "星澜的肉桂卷配美式绝了，下午茶就它了",
        ],
    )
    + obs_list(
        "pos",
        "store",
        [
            "星澜咖啡店的店员小姐姐好温柔，还在杯套上给我画了个笑脸",
            "在星澜坐了一下午赶论文，环境安静，插座也够多",
            "星澜小程序点单很方便，到店扫码直接取，不用排队",
            "公司楼下新开了一家星澜咖啡店，以后不用跑两条街了",
            "和闺蜜在星澜咖啡拍了一堆照片，靠窗那排光线绝了",
            "星澜咖啡的拉花师傅手艺在线，今天拉了一只小天鹅",
            "下雨天窝在星澜看书，一杯热可可，很治愈",
            "星澜咖啡店江景店的落地窗正对江面，拍照很出片",
            "在星澜咖啡店碰到了老同学，一聊就是一下午",
            "带娃去星澜，店员主动给了一杯温牛奶，好暖心",
        ],
    )
    + obs_list(
        "neu",
        "neutral",
        [
            "第一次喝星澜，美式偏酸，可能我不太习惯浅烘",
            "星澜和别家的价格差不多，主要看离哪家近吧",
            "早上星澜咖啡店门口排了十来个人，等了快十分钟",
            "听说星澜咖啡今年要开到三百家店，扩张挺快的",
            "星澜的吸管换成纸的了，环保是环保，就是泡久了会软",
            "星澜咖啡的大杯和中杯只差三块钱，建议直接上大杯",
        ],
    )
    + obs_list(
        "pos",
        "oat",
        [
            "星澜新品燕麦拿铁试了一下，燕麦味挺浓，热的比冰的好喝",
            "星澜的燕麦拿铁和桂花拿铁都试了，我投桂花一票",
            "燕麦拿铁是星澜这周的新品，乳糖不耐受的朋友可以试试",
        ],
        "oat",
    )
    + obs_list(
        "pos",
        "member",
        [
            "星澜会员日又来了，囤了五张券，下周的咖啡有着落了",
            "今天星澜会员日第二杯半价，和同事拼单美滋滋",
            "星澜咖啡会员日的周边帆布袋被我抢到了",
        ],
        "member_am",
    )
    + obs_list(
        "neu",
        "member",
        [
            "星澜咖啡周五会员日，有没有人知道几点开始能领券",
        ],
        "member_pre",
    )
    + obs_list(
        "neu",
        "episode",
        [
            "星澜咖啡这事到底怎么回事？有没有知情人说说",
            "一码归一码，我常去的那家星澜咖啡店一直挺干净的",
            "星澜的事等官方调查结果吧，先别急着站队",
            "今天路过星澜咖啡店，人比平时少了很多",
            "星澜的热搜挂了一天了，评论区吵得好凶",
            "喝了三年星澜，这次希望他们好好整改，别寒了老顾客的心",
        ],
        "after_origin",
    )
    + obs_list(
        "neu",
        "episode",
        [
            "星澜咖啡发了情况说明，说已经下架相关批次，看后续吧",
            "星澜这次的道歉还算及时，至少没有继续装死",
        ],
        "after_statement",
    )
)

XL_NEG = (
    obs_list(
        "neg",
        "yiwu",
        [
            "看到星澜咖啡异物的热搜，吓得我把刚买的那杯直接扔了",
            "我上个月在星澜也喝到过一根头发，当时没在意，现在想想好恶心",
            "星澜咖啡喝出异物，还要顾客自己证明不是自己放的？这是什么逻辑",
            "做餐饮最基本的就是食品安全，星澜咖啡这次真的让人失望",
            "已卸载星澜小程序，会员卡里还剩两百块也不想要了",
            "异物的事发酵一整天了，星澜就知道删评论，正面回应呢",
            "星澜咖啡门店后厨到底什么样，建议曝光一下",
            "看了博主的照片，那块黑色塑料片那么大，星澜的店员怎么可能没发现",
        ],
        "after_origin",
    )
    + obs_list(
        "neg",
        "stomach",
        [
            "我说昨天下午怎么一直拉肚子，原来是星澜新品燕麦拿铁的问题？",
            "喝完星澜的燕麦拿铁胃疼了一晚上，今天只能请假在家躺着",
            "星澜燕麦拿铁喝完恶心想吐，昨晚去医院挂了急诊，必须给个说法",
        ],
        "day2",
    )
    + obs_list(
        "neg",
        "stomach",
        [
            "中午和同事点了星澜燕麦拿铁，三个人里两个肠胃不舒服",
            "星澜燕麦拿铁到底加了什么，评论区好多人都说肚子不舒服",
            "本来乳糖不耐才选的燕麦拿铁，结果喝完比喝牛奶还难受，星澜你说说这叫什么事",
        ],
        "after_origin",
    )
    + obs_list(
        "neg",
        "refund",
        [
            "在星澜咖啡申请退款三次都被驳回，客服只会复制粘贴",
            "星澜退款要填一堆材料，还要上传小票原件照片，折腾死了",
            "打星澜客服电话等了四十分钟没人接，退款难于上青天",
            "喝出问题想退款，星澜的店长说已经喝过了不能退，这合理吗",
            "星澜会员卡余额不支持退，充值的时候可没人提这个",
            "退款申请显示处理中已经五天了，星澜你是打算拖到我忘了吗",
        ],
    )
    + obs_list(
        "neg",
        "attitude",
        [
            "星澜咖啡店员态度太差了，就问了一句能不能换燕麦奶，直接翻白眼",
            "去星澜取餐，店员边聊天边做，叫了三遍才搭理我",
            "反映问题被店长怼了一句爱喝不喝，星澜的服务态度刷新下限",
            "星澜的店员把单做错了还不承认，最后还是我重新付的钱",
            "在星澜咖啡店问个Wi-Fi密码都被嫌烦，至于吗",
        ],
    )
    + obs_list(
        "neg",
        "promo",
        [
            "星澜会员日的优惠券结账时显示不能用，店员说系统问题，那我的券算什么",
            "星澜会员日说好的第二杯半价，到店只给打九折，这是虚假宣传吧",
        ],
        "member_pm",
    )
    + obs_list(
        "neg",
        "promo",
        [
            "星澜咖啡买一送一的海报还贴在门口，进去却说活动已经结束了",
            "领了星澜满30减10的券，下单提示不满足使用条件，明明已经满了",
            "星澜的促销规则写得模棱两可，最终解释权全在他们手里",
        ],
    )
    + obs_list(
        "neg",
        "delivery",
        [
            "星澜咖啡外卖下单一个半小时才送到，冰美式变成了常温美式",
            "点的星澜外卖显示已送达，实际上根本没收到，客服只让我再等等",
            "星澜外卖洒了一半，袋子里全是咖啡，骑手说不关他的事",
            "星澜外卖越来越慢了，以前半小时，现在一小时起步",
            "星澜外卖送来的热拿铁是凉的，杯盖还没盖严",
        ],
    )
)

QH_OBS = (
    obs_list(
        "pos",
        "battery",
        [
            "{m}用了一周，续航真的顶，重度使用一天下来还剩三成电",
            "{m}的快充半小时能充到八十，出门前插一会儿就够用",
            "出差三天只带了{m}没带充电宝，居然撑下来了",
            "青禾X5这个价位能有这样的续航和拍照，性价比很高",
            "{m}刷了一晚上短视频才掉了百分之二十的电，电池是真的大",
            "从旧手机换到{m}，终于不用每天下午找插座了",
        ],
    )
    + obs_list(
        "pos",
        "camera",
        [
            "青禾Pro的长焦拍演唱会太强了，坐最后一排都能拍清楚脸",
            "拿青禾Pro和我之前的手机比了一下夜景，青禾明显更亮更干净",
            "青禾Pro的人像模式虚化很自然，发朋友圈被问是不是相机拍的",
            "用{m}拍了一组秋天的银杏，直出就很好看，不用修图",
            "青禾Pro的微距拍花蕊细节拉满，这几天拍上瘾了",
            "青禾X5的主摄白天拍风景很讨喜，颜色不会过分艳",
            "带青禾Pro去看了场球赛，三倍长焦拍球员表情特别清楚",
            "青禾Pro拍猫主子的抓拍速度很快，终于不糊了",
        ],
    )
    + obs_list(
        "pos",
        "general",
        [
            "{m}到手，手感不错，屏幕素质也在线",
            "青禾手机的系统这次更新后流畅了不少，动画也顺滑多了",
            "给我妈换了台{m}，字体调大以后她用得挺顺手",
            "青禾手机售后挺靠谱，屏幕碎了去门店换，两天就搞定了",
            "{m}的信号比我上一台好多了，电梯里也能刷视频",
            "青禾X5的屏幕看久了眼睛不累，晚上开护眼模式很舒服",
            "{m}的扬声器声音挺大，外放看剧效果不错",
            "{m}的面部解锁很快，光线暗也能认出来",
            "{m}的系统广告比以前少多了，好评",
            "青禾Pro的金属边框手感很高级，拿在手里不滑",
            "用了三年的青禾手机，这次换机还是选了青禾X5，老用户了",
            "青禾手机的门店可以免费贴膜清洁，服务态度也好",
        ],
    )
    + obs_list(
        "pos",
        "launch",
        [
            "青禾Pro新配色发布会看完了，这次诚意挺足，价格也没乱涨",
            "青禾Pro的雾青配色真好看，实物比海报还温柔",
        ],
        "qh_launch",
    )
    + obs_list(
        "neu",
        "ask",
        [
            "纠结青禾X5还是青禾Pro，预算三千左右，求懂的朋友推荐",
            "青禾X5跑分出来了，跟同价位差不多，主要还是看调校",
            "青禾Pro到底值不值得从青禾X5升级？主要差在长焦和充电速度",
            "听说青禾手机明年要出折叠屏，有人知道消息吗",
            "青禾手机的官方旗舰店和线下门店价格不一样，买之前多比比",
            "{m}的保护壳有推荐吗？官方的有点贵",
            "同事人手一台青禾手机，我也被安利得有点心动了",
            "青禾Pro有三个配色，纠结选雾青还是墨黑",
            "青禾X5和青禾Pro的主摄好像是同一颗，区别主要在长焦",
            "{m}支持双卡双待吗？给爸妈买的，想确认一下",
            "{m}的数据迁移要多久？旧手机里照片有两万多张",
            "在门店摸了一下{m}，比想象中轻，再考虑考虑",
        ],
    )
    + obs_list(
        "neu",
        "price",
        [
            "青禾X5今天降价两百，想入手的可以看看",
        ],
        "qh_price",
    )
    + obs_list(
        "neg",
        "heat",
        [
            "{m}玩大型游戏二十分钟就开始发热，手握着有点烫",
            "{m}充电的时候发热有点明显，不知道是不是正常现象",
            "{m}开了高刷以后掉电快了不少，续航没宣传的那么神",
            "青禾Pro开相机录四K视频十分钟，机身烫得能暖手了",
        ],
    )
    + obs_list(
        "neg",
        "lag",
        [
            "青禾Pro最近有点卡顿，切到后台再回来经常要重新加载",
            "青禾手机的预装软件有点多，有几个还卸载不掉，挺烦的",
            "更新完青禾手机的新系统，微信打开变慢了，希望尽快修复",
            "青禾Pro拍照是真好，就是机身太重，单手拿久了手酸",
            "{m}的自动亮度有点迷，室内总是调得太暗",
            "青禾X5的相机启动偶尔会卡一下，错过了好几个抓拍",
            "{m}更新后蓝牙耳机老断连，已经反馈给客服了",
            "{m}系统偶尔卡顿，打字的时候键盘会延迟半秒",
        ],
    )
)
QH_MODELS = ["青禾X5", "青禾X5", "青禾Pro", "青禾手机"]

YD_OBS = (
    obs_list(
        "pos",
        "ride",
        [
            "今天用云朵出行打车，司机师傅很健谈，一路聊到公司",
            "云朵出行新上的拼车试了一下，比快车省了七块钱",
            "深夜打云朵出行，司机全程开着行程分享，挺安心的",
            "第一次用云朵出行，界面很简单，叫车三分钟就到了",
            "云朵出行的司机帮我把行李箱搬上后备箱，服务不错",
            "忘在云朵出行车上的耳机，司机师傅专门送回来了，感动",
            "云朵出行这次的车很干净，后座还有矿泉水和充电线",
            "今天坐的云朵出行是个女司机，开得特别稳",
            "云朵打车的新能源专车好安静，一路睡到了目的地",
            "云朵出行发了张五折券，周末出去玩刚好用上",
        ],
    )
    + obs_list(
        "neu",
        "ride",
        [
            "云朵出行和其他平台比了一下价，这次云朵便宜两块",
            "机场打云朵出行排了二十分钟队，人实在太多",
            "云朵出行现在能预约接送机了吗？求问",
            "云朵出行的会员有必要开吗？一个月打车十来次",
            "听说云朵出行要降低司机抽成，不知道真的假的",
            "云朵出行和地铁哪个快？早高峰我还是选地铁",
            "云朵出行的客服电话终于能转人工了",
            "云朵出行的积分能换什么？好像没啥用",
            "朋友在云朵出行上跑车，说最近单量还可以",
            "云朵出行的发票怎么开？找了半天没找到入口",
            "云朵打车和地图App里叫的车是同一批司机吗",
            "云朵出行的拼车要等多久才能凑齐人？",
            "用云朵出行叫了辆六座车，一家五口出门正好",
            "云朵出行的路线规划和导航不一样，不知道听谁的",
        ],
    )
    + obs_list(
        "neg",
        "ride",
        [
            "云朵出行早高峰加价也太狠了，平时二十现在要四十五",
            "云朵出行等了十五分钟没人接单，最后还是去坐地铁了",
            "云朵出行的司机绕路了，申诉之后才退了差价",
            "云朵出行的车里一股烟味，开窗都散不掉",
            "下雨天云朵出行根本打不到车，排队排到第六十位",
            "云朵出行司机接单后让我自己取消订单，说太远了不想来",
            "云朵出行预估价二十八，到了变成三十五，多出来的是什么钱",
            "云朵出行的司机全程打电话，开车还看手机，太不安全了",
            "投诉云朵出行司机三天了，客服只回了一句已记录",
            "云朵打车的定位总是偏，司机找了我十分钟",
            "云朵出行取消订单居然要扣我五块钱，明明是司机一直不动",
        ],
    )
)

GENERAL_OBS = obs_list(
    "neu",
    "life",
    [
        "今天降温了，大家出门记得加衣服",
        "楼下新开的螺蛳粉店排了好长的队，明天去试试",
        "天上的云朵像棉花糖一样，随手拍了好几张",
        "地铁又延误了二十分钟，早八人的心态崩了",
        "追的剧今天大结局，哭得稀里哗啦",
        "有没有适合带娃的室内场所推荐，周末不知道去哪",
        "今年的初雪什么时候来啊，好期待",
        "健身第三十天打卡，体重掉了三斤",
        "双十一买的东西终于到齐了，拆快递拆到手软",
        "今天的晚霞好美，天黑以后星星也出来了",
        "自己在家做了杯手冲咖啡，豆子是朋友从云南带的",
        "新买的手机壳到了，颜色比图片上还好看",
        "小区门口的银杏全黄了，拍照的人特别多",
        "加班到十点，回家路上只剩便利店还亮着灯",
        "今天学会了做红烧肉，第一次就成功了",
        "猫主子今天把我的绿萝啃秃了",
        "考研倒计时一个月，图书馆占座比抢票还难",
        "年假还剩五天，求推荐冬天适合去的地方",
        "外面风好大，伞都被吹翻了",
        "今天的会开了三个小时，什么都没决定",
        "楼上装修的电钻声从早上八点响到现在",
        "周末去爬山，山顶的云海太壮观了",
        "换季了皮肤好干，有什么好用的面霜推荐吗",
        "妈妈寄来一箱自己种的橘子，好甜",
        "明天要早起赶高铁，希望别睡过头",
        "楼下咖啡店的老板换了新豆子，说是日晒的，挺香",
        "打车软件又给我推了一堆优惠券，根本用不完",
    ],
) + obs_list("neu", "life", ["周五了！这周终于要结束了"], "fri")

# Context sentences that can open a post, and verdicts that can close one.
CTX = {
    (XL, "pos"): [
        "早八人报到。",
        "今天降温了。",
        "周末还是出门了。",
        "加班到九点。",
        "终于发工资了！",
        "午休时间～",
        "今天心情不错。",
        "出差回来了。",
    ],
    (XL, "neu"): ["说句公道话。", "路人一枚。", "随便聊聊。", "今天又刷到了。"],
    (XL, "neg"): [
        "真的服了。",
        "气到发抖。",
        "说一下我的经历。",
        "避雷！",
        "无语。",
        "忍不了了。",
        "吐槽一下。",
        "第一次发这种微博。",
    ],
    (QH, "pos"): [
        "说说真实感受。",
        "不是广告。",
        "分享一下使用体验。",
        "老用户说两句。",
        "简单说说。",
    ],
    (QH, "neu"): ["准备换手机了。", "请教一下。", "数码小白提问。", "最近在看新手机。"],
    (QH, "neg"): ["小吐槽一下。", "用了半个月。", "反馈个问题。", "不知道是不是个例。"],
    (YD, "pos"): ["记录一下今天的出行。", "下班回家路上。", "周末出门。", "刚下飞机。"],
    (YD, "neu"): ["早高峰打工人。", "出差第一天。", "问个问题。", "记录一下。"],
    (YD, "neg"): ["早高峰打工人。", "下班回家路上。", "吐槽一下。", "无语了。"],
    (None, "neu"): ["碎碎念。", "今日份日常。", "记录一下。"],
}
VERDICT = {
    (XL, "pos"): [
        "推荐！",
        "下次还来。",
        "已经是回头客了。",
        "性价比可以。",
        "谁懂这种快乐～",
        "爱了爱了",
        "安利给大家",
        "今日份小确幸",
    ],
    (XL, "neu"): ["仅供参考。", "大家怎么看？", "有没有同感？", "记录一下。", "坐等后续。"],
    (XL, "neg"): [
        "再也不去了。",
        "已经投诉到12315了。",
        "大家避雷吧。",
        "希望官方给个说法。",
        "谁来管管？",
        "太失望了。",
        "以后换一家喝。",
        "支持维权！",
    ],
    (QH, "pos"): ["总体很满意。", "推荐入手。", "这个价位很香了。", "真香。", "目前没有后悔。"],
    (QH, "neu"): ["有懂的朋友说说吗？", "先观望一下。", "大家怎么看？", "记录一下。"],
    (QH, "neg"): [
        "希望下个版本能优化。",
        "其他方面还行。",
        "有点小失望。",
        "不知道大家有没有这个问题。",
        "等等看系统更新吧。",
    ],
    (YD, "pos"): ["给师傅点个赞。", "体验不错。", "会继续用。", "五星好评。"],
    (YD, "neu"): ["大家平时用哪个平台？", "仅供参考。", "有知道的吗？", "记录一下。"],
    (YD, "neg"): ["体验很差。", "已投诉。", "下次换个平台。", "无语。", "希望平台管管。"],
    (None, "neu"): ["晚安。", "就这样。", "大家今天过得怎么样？", "冲鸭～", ""],
}
EMO = {
    "pos": ["[赞]", "[哈哈]", "[心]", "[馋嘴]", "[good]", "[鼓掌]", "[太开心]", "[可爱]"],
    "neu": ["[吃瓜]", "[doge]", "[允悲]", "[费解]", "[思考]", "[微笑]", "[二哈]"],
    "neg": ["[怒]", "[泪]", "[抓狂]", "[失望]", "[委屈]", "[哼]", "[吐]", "[怒骂]"],
}
END_PUNCT = {
    "pos": ["！", "～", "。", "!"],
    "neu": ["。", "", "…"],
    "neg": ["！", "！！", "。", "!!"],
}
HASHTAGS = {
    (XL, "product"): ["#星澜咖啡#", "#秋冬第一杯咖啡#", "#今天喝什么#"],
    (XL, "store"): ["#星澜咖啡#", "#打卡#", "#探店#"],
    (XL, "neutral"): ["#星澜咖啡#"],
    (XL, "oat"): ["#星澜咖啡燕麦拿铁#"],
    (XL, "member"): ["#星澜咖啡会员日#"],
    (XL, "episode"): ["#星澜咖啡异物#", "#星澜咖啡回应#"],
    (XL, "yiwu"): ["#星澜咖啡异物#", "#星澜咖啡异物#", "#食品安全#"],
    (XL, "stomach"): ["#星澜咖啡燕麦拿铁#", "#星澜咖啡异物#"],
    (XL, "refund"): ["#星澜咖啡退款难#"],
    (XL, "attitude"): ["#星澜咖啡#", "#避雷#"],
    (XL, "promo"): ["#星澜咖啡会员日#", "#避雷#"],
    (XL, "delivery"): ["#外卖#", "#星澜咖啡#"],
    (QH, None): ["#青禾X5评测#", "#青禾Pro#", "#青禾手机#", "#手机推荐#"],
    (QH, "heat"): ["#手机发热#", "#青禾手机#"],
    (QH, "battery"): ["#手机续航#", "#青禾手机#"],
    (QH, "camera"): ["#青禾Pro#", "#手机摄影#"],
    (YD, None): ["#云朵出行#", "#打车#", "#网约车#"],
    (None, None): ["#打工人日常#", "#今日份碎碎念#", "#生活记录#", "#今日份天空#"],
}
MENTION_TAIL = {
    (XL, "neg"): ["出来解释一下", "给个说法", "管管你们的门店", ""],
    (QH, "neg"): ["求优化", "看看这个问题", ""],
    (YD, "neg"): ["管管吧", "给个解释", ""],
}
FRIEND_TAIL = ["下次一起", "快来", "你上次说的就是这个吧", "带你去", "看这个"]


def hashtags_for(brand: str | None, sub: str) -> list[str]:
    return HASHTAGS.get((brand, sub)) or HASHTAGS.get((brand, None)) or []


def finish(sentence: str, punct: str) -> str:
    if not sentence or sentence[-1] in "。！？～!?…" or sentence.endswith("]"):
        return sentence
    return sentence + punct


def short_link() -> str:
    code = "".join(
        rng.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(7)
    )
    return f"https://example.cn/s/{code}"


def html_mention(name: str) -> str:
    return f'<a href="/n/{name}">@{name}</a>'


def compose_weibo(
    brand: str | None, obs_text: str, senti: str, sub: str, rich: bool = False, html: bool = False
) -> str:
    """A Weibo post around one observation. ``rich`` forces context and verdict (used when an
    observation is reused, so two posts never share only the same bare sentence)."""
    key = (brand, senti) if (brand, senti) in CTX else (None, "neu")
    sentences: list[str] = []
    if rich or rng.random() < 0.4:
        sentences.append(rng.choice(CTX[key]))
    verdict = ""
    if rich or rng.random() < 0.4:
        verdict = rng.choice([v for v in VERDICT[key] if v not in sentences])
    body = obs_text
    if rng.random() < 0.55:
        emo = rng.choice(EMO[senti])
        body += emo * 2 if senti == "neg" and rng.random() < 0.3 else emo
    else:
        body = finish(body, rng.choice(END_PUNCT[senti]) or ("。" if verdict else ""))
    sentences.append(body)
    if verdict:
        sentences.append(verdict)
    tags = hashtags_for(brand, sub)
    roll = rng.random()
    if tags and roll < 0.25:
        sentences[0] = rng.choice(tags) + sentences[0]
    elif tags and roll < 0.45:
        sentences.append(rng.choice(tags))
    if rng.random() < 0.15:
        if (brand, senti) in MENTION_TAIL:
            name = OFFICIAL[brand]["name"]
            tail = rng.choice(MENTION_TAIL[(brand, senti)])
        else:
            name = friend_name()
            tail = rng.choice(FRIEND_TAIL)
        at_name = html_mention(name) if html else "@" + name
        sentences.append(f" {at_name} {tail}".rstrip())
    if rng.random() < 0.04:
        sentences.append(" " + short_link())
    if html and len(sentences) > 1:
        cut = rng.randrange(1, len(sentences))
        sentences[cut] = "<br />" + sentences[cut].lstrip()
    return "".join(sentences)


def strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------
ROWS: list[dict] = []
TEXTS: set[str] = set()
_ids: set[tuple[str, str]] = set()


def weibo_id(t: datetime) -> str:
    # Weibo ids grow with time; 5107 + 12 digits keeps them 16 digits long.
    while True:
        secs = int((t - START).total_seconds())
        pid = str(5107_0000_0000_0000 + secs * 1_000_000 + rng.randrange(1_000_000))
        if ("weibo", pid) not in _ids:
            return pid


def tieba_id(t: datetime) -> str:
    while True:
        secs = int((t - START).total_seconds())
        pid = str(9_247_000_000 + secs * 1000 + rng.randrange(1000))
        if ("tieba", pid) not in _ids:
            return pid


def url_for(platform: str, post_id: str) -> str:
    if platform == "weibo":
        return f"https://m.weibo.cn/detail/{post_id}"
    if platform == "tieba":
        return f"https://tieba.baidu.com/p/{post_id}"
    if platform == "discuz":
        return f"https://bbs.example-forum.cn/thread-{post_id.split('-')[0]}-1-1.html"
    return f"https://news.example.cn/2026/11/{post_id}.html"


def engagement(platform: str, who: dict, boost: float = 0.0) -> tuple[int, int, int]:
    """(reposts, comments, likes): log-normal, so most are small and a few are large."""
    if platform == "weibo":
        mu = 0.2 + 0.55 * math.log10(who["followers"] + 1) + boost
        likes = int(rng.lognormvariate(mu, 1.0))
        return int(likes * rng.uniform(0, 0.4)), int(likes * rng.uniform(0.05, 0.5)), likes
    if platform in ("tieba", "discuz"):
        comments = int(rng.lognormvariate(1.2 + boost, 0.9))
        return 0, comments, int(rng.lognormvariate(0.4 + boost / 2, 1.0))
    reposts = int(rng.lognormvariate(1.0 + boost, 1.2))
    return (
        reposts,
        int(rng.lognormvariate(1.5 + boost, 1.2)),
        int(rng.lognormvariate(1.2 + boost, 1.2)),
    )


def add(
    platform: str,
    topics: list[str],
    who: dict,
    title: str | None,
    text: str,
    t: datetime,
    label: str,
    group: str,
    boost: float = 0.0,
    post_id: str | None = None,
    parent: dict | None = None,
    counts: tuple[int, int, int] | None = None,
) -> dict:
    assert text not in TEXTS, text
    TEXTS.add(text)
    if post_id is None:
        post_id = weibo_id(t) if platform == "weibo" else tieba_id(t)
    _ids.add((platform, post_id))
    reposts, comments, likes = counts or engagement(platform, who, boost)
    row = {
        "platform": platform,
        "post_id": post_id,
        "url": url_for(platform, post_id),
        "topics": topics,
        "author": dict(who),
        "title": title,
        "text": text,
        "published_at": t.isoformat(),
        "crawled_at": (t + timedelta(seconds=rng.randint(5 * 60, 120 * 60))).isoformat(),
        "reposts": reposts,
        "comments": comments,
        "likes": likes,
        "parent_post_id": parent["post_id"] if parent else None,
        "_t": t,
        "_label": label,
        "_group": group,
    }
    ROWS.append(row)
    return row


class Deck:
    """Draws observations without replacement, reshuffling when empty; counts reuse."""

    def __init__(self, items: list[Obs]):
        self.items = list(items)
        self.pile: list[Obs] = []
        self.used: Counter = Counter()

    def draw(self, senti: str | None = None, win: str | None = "any") -> tuple[Obs, bool]:
        """``win`` other than "any" only accepts observations without a window or with that one,
        so a second sentence never contradicts the post's time."""
        for _ in range(200):
            if not self.pile:
                self.pile = list(self.items)
                rng.shuffle(self.pile)
            obs = self.pile.pop()
            if (senti is None or obs.senti == senti) and (win == "any" or obs.win in (None, win)):
                self.used[obs] += 1
                return obs, self.used[obs] > 1
        raise RuntimeError(f"no {senti} observation")


def fill_model(text: str) -> str:
    return text.replace("{m}", rng.choice(QH_MODELS))


def obs_time(obs: Obs, default: str) -> datetime:
    return window(obs.win or default)


def xl_default_window(obs: Obs) -> str:
    if obs.senti == "neg":
        return "epi" if rng.random() < 0.72 else "pre"
    return "pre" if rng.random() < 0.88 else "epi"


def ordinary_weibo(
    n: int,
    brand: str | None,
    topics: list[str],
    deck: Deck,
    group: str,
    sentis: dict[str, float] | None = None,
) -> list[dict]:
    made = []
    while len(made) < n:
        senti = rng.choices(list(sentis), weights=list(sentis.values()))[0] if sentis else None
        obs, reused = deck.draw(senti)
        default = xl_default_window(obs) if brand == XL else "all"
        t = obs_time(obs, default)
        html = rng.random() < 0.12
        for _ in range(30):
            text = compose_weibo(
                brand, fill_model(obs.text), obs.senti, obs.sub, rich=reused, html=html
            )
            if text not in TEXTS and 15 <= len(text) <= 200:
                break
        else:
            continue
        boost = 0.8 if (brand == XL and obs.senti == "neg" and t >= EPISODE) else 0.0
        made.append(
            add("weibo", topics, pick_ordinary(), None, text, t, obs.senti, group, boost=boost)
        )
    return made


# ---------------------------------------------------------------------------------------------
# Forums (Tieba threads; Discuz! threads with a few replies). Every forum row has a title.
# ---------------------------------------------------------------------------------------------
TITLES = {
    (XL, "product"): [
        "星澜咖啡日常分享",
        "说说你们常喝的星澜",
        "最近喝星澜的一点感受",
        "星澜咖啡好物分享",
    ],
    (XL, "store"): ["星澜咖啡门店体验", "星澜咖啡店环境怎么样", "在星澜咖啡店的小事"],
    (XL, "neutral"): ["星澜咖啡闲聊帖", "关于星澜咖啡的一点看法"],
    (XL, "oat"): ["星澜新品燕麦拿铁测评", "燕麦拿铁值得一试吗"],
    (XL, "member"): ["星澜咖啡会员日攻略", "星澜会员日几点开始？"],
    (XL, "episode"): ["星澜咖啡异物事件后续", "理性讨论星澜咖啡这次的事"],
    (XL, "yiwu"): ["星澜咖啡喝出异物，有人知道后续吗", "星澜咖啡异物事件讨论帖"],
    (XL, "stomach"): ["喝了星澜燕麦拿铁拉肚子的进来", "星澜燕麦拿铁是不是有问题"],
    (XL, "refund"): ["星澜退款太难了", "星澜咖啡退款经历（血泪教训）"],
    (XL, "attitude"): ["吐槽星澜某门店服务态度", "星澜咖啡店员态度问题"],
    (XL, "promo"): ["星澜会员日优惠券用不了？", "星澜促销活动是不是在忽悠人"],
    (XL, "delivery"): ["星澜外卖慢到离谱", "星澜外卖有人遇到过这种情况吗"],
    (QH, "battery"): ["青禾X5续航实测", "青禾手机续航怎么样", "说说青禾的电池"],
    (QH, "camera"): ["青禾Pro拍照样张分享", "青禾手机拍照体验", "晒晒青禾Pro的照片"],
    (QH, "heat"): ["青禾X5发热严重吗？", "青禾手机发热问题", "青禾手机发热正常吗"],
    (QH, "lag"): ["青禾Pro系统卡顿问题汇总", "更新后出现的问题反馈帖", "青禾手机小毛病吐槽"],
    (QH, "pos"): [
        "青禾X5使用一周感受",
        "【晒单】青禾X5开箱",
        "青禾手机真实体验",
        "说说我的青禾Pro",
    ],
    (QH, "neu"): [
        "青禾X5和青禾Pro怎么选",
        "青禾手机购机咨询",
        "新人求问青禾X5值得买吗",
        "青禾新机消息汇总",
    ],
}
FORUM_PREFIX = {
    "tieba": ["如题，", "rt，", "新人第一次发帖，", "吧友们好，", "不知道发这里合不合适，"],
    "discuz": ["本人坐标城东，", "潜水多年第一次发帖。", "各位坛友好，", "简单说两句。"],
}
FORUM_SUFFIX = {
    "pos": ["", "欢迎补充。", "以上，纯个人感受。", "有问题可以在楼下问我。"],
    "neu": ["", "求各位指点。", "谢谢各位。", "先谢过了。"],
    "neg": ["", "有同样情况的吗？", "顶起来让更多人看到。", "希望有关部门管管。"],
}


def forum_title(brand: str, obs: Obs) -> str:
    return rng.choice(TITLES.get((brand, obs.sub)) or TITLES[(brand, obs.senti)])


def compose_forum(platform: str, first: Obs, second: Obs | None, reply_to: str | None) -> str:
    parts = []
    if reply_to:
        parts.append(f"回复 {reply_to}：")
    elif rng.random() < 0.4:
        parts.append(rng.choice(FORUM_PREFIX[platform]))
    parts.append(finish(fill_model(first.text), "。" if first.senti != "neg" else "！"))
    if second is not None:
        parts.append(finish(fill_model(second.text), "。"))
    if rng.random() < 0.5:
        parts.append(rng.choice(FORUM_SUFFIX[first.senti]))
    return "".join(parts)


_forum_pairs: set[frozenset] = set()


def forum_rows(
    platform: str,
    n: int,
    brand: str,
    topics: list[str],
    deck: Deck,
    group: str,
    sentis: dict[str, float] | None = None,
    reply_share: float = 0.0,
) -> None:
    threads: list[dict] = []
    made = 0
    while made < n:
        senti = rng.choices(list(sentis), weights=list(sentis.values()))[0] if sentis else None
        obs, reused = deck.draw(senti)
        second = None
        if reused or rng.random() < 0.3:  # a reused sentence always gets company
            second = deck.draw(obs.senti, obs.win)[0]
            pair = frozenset((obs.text, second.text))
            if second == obs or pair in _forum_pairs:
                second = None
            else:
                _forum_pairs.add(pair)
        reply = None
        timeless = obs.win is None and (second is None or second.win is None)
        if platform == "discuz" and threads and timeless and rng.random() < reply_share:
            reply = rng.choice(threads)
            if reply["t"] + timedelta(minutes=30) >= END:
                reply = None
        if reply:
            lo = reply["t"] + timedelta(minutes=10)
            t = sample_time(lo, min(END, lo + timedelta(days=2)))
            floor = reply["floors"] + 1
            text = compose_forum(platform, obs, second, f"{reply['floors']}# {reply['last']}")
            title, post_id = reply["title"], f"{reply['tid']}-{floor}"
        else:
            default = xl_default_window(obs) if brand == XL else "all"
            t = obs_time(obs, default)
            text = compose_forum(platform, obs, second, None)
            title = forum_title(brand, obs)
            post_id = None
            if platform == "discuz":
                tid = new_tid()
                post_id, floor = f"{tid}-1", 1
        if text in TEXTS or not 15 <= len(text) <= 200:
            continue
        who = pick_ordinary()
        boost = 0.8 if (brand == XL and obs.senti == "neg" and t >= EPISODE) else 0.0
        add(platform, topics, who, title, text, t, obs.senti, group, boost=boost, post_id=post_id)
        made += 1
        if platform == "discuz":
            if reply:
                reply["floors"], reply["last"] = floor, who["name"]
            else:
                threads.append(
                    {"tid": tid, "title": title, "t": t, "floors": 1, "last": who["name"]}
                )


_tids: set[int] = set()


def new_tid() -> int:
    while True:
        tid = rng.randrange(88000, 89999)
        if tid not in _tids:
            _tids.add(tid)
            return tid


# ---------------------------------------------------------------------------------------------
# News. Bodies are formal; {md} becomes the publication date ("11月20日"). Some articles are
# republished by a second outlet ("据……报道，"), as news sites do.
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    body: str
    win: str
    label: str
    outlets: tuple[str, ...]  # first publishes, the rest republish


NEWS = {
    "xl_neg": [
        Article(
            "xinglan-yiwu",
            "网友称在星澜咖啡饮品中喝出异物 涉事门店回应",
            "{md}，有网友在社交平台发文称，其在星澜咖啡某门店购买的新品燕麦拿铁中喝出一块黑色塑料"
            "片，饮用后出现腹痛症状。记者随后联系涉事门店，工作人员表示已将情况上报总部，具体原因仍在"
            "调查中。目前该话题已登上热搜。",
            "evening1",
            "neg",
            ("城市晚报", "江城都市报", "晨光新闻"),
        ),
        Article(
            "xinglan-oat-complaints",
            "星澜咖啡新品燕麦拿铁遭多名消费者投诉肠胃不适",
            "继异物事件后，多名消费者在网络平台反映，饮用星澜咖啡新品燕麦拿铁后出现腹泻、胃痛等症状。"
            "记者在投诉平台看到，近两日涉及该产品的投诉已超过百条。星澜咖啡客服表示，正在核实相关情况，"
            "建议消费者保留购买凭证。",
            "day2",
            "neg",
            ("消费前沿观察",),
        ),
        Article(
            "xinglan-regulator",
            "市场监管部门介入星澜咖啡异物事件",
            "{md}，记者从市市场监督管理局获悉，针对网传星澜咖啡门店饮品中出现异物一事，执法人员已赴"
            "涉事门店开展现场检查，并对燕麦拿铁相关原料进行抽样送检。监管部门表示，将依法依规处理，调查"
            "结果将及时向社会公布。",
            "day2",
            "neg",
            ("江城都市报", "城市晚报"),
        ),
        Article(
            "xinglan-refund",
            "星澜咖啡“退款难”频遭吐槽 消费者呼吁简化流程",
            "近日，不少消费者反映在星澜咖啡申请退款时遭遇流程繁琐、客服难以接通等问题。有消费者称，"
            "提交退款申请五天仍显示“处理中”。业内人士指出，连锁餐饮品牌应建立更高效的售后机制，保障"
            "消费者的合法权益。",
            "day2",
            "neg",
            ("每日商业速递",),
        ),
        Article(
            "xinglan-statement",
            "星澜咖啡发布情况说明：涉事门店停业整改",
            "{md}下午，星澜咖啡通过官方微博发布情况说明，就顾客在门店饮品中发现异物一事致歉，称涉事"
            "门店已停业整改，燕麦拿铁相关批次原料已全部下架送检，并将为受影响顾客提供全额退款。对此，"
            "有网友表示“希望不是公关话术”。",
            "after_statement",
            "neg",
            ("南江财经", "财经早知道"),
        ),
        Article(
            "xinglan-coupon",
            "会员日优惠券无法核销 星澜咖啡称系统故障",
            "{md}为星澜咖啡会员日，多名消费者反映领取的优惠券在结算时无法使用，部分门店店员称“活动已"
            "结束”。星澜咖啡客服回应称，系线上系统故障导致，将为受影响用户补发优惠券。",
            "evening1",
            "neg",
            ("消费前沿观察",),
        ),
        Article(
            "xinglan-service-gap",
            "扩张提速之下 连锁咖啡品牌的服务短板如何补齐",
            "今年以来，星澜咖啡等新兴连锁品牌门店数量快速增长，但随之而来的食品安全、服务态度、外卖"
            "时效等问题也频频引发投诉。专家认为，门店扩张不能以牺牲品控为代价，品牌方应加强员工培训和"
            "供应链管理。",
            "day2",
            "neg",
            ("新消费研究社",),
        ),
    ],
    "xl_pos": [
        Article(
            "xinglan-autumn",
            "星澜咖啡秋冬限定系列上市 桂花拿铁回归",
            "{md}，连锁咖啡品牌星澜咖啡推出秋冬限定系列，包括桂花拿铁、焦糖海盐拿铁等四款饮品。"
            "品牌方介绍，桂花拿铁是去年冬季的人气单品，此次回归对配方进行了升级，甜度有所降低。",
            "early",
            "pos",
            ("新消费研究社",),
        ),
        Article(
            "xinglan-oat-launch",
            "星澜咖啡推出燕麦拿铁 布局植物基饮品赛道",
            "{md}，星澜咖啡宣布新品燕麦拿铁在全国门店上市。该产品采用定制燕麦奶，主打零乳糖、低负担。"
            "业内人士认为，植物基饮品正成为咖啡品牌竞争的新焦点，各品牌纷纷加码相关产品线。",
            "oat_launch",
            "pos",
            ("每日商业速递", "南江财经", "财经早知道"),
        ),
        Article(
            "xinglan-300-stores",
            "星澜咖啡年内门店数将突破三百家",
            "记者从星澜咖啡获悉，截至目前，该品牌门店数已达二百八十余家，预计年内突破三百家。星澜咖啡"
            "相关负责人表示，下一步将重点布局社区店和写字楼店，并持续提升小程序点单比例。",
            "pre",
            "pos",
            ("南江财经", "晨光新闻"),
        ),
        Article(
            "coffee-price-war",
            "咖啡价格战降温 品牌转向拼品质",
            "经历了一轮价格战后，国内现制咖啡市场正逐步回归理性。记者走访发现，包括星澜咖啡在内的多个"
            "品牌近期不再大幅打折，而是通过上新、会员体系和门店体验吸引消费者。",
            "pre",
            "neu",
            ("财经早知道",),
        ),
        Article(
            "xinglan-riverside",
            "星澜咖啡江景旗舰店开业 首日客流破千",
            "{md}，星澜咖啡江景旗舰店正式开业。该店位于滨江路，面积约四百平方米，设有烘焙工坊和阅读区。"
            "开业首日客流超过一千人次，不少市民专程前来打卡。",
            "early",
            "pos",
            ("江城都市报",),
        ),
        Article(
            "xinglan-members",
            "星澜咖啡会员数突破千万 会员日活动本周五举行",
            "星澜咖啡{md}宣布，其会员数量已突破一千万。品牌将于本周五举办会员日活动，届时全场饮品第二杯"
            "半价，会员积分翻倍。品牌方称，会员消费已占门店销售额的六成以上。",
            "member_pre",
            "pos",
            ("每日商业速递", "城市晚报"),
        ),
        Article(
            "xinglan-bakery",
            "星澜咖啡联名本地烘焙品牌推出冬季甜点",
            "星澜咖啡{md}宣布与本地烘焙品牌“麦田小屋”联名，推出栗子蛋糕、肉桂卷等四款冬季甜点，即日起"
            "在全市门店限量供应。这是星澜咖啡今年第三次开展联名合作。",
            "pre",
            "pos",
            ("新消费研究社",),
        ),
        Article(
            "coffee-survey",
            "现制咖啡消费调查：近六成受访者每周喝咖啡三次以上",
            "一项针对本市白领的消费调查显示，近六成受访者每周饮用现制咖啡三次以上，星澜咖啡、社区精品"
            "咖啡馆等是主要选择。受访者最看重的因素依次为口味、价格和便利程度。",
            "pre",
            "neu",
            ("消费前沿观察",),
        ),
        Article(
            "xinglan-packaging",
            "星澜咖啡门店启用可降解包装",
            "为响应限塑政策，星澜咖啡{md}宣布全国门店将逐步启用可降解吸管和纸质杯盖，预计年底前完成"
            "替换。有消费者表示纸吸管口感欠佳，品牌方称正在测试新材料。",
            "pre",
            "neu",
            ("晨光新闻",),
        ),
        Article(
            "xinglan-breakfast",
            "星澜咖啡推出“早八套餐” 瞄准通勤人群",
            "星澜咖啡近日上线工作日早餐套餐，咖啡搭配三明治或可颂，售价19.9元起，仅限早上7点至10点"
            "供应。品牌方称，该套餐主要面向上班族，目前已在写字楼门店试点。",
            "pre",
            "pos",
            ("城市晚报",),
        ),
    ],
    "qh": [
        Article(
            "qinghe-pro-colour",
            "青禾Pro新配色开售 影像能力获好评",
            "{md}，青禾手机旗下旗舰机型青禾Pro推出雾青新配色并正式开售。该机搭载2亿像素主摄和3倍光学"
            "长焦镜头，官方称其人像算法经过全面升级。首销当日，多个电商平台显示该机型销量位居同价位前列。",
            "qh_launch",
            "pos",
            ("数码前哨", "晨光新闻", "财经早知道"),
        ),
        Article(
            "qinghe-x5-sales",
            "青禾X5首月销量突破五十万台",
            "青禾手机{md}公布数据显示，青禾X5上市首月销量突破五十万台。该机型以大电池和快充为主要卖点，"
            "定价两千元档。业内分析认为，中端市场竞争加剧，续航正成为用户换机的重要考量。",
            "all",
            "pos",
            ("数码前哨",),
        ),
        Article(
            "qinghe-os-update",
            "青禾手机推送系统更新 修复发热卡顿问题",
            "{md}，青禾手机开始推送青禾OS 5.2版本更新，主要优化后台管理和相机启动速度，"
            "并修复了部分用户反映的充电发热、系统卡顿等问题。官方表示，此次更新将分批推送，预计一周内完成。",
            "all",
            "neu",
            ("数码前哨", "南江财经"),
        ),
        Article(
            "phone-telephoto",
            "国产手机影像竞赛升温 长焦成中高端标配",
            "随着青禾Pro等机型相继推出，长焦镜头正从旗舰机下放到中高端产品。分析人士指出，手机厂商在"
            "影像上的竞争已从像素数量转向算法与光学设计，消费者对远摄、人像等场景的需求持续上升。",
            "all",
            "neu",
            ("财经早知道",),
        ),
        Article(
            "qinghe-x5-discount",
            "青禾X5限时降价 年末手机市场促销提前",
            "青禾手机宣布青禾X5限时降价200元，活动持续至11月22日。记者走访多家手机卖场发现，今年年末"
            "促销较往年有所提前，多个品牌中端机型均有不同幅度的优惠。",
            "qh_price",
            "neu",
            ("江城都市报",),
        ),
        Article(
            "qinghe-stores",
            "青禾手机线下门店突破两千家",
            "记者从青禾手机获悉，其线下授权门店已突破两千家，覆盖全国主要地级市。青禾手机相关负责人"
            "表示，线下门店除销售外还承担售后服务功能，用户可在门店享受免费贴膜、清洁等服务。",
            "all",
            "pos",
            ("每日商业速递",),
        ),
        Article(
            "qinghe-foldable",
            "青禾手机被曝明年推出折叠屏新品",
            "据供应链消息，青禾手机计划于明年上半年发布首款折叠屏手机。对此，青禾手机方面表示“不予"
            "置评”。目前国内折叠屏市场增长迅速，多家厂商已推出第二代甚至第三代产品。",
            "all",
            "neu",
            ("数码前哨",),
        ),
        Article(
            "phone-heat",
            "手机发热投诉增多 专家提醒避免边充边玩",
            "近期，有消费者反映部分机型在玩游戏或充电时发热明显，其中涉及青禾X5等热门机型。专家提醒，"
            "手机发热多与高负载运行有关，建议避免边充电边玩大型游戏，并及时更新系统。",
            "all",
            "neg",
            ("晨光新闻",),
        ),
        Article(
            "qinghe-award",
            "青禾Pro获评年度最佳影像手机",
            "在{md}举行的年度数码产品评选中，青禾Pro获得“年度最佳影像手机”称号。评委会认为，该机在"
            "长焦和人像拍摄上表现突出，兼顾了画质与易用性。",
            "all",
            "pos",
            ("数码前哨",),
        ),
    ],
    "yd": [
        Article(
            "yunduo-guard",
            "云朵出行上线夜间“行程守护”功能",
            "{md}，网约车平台云朵出行宣布上线“行程守护”功能，夜间行程将自动开启全程录音，并可一键向"
            "紧急联系人分享实时位置。平台方面表示，录音数据加密存储，仅在发生纠纷时调取。",
            "all",
            "pos",
            ("出行产业观察", "江城都市报", "晨光新闻"),
        ),
        Article(
            "yunduo-commission",
            "云朵出行下调司机抽成比例",
            "云朵出行{md}发布公告称，将平台抽成比例上限下调至20%，并对高峰时段接单的司机给予额外补贴。"
            "有司机表示，此举能在一定程度上提升收入，但实际效果还有待观察。",
            "all",
            "neu",
            ("出行产业观察",),
        ),
        Article(
            "ridehail-surge",
            "多地交通部门约谈网约车平台 规范高峰加价",
            "近日，多地交通运输部门约谈包括云朵出行在内的多家网约车平台，要求规范高峰时段动态加价行为，"
            "明示计价规则，不得随意变更预估价格。平台方表示将积极整改。",
            "all",
            "neg",
            ("南江财经", "城市晚报"),
        ),
        Article(
            "yunduo-night-orders",
            "周末出行数据：夜间网约车订单同比增长三成",
            "云朵出行发布的数据显示，上周末夜间（22时至次日2时）订单量同比增长约30%，其中餐饮商圈和"
            "演出场馆周边需求最为集中。平台称已在热门区域增加运力调度。",
            "all",
            "neu",
            ("出行产业观察", "财经早知道"),
        ),
        Article(
            "yunduo-airport",
            "云朵出行推出机场接送预约服务",
            "云朵出行{md}上线机场接送机预约服务，用户可提前24小时预约，航班延误时司机免费等待。该服务"
            "首批覆盖全国二十个城市的主要机场。",
            "all",
            "pos",
            ("出行产业观察",),
        ),
        Article(
            "ridehail-rain",
            "雨天打车难 网约车平台运力调度面临考验",
            "{md}，本市出现降雨天气，晚高峰打车需求激增。有市民反映，在云朵出行等平台叫车需排队半小时"
            "以上。平台方面表示，已通过补贴鼓励司机上线，但供需缺口仍较大。",
            "all",
            "neg",
            ("江城都市报",),
        ),
        Article(
            "yunduo-ev",
            "云朵出行新能源车辆占比超过八成",
            "记者从云朵出行获悉，目前平台注册车辆中新能源汽车占比已超过80%。平台计划明年起在部分城市"
            "试点全电动车队，并与充电桩运营商合作为司机提供充电优惠。",
            "all",
            "neu",
            ("每日商业速递",),
        ),
        Article(
            "ridehail-complaints",
            "网约车消费投诉分析：绕路与加价仍是焦点",
            "市消费者协会发布的第三季度投诉分析显示，网约车类投诉中，绕路、预估价与实际价格不符、司机"
            "服务态度等问题占比较高，涉及云朵出行等多个平台。消协提醒乘客保留行程记录，依法维权。",
            "all",
            "neg",
            ("消费前沿观察",),
        ),
        Article(
            "yunduo-carpool",
            "云朵出行推出拼车新功能 乘客最多可省三成",
            "云朵出行近日上线升级版拼车功能，系统将根据路线相似度自动匹配同行乘客，最多可节省约30%"
            "车费。平台称，拼车订单将优先派给大空间车型，以提升乘坐体验。",
            "all",
            "pos",
            ("出行产业观察",),
        ),
        Article(
            "yunduo-metro",
            "云朵出行与地铁联运试点 一个App规划全程",
            "云朵出行{md}宣布与本市地铁合作开展联运试点，用户可在App内规划“地铁+网约车”组合路线，并"
            "享受换乘优惠。该功能首批覆盖三条地铁线路的二十个站点。",
            "all",
            "pos",
            ("江城都市报",),
        ),
    ],
    "general": [
        Article(
            "cold-wave",
            "寒潮来袭 本市最低气温将降至零下",
            "记者从市气象台获悉，受强冷空气影响，{md}起本市将出现明显降温，最低气温将降至零下2℃，并"
            "伴有5至6级偏北风。气象部门提醒市民注意防寒保暖，出行注意交通安全。",
            "all",
            "neu",
            ("江城都市报",),
        ),
        Article(
            "metro-line5",
            "地铁5号线延伸段开通试运营",
            "{md}，地铁5号线延伸段正式开通试运营，新增车站6座，全长约9公里。试运营期间，首末班车时间"
            "分别为6时和22时30分，高峰时段行车间隔约6分钟。",
            "all",
            "neu",
            ("城市晚报",),
        ),
        Article(
            "winter-vouchers",
            "本市启动冬季消费季 发放千万元消费券",
            "{md}，本市冬季消费季正式启动，活动期间将分批发放总额一千万元的消费券，覆盖餐饮、零售、"
            "文旅等领域。市民可通过政务App领取，每人每批限领一次。",
            "all",
            "neu",
            ("晨光新闻",),
        ),
        Article(
            "city-reading-rooms",
            "城市书房新增12处 24小时向市民开放",
            "记者从市文化部门了解到，今年本市新建的12处城市书房已全部投入使用，均实行24小时开放，市民"
            "凭身份证或读者证即可自助进入，书房内提供免费无线网络和饮水设施。",
            "all",
            "pos",
            ("江城都市报",),
        ),
    ],
}
NEWS_WINDOWS = {
    "early": (START, at("2026-11-15T20:00:00")),
    "oat_launch": (at("2026-11-17T10:00:00"), at("2026-11-17T18:00:00")),
}


def news_rows(key: str, topics: list[str], group: str) -> dict[str, dict]:
    """Add the articles of one group; returns each article's first publication by slug."""
    firsts: dict[str, dict] = {}
    for art in NEWS[key]:
        lo, hi = NEWS_WINDOWS.get(art.win) or WINDOWS[art.win]
        if len(art.outlets) > 1:  # leave room for the republished copies
            hi = min(hi, END - timedelta(hours=1))
        t = sample_time(lo, hi)
        first = None
        for i, outlet in enumerate(art.outlets):
            if i:
                t = sample_time(first + timedelta(minutes=20), min(END, first + timedelta(hours=8)))
            else:
                first = t
            body = art.body.replace("{md}", f"{first.month}月{first.day}日")
            if i == 1:
                body = f"据{art.outlets[0]}报道，" + body
            elif i:
                body += f"（来源：{art.outlets[0]}）"
            slug = f"{art.slug}-{t:%m%d}" + (f"-{i + 1}" if i else "")
            boost = 1.5 if (key == "xl_neg") else 0.0
            row = add(
                "news",
                topics,
                MEDIA[outlet],
                art.title,
                body,
                t,
                art.label,
                group,
                boost=boost,
                post_id=slug,
            )
            firsts.setdefault(art.slug, row)
    return firsts


def news_on_weibo(article: dict, hashtag: str, boost: float = 0.5) -> dict:
    """The outlet's own Weibo post about its article, shortly after publication."""
    t = sample_time(
        article["_t"] + timedelta(minutes=10),
        min(END, article["_t"] + timedelta(minutes=90)),
        by_hour=False,
    )
    text = f"【{article['title']}】{article['text']}"
    if len(text) > 200 - len(hashtag) - 1:
        text = text[: 200 - len(hashtag) - 2] + "…"
    return add(
        "weibo",
        list(article["topics"]),
        article["author"],
        None,
        f"{text} {hashtag}",
        t,
        article["_label"],
        article["_group"],
        boost=boost,
    )


# ---------------------------------------------------------------------------------------------
# Hand-placed posts: brand accounts, bloggers, media on Weibo, the episode's first post, the
# copy accounts, job ads, repost chains.
# ---------------------------------------------------------------------------------------------
def repost(
    parent: dict,
    reason: str,
    who: dict,
    group: str,
    label: str,
    lo_minutes: int = 3,
    hi_hours: float = 10,
    html: bool = False,
    boost: float = 0.0,
    counts: tuple[int, int, int] | None = None,
) -> dict:
    lo = parent["_t"] + timedelta(minutes=lo_minutes)
    t = sample_time(lo, min(END, lo + timedelta(hours=hi_hours)))
    name = parent["author"]["name"]
    marker = f"//{html_mention(name)}:" if html else f"//@{name}:"
    head = reason + marker
    original = strip_tags(parent["text"])
    room = 200 - len(head)
    if len(original) > room:
        original = original[: room - 1] + "…"
    return add(
        "weibo",
        list(parent["topics"]),
        who,
        None,
        head + original,
        t,
        label,
        group,
        boost=boost,
        parent=parent,
        counts=counts,
    )


def build() -> None:
    # ----- 星澜咖啡 ---------------------------------------------------------------------------
    xl_pos, xl_neg = Deck(XL_POS), Deck(XL_NEG)
    official = OFFICIAL[XL]
    add(
        "weibo",
        [XL],
        official,
        None,
        "【秋冬限定上新】桂花拿铁回归，温暖整个秋天[心] 即日起到店或小程序下单，会员享专属折扣。"
        "#星澜咖啡# #秋冬第一杯咖啡#",
        at("2026-11-14T10:00:05"),
        "pos",
        "xl_pos",
        counts=(86, 213, 1045),
    )
    add(
        "weibo",
        [XL],
        official,
        None,
        "【新品上市】星澜燕麦拿铁今日上线！精选燕麦奶，零乳糖更轻盈。转发本条抽10位送新品券～"
        "#星澜咖啡燕麦拿铁#",
        at("2026-11-17T10:00:02"),
        "pos",
        "xl_pos",
        counts=(1320, 688, 2410),
    )
    add(
        "weibo",
        [XL],
        official,
        None,
        "【会员日预告】本周五（11月20日）星澜会员日，全场饮品第二杯半价，会员积分翻倍，"
        "记得提前在小程序领券哦～ #星澜咖啡会员日#",
        at("2026-11-18T12:00:00"),
        "pos",
        "xl_pos",
        counts=(245, 179, 967),
    )
    statement = add(
        "weibo",
        [XL],
        official,
        None,
        "【情况说明】关于近期顾客在星澜咖啡门店饮品中发现异物一事，我们深表歉意。目前涉事门店已停业整改，"
        "燕麦拿铁相关批次原料已全部下架送检，我们将全力配合监管部门调查，并为受影响顾客提供全额退款"
        "及必要的医疗费用。感谢大家的监督。",
        STATEMENT_T,
        "neu",
        "xl_pos",
        counts=(2876, 9431, 3120),
    )
    add(
        "weibo",
        [XL],
        KOL["咖啡馆探店日记"],
        None,
        "【探店】星澜咖啡江景店：位置在滨江路，两层，二楼靠窗位能看江景。点了桂花拿铁和可颂，咖啡"
        "中规中矩，可颂很加分。人均35，适合周末约会。#星澜咖啡# #探店#",
        at("2026-11-15T16:20:44"),
        "pos",
        "xl_pos",
        boost=0.3,
    )
    add(
        "weibo",
        [XL],
        KOL["打工人的早C晚A"],
        None,
        "燕麦拿铁横评来了：星澜这款用的是定制燕麦奶，口感偏稠，甜度中等，适合不爱太甜的朋友。"
        "打分7.5/10<br />下期测隔壁家的，想看的扣1 #星澜咖啡燕麦拿铁#",
        at("2026-11-18T20:05:31"),
        "pos",
        "xl_pos",
        boost=0.3,
    )
    add(
        "weibo",
        [XL],
        KOL["咖啡馆探店日记"],
        None,
        "这两天后台很多人问星澜燕麦拿铁的事。说明一下：我之前测评用的是首发那天的批次，当时没喝出"
        "问题，但不代表所有门店都没问题，等官方的调查结果吧，大家身体不舒服先去医院。",
        at("2026-11-21T11:42:09"),
        "neu",
        "xl_pos",
        boost=0.5,
    )
    repost(
        statement, "希望说到做到，别光发声明[微笑]", pick_ordinary(), "xl_pos", "neu", hi_hours=4
    )
    chatter = pick_ordinary()
    add(
        "weibo",
        [XL],
        pick_ordinary(exclude=(chatter["name"],)),
        None,
        f"哈哈哈哈哈笑死[哈哈]//@{chatter['name']}:星澜的店员今天把我的名字写成了“新懒”，"
        "好像也没写错[允悲]",
        at("2026-11-16T09:12:40"),
        "pos",
        "xl_pos",
    )
    ordinary_weibo(38, XL, [XL], xl_pos, "xl_pos")
    forum_rows("tieba", 12, XL, [XL], xl_pos, "xl_pos")
    forum_rows("discuz", 10, XL, [XL], xl_pos, "xl_pos", reply_share=0.35)
    news_rows("xl_pos", [XL], "xl_pos")

    # The negative episode.
    origin = add(
        "weibo",
        [XL],
        ORIGIN_AUTHOR,
        None,
        "救命！中午在星澜咖啡店买的新品燕麦拿铁，喝到一半吸管里吸上来一块黑色的东西，倒出来一看是块"
        "硬塑料片！找店员，人家就一句“给你换一杯”。下午开始肚子一直疼，现在还在医院挂水[怒][怒]"
        "<br />#星澜咖啡异物# " + html_mention("星澜咖啡官方"),
        ORIGIN_T,
        "neg",
        "xl_neg",
        counts=(4213, 3587, 15892),
    )
    media_posts = [
        (
            "城市晚报",
            at("2026-11-20T19:08:12"),
            "【顾客称在星澜咖啡饮品中喝出塑料片 涉事门店：已配合调查】11月20日，有网友发文称在星澜"
            "咖啡门店购买的燕麦拿铁中喝出异物，饮用后出现腹痛。记者联系涉事门店，工作人员表示已将情况"
            "上报总部。#星澜咖啡异物#",
        ),
        (
            "每日商业速递",
            at("2026-11-20T22:31:47"),
            "【多名网友反映喝星澜燕麦拿铁后肠胃不适】有网友称饮用星澜咖啡新品燕麦拿铁后出现腹泻等症状，"
            "星澜咖啡客服回应称正在核实。你最近喝过这款饮品吗？#星澜咖啡燕麦拿铁# #星澜咖啡异物#",
        ),
        (
            "消费前沿观察",
            at("2026-11-21T10:17:05"),
            "【星澜咖啡退款难？记者实测：客服电话40分钟未接通】近日多名消费者投诉星澜咖啡退款流程繁琐，"
            "记者拨打其客服热线，等待40分钟仍未接通人工。#星澜咖啡退款难#",
        ),
        (
            "晨光新闻",
            at("2026-11-21T16:06:30"),
            "【星澜咖啡回应“喝出异物”：涉事门店停业整改】11月21日下午，星澜咖啡发布情况说明，称涉事"
            "门店已停业整改，燕麦拿铁相关批次原料已下架送检，将配合市场监管部门调查。你怎么看？"
            "#星澜咖啡回应#",
        ),
    ]
    media_counts = [(1893, 2204, 8120), (640, 1187, 3356), None, None]
    media_rows = [
        add("weibo", [XL], MEDIA[n], None, text, t, "neg", "xl_neg", boost=1.8, counts=c)
        for (n, t, text), c in zip(media_posts, media_counts, strict=True)
    ]
    # Copy accounts repeating one complaint with tiny edits, late on the first evening.
    base = (
        "星澜咖啡的燕麦拿铁喝出异物，喝完肚子疼了一晚上，店里还不给退款，大家千万别买了！"
        "#星澜咖啡异物#"
    )
    edits = [
        lambda s: s.replace("！", "!"),
        lambda s: s.replace("一晚上", "一整晚"),
        lambda s: s.replace("肚子疼", "肚子痛"),
        lambda s: s.replace("千万别买了！", "千万别买了！！"),
        lambda s: "扩散！" + s,
        lambda s: s.replace("#星澜咖啡异物#", "[怒]#星澜咖啡异物#"),
        lambda s: s + " 转给需要的人",
        lambda s: s.replace("，店里", "。店里"),
        lambda s: s.replace("大家", "姐妹们"),
        lambda s: "#星澜咖啡异物# " + s.replace("#星澜咖啡异物#", ""),
        lambda s: s.replace("喝出异物", "喝出了异物"),
    ]
    copies = 0
    lo, hi = at("2026-11-20T21:03:00"), at("2026-11-20T23:48:00")
    while copies < 11:
        chosen = sorted(rng.sample(range(len(edits)), rng.randint(1, 3)))
        text = base
        for i in chosen:
            text = edits[i](text)
        if copies == 10:  # one lands on Tieba too
            text = text.replace("#星澜咖啡异物#", "").strip()
        if text in TEXTS:
            continue
        platform = "tieba" if copies == 10 else "weibo"
        add(
            platform,
            [XL],
            COPY_ACCOUNTS[copies],
            "星澜咖啡千万别去了" if copies == 10 else None,
            text,
            sample_time(lo, hi, by_hour=False),
            "neg",
            "xl_neg",
        )
        copies += 1
    # Repost chains off the first post and the media posts.
    reasons = [
        "太恶心了[吐]",
        "支持博主维权！",
        "这也太吓人了吧[费解]",
        "心疼博主，早日康复[泪]",
        "我上周也喝过这款，现在有点慌",
        "星澜给个说法吧[怒]",
        "蹲一个后续[吃瓜]",
    ]
    first_reposts = [
        repost(origin, reasons[0], pick_ordinary(), "xl_neg", "neg", hi_hours=2, boost=1.5),
        repost(origin, reasons[1], pick_ordinary(), "xl_neg", "neg", hi_hours=6, html=True),
        repost(origin, reasons[3], pick_ordinary(), "xl_neg", "neg", hi_hours=12),
        repost(
            origin,
            reasons[4],
            KOL["魔都吃喝指南"],
            "xl_neg",
            "neg",
            hi_hours=8,
            counts=(1022, 640, 3588),
        ),
    ]
    repost(first_reposts[0], "已拉黑，再也不喝了", pick_ordinary(), "xl_neg", "neg", hi_hours=6)
    repost(media_rows[0], reasons[5], pick_ordinary(), "xl_neg", "neg", hi_hours=5)
    ordinary = ordinary_weibo(25, XL, [XL], xl_neg, "xl_neg")
    early = [r for r in ordinary if r["_t"] < END - timedelta(hours=2) and r["_t"] > ORIGIN_T]
    stomach = next((r for r in early if "燕麦拿铁" in r["text"]), early[0])
    repost(stomach, reasons[6], pick_ordinary(), "xl_neg", "neg", hi_hours=6)
    forum_rows("tieba", 9, XL, [XL], xl_neg, "xl_neg")
    forum_rows("discuz", 4, XL, [XL], xl_neg, "xl_neg", reply_share=0.4)
    news_rows("xl_neg", [XL], "xl_neg")

    # Job ads: found by the 星澜咖啡 search, rejected by its exclude words.
    jobs = [
        (
            "weibo",
            None,
            "【招聘】星澜咖啡（万象城店）招聘全职咖啡师2名，无经验可培训，月薪5000-7000，"
            "五险一金，有意者私信 #同城招聘#",
        ),
        (
            "tieba",
            "星澜咖啡招兼职店员，学生优先",
            "星澜咖啡大学城店招聘兼职店员，周末两天班，时薪22元，包工作餐，有健康证优先，感兴趣的"
            "楼中楼留联系方式",
        ),
        (
            "tieba",
            "【招聘】星澜咖啡门店储备店长",
            "星澜咖啡招聘储备店长若干，要求一年以上餐饮门店管理经验，薪资面议，提供住宿。投递简历请发邮件"
            "至hr@example.cn",
        ),
        (
            "discuz",
            "星澜咖啡新店开业招聘咖啡师、收银员",
            "星澜咖啡滨江新店即将开业，现招聘咖啡师3名、收银员2名，要求有责任心、能吃苦，工作地点滨江路"
            "88号，有意者电话联系王店长 138****5621",
        ),
        (
            "discuz",
            "[求职招聘] 星澜咖啡招聘外卖打包员",
            "星澜咖啡中心店招聘外卖打包员，早班7:00-15:00，月休4天，工资4500+绩效，有意者直接到店面试",
        ),
    ]
    for platform, title, text in jobs:
        post_id = f"{new_tid()}-1" if platform == "discuz" else None
        add(
            platform,
            [XL],
            pick_ordinary(),
            title,
            text,
            window("all"),
            "job",
            "xl_job",
            post_id=post_id,
        )

    # ----- 青禾手机 ---------------------------------------------------------------------------
    qh = Deck(QH_OBS)
    qh_mix = {"pos": 0.58, "neu": 0.27, "neg": 0.15}
    add(
        "weibo",
        [QH],
        OFFICIAL[QH],
        None,
        "【降价】青禾X5限时直降200元，活动截至11月22日，线上线下同价，以旧换新再享补贴。#青禾X5#",
        at("2026-11-16T10:00:00"),
        "pos",
        "qh",
        counts=(312, 420, 2280),
    )
    add(
        "weibo",
        [QH],
        OFFICIAL[QH],
        None,
        "今晚19:30，青禾Pro雾青配色发布会，我们不见不散！转发抽3位送新机 "
        "#青禾Pro# #青禾手机发布会#",
        at("2026-11-16T12:00:00"),
        "pos",
        "qh",
        counts=(5210, 1877, 6034),
    )
    add(
        "weibo",
        [QH],
        OFFICIAL[QH],
        None,
        "青禾OS 5.2更新推送中：优化后台保活，修复部分机型充电发热问题，提升相机启动速度。"
        "青禾X5、青禾Pro用户升级前请确保电量充足～",
        at("2026-11-19T18:00:00"),
        "neu",
        "qh",
        counts=(140, 902, 1533),
    )
    reviews = [
        add(
            "weibo",
            [QH],
            KOL["数码老K"],
            None,
            "【青禾X5深度评测】续航：重度使用约8小时亮屏；拍照：白天主摄表现优秀，夜景略有涂抹；"
            "发热：游戏半小时机身最高42度，可以接受。总结：同价位值得考虑。#青禾X5评测#",
            at("2026-11-15T12:30:18"),
            "pos",
            "qh",
            boost=0.5,
        ),
        add(
            "weibo",
            [QH],
            KOL["小周爱测评"],
            None,
            "青禾Pro长焦实测：3倍光学清晰锐利，10倍数码也能用，30倍就只能看个大概了。人像模式是这代"
            "最大的亮点。#青禾Pro# 完整视频：https://video.example.cn/v/qh-pro-tele",
            at("2026-11-17T19:45:02"),
            "pos",
            "qh",
            boost=0.5,
        ),
    ]
    add(
        "weibo",
        [QH],
        KOL["科技闲谈阿杰"],
        None,
        "青禾X5 vs 青禾Pro 怎么选？一句话：不拍远景就买X5，省下的钱够买一副耳机。<br />"
        "详细对比见视频 #青禾手机#",
        at("2026-11-18T21:10:55"),
        "neu",
        "qh",
        boost=0.3,
    )
    add(
        "weibo",
        [QH],
        KOL["数码老K"],
        None,
        "青禾X5三十天使用报告：系统流畅度比首发时好了一些，偶发卡顿主要在相机切换；发热控制中规中矩；"
        "续航依然是最大优点。",
        at("2026-11-20T20:20:20"),
        "neu",
        "qh",
        boost=0.3,
    )
    repost(reviews[0], "干货，收藏了[赞]", pick_ordinary(), "qh", "pos", hi_hours=20)
    repost(reviews[1], "正好在纠结，这个有用", pick_ordinary(), "qh", "pos", hi_hours=20, html=True)
    ordinary_weibo(39, QH, [QH], qh, "qh", qh_mix)
    forum_rows("tieba", 22, QH, [QH], qh, "qh", qh_mix)
    forum_rows("discuz", 16, QH, [QH], qh, "qh", qh_mix, reply_share=0.3)
    qh_news = news_rows("qh", [QH], "qh")
    news_on_weibo(qh_news["qinghe-x5-sales"], "#青禾X5#")
    news_on_weibo(qh_news["qinghe-os-update"], "#青禾手机#")

    # ----- 云朵出行 (Weibo and news only) -------------------------------------------------------
    yd = Deck(YD_OBS)
    yd_mix = {"pos": 0.28, "neu": 0.47, "neg": 0.25}
    guard = add(
        "weibo",
        [YD],
        OFFICIAL[YD],
        None,
        "【安全守护】云朵出行上线“行程守护”功能，夜间行程自动开启录音与紧急联系人分享，"
        "守护每一段路。#云朵出行#",
        at("2026-11-17T09:30:00"),
        "pos",
        "yd",
        counts=(433, 612, 2875),
    )
    add(
        "weibo",
        [YD],
        OFFICIAL[YD],
        None,
        "周末出行福利来啦！11月21日—22日，快车满20减5，领券入口见App首页～ #云朵出行#",
        at("2026-11-20T10:00:00"),
        "pos",
        "yd",
        counts=(96, 154, 730),
    )
    repost(guard, "这个功能好，深夜打车安心多了", pick_ordinary(), "yd", "pos", hi_hours=30)
    add(
        "weibo",
        [YD, XL],
        pick_ordinary(),
        None,
        "坐云朵出行去市中心，路过新开的星澜咖啡店，门口排队的人好多[馋嘴]",
        window("pre"),
        "pos",
        "yd",
    )
    add(
        "weibo",
        [YD, XL],
        pick_ordinary(),
        None,
        "云朵出行的司机师傅说，今天星澜咖啡门口都没什么人排队了，那事影响挺大[吃瓜]",
        window("day2"),
        "neu",
        "yd",
    )
    ordinary_weibo(40, YD, [YD], yd, "yd", yd_mix)
    yd_news = news_rows("yd", [YD], "yd")
    news_on_weibo(yd_news["ridehail-surge"], "#网约车#", boost=0.6)
    news_on_weibo(yd_news["ridehail-rain"], "#网约车#", boost=0.6)

    # ----- No brand at all ----------------------------------------------------------------------
    general = Deck(GENERAL_OBS)
    friend = friend_name()
    add(
        "weibo",
        [],
        pick_ordinary(exclude=(friend,)),
        None,
        f"同款同款！//@{friend}:今天的晚霞是粉紫色的，下班路上停下来拍了好久[心]",
        window("all"),
        "neu",
        "general",
    )
    ordinary_weibo(23, None, [], general, "general")
    tieba_general = [
        (
            "求推荐适合学生党的平价护肤品",
            "换季了皮肤干得起皮，预算一百以内，求推荐好用的面霜，混油皮",
        ),
        ("考研人集合，一起打卡", "考研倒计时一个月，每天早上七点到图书馆，有一起的吗？互相监督"),
        ("大家冬天都去哪里玩", "年假还剩五天，想找个暖和点的地方，预算五千以内，求推荐路线"),
        (
            "猫咪啃绿萝怎么办",
            "家里的猫今天把绿萝啃秃了，听说绿萝对猫不太好，吓得我赶紧搬走了，有经验的吧友说说",
        ),
        ("水一贴，今天的晚霞", "下班路上看到的晚霞，粉紫色的，拍了一张[图片]，吧友们今天看到了吗"),
        ("新手做红烧肉求指导", "第一次做红烧肉，糖色炒得有点苦，请问火候怎么掌握？"),
        ("天上的云朵好像一只猫", "午休抬头看到的，云朵的形状像一只趴着的猫，有图有真相[图片]"),
        ("楼上装修太吵了怎么办", "从早上八点钻到晚上，周末也不停，物业说管不了，有没有什么办法"),
    ]
    for title, text in tieba_general:
        add("tieba", [], pick_ordinary(), title, text, window("all"), "neu", "general")
    discuz_general = [
        (
            "小区停车位问题，物业能不能管管",
            "最近晚上回来车位全被外来车辆占了，跟物业反映了好几次都没有下文，大家有什么好办法吗",
        ),
        (
            "周末亲子活动推荐",
            "本周末市图书馆有绘本故事会，科技馆也有新展，带娃的可以去看看，记得提前网上预约",
        ),
        (
            "滨江路银杏大道最佳观赏期到了",
            "今天路过滨江路，银杏已经全黄了，周末去的话建议早上八点前，人少光线好",
        ),
        (
            "求推荐靠谱的装修公司",
            "新房准备装修，预算二十万左右，本地有没有口碑好的装修公司，被坑怕了",
        ),
    ]
    for title, text in discuz_general:
        add(
            "discuz",
            [],
            pick_ordinary(),
            title,
            text,
            window("all"),
            "neu",
            "general",
            post_id=f"{new_tid()}-1",
        )
    news_rows("general", [], "general")


# ---------------------------------------------------------------------------------------------
# Output and self-checks
# ---------------------------------------------------------------------------------------------
KEYS = [
    "platform",
    "post_id",
    "url",
    "topics",
    "author",
    "title",
    "text",
    "published_at",
    "crawled_at",
    "reposts",
    "comments",
    "likes",
    "parent_post_id",
]


def matches(topic: str, row: dict) -> bool:
    hay = ((row["title"] or "") + row["text"]).lower()
    if topic == XL and any(w in hay for w in XL_EXCLUDE):
        return False
    return any(w in hay for w in MATCH_WORDS[topic])


def check(lines: list[str]) -> None:
    rows = [json.loads(line) for line in lines]
    assert 340 <= len(rows) <= 380, len(rows)
    seen = set()
    weibo = {r["post_id"]: r for r in rows if r["platform"] == "weibo"}
    for r in rows:
        assert list(r) == KEYS, list(r)
        key = (r["platform"], r["post_id"])
        assert key not in seen, key
        seen.add(key)
        published = datetime.fromisoformat(r["published_at"])
        crawled = datetime.fromisoformat(r["crawled_at"])
        assert START <= published <= END, r["published_at"]
        assert published.utcoffset() == timedelta(hours=8)
        assert timedelta(minutes=5) <= crawled - published <= timedelta(minutes=120)
        assert 15 <= len(r["text"]) <= 200, (len(r["text"]), r["text"])
        assert all(isinstance(r[k], int) and r[k] >= 0 for k in ("reposts", "comments", "likes"))
        assert set(r["author"]) == {"id", "name", "followers", "verified", "verified_type"}
        assert r["author"]["verified"] == (r["author"]["verified_type"] is not None)
        platform, pid = r["platform"], r["post_id"]
        if platform == "weibo":
            assert re.fullmatch(r"5107\d{12}", pid) and r["title"] is None, pid
        elif platform == "tieba":
            assert re.fullmatch(r"\d{10}", pid) and r["title"], pid
        elif platform == "discuz":
            assert re.fullmatch(r"\d+-\d+", pid) and r["title"], pid
        else:
            assert platform == "news" and re.fullmatch(r"[a-z0-9-]+", pid) and r["title"], pid
        if r["parent_post_id"] is not None:
            parent = weibo[r["parent_post_id"]]
            assert platform == "weibo"
            assert datetime.fromisoformat(parent["published_at"]) < published
        for topic in r["topics"]:
            assert topic in MATCH_WORDS
            is_job = "招聘" in r["text"] or "招聘" in (r["title"] or "")
            assert matches(topic, r) or (topic == XL and is_job), (topic, r["text"])
        if not r["topics"]:
            assert not any(matches(t, r) for t in MATCH_WORDS), r["text"]
        if YD in r["topics"]:
            assert platform in ("weibo", "news")
    assert sum(r["parent_post_id"] is not None for r in rows) >= 8


def main(argv: list[str]) -> int:
    build()
    ROWS.sort(key=lambda r: (r["crawled_at"], r["platform"], r["post_id"]))
    lines = [json.dumps({k: r[k] for k in KEYS}, ensure_ascii=False) for r in ROWS]
    check(lines)
    sys.stdout.buffer.write(("\n".join(lines) + "\n").encode("utf-8"))
    if "--stats" in argv:
        platforms = Counter(r["platform"] for r in ROWS)
        topics = Counter(t for r in ROWS for t in r["topics"] or ["(none)"])
        xl = [r for r in ROWS if XL in r["topics"]]
        labels = Counter(r["_label"] for r in xl)
        late = sum(r["_label"] == "neg" and r["_t"] >= EPISODE for r in xl)
        print(
            f"rows={len(ROWS)} platforms={dict(platforms)} topics={dict(topics)}", file=sys.stderr
        )
        print(
            f"{XL}: {dict(labels)}; negative {labels['neg'] / len(xl):.1%}, "
            f"{late}/{labels['neg']} of them in the last 36h",
            file=sys.stderr,
        )
        print(
            f"reposts with parent: {sum(r['parent_post_id'] is not None for r in ROWS)}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
