"""The scripted crisis of the demo brand 星澜咖啡, as data: who posts what, where and when.

Times are offsets from ``t0``, the moment the complaint is posted. Three quiet days before it
(``history``) give the spike detector a baseline; the replica site serves the rest
(``live``) as the simulated clock passes each post's time. Everything comes from a seeded
random generator, so every run tells the same story.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

BRAND = "星澜咖啡"
SEED = 315


@dataclass
class Author:
    uid: int
    name: str
    followers: int = 300
    verified: bool = False
    verified_type: int = -1  # Weibo: 0 person (orange V), 2-7 organisations (blue V), 3 media


@dataclass
class WeiboPost:
    post_id: str
    at: datetime
    text: str
    author: Author
    # Final counts; the site grows them from zero over ``ramp`` after the post (going viral).
    reposts: int = 0
    comments: int = 0
    likes: int = 0
    ramp: timedelta = timedelta(minutes=1)
    long: bool = False  # served cut, full text only on the detail page (isLongText)
    repost_of: str | None = None
    hot_comments: list[WeiboPost] = field(default_factory=list)
    role: str = "chatter"  # chatter, complaint, copy (paid account), media, brand


@dataclass
class ForumPost:
    pid: int
    at: datetime
    text: str
    author: str
    uid: int


@dataclass
class ForumThread:
    tid: int
    title: str
    posts: list[ForumPost]


@dataclass
class Article:
    slug: str
    at: datetime
    title: str
    paragraphs: list[str]
    reporter: str = "李明"


@dataclass
class Timeline:
    t0: datetime
    history: list[WeiboPost]
    weibo: list[WeiboPost]
    threads: list[ForumThread]
    articles: list[Article]


# -- text pools: sentences are assembled from parts so chatter is varied, not near-duplicate ----

_PRAISE = [
    "{b}的新品燕麦拿铁真的好喝",
    "今天又去了{b}，店员小姐姐很热情",
    "{b}第二杯半价太香了",
    "下午来一杯{b}的美式，提神",
    "{b}的桂花拿铁是秋天的味道",
    "和同事在{b}开了个小会，环境不错",
    "{b}会员日领了张券",
    "{b}新开的门店装修挺好看",
]
_NEUTRAL = [
    "路过{b}排队的人有点多",
    "{b}和隔壁那家哪个好喝？",
    "{b}出了秋季限定杯",
    "听说{b}要在地铁站开店了",
    "{b}的外卖今天有点慢",
]
_GRUMBLE = [
    "{b}今天的拿铁有点淡，不太满意",
    "{b}店里太吵了，体验一般",
    "{b}的外卖送到都凉了，差评",
    "{b}涨价了，有点贵",
    "在{b}等了二十分钟才拿到咖啡，服务太慢",
]
_TAILS = ["", "。", "！", "～", "，下次再来", "，大家怎么看", "[doge]", "[赞]", "，打卡", "哈哈"]
_PLACES = ["", "万象城店", "高新区店", "火车站店", "大学城店", "滨江店"]

# A complaint is an opening, a grievance and a demand: varied enough not to cluster.
_OPENINGS = [
    "看到热搜了，",
    "刚刷到，",
    "真的假的？",
    "太离谱了，",
    "我就说最近味道不对，",
    "转发一下，",
    "气死了，",
    "作为老顾客，",
    "",
]
_GRIEVANCES = [
    "{b}喝出塑料碎片太吓人了，食品安全呢",
    "{b}这是质量问题，不是退一杯钱能解决的",
    "我上周在{b}也喝到过异物，当时没在意",
    "{b}店员还说不可能？态度太差了",
    "以后不敢喝{b}了，孩子也常喝",
    "塑料片都能喝出来，{b}的后厨到底怎么管的",
    "{b}的品控太差了，退钱有什么用",
    "吓得我把手里的{b}扔了",
    "{b}说好的原料新鲜呢，让人失望",
    "{b}门店出了事先甩锅给顾客",
]
_DEMANDS = [
    "，必须给个说法",
    "，请公开检测结果",
    "，支持博主维权",
    "，等一个道歉",
    "。再也不去了",
    "！",
    "",
]
_COPY = "{b}喝出塑料片还不认账！大家千万别再去{b}了，转发扩散让更多人看到"
_COPY_TAILS = ["", "！", "！！", "。", " 转发", " 扩散", "[怒]", "，求扩散"]


# Which pool each chatter post comes from, in turn: 40 % praise, 30 % neutral, 30 % grumbles,
# evenly spread. Drawn at random, a chance run of grumbles in one ten-minute bucket was a
# negative spike of its own, and the story's alerts depended on the seed, not on the crisis.
_POOL_CYCLE = "PNGPNPGPNG"
_POOLS = {"P": _PRAISE, "N": _NEUTRAL, "G": _GRUMBLE}


def _chatter(rng: random.Random, at: datetime, index: int, prefix: str) -> WeiboPost:
    pool = _POOLS[_POOL_CYCLE[index % len(_POOL_CYCLE)]]
    text = rng.choice(pool).format(b=BRAND)
    place = rng.choice(_PLACES)
    if place:
        text = text.replace(BRAND, f"{BRAND}{place}", 1)
    text += rng.choice(_TAILS)
    author = Author(5_000_000 + index, f"用户{rng.randint(1000, 9999)}{index % 97}")
    return WeiboPost(
        f"{prefix}{index:06d}",
        at,
        text,
        author,
        reposts=rng.randint(0, 3),
        comments=rng.randint(0, 5),
        likes=rng.randint(0, 30),
    )


def _chatter_between(
    rng: random.Random, start: datetime, end: datetime, prefix: str
) -> list[WeiboPost]:
    """Ordinary chatter of a well-known brand: about fifty posts an hour by day, a tenth of a
    third of them grumbles, fewer at night (Beijing). The baseline must be this busy for a
    spike to fade back into it within the demo's simulated afternoon."""
    posts: list[WeiboPost] = []
    at = start
    while at < end:
        hour = (at.hour + 8) % 24
        rate = 4.0 if 8 <= hour < 22 else 1.0
        for _ in range(_poisson(rng, rate)):
            when = at + timedelta(seconds=rng.randint(0, 299))
            posts.append(_chatter(rng, when, len(posts), prefix))
        at += timedelta(minutes=5)
    return posts


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def build(t0: datetime, *, history_days: float = 3) -> Timeline:
    """The whole story around ``t0`` (an aware datetime)."""
    rng = random.Random(SEED)

    def m(minutes: float) -> datetime:
        return t0 + timedelta(minutes=minutes)

    history = _chatter_between(rng, t0 - timedelta(days=history_days), m(-60), "h")
    weibo = _chatter_between(rng, m(-60), m(240), "c")

    # The complaint: a long post with a photo, going viral over the next hour.
    original = WeiboPost(
        "9100000001",
        m(2),
        f"今天在{BRAND}万象城店买的生椰拿铁，喝到一半吸管吸上来一块硬塑料碎片，差点划破嘴！"
        "找店员，店员说不可能是店里的问题，只肯退一杯的钱，连句道歉都没有。"
        f"这么大的品牌，产品质量就这样？食品安全出了问题就这样敷衍顾客？照片在这里，"
        f"杯底还有两片。已经拨打12315投诉，希望{BRAND}给个说法。#{BRAND}喝出塑料片#",
        Author(7_100_001, "生椰拿铁不加冰", followers=2300),
        reposts=1500,
        comments=420,
        likes=9000,
        ramp=timedelta(minutes=60),
        long=True,
        role="complaint",
    )
    original.hot_comments = [
        WeiboPost(
            f"91000000{n:02d}",
            m(4 + n),
            text.format(b=BRAND),
            Author(7_200_000 + n, f"网友{n:02d}"),
            likes=rng.randint(200, 2000),
            role="complaint",
        )
        for n, text in enumerate(
            ["太可怕了，{b}必须道歉", "同款经历，{b}的品控真的有问题", "店员态度更让人生气"], 1
        )
    ]
    weibo.append(original)

    # Ordinary users pile in: reposts and their own complaints, rising then fading.
    per_bucket = [2, 6, 14, 26, 34, 34, 24, 12, 6, 3]
    n = 0
    for bucket, count in enumerate(per_bucket):
        for _ in range(count):
            n += 1
            text = (
                rng.choice(_OPENINGS)
                + rng.choice(_GRIEVANCES).format(b=BRAND)
                + rng.choice(_DEMANDS)
            )
            weibo.append(
                WeiboPost(
                    f"92{n:08d}",
                    m(5 + 5 * bucket + rng.uniform(0, 4.9)),
                    text,
                    Author(7_300_000 + n, f"路人{rng.randint(100, 999)}号", rng.randint(50, 5000)),
                    reposts=rng.randint(0, 40),
                    comments=rng.randint(0, 30),
                    likes=rng.randint(0, 200),
                    repost_of=original.post_id if rng.random() < 0.4 else None,
                    role="complaint",
                )
            )

    # Paid accounts: the same text, a few characters apart, within minutes (near-duplicates).
    for k in range(14):
        weibo.append(
            WeiboPost(
                f"93{k:08d}",
                m(13 + k * 0.5),
                _COPY.format(b=BRAND) + _COPY_TAILS[k % len(_COPY_TAILS)],
                Author(7_400_000 + k, f"吃瓜小能手{rng.randint(10000, 99999)}", rng.randint(3, 60)),
                reposts=rng.randint(0, 3),
                role="copy",
            )
        )

    # A verified media account (blue V, type 3) with three million followers joins in.
    weibo.append(
        WeiboPost(
            "9400000001",
            m(18),
            f"【{BRAND}被指饮品喝出塑料碎片 门店称“不可能”】今日有网友发文称，在{BRAND}万象城店"
            "购买的饮品中喝出硬质塑料碎片，门店员工否认并只同意退款，引发大量网友关注。"
            "记者已联系品牌方，截至发稿未获回应。你怎么看？",
            Author(7_500_001, "星城晚报", 3_200_000, verified=True, verified_type=3),
            reposts=1800,
            comments=950,
            likes=6400,
            ramp=timedelta(minutes=40),
            role="media",
        )
    )

    # The brand answers; the signal then fades back to the usual chatter.
    weibo.append(
        WeiboPost(
            "9500000001",
            m(42),
            f"关于{BRAND}万象城店顾客反馈的说明：我们已联系顾客当面致歉并全额退款，涉事批次原料"
            "已全部封存并送第三方检测，门店正在全面排查设备，结果将第一时间公布。感谢大家的监督。",
            Author(7_600_001, BRAND, 860_000, verified=True, verified_type=2),
            reposts=600,
            comments=1200,
            likes=3000,
            ramp=timedelta(minutes=30),
            role="brand",
        )
    )

    threads = [
        ForumThread(
            801,
            f"{BRAND}秋季新品测评，桂花拿铁值得一试",
            [
                ForumPost(8011, m(-600), f"{BRAND}的桂花拿铁甜度刚好，推荐少糖。", "咖啡豆子", 301),
                ForumPost(8012, m(-540), "同意，就是有点贵。", "拿铁控", 302),
            ],
        ),
        ForumThread(
            802,
            f"{BRAND}喝出塑料片，有人遇到过吗？",
            [
                ForumPost(
                    8021,
                    m(15),
                    f"微博上都传开了，{BRAND}万象城店的饮品喝出塑料碎片，店员还不承认。"
                    "大家平时喝的时候有没有遇到过类似的质量问题？",
                    "夜猫子",
                    303,
                ),
                ForumPost(
                    8022, m(17), f"遇到过一次，杯里有黑色的渣，{BRAND}给退了。", "老茶客", 304
                ),
                ForumPost(8023, m(21), "这种事情应该找市场监管部门。", "理性路人", 305),
                ForumPost(8024, m(26), f"{BRAND}这次要是不好好处理，口碑就完了。", "咖啡豆子", 301),
                ForumPost(8025, m(33), "已经取关了，等检测结果吧。", "拿铁控", 302),
            ],
        ),
    ]

    articles = [
        Article(
            "brand-autumn",
            m(-2880),
            f"{BRAND}推出秋季限定饮品",
            [
                f"{BRAND}今日推出秋季限定桂花拿铁，并在全市门店开展会员日活动。",
                "业内人士认为，现制咖啡市场竞争激烈，新品是吸引消费者的重要方式。",
            ],
        ),
        Article(
            "brand-plastic",
            m(24),
            f"{BRAND}饮品被指含塑料碎片 涉事门店称正在调查",
            [
                f"本报讯 今日有消费者在社交平台发文称，在{BRAND}万象城店购买的生椰拿铁中喝出"
                "硬质塑料碎片，门店员工起初否认，仅同意退还饮品费用。该帖转发量迅速上升。",
                "记者随后联系涉事门店，工作人员表示已将情况上报总部，目前正在调查原料和制作设备。",
                "律师提醒，食品中出现异物，消费者可依法要求赔偿，商家应及时核查并公开处理结果。",
            ],
        ),
    ]
    return Timeline(t0, history, weibo, threads, articles)
