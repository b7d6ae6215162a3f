"""Demo data of the orders app: the demo logins, customers and 90 days of orders.

Rows go in by batches (COPY on PostgreSQL) rather than through the services, which lock a row and
write one event per call: far too slow for 100,000 orders. What the services and the periodic
scans would have recorded is reproduced instead: statuses, timestamps, payments, shipments,
timeline events and exceptions.

Customers are numbered ``CUS-1000001``… and orders ``SO-1000001``…; a run creates only the
numbers missing, each from its own random generator, so a row does not depend on what was there.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import QuerySet

from csplatform.bulk import RowWriter
from csplatform.models import Storefront
from csplatform.privacy import email_blind_index, phone_blind_index
from csplatform.roles import ADMIN, AGENT, ANALYST, DEMO_GROUP, SUPERVISOR
from demo.batches import Rows, Table, batches_write
from demo.context import DEMO_PASSWORD, SeedContext, Weighted
from orders import choices, models
from orders.choices import Channel, ExceptionType
from orders.choices import OrderEventType as E
from orders.choices import OrderStatus as S
from orders.choices import ShipmentStatus as P  # of parcels
from orders.services import LOGISTICS_EXCEPTIONS, STATUS_CLEARS_EXCEPTIONS
from orders.transitions import STATUS_TIMESTAMP, check_transition

CENT, MINUTE, HOUR, DAY = Decimal("0.01"), timedelta(minutes=1), timedelta(hours=1), timedelta(1)
# Order k is SO-(1000000 + k), customer i CUS-(1000000 + i): seven digits, so that a range of
# numbers is a range of strings.
ORDER_NUMBER_BASE = CUSTOMER_NUMBER_BASE = 1_000_000
MAX_ORDERS = 8_999_999
ORDERS_PER_CUSTOMER = 3
BATCH_ORDERS = 2_000
STOREFRONT = "storefront"  # the actor label of the storefront's API key

# The role logins: username (= role group) and name, family name first.
DEMO_USERS = {AGENT: "李 思琪", SUPERVISOR: "陈 建华", ADMIN: "张 伟", ANALYST: "赵 敏"}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``"王wang 李li"`` → ``(("王", "wang"), ("李", "li"))``: characters and their pinyin."""
    return tuple(re.findall(r"([^\sa-z]+)([a-z]+)", text))


# People and places, most common first: picks lean towards the front.
SURNAMES = _pairs("""
    王wang 李li 张zhang 刘liu 陈chen 杨yang 黄huang 赵zhao 吴wu 周zhou 徐xu 孙sun 马ma 朱zhu
    胡hu 郭guo 何he 林lin 高gao 罗luo 郑zheng 梁liang 谢xie 宋song 唐tang 许xu 韩han 冯feng
    邓deng 曹cao 彭peng 曾zeng 肖xiao 田tian 董dong 袁yuan 潘pan 蒋jiang 蔡cai 余yu 杜du 叶ye
    程cheng 苏su 魏wei 吕lv 丁ding 沈shen 任ren 姚yao 卢lu 钟zhong 崔cui 汪wang 范fan 陆lu
    廖liao 方fang 欧阳ouyang 司马sima
""")
GIVEN_NAME_CHARS = _pairs("""
    伟wei 芳fang 娜na 敏min 静jing 丽li 强qiang 磊lei 军jun 洋yang 勇yong 艳yan 杰jie 娟juan
    涛tao 明ming 超chao 秀xiu 霞xia 平ping 刚gang 英ying 华hua 玉yu 萍ping 红hong 鹏peng 辉hui
    婷ting 雪xue 琳lin 晨chen 浩hao 宇yu 轩xuan 子zi 涵han 欣xin 怡yi 梓zi 睿rui 博bo 文wen
    思si 佳jia 嘉jia 俊jun 一yi 诺nuo 晓xiao 雨yu 若ruo 彤tong 泽ze 昊hao 天tian 志zhi 建jian
    国guo 海hai 丹dan 颖ying 慧hui 倩qian 燕yan 飞fei 宁ning 凯kai 琪qi 欢huan 璐lu 阳yang
    斌bin 梅mei 岚lan
""")
MOBILE_PREFIXES = _words("""
    138 139 137 136 135 150 151 152 157 158 159 182 183 187 188 130 131 132 155 156 185 186 176
    133 153 180 181 189 177 199 166 191
""")
MAIL_DOMAINS = _words("163.com 126.com foxmail.com sina.com outlook.com")
VIP_SHARE, EMAIL_SHARE = 0.08, 0.35
# Province, city, first four digits of the postcode, districts.
REGIONS = tuple(
    (province, city, postcode, tuple(districts))
    for province, city, postcode, *districts in _rows("""
        广东省 广州市 5100 天河区 越秀区 海珠区 番禺区
        广东省 深圳市 5180 南山区 福田区 宝安区 龙岗区
        上海市 上海市 2000 浦东新区 徐汇区 静安区 闵行区 杨浦区
        北京市 北京市 1000 朝阳区 海淀区 东城区 西城区 丰台区
        浙江省 杭州市 3100 西湖区 拱墅区 余杭区 滨江区
        江苏省 南京市 2100 鼓楼区 玄武区 江宁区 建邺区
        江苏省 苏州市 2150 姑苏区 吴中区 相城区 虎丘区
        四川省 成都市 6100 锦江区 武侯区 青羊区 成华区
        湖北省 武汉市 4300 江汉区 武昌区 洪山区 江岸区
        重庆市 重庆市 4000 渝中区 江北区 南岸区 沙坪坝区
        浙江省 宁波市 3150 海曙区 鄞州区 江北区
        陕西省 西安市 7100 雁塔区 碑林区 未央区 长安区
        天津市 天津市 3000 和平区 南开区 河西区 滨海新区
        山东省 青岛市 2660 市南区 崂山区 黄岛区 李沧区
        山东省 济南市 2500 历下区 市中区 槐荫区
        湖南省 长沙市 4100 岳麓区 芙蓉区 天心区 雨花区
        河南省 郑州市 4500 金水区 二七区 中原区
        福建省 厦门市 3610 思明区 湖里区 集美区
        安徽省 合肥市 2300 蜀山区 包河区 庐阳区
        辽宁省 沈阳市 1100 和平区 沈河区 浑南区
        河北省 石家庄市 0500 长安区 桥西区 裕华区
        云南省 昆明市 6500 五华区 盘龙区 官渡区
        黑龙江省 哈尔滨市 1500 南岗区 道里区 香坊区
        广西壮族自治区 南宁市 5300 青秀区 兴宁区 西乡塘区
    """)
)
STREETS = _words("""
    人民路 中山路 解放路 建设路 和平路 长江路 新华路 文化路 胜利路 科技路 学院路 青年路 朝阳路
    滨江大道 世纪大道 光明路 友谊路 东风路
""")
ESTATES = _words("""
    阳光花园 翠苑小区 锦绣家园 金色家园 幸福里 华府小区 碧水湾 书香苑 城市花园 枫林苑 御景湾
    康乐新村
""")
OFFICE_BUILDINGS = _words("科技大厦 国际金融中心 创业园 时代广场 软件园 商务中心")
WAREHOUSE_CITIES = _words("杭州 广州 上海 苏州 东莞 义乌 武汉 成都")  # where parcels leave from

# Per category: SKU prefix, share of first lines in percent, then products "name price variants"
# separated by ";" (variants A: colour × size, D: black and white, -: none).
CATALOGUE = {
    "apparel": """AP 26: 纯棉圆领短袖T恤 79 A; 修身弹力牛仔裤 199 A; 轻薄连帽羽绒服 459 A;
        针织开衫外套 169 A; 运动速干长裤 129 A; 法式碎花连衣裙 239 A; 经典帆布鞋 149 A;
        冰丝防晒衣 99 A; 加绒休闲卫衣 189 A; 羊毛围巾 128 -""",
    "electronics": """EL 18: 真无线降噪蓝牙耳机 299 D; 65W氮化镓快充充电器 129 D;
        20000mAh移动电源 149 D; 87键机械键盘 399 D; 静音无线鼠标 89 D; 智能运动手环 249 D;
        Type-C快充数据线 2米 29.90 -; 便携蓝牙音箱 219 D; 磁吸手机壳 39.90 -""",
    "beauty": """BE 16: 氨基酸洗面奶 120g 69 -; 玻尿酸补水面膜 10片装 99 -;
        清爽防晒霜 SPF50+ 129 -; 丝绒雾面口红 189 -; 烟酰胺精华液 30ml 329 -;
        温和卸妆水 400ml 79 -; 护手霜礼盒 3支装 59.90 -; 淡纹眼霜 15g 268 -""",
    "food": """FD 18: 每日坚果 30袋装 129 -; 云南小粒咖啡豆 500g 89 -; 明前西湖龙井 250g 298 -;
        五常稻花香大米 5kg 79.90 -; 手撕风干牛肉干 200g 49.90 -; 纯牛奶 250ml×24盒 69.90 -;
        柳州螺蛳粉 5袋装 45.90 -; 百花蜂蜜 500g 68 -""",
    "home": """HM 14: 全棉四件套 1.8m 299 -; 记忆棉护颈枕 129 -; 不锈钢保温杯 500ml 89 D;
        折叠收纳箱 三件套 59.90 -; 天然乳胶床垫 1.8m 1599 -; 香薰蜡烛礼盒 49 -;
        麦饭石不粘炒锅 32cm 189 -; 电热水壶 1.7L 99 D""",
    "baby": """BB 8: 婴儿纸尿裤 L码 54片 139 -; 婴幼儿配方奶粉 3段 800g 268 -;
        婴儿手口湿巾 80抽×6包 49.90 -; 儿童吸管保温杯 79 -; 纯棉婴儿连体衣 89 -;
        宝宝有机米粉 49 -; 儿童安全座椅 899 -""",
}
SIZES = ("S", "M", "L", "XL")
COLOURS = {"BK": "黑色", "WH": "白色", "GY": "灰色", "NV": "藏青"}
VARIANTS = {  # (SKU suffix, name suffix)
    "A": [(f"-{c}-{size}", f" {colour} {size}") for c, colour in COLOURS.items() for size in SIZES],
    "D": [("-BK", " 黑色"), ("-WH", " 白色")],
    "-": [("", "")],
}


class _Item(NamedTuple):
    sku: str
    name: str
    category: str
    price: Decimal


def _catalogue() -> tuple[dict[str, list[_Item]], Weighted[str]]:
    """The items of each category (SKU ``AP001-BK-S``), and the categories weighted."""
    items: dict[str, list[_Item]] = {}
    shares = []
    for category, text in CATALOGUE.items():
        head, products = text.split(":")
        prefix, share = head.split()
        shares.append((category, int(share)))
        for n, product in enumerate(products.split(";"), start=1):
            name, price, kind = product.strip().rsplit(maxsplit=2)
            items.setdefault(category, []).extend(
                _Item(f"{prefix}{n:03d}{sku}", f"{name}{label}", category, Decimal(price))
                for sku, label in VARIANTS[kind]
            )
    return items, Weighted(*shares)


ITEMS, CATEGORIES = _catalogue()
CHANNELS = Weighted(
    (Channel.APP, 38), (Channel.MINI_PROGRAM, 22), (Channel.LIVE_STREAM, 16), (Channel.WEB, 14),
    (Channel.SOCIAL, 6), (Channel.CHAT, 3), (Channel.PHONE, 1),
)  # fmt: skip
LIVE_STREAM_PRICE = Decimal("0.85")  # 直播价: the host's discount on the list price
LINE_COUNTS = Weighted((1, 55), (2, 28), (3, 12), (4, 5))
QUANTITIES = Weighted((1, 80), (2, 13), (3, 5), (5, 2))
# A shop coupon's values by the lines total it needs, highest first.
COUPONS = ((300, (30, 50)), (200, (20,)), (99, (10,)), (0, (5,)))
PAYMENT_METHODS = Weighted(("alipay", 46), ("wechat_pay", 42), ("unionpay", 7), ("credit_card", 5))
PAYMENT_FAILURES = _words("""
    余额不足 银行卡已过期 支付密码错误次数过多 银行系统繁忙，请稍后重试 超出单笔支付限额
""")
# (carrier, fastest and slowest transit in hours, tracking number: prefix, pick, digits), weight
CARRIERS = Weighted(
    (("顺丰速运", 20, 48, "SF", "", 13), 22),
    (("中通快递", 36, 96, "7", "358", 10), 24),
    (("圆通速递", 36, 96, "YT", "", 13), 18),
    (("韵达快递", 36, 96, "4", "36", 11), 16),
    (("京东物流", 16, 48, "JDX", "", 12), 14),
    (("EMS", 48, 120, "11", "", 11), 6),
)
TRACKING_NUMBERS = {name: numbers for name, _fast, _slow, *numbers in CARRIERS.options}
DELAY_REASONS = _words("""
    受天气影响，快件延误，预计晚1-2天送达 转运中心快件积压，派送延迟 因交通管制，快件暂时滞留
""")
DELIVERY_NOTES = _words("""
    已签收，签收人：本人 已签收，快递柜代收 已签收，门卫代收 已签收，家人代收
""")

# Orders are placed evenly over HISTORY and each has reached whatever step of its path falls
# before now: most are completed, the recent ones still under way.
HISTORY = 90 * DAY
NEVER_PAID_SHARE = 0.12
CLOSED_BY_SHOP_SHARE = 0.1  # of never-paid orders: closed by the shop in the payment window
CANCELLED_BY_SCAN_SHARE = 0.6  # of other never-paid orders: left unpaid past the timeout
CANCELLED_THEN_CLOSED_SHARE = 0.2  # of cancelled orders
CLOSED_AFTER_SALES_SHARE = 0.02  # of completed orders: closed once after-sales support ends
AFTER_SALES_WINDOW = 15 * DAY
PROCESSING_SHARE = 0.6  # of paid orders: marked processing before they ship
LATE_SHIPPING_SHARE = 0.03  # of paid orders: shipped after the promised hours
FAILED_FIRST_PAYMENT_SHARE = 0.02  # of paid orders
FAILED_PAYMENT_UNPAID_SHARE = 0.1  # of never-paid orders
# The first orders are placed so that each is in a different status: even a tiny demo shows all.
SHOWCASE_STATUSES = tuple(S)
# The trouble parcels ran into on their way (None: none), and what the carrier said of it.
IN_TRANSIT_PROBLEMS = Weighted((P.DELAYED, 8), (P.LOST, 1), (P.RETURNED_TO_SENDER, 1), (None, 90))
DELAYED_ON_THE_WAY = Weighted((P.DELAYED, 3), (None, 97))  # of delivered parcels
PROBLEMS = {
    P.DELAYED: DELAY_REASONS,
    P.LOST: ("快件在运输途中丢失，已登记理赔",),
    P.RETURNED_TO_SENDER: ("收件地址不详且无法联系收件人，快件退回",),
}

ORDER_TABLES = {  # parents first, so that children can point at them
    "orders": Table("orders", models.Order, with_ids=True),
    "lines": Table("order lines", models.OrderLine, parents={"order": "orders"}),
    "payments": Table("payments", models.Payment, parents={"order": "orders"}),
    "shipments": Table("shipments", models.Shipment, parents={"order": "orders"}, with_ids=True),
    "shipment_events": Table(
        "shipment events", models.ShipmentEvent, parents={"shipment": "shipments"}
    ),
    "events": Table("order events", models.OrderEvent, parents={"order": "orders"}),
    "exceptions": Table("order exceptions", models.OrderException, parents={"order": "orders"}),
}


def seed(ctx: SeedContext) -> dict[str, int]:
    """Create the demo logins, then the customers and orders up to ``ctx.size`` orders."""
    if ctx.size > MAX_ORDERS:
        raise CommandError(f"At most {MAX_ORDERS:,} demo orders fit the order numbering.")
    writer = RowWriter(ctx.now, models.Order)
    storefront = Storefront.default()  # the one the key create_api_key makes by default sees
    created = {"demo users": _seed_users(ctx), **_seed_customers(ctx, writer, storefront)}
    return created | _seed_orders(ctx, writer, storefront)


def _seed_users(ctx: SeedContext) -> int:
    """The role logins; a real account that happens to share a name is left alone."""
    groups = {g.name: g for g in Group.objects.filter(name__in=[DEMO_GROUP, *DEMO_USERS])}
    if missing := {DEMO_GROUP, *DEMO_USERS} - set(groups):
        raise CommandError(f"Role groups missing ({', '.join(sorted(missing))}): run migrate.")
    created_count = 0
    for username, name in DEMO_USERS.items():
        last_name, first_name = name.split()
        defaults = {"first_name": first_name, "last_name": last_name, "is_staff": username == ADMIN}
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={**defaults, "email": f"{username}@example.com"}
        )  # staff, not superuser: the admin site works through the role's permissions
        if created:  # only then: a password someone changed stays changed
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            created_count += 1
        elif not user.groups.filter(name=DEMO_GROUP).exists():
            warning = f"User {username!r} exists and is not a demo account; skipped."
            ctx.stdout.write(ctx.style.WARNING(warning))
            continue
        user.groups.add(groups[username], groups[DEMO_GROUP])
    return created_count


def _customer_count(orders: int) -> int:
    return -(-orders // ORDERS_PER_CUSTOMER)


def _number(prefix: str, n: int) -> str:
    return f"{prefix}-{ORDER_NUMBER_BASE + n}"


def _numbered(rows: QuerySet, field: str, prefix: str, count: int) -> QuerySet:
    """The rows whose ``field`` is one of the numbers 1…``count``."""
    first, last = _number(prefix, 1), _number(prefix, count)
    return rows.filter(**{f"{field}__gte": first, f"{field}__lte": last})


def _lean(rng: random.Random, options: tuple):
    """An element, more likely from the front of ``options`` (which lists common ones first)."""
    return options[int(len(options) * rng.random() ** 1.6)]


def _person(rng: random.Random, surname: tuple[str, str]) -> tuple[str, str, str]:
    """A Chinese name of that family, its pinyin and a mobile number."""
    given = [rng.choice(GIVEN_NAME_CHARS) for _ in range(1 if rng.random() < 0.3 else 2)]
    name, pinyin = ("".join(parts) for parts in zip(surname, *given, strict=True))
    return name, pinyin, f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"


def _address(rng: random.Random, name: str, phone: str) -> dict:
    province, city, postcode, districts = _lean(rng, REGIONS)
    street = f"{rng.choice(STREETS)}{rng.randint(1, 999)}号"
    if rng.random() < 0.8:
        floor, estate = rng.randint(1, 28), f"{rng.choice(ESTATES)}{rng.randint(1, 30)}栋"
        line1 = f"{street}{estate}{rng.randint(1, 4)}单元{floor}{rng.randint(1, 6):02d}室"
    else:
        line1 = f"{street}{rng.choice(OFFICE_BUILDINGS)}{rng.randint(2, 40)}层"
    address = {"name": name, "phone": phone, "province": province, "city": city}
    address.update(district=rng.choice(districts), line1=line1)
    return {**address, "postcode": f"{postcode}{rng.randrange(100):02d}"}


def _customer(ctx: SeedContext, index: int) -> dict:
    """Customer ``index``'s columns, and ``surname`` and ``home`` (no columns: the writer leaves
    them out) for its orders."""
    rng = ctx.rng("orders.customer", index)
    surname = _lean(rng, SURNAMES)
    name, pinyin, phone = _person(rng, surname)
    email = ""
    if rng.random() < EMAIL_SHARE:
        if rng.random() < 0.5:
            email = f"{rng.randint(10_000, 3_999_999_999)}@qq.com"
        else:
            email = f"{pinyin}{rng.randint(1, 9999)}@{rng.choice(MAIL_DOMAINS)}"
    tier = choices.CustomerTier.VIP if rng.random() < VIP_SHARE else choices.CustomerTier.REGULAR
    indexes = {"phone_index": phone_blind_index(phone), "email_index": email_blind_index(email)}
    person = {"name": name, "phone": phone, "email": email, "tier": tier, "surname": surname}
    return {**person, **indexes, "home": _address(rng, name, phone)}


def _seed_customers(ctx: SeedContext, writer: RowWriter, storefront: Storefront) -> dict:
    count = _customer_count(ctx.size)
    have = _numbered(storefront.customers.all(), "external_id", "CUS", count)
    have = set(have.values_list("external_id", flat=True))
    rows = [
        {**_customer(ctx, i), "storefront": storefront.pk, "external_id": _number("CUS", i)}
        for i in range(1, count + 1)
        if _number("CUS", i) not in have
    ]
    with transaction.atomic(using=writer.alias):
        writer.insert(models.Customer, rows)
    return {"customers": len(rows)}


def _seed_orders(ctx: SeedContext, writer: RowWriter, storefront: Storefront) -> dict:
    # Order numbers are unique across storefronts: any storefront's holds the number.
    numbers = _numbered(models.Order.objects.all(), "number", "SO", ctx.size)
    have = set(numbers.values_list("number", flat=True).iterator(chunk_size=10_000))
    missing = [k for k in range(1, ctx.size + 1) if _number("SO", k) not in have]
    count = _customer_count(ctx.size)
    customers = _numbered(storefront.customers.all(), "external_id", "CUS", count)
    builder = _Orders(ctx, dict(customers.values_list("external_id", "id")), storefront)
    return batches_write(
        ctx, writer, missing, BATCH_ORDERS, lambda: Rows(ORDER_TABLES), builder.build, "orders"
    )


def tracking_number(rng: random.Random, carrier: str) -> str:
    """A number as the carrier prints them: its prefix, perhaps one of ``pick``, random digits."""
    prefix, pick, digits = TRACKING_NUMBERS.get(carrier, ("11", "", 11))
    prefix += rng.choice(pick) if pick else ""
    return f"{prefix}{rng.randrange(10**digits):0{digits}d}"


def _transaction_id(rng: random.Random, method: str, at: datetime) -> str:
    if method == "alipay":
        return f"{at:%Y%m%d}22001{rng.randrange(10**15):015d}"
    if method == "wechat_pay":
        return f"4200{rng.randrange(10**6):06d}{at:%Y%m%d}{rng.randrange(10**10):010d}"
    return f"{at:%Y%m%d%H%M%S}{rng.randrange(10**6):06d}"


class _Step(NamedTuple):
    status: str
    after: timedelta  # since the order was placed
    scan: str = ""  # the periodic scan that took the step, if not the storefront


class _Orders:
    """Builds orders one at a time with all the storefront and the scans would have recorded:
    rows, timeline events and exceptions, in order."""

    def __init__(self, ctx: SeedContext, customer_ids: dict[str, int], storefront: Storefront):
        self.ctx, self.now, self.customer_ids = ctx, ctx.now, customer_ids
        self.storefront_id, self.customers = storefront.pk, {}
        # The thresholds the periodic scans apply, so that seeded orders agree with them.
        order_settings = models.OrderSettings.load()
        self.unpaid_timeout = timedelta(minutes=order_settings.unpaid_cancel_minutes)
        self.ship_within = timedelta(hours=order_settings.ship_within_hours)
        # What a step writes besides the order's status; it returns the event's payload.
        self.rows_of_step = {S.PAID: self._pay, S.SHIPPED: self._ship, S.DELIVERED: self._deliver}

    def build(self, k: int, batch: Rows) -> None:
        """Order ``k``: its lines, then its whole path planned and the steps taken by now."""
        self.rng = rng = self.ctx.rng("orders.order", k)
        self.batch, self.position, self.open = batch, len(batch.orders), {}
        goal = SHOWCASE_STATUSES[k - 1] if k <= len(SHOWCASE_STATUSES) else None
        # Every third order brings a new customer; the others come from those seen so far.
        newest = _customer_count(k)
        index = newest if k % ORDERS_PER_CUSTOMER == 1 else rng.randint(1, newest)
        if index not in self.customers:
            self.customers[index] = _customer(self.ctx, index)
        customer = self.customers[index]
        if rng.random() < 0.85:
            address = customer["home"]
        elif rng.random() < 0.5:  # a parcel for a relative: their own name, phone and address
            address = _address(rng, *_person(rng, customer["surname"])[::2])
        else:
            address = _address(rng, customer["name"], customer["phone"])
        self.order = {"number": _number("SO", k), "status": S.PENDING_PAYMENT}
        customer_id = self.customer_ids[_number("CUS", index)]
        self.order.update(
            customer=customer_id, channel=CHANNELS.pick(rng), shipping_address=address
        )
        self.order["storefront"] = self.storefront_id
        batch.orders.append(self.order)
        self._lines()
        self.carrier = CARRIERS.pick(rng)
        failed_payment_after, steps = self._plan(goal)
        age = self._age(steps, goal)
        placed_at = self.order["placed_at"] = self.now - age
        payload = {"status": S.PENDING_PAYMENT, "total": str(self.order["total"])}
        self._event(E.CREATED, placed_at, payload)
        if failed_payment_after is not None and failed_payment_after <= age:
            self._pay(placed_at + failed_payment_after, failed=True)
        for step in (step for step in steps if step.after <= age):
            at, rows = placed_at + step.after, self.rows_of_step.get(step.status)
            self._move(step.status, at, rows(at) if rows else {}, step.scan)
        status = self.order["status"]
        if status in (S.PAID, S.PROCESSING) and self.now - self.order["paid_at"] > self.ship_within:
            self._shipping_overdue()
        if status == S.SHIPPED:  # about one logistics update a day so far
            days = int((self.now - self.order["shipped_at"]) / DAY)
            self._on_the_way(self.now, min(len(self.route), days), IN_TRANSIT_PROBLEMS)

    def _lines(self) -> None:
        """The basket, mostly within one category, and the order's amounts."""
        rng, order, count = self.rng, self.order, LINE_COUNTS.pick(self.rng)
        category, chosen = CATEGORIES.pick(rng), {}
        while len(chosen) < count:
            if chosen and rng.random() < 0.4:
                category = CATEGORIES.pick(rng)
            item = rng.choice(ITEMS[category])
            chosen.setdefault(item.sku, item)
        lines_total = shipping_fee = discount = Decimal(0)
        for item in chosen.values():
            price = item.price
            if order["channel"] == Channel.LIVE_STREAM:
                price = (price * LIVE_STREAM_PRICE).quantize(Decimal(1)) - Decimal("0.10")
            quantity = QUANTITIES.pick(rng)
            lines_total += price * quantity
            line = {"order": self.position, "sku": item.sku, "name": item.name}
            line.update(category=item.category, quantity=quantity, unit_price=price)
            self.batch.lines.append(line)
        if lines_total < 99 and rng.random() < 0.75:  # free shipping from 99 yuan
            shipping_fee = Decimal(rng.choice((8, 10, 12)))
        if rng.random() < 0.18:  # a shop coupon
            values = next(values for least, values in COUPONS if lines_total >= least)
            discount = Decimal(rng.choice(values) if len(values) > 1 else values[0])
            discount = min(discount, lines_total)
        order.update(lines_total=lines_total, shipping_fee=shipping_fee, discount=discount)
        order["total"] = (lines_total + shipping_fee - discount).quantize(CENT)

    def _plan(self, goal: str | None) -> tuple[timedelta | None, list[_Step]]:
        """The order's whole path, future steps included, and when a payment attempt failed;
        with a ``goal``, the path passes through that status."""
        rng, timeout, failed = self.rng, self.unpaid_timeout, None
        if goal in (S.CANCELLED, S.CLOSED) or (
            goal in (None, S.PENDING_PAYMENT) and rng.random() < NEVER_PAID_SHARE
        ):
            if goal == S.CLOSED or (goal != S.CANCELLED and rng.random() < CLOSED_BY_SHOP_SHARE):
                steps = [_Step(S.CLOSED, rng.uniform(0.2, 0.95) * timeout)]
            elif rng.random() < CANCELLED_BY_SCAN_SHARE:  # just after the timeout, by the scan
                steps = [_Step(S.CANCELLED, timeout + rng.random() * MINUTE, "unpaid timeout")]
            else:
                steps = [_Step(S.CANCELLED, rng.uniform(0.05, 0.85) * timeout)]
            if steps[0].status == S.CANCELLED and rng.random() < CANCELLED_THEN_CLOSED_SHARE:
                steps.append(_Step(S.CLOSED, steps[0].after + rng.uniform(1, 3) * DAY))
            if rng.random() < FAILED_PAYMENT_UNPAID_SHARE:
                failed = steps[0].after * rng.uniform(0.2, 0.8)
            return failed, steps
        if rng.random() < FAILED_FIRST_PAYMENT_SHARE:
            failed = rng.uniform(1, 10) * MINUTE
            paid = failed + rng.uniform(1, 8) * MINUTE
        else:
            paid = (0.3 + 14.7 * rng.random() ** 2) * MINUTE  # most pay within a few minutes
        if rng.random() < LATE_SHIPPING_SHARE:
            shipped = paid + self.ship_within + rng.uniform(1, 36) * HOUR
        else:
            shipped = paid + self.ship_within * rng.uniform(0.08, 0.92)
        steps = [_Step(S.PAID, paid)]
        if goal == S.PROCESSING or rng.random() < PROCESSING_SHARE:
            steps.append(_Step(S.PROCESSING, paid + (shipped - paid) * rng.uniform(0.1, 0.6)))
        delivered = shipped + rng.uniform(*self.carrier[1:3]) * HOUR
        # Buyers confirm receipt within days; the storefront confirms the rest automatically.
        completed = delivered + rng.uniform(2, 7 * 24) * HOUR
        steps += [_Step(S.SHIPPED, shipped), _Step(S.DELIVERED, delivered)]
        steps.append(_Step(S.COMPLETED, completed))
        if rng.random() < CLOSED_AFTER_SALES_SHARE:
            steps.append(_Step(S.CLOSED, completed + AFTER_SALES_WINDOW + rng.random() * DAY))
        return failed, steps

    def _age(self, steps: list[_Step], goal: str | None) -> timedelta:
        """How long ago the order was placed: any time in HISTORY, or while in ``goal``."""
        if goal is None:
            return HISTORY * self.rng.random()
        starts = [timedelta(0), *(step.after for step in steps), HISTORY]
        i = [S.PENDING_PAYMENT, *(step.status for step in steps)].index(goal)
        end = min(starts[i + 1], HISTORY)
        return starts[i] + max(end - starts[i], timedelta(0)) * self.rng.random()

    def _event(self, type: str, at: datetime, payload: dict, by: str = STOREFRONT) -> datetime:
        """A timeline event from the storefront (recorded seconds later) or a scan; when it was
        recorded."""
        api = by == STOREFRONT
        recorded_at = at + timedelta(seconds=self.rng.uniform(0.2, 4)) if api else at
        event = {"order": self.position, "type": type, "at": at, "payload": payload}
        kind = choices.ActorKind.API_KEY if api else choices.ActorKind.SYSTEM
        event.update(recorded_at=recorded_at, actor_kind=kind, actor_label=by)
        self.batch.events.append(event)
        return recorded_at

    def _move(self, target: str, at: datetime, payload: dict, scan: str = "") -> None:
        """The storefront's status event (or the scan's), and the exceptions it makes moot."""
        check_transition(self.order["status"], target)
        if scan:  # the unpaid-order scan, the one that moves orders
            payload["reason"] = ExceptionType.PAYMENT_TIMEOUT
        payload.update({"from": self.order["status"], "to": target})
        self.order["status"] = target
        if column := STATUS_TIMESTAMP.get(target):
            self.order[column] = at
        at = self._event(E.STATUS_CHANGED if scan else E(target), at, payload, scan or STOREFRONT)
        for type in STATUS_CLEARS_EXCEPTIONS.get(target, ()):
            self._resolve(type, at)

    def _raise(self, type: str, at: datetime, details: dict) -> None:
        if type not in self.open:
            exception = {"order": self.position, "type": type, "detected_at": at}
            self.open[type] = exception | {"details": details}
            self.batch.exceptions.append(self.open[type])
            self._event(E.EXCEPTION_RAISED, at, {"exception": type, **details}, "system")

    def _resolve(self, type: str, at: datetime) -> None:
        if (exception := self.open.pop(type, None)) is not None:
            exception.update(resolved_at=at, outcome=choices.ExceptionOutcome.RESOLVED)
            payload = {"exception": type, "outcome": choices.ExceptionOutcome.RESOLVED}
            self._event(E.EXCEPTION_RESOLVED, at, payload, "system")

    def _shipping_overdue(self) -> None:
        """What the shipping-overdue scan raises on its first run after the promise passed."""
        paid_at = self.order["paid_at"]
        at = paid_at + self.ship_within + self.rng.random() * MINUTE
        self._raise(ExceptionType.SHIPPING_OVERDUE, at, {"paid_at": paid_at.isoformat()})

    def _pay(self, at: datetime, failed: bool = False) -> dict:
        """A failed payment attempt, or the payment that pays the order (its event payload)."""
        method, total = PAYMENT_METHODS.pick(self.rng), self.order["total"]
        row = {"order": self.position, "amount": total, "method": method, "at": at}
        payload = {"amount": f"{total:.2f}", "method": method}
        self.batch.payments.append(row)
        if failed:
            payload["reason"] = reason = self.rng.choice(PAYMENT_FAILURES)
            row.update(status=choices.PaymentStatus.FAILED, failure_reason=reason)
            recorded_at = self._event(E.PAYMENT_FAILED, at, payload)
            self._raise(ExceptionType.PAYMENT_FAILED, recorded_at, {"reason": reason})
        else:
            payload["transaction_id"] = transaction_id = _transaction_id(self.rng, method, at)
            row.update(status=choices.PaymentStatus.SUCCEEDED, transaction_id=transaction_id)
            self.order["paid_amount"] = total
        return payload

    def _ship(self, at: datetime) -> dict:
        if at - self.order["paid_at"] > self.ship_within:
            self._shipping_overdue()
        carrier, tracking = self.carrier[0], tracking_number(self.rng, self.carrier[0])
        self.shipment = {"order": self.position, "carrier": carrier, "tracking_number": tracking}
        self.shipment.update(status=P.IN_TRANSIT, shipped_at=at, last_update_at=at)
        self.shipment_position = len(self.batch.shipments)
        self.batch.shipments.append(self.shipment)
        origin, address = self.rng.choice(WAREHOUSE_CITIES), self.order["shipping_address"]
        city = address["city"].removesuffix("市")
        self.route = (
            f"快件已从【{origin}转运中心】发出，发往【{city}转运中心】",
            f"快件已到达【{city}转运中心】",
            f"快件已到达【{address['district']}营业部】，快递员正在派送",
        )
        self._track(P.IN_TRANSIT, f"【{origin}】{carrier}已揽收", at)
        return {"carrier": carrier, "tracking_number": tracking}

    def _track(self, status: str, description: str, at: datetime, update: bool = False) -> None:
        """A line of the carrier's tracking; an ``update`` is sent on by the storefront too."""
        event = {"shipment": self.shipment_position, "status": status, "at": at}
        self.batch.shipment_events.append({**event, "description": description})
        if not update:
            return
        self.shipment.update(status=status, last_update_at=at)
        payload = {"status": status, "description": description}
        recorded_at = self._event(E.LOGISTICS_UPDATE, at, payload)
        if status in LOGISTICS_EXCEPTIONS:
            self._raise(LOGISTICS_EXCEPTIONS[status], recorded_at, {"description": description})
        elif status == P.IN_TRANSIT:  # one parcel: it is no longer going back
            self._resolve(ExceptionType.LOGISTICS_DELAYED, recorded_at)
            self._resolve(ExceptionType.ADDRESS_PROBLEM, recorded_at)

    def _on_the_way(self, until: datetime, updates: int, problems: Weighted) -> None:
        """``updates`` logistics updates spread from shipping to ``until``, then perhaps trouble."""
        shipped_at = self.shipment["shipped_at"]
        journey = until - shipped_at
        for i in range(updates):
            moment = shipped_at + journey * (i + 1) / (updates + 1)
            self._track(P.IN_TRANSIT, self.route[i], moment, update=True)
        if status := problems.pick(self.rng):
            moment = shipped_at + journey * (updates + 0.5) / (updates + 1)
            self._track(status, self.rng.choice(PROBLEMS[status]), moment, update=True)

    def _deliver(self, at: datetime) -> dict:
        self._on_the_way(at, self.rng.randint(1, len(self.route)), DELAYED_ON_THE_WAY)
        self.shipment.update(status=P.DELIVERED, delivered_at=at, last_update_at=at)
        self._track(P.DELIVERED, self.rng.choice(DELIVERY_NOTES), at)
        return {}
