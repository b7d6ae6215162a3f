"""Demo data of the orders app: the demo logins, customers and 90 days of orders.

Called by ``manage.py seed_demo``. Rows are inserted in batches (COPY on PostgreSQL,
``bulk_create`` elsewhere) rather than through the services, which lock a row and write one event
per call: far too slow for 100,000 orders. What the services would have recorded is reproduced
instead — the statuses, timestamps, payments, shipments, timeline events and exceptions an order
gets when the storefront drives it through the API and the periodic scans run.

Customers are numbered ``CUS-1000001``… and orders ``SO-1000001``…; a run creates only the
numbers that do not exist yet, each from its own random generator, so a row's content does not
depend on which rows were there before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.db import transaction

from csplatform.bulk import RowWriter
from csplatform.models import Storefront
from csplatform.privacy import email_blind_index, phone_blind_index
from csplatform.roles import ADMIN, AGENT, ANALYST, DEMO_GROUP, SUPERVISOR
from demo.batches import Rows, Table, batches_write
from demo.context import DEMO_PASSWORD, SeedContext, Weighted
from orders.choices import (
    ActorKind,
    Channel,
    CustomerTier,
    ExceptionOutcome,
    ExceptionType,
    OrderEventType,
    OrderStatus,
    PaymentStatus,
    ShipmentStatus,
)
from orders.models import (
    Customer,
    Order,
    OrderEvent,
    OrderException,
    OrderLine,
    OrderSettings,
    Payment,
    Shipment,
    ShipmentEvent,
)
from orders.services import LOGISTICS_EXCEPTIONS, STATUS_CLEARS_EXCEPTIONS
from orders.transitions import STATUS_TIMESTAMP, check_transition

if TYPE_CHECKING:
    import random

S = OrderStatus
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

ORDER_NUMBER_BASE = 1_000_000  # order k is SO-(1000000 + k)
CUSTOMER_NUMBER_BASE = 1_000_000
MAX_ORDERS = 8_999_999  # numbers keep 7 digits, so string ranges select them
ORDERS_PER_CUSTOMER = 3
BATCH_ORDERS = 2_000

STOREFRONT = "storefront"  # the actor label of the storefront's API key


# --- Demo logins ----------------------------------------------------------------------------

DEMO_USERS = (
    # username (= role group), last name, first name
    (AGENT, "李", "思琪"),
    (SUPERVISOR, "陈", "建华"),
    (ADMIN, "张", "伟"),
    (ANALYST, "赵", "敏"),
)

# --- People ---------------------------------------------------------------------------------

# Most common first: picks lean towards the front of each list.
SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("林", "lin"), ("高", "gao"), ("罗", "luo"),
    ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"),
    ("袁", "yuan"), ("潘", "pan"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"),
    ("杜", "du"), ("叶", "ye"), ("程", "cheng"), ("苏", "su"), ("魏", "wei"),
    ("吕", "lv"), ("丁", "ding"), ("沈", "shen"), ("任", "ren"), ("姚", "yao"),
    ("卢", "lu"), ("钟", "zhong"), ("崔", "cui"), ("汪", "wang"), ("范", "fan"),
    ("陆", "lu"), ("廖", "liao"), ("方", "fang"), ("欧阳", "ouyang"), ("司马", "sima"),
)  # fmt: skip
GIVEN_NAME_CHARS = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"),
    ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"),
    ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"),
    ("明", "ming"), ("超", "chao"), ("秀", "xiu"), ("霞", "xia"), ("平", "ping"),
    ("刚", "gang"), ("英", "ying"), ("华", "hua"), ("玉", "yu"), ("萍", "ping"),
    ("红", "hong"), ("鹏", "peng"), ("辉", "hui"), ("婷", "ting"), ("雪", "xue"),
    ("琳", "lin"), ("晨", "chen"), ("浩", "hao"), ("宇", "yu"), ("轩", "xuan"),
    ("子", "zi"), ("涵", "han"), ("欣", "xin"), ("怡", "yi"), ("梓", "zi"),
    ("睿", "rui"), ("博", "bo"), ("文", "wen"), ("思", "si"), ("佳", "jia"),
    ("嘉", "jia"), ("俊", "jun"), ("一", "yi"), ("诺", "nuo"), ("晓", "xiao"),
    ("雨", "yu"), ("若", "ruo"), ("彤", "tong"), ("泽", "ze"), ("昊", "hao"),
    ("天", "tian"), ("志", "zhi"), ("建", "jian"), ("国", "guo"), ("海", "hai"),
    ("丹", "dan"), ("颖", "ying"), ("慧", "hui"), ("倩", "qian"), ("燕", "yan"),
    ("飞", "fei"), ("宁", "ning"), ("凯", "kai"), ("琪", "qi"), ("欢", "huan"),
    ("璐", "lu"), ("阳", "yang"), ("斌", "bin"), ("梅", "mei"), ("岚", "lan"),
)  # fmt: skip
MOBILE_PREFIXES = (
    "138", "139", "137", "136", "135", "150", "151", "152", "157", "158", "159", "182",
    "183", "187", "188", "130", "131", "132", "155", "156", "185", "186", "176", "133",
    "153", "180", "181", "189", "177", "199", "166", "191",
)  # fmt: skip
MAIL_DOMAINS = ("163.com", "126.com", "foxmail.com", "sina.com", "outlook.com")
VIP_SHARE = 0.08
EMAIL_SHARE = 0.35

# --- Places ---------------------------------------------------------------------------------

# (province, city, districts, first four digits of the postcode); most populous first.
REGIONS = (
    ("广东省", "广州市", ("天河区", "越秀区", "海珠区", "番禺区"), "5100"),
    ("广东省", "深圳市", ("南山区", "福田区", "宝安区", "龙岗区"), "5180"),
    ("上海市", "上海市", ("浦东新区", "徐汇区", "静安区", "闵行区", "杨浦区"), "2000"),
    ("北京市", "北京市", ("朝阳区", "海淀区", "东城区", "西城区", "丰台区"), "1000"),
    ("浙江省", "杭州市", ("西湖区", "拱墅区", "余杭区", "滨江区"), "3100"),
    ("江苏省", "南京市", ("鼓楼区", "玄武区", "江宁区", "建邺区"), "2100"),
    ("江苏省", "苏州市", ("姑苏区", "吴中区", "相城区", "虎丘区"), "2150"),
    ("四川省", "成都市", ("锦江区", "武侯区", "青羊区", "成华区"), "6100"),
    ("湖北省", "武汉市", ("江汉区", "武昌区", "洪山区", "江岸区"), "4300"),
    ("重庆市", "重庆市", ("渝中区", "江北区", "南岸区", "沙坪坝区"), "4000"),
    ("浙江省", "宁波市", ("海曙区", "鄞州区", "江北区"), "3150"),
    ("陕西省", "西安市", ("雁塔区", "碑林区", "未央区", "长安区"), "7100"),
    ("天津市", "天津市", ("和平区", "南开区", "河西区", "滨海新区"), "3000"),
    ("山东省", "青岛市", ("市南区", "崂山区", "黄岛区", "李沧区"), "2660"),
    ("山东省", "济南市", ("历下区", "市中区", "槐荫区"), "2500"),
    ("湖南省", "长沙市", ("岳麓区", "芙蓉区", "天心区", "雨花区"), "4100"),
    ("河南省", "郑州市", ("金水区", "二七区", "中原区"), "4500"),
    ("福建省", "厦门市", ("思明区", "湖里区", "集美区"), "3610"),
    ("安徽省", "合肥市", ("蜀山区", "包河区", "庐阳区"), "2300"),
    ("辽宁省", "沈阳市", ("和平区", "沈河区", "浑南区"), "1100"),
    ("河北省", "石家庄市", ("长安区", "桥西区", "裕华区"), "0500"),
    ("云南省", "昆明市", ("五华区", "盘龙区", "官渡区"), "6500"),
    ("黑龙江省", "哈尔滨市", ("南岗区", "道里区", "香坊区"), "1500"),
    ("广西壮族自治区", "南宁市", ("青秀区", "兴宁区", "西乡塘区"), "5300"),
)
STREETS = (
    "人民路", "中山路", "解放路", "建设路", "和平路", "长江路", "新华路", "文化路", "胜利路",
    "科技路", "学院路", "青年路", "朝阳路", "滨江大道", "世纪大道", "光明路", "友谊路", "东风路",
)  # fmt: skip
ESTATES = (
    "阳光花园", "翠苑小区", "锦绣家园", "金色家园", "幸福里", "华府小区", "碧水湾", "书香苑",
    "城市花园", "枫林苑", "御景湾", "康乐新村",
)  # fmt: skip
OFFICE_BUILDINGS = ("科技大厦", "国际金融中心", "创业园", "时代广场", "软件园", "商务中心")
# Cities the shop's warehouses ship from.
WAREHOUSE_CITIES = ("杭州", "广州", "上海", "苏州", "东莞", "义乌", "武汉", "成都")

# --- Catalogue ------------------------------------------------------------------------------

COLOURS = (("BK", "黑色"), ("WH", "白色"), ("GY", "灰色"), ("NV", "藏青"))
SIZES = ("S", "M", "L", "XL")
APPAREL_VARIANTS = tuple((f"{c}-{s}", f"{label} {s}") for c, label in COLOURS for s in SIZES)
DEVICE_VARIANTS = (("BK", "黑色"), ("WH", "白色"))

# (category, SKU prefix, share of first lines in percent, products as (name, list price, variants))
CATALOGUE = (
    ("apparel", "AP", 26, (
        ("纯棉圆领短袖T恤", "79.00", APPAREL_VARIANTS),
        ("修身弹力牛仔裤", "199.00", APPAREL_VARIANTS),
        ("轻薄连帽羽绒服", "459.00", APPAREL_VARIANTS),
        ("针织开衫外套", "169.00", APPAREL_VARIANTS),
        ("运动速干长裤", "129.00", APPAREL_VARIANTS),
        ("法式碎花连衣裙", "239.00", APPAREL_VARIANTS),
        ("经典帆布鞋", "149.00", APPAREL_VARIANTS),
        ("冰丝防晒衣", "99.00", APPAREL_VARIANTS),
        ("加绒休闲卫衣", "189.00", APPAREL_VARIANTS),
        ("羊毛围巾", "128.00", ()),
    )),
    ("electronics", "EL", 18, (
        ("真无线降噪蓝牙耳机", "299.00", DEVICE_VARIANTS),
        ("65W氮化镓快充充电器", "129.00", DEVICE_VARIANTS),
        ("20000mAh移动电源", "149.00", DEVICE_VARIANTS),
        ("87键机械键盘", "399.00", DEVICE_VARIANTS),
        ("静音无线鼠标", "89.00", DEVICE_VARIANTS),
        ("智能运动手环", "249.00", DEVICE_VARIANTS),
        ("Type-C快充数据线 2米", "29.90", ()),
        ("便携蓝牙音箱", "219.00", DEVICE_VARIANTS),
        ("磁吸手机壳", "39.90", ()),
    )),
    ("beauty", "BE", 16, (
        ("氨基酸洗面奶 120g", "69.00", ()),
        ("玻尿酸补水面膜 10片装", "99.00", ()),
        ("清爽防晒霜 SPF50+", "129.00", ()),
        ("丝绒雾面口红", "189.00", ()),
        ("烟酰胺精华液 30ml", "329.00", ()),
        ("温和卸妆水 400ml", "79.00", ()),
        ("护手霜礼盒 3支装", "59.90", ()),
        ("淡纹眼霜 15g", "268.00", ()),
    )),
    ("food", "FD", 18, (
        ("每日坚果 30袋装", "129.00", ()),
        ("云南小粒咖啡豆 500g", "89.00", ()),
        ("明前西湖龙井 250g", "298.00", ()),
        ("五常稻花香大米 5kg", "79.90", ()),
        ("手撕风干牛肉干 200g", "49.90", ()),
        ("纯牛奶 250ml×24盒", "69.90", ()),
        ("柳州螺蛳粉 5袋装", "45.90", ()),
        ("百花蜂蜜 500g", "68.00", ()),
    )),
    ("home", "HM", 14, (
        ("全棉四件套 1.8m", "299.00", ()),
        ("记忆棉护颈枕", "129.00", ()),
        ("不锈钢保温杯 500ml", "89.00", DEVICE_VARIANTS),
        ("折叠收纳箱 三件套", "59.90", ()),
        ("天然乳胶床垫 1.8m", "1599.00", ()),
        ("香薰蜡烛礼盒", "49.00", ()),
        ("麦饭石不粘炒锅 32cm", "189.00", ()),
        ("电热水壶 1.7L", "99.00", DEVICE_VARIANTS),
    )),
    ("baby", "BB", 8, (
        ("婴儿纸尿裤 L码 54片", "139.00", ()),
        ("婴幼儿配方奶粉 3段 800g", "268.00", ()),
        ("婴儿手口湿巾 80抽×6包", "49.90", ()),
        ("儿童吸管保温杯", "79.00", ()),
        ("纯棉婴儿连体衣", "89.00", ()),
        ("宝宝有机米粉", "49.00", ()),
        ("儿童安全座椅", "899.00", ()),
    )),
)  # fmt: skip


@dataclass(frozen=True)
class _Item:
    sku: str
    name: str
    category: str
    price: Decimal


def _catalogue_items() -> dict[str, list[_Item]]:
    items: dict[str, list[_Item]] = {}
    for category, prefix, _share, products in CATALOGUE:
        for number, (name, price, variants) in enumerate(products, start=1):
            base, unit_price = f"{prefix}{number:03d}", Decimal(price)
            if variants:
                entries = [
                    _Item(f"{base}-{code}", f"{name} {label}", category, unit_price)
                    for code, label in variants
                ]
            else:
                entries = [_Item(base, name, category, unit_price)]
            items.setdefault(category, []).extend(entries)
    return items


ITEMS = _catalogue_items()
CATEGORIES = Weighted(*((category, share) for category, _prefix, share, _items in CATALOGUE))

# --- Channels, payments, carriers -----------------------------------------------------------

CHANNELS = Weighted(
    (Channel.APP, 38), (Channel.MINI_PROGRAM, 22), (Channel.LIVE_STREAM, 16), (Channel.WEB, 14),
    (Channel.SOCIAL, 6), (Channel.CHAT, 3), (Channel.PHONE, 1),
)  # fmt: skip
LIVE_STREAM_PRICE = Decimal("0.85")  # 直播价: the host's discount on the list price
LINE_COUNTS = Weighted((1, 55), (2, 28), (3, 12), (4, 5))
QUANTITIES = Weighted((1, 80), (2, 13), (3, 5), (5, 2))

PAYMENT_METHODS = Weighted(("alipay", 46), ("wechat_pay", 42), ("unionpay", 7), ("credit_card", 5))
PAYMENT_FAILURES = (
    "余额不足",
    "银行卡已过期",
    "支付密码错误次数过多",
    "银行系统繁忙，请稍后重试",
    "超出单笔支付限额",
)

# (carrier, fastest and slowest transit in hours), weight
CARRIERS = Weighted(
    (("顺丰速运", 20, 48), 22),
    (("中通快递", 36, 96), 24),
    (("圆通速递", 36, 96), 18),
    (("韵达快递", 36, 96), 16),
    (("京东物流", 16, 48), 14),
    (("EMS", 48, 120), 6),
)
DELAY_REASONS = (
    "受天气影响，快件延误，预计晚1-2天送达",
    "转运中心快件积压，派送延迟",
    "因交通管制，快件暂时滞留",
)
DELIVERY_NOTES = (
    "已签收，签收人：本人",
    "已签收，快递柜代收",
    "已签收，门卫代收",
    "已签收，家人代收",
)

# --- Lifecycles -----------------------------------------------------------------------------

# Orders are placed evenly over HISTORY and each has reached whatever step of its path falls
# before now: most are completed, the recent ones are still under way, in the proportions the
# durations below produce (a few percent shipped or delivered, the odd one pending payment).
HISTORY = 90 * DAY
NEVER_PAID_SHARE = 0.12
CLOSED_BY_SHOP_SHARE = 0.1  # of never-paid orders: closed by the shop in the payment window
CANCELLED_THEN_CLOSED_SHARE = 0.2  # of cancelled orders
CLOSED_AFTER_SALES_SHARE = 0.02  # of completed orders: closed once after-sales support ends
AFTER_SALES_WINDOW = 15 * DAY
PROCESSING_SHARE = 0.6  # of paid orders: marked processing before they ship
LATE_SHIPPING_SHARE = 0.03  # of paid orders: shipped after the promised hours
FAILED_FIRST_PAYMENT_SHARE = 0.02  # of paid orders
FAILED_PAYMENT_UNPAID_SHARE = 0.1  # of never-paid orders
# The first orders are placed so that each is in a different status, so even a tiny demo
# shows every one.
SHOWCASE_STATUSES = tuple(OrderStatus)

# Parcels still on their way that ran into trouble: (status, share, descriptions).
IN_TRANSIT_PROBLEMS = (
    (ShipmentStatus.DELAYED, 0.08, DELAY_REASONS),
    (ShipmentStatus.LOST, 0.01, ("快件在运输途中丢失，已登记理赔",)),
    (ShipmentStatus.RETURNED_TO_SENDER, 0.01, ("收件地址不详且无法联系收件人，快件退回",)),
)
# Delivered parcels that were delayed on the way.
DELAYED_ON_THE_WAY = ((ShipmentStatus.DELAYED, 0.03, DELAY_REASONS),)


def seed(ctx: SeedContext) -> dict[str, int]:
    """Create the demo logins, then the customers and orders up to ``ctx.size`` orders."""
    if ctx.size > MAX_ORDERS:
        raise CommandError(f"At most {MAX_ORDERS:,} demo orders fit the order numbering.")
    writer = RowWriter(ctx.now, Order)
    created = {"demo users": _seed_users(ctx)}
    # The demo shop is the default storefront: the key create_api_key makes by default sees it.
    storefront = Storefront.default()
    created.update(_seed_customers(ctx, writer, storefront))
    created.update(_seed_orders(ctx, writer, storefront))
    return created


# --- Users ----------------------------------------------------------------------------------


def _seed_users(ctx: SeedContext) -> int:
    wanted = {DEMO_GROUP, *(username for username, _last, _first in DEMO_USERS)}
    groups = {g.name: g for g in Group.objects.filter(name__in=wanted)}
    missing = wanted - set(groups)
    if missing:
        raise CommandError(f"Role groups missing ({', '.join(sorted(missing))}): run migrate.")
    User = get_user_model()
    created_count = 0
    for username, last_name, first_name in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@example.com",
                # Staff, not superuser: the admin site then works through the role's permissions.
                "is_staff": username == ADMIN,
            },
        )
        if created:
            # Only on creation: a password someone changed stays changed.
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            created_count += 1
        elif not user.groups.filter(name=DEMO_GROUP).exists():
            # A real account that happens to share the name is not turned into a demo login.
            ctx.stdout.write(
                ctx.style.WARNING(f"User {username!r} exists and is not a demo account; skipped.")
            )
            continue
        user.groups.add(groups[username], groups[DEMO_GROUP])
    return created_count


# --- Customers ------------------------------------------------------------------------------


def _customer_ref(index: int) -> str:
    return f"CUS-{CUSTOMER_NUMBER_BASE + index}"


def _order_number(k: int) -> str:
    return f"SO-{ORDER_NUMBER_BASE + k}"


def _lean(rng: random.Random, options: tuple):
    """An element, more likely from the front of ``options`` (which lists common ones first)."""
    return options[int(len(options) * rng.random() ** 1.6)]


def _person_name(rng: random.Random, surname: tuple[str, str]) -> tuple[str, str]:
    """A Chinese name of that family, and its pinyin."""
    family, family_py = surname
    given = [rng.choice(GIVEN_NAME_CHARS) for _ in range(1 if rng.random() < 0.3 else 2)]
    return family + "".join(c for c, _ in given), family_py + "".join(p for _, p in given)


def _mobile(rng: random.Random) -> str:
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"


def _address(rng: random.Random, name: str, phone: str) -> dict:
    province, city, districts, postcode = _lean(rng, REGIONS)
    street = f"{rng.choice(STREETS)}{rng.randint(1, 999)}号"
    if rng.random() < 0.8:
        floor = rng.randint(1, 28)
        line1 = (
            f"{street}{rng.choice(ESTATES)}{rng.randint(1, 30)}栋"
            f"{rng.randint(1, 4)}单元{floor}{rng.randint(1, 6):02d}室"
        )
    else:
        line1 = f"{street}{rng.choice(OFFICE_BUILDINGS)}{rng.randint(2, 40)}层"
    return {
        "name": name,
        "phone": phone,
        "province": province,
        "city": city,
        "district": rng.choice(districts),
        "line1": line1,
        "postcode": f"{postcode}{rng.randrange(100):02d}",
    }


@dataclass(frozen=True)
class _Profile:
    surname: tuple[str, str]
    name: str
    phone: str
    email: str
    tier: str
    home: dict


def _customer_profile(ctx: SeedContext, index: int) -> _Profile:
    rng = ctx.rng("orders.customer", index)
    surname = _lean(rng, SURNAMES)
    name, pinyin = _person_name(rng, surname)
    phone = _mobile(rng)
    email = ""
    if rng.random() < EMAIL_SHARE:
        if rng.random() < 0.5:
            email = f"{rng.randint(10_000, 3_999_999_999)}@qq.com"
        else:
            email = f"{pinyin}{rng.randint(1, 9999)}@{rng.choice(MAIL_DOMAINS)}"
    tier = CustomerTier.VIP if rng.random() < VIP_SHARE else CustomerTier.REGULAR
    return _Profile(surname, name, phone, email, tier, _address(rng, name, phone))


def _customer_count(orders: int) -> int:
    return -(-orders // ORDERS_PER_CUSTOMER)


def _existing(rows, field_name: str, first: str, last: str) -> set[str]:
    """The values of a numbered column within [first, last]; same-width numbers sort as text."""
    return set(
        rows.filter(**{f"{field_name}__gte": first, f"{field_name}__lte": last})
        .values_list(field_name, flat=True)
        .iterator(chunk_size=10_000)
    )


def _seed_customers(ctx: SeedContext, writer: RowWriter, storefront: Storefront) -> dict[str, int]:
    count = _customer_count(ctx.size)
    if not count:
        return {}
    have = _existing(
        Customer.objects.filter(storefront=storefront),
        "external_id",
        _customer_ref(1),
        _customer_ref(count),
    )
    rows = []
    for index in range(1, count + 1):
        ref = _customer_ref(index)
        if ref not in have:
            p = _customer_profile(ctx, index)
            rows.append(
                {
                    "storefront": storefront.pk,
                    "external_id": ref,
                    "name": p.name,
                    "phone": p.phone,
                    "email": p.email,
                    "phone_index": phone_blind_index(p.phone),
                    "email_index": email_blind_index(p.email),
                    "tier": p.tier,
                }
            )
    with transaction.atomic(using=writer.alias):
        writer.insert(Customer, rows)
    return {"customers": len(rows)}


# --- Orders ---------------------------------------------------------------------------------


# Parents first, so that children can point at them.
ORDER_TABLES = {
    "orders": Table("orders", Order, with_ids=True),
    "lines": Table("order lines", OrderLine, parents={"order": "orders"}),
    "payments": Table("payments", Payment, parents={"order": "orders"}),
    "shipments": Table("shipments", Shipment, parents={"order": "orders"}, with_ids=True),
    "shipment_events": Table("shipment events", ShipmentEvent, parents={"shipment": "shipments"}),
    "events": Table("order events", OrderEvent, parents={"order": "orders"}),
    "exceptions": Table("order exceptions", OrderException, parents={"order": "orders"}),
}


def _seed_orders(ctx: SeedContext, writer: RowWriter, storefront: Storefront) -> dict[str, int]:
    totals: dict[str, int] = {}
    if not ctx.size:
        return totals
    # Order numbers are unique across storefronts: any storefront's holds the number.
    have = _existing(Order.objects.all(), "number", _order_number(1), _order_number(ctx.size))
    missing = [k for k in range(1, ctx.size + 1) if _order_number(k) not in have]
    if not missing:
        return totals
    customer_ids = dict(
        Customer.objects.filter(
            storefront=storefront,
            external_id__gte=_customer_ref(1),
            external_id__lte=_customer_ref(_customer_count(ctx.size)),
        ).values_list("external_id", "id")
    )
    builder = _OrderBuilder(ctx, customer_ids, storefront)

    return batches_write(
        ctx, writer, missing, BATCH_ORDERS, lambda: Rows(ORDER_TABLES), builder.build, "orders"
    )


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


# A carrier's tracking numbers: a prefix, perhaps one of some characters, then random digits.
TRACKING_NUMBERS = {
    "顺丰速运": ("SF", "", 13),
    "中通快递": ("7", "358", 10),
    "圆通速递": ("YT", "", 13),
    "韵达快递": ("4", "36", 11),
    "京东物流": ("JDX", "", 12),
}


def tracking_number(rng: random.Random, carrier: str) -> str:
    prefix, pick, digits = TRACKING_NUMBERS.get(carrier, ("11", "", 11))
    prefix += rng.choice(pick) if pick else ""
    return f"{prefix}{rng.randrange(10**digits):0{digits}d}"


def _transaction_id(rng: random.Random, method: str, at: datetime) -> str:
    if method == "alipay":
        return f"{at:%Y%m%d}22001{rng.randrange(10**15):015d}"
    if method == "wechat_pay":
        return f"4200{rng.randrange(10**6):06d}{at:%Y%m%d}{rng.randrange(10**10):010d}"
    return f"{at:%Y%m%d%H%M%S}{rng.randrange(10**6):06d}"


@dataclass(frozen=True)
class _Step:
    status: str
    after: timedelta  # since the order was placed
    by_scan: bool = False  # made by the unpaid-order scan rather than the storefront


class _OrderBuilder:
    """Builds one order with everything the storefront and the scans would have recorded."""

    def __init__(self, ctx: SeedContext, customer_ids: dict[str, int], storefront: Storefront):
        self.ctx = ctx
        self.now = ctx.now
        self.customer_ids = customer_ids
        self.storefront_id = storefront.pk
        self.profiles: dict[int, _Profile] = {}
        # The thresholds the periodic scans apply, so that seeded orders agree with them.
        order_settings = OrderSettings.load()
        self.unpaid_timeout = timedelta(minutes=order_settings.unpaid_cancel_minutes)
        self.ship_within = timedelta(hours=order_settings.ship_within_hours)

    def build(self, k: int, batch: Rows) -> None:
        rng = self.ctx.rng("orders.order", k)
        goal = SHOWCASE_STATUSES[k - 1] if k <= len(SHOWCASE_STATUSES) else None
        # Every third order brings a new customer; the others come from those seen so far.
        newest = _customer_count(k)
        customer_index = newest if k % ORDERS_PER_CUSTOMER == 1 else rng.randint(1, newest)
        order = self._order(rng, k, self._profile(customer_index))
        order["customer"] = self.customer_ids[_customer_ref(customer_index)]
        order["storefront"] = self.storefront_id
        position = len(batch.orders)
        batch.orders.append(order)
        self._lines(rng, position, order, batch)
        self._lifecycle(rng, position, order, batch, goal)

    def _profile(self, index: int) -> _Profile:
        profile = self.profiles.get(index)
        if profile is None:
            profile = self.profiles[index] = _customer_profile(self.ctx, index)
        return profile

    def _order(self, rng: random.Random, k: int, profile: _Profile) -> dict:
        if rng.random() < 0.85:
            address = profile.home
        elif rng.random() < 0.5:
            # A parcel for a relative: same family name, their own phone and address.
            relative, _ = _person_name(rng, profile.surname)
            address = _address(rng, relative, _mobile(rng))
        else:
            address = _address(rng, profile.name, profile.phone)
        return {
            "number": _order_number(k),
            "channel": CHANNELS.pick(rng),
            "currency": "CNY",
            "shipping_address": address,
            "paid_amount": ZERO,
            "refunded_amount": ZERO,
        }

    def _lines(self, rng: random.Random, position: int, order: dict, batch: Rows) -> None:
        count = LINE_COUNTS.pick(rng)
        category = CATEGORIES.pick(rng)
        chosen: dict[str, _Item] = {}
        while len(chosen) < count:
            # Baskets mostly stay within one category.
            if chosen and rng.random() < 0.4:
                category = CATEGORIES.pick(rng)
            item = rng.choice(ITEMS[category])
            chosen.setdefault(item.sku, item)
        lines_total = ZERO
        for item in chosen.values():
            price = item.price
            if order["channel"] == Channel.LIVE_STREAM:
                price = (price * LIVE_STREAM_PRICE).quantize(Decimal(1)) - Decimal("0.10")
            quantity = QUANTITIES.pick(rng)
            lines_total += price * quantity
            batch.lines.append(
                {
                    "order": position,
                    "sku": item.sku,
                    "name": item.name,
                    "category": item.category,
                    "quantity": quantity,
                    "unit_price": _money(price),
                    "quantity_returned": 0,
                }
            )
        shipping_fee = ZERO
        if lines_total < 99 and rng.random() < 0.75:  # free shipping from 99 yuan
            shipping_fee = Decimal(rng.choice((8, 10, 12)))
        discount = ZERO
        if rng.random() < 0.18:  # a shop coupon
            if lines_total >= 300:
                discount = Decimal(rng.choice((30, 50)))
            elif lines_total >= 200:
                discount = Decimal(20)
            elif lines_total >= 99:
                discount = Decimal(10)
            else:
                discount = Decimal(5)
        lines_total, discount = _money(lines_total), min(discount, lines_total)
        order["lines_total"] = lines_total
        order["shipping_fee"] = _money(shipping_fee)
        order["discount"] = _money(discount)
        order["total"] = order["lines_total"] + order["shipping_fee"] - order["discount"]

    def _lifecycle(
        self, rng: random.Random, position: int, order: dict, batch: Rows, goal: str | None
    ) -> None:
        """Plan the order's whole path, place it in time, then record the steps taken by now."""
        carrier = CARRIERS.pick(rng)
        failed_payment_after, steps = self._plan(rng, carrier, goal)
        age = self._age(rng, steps, goal)
        placed_at = order["placed_at"] = self.now - age
        taken = [step for step in steps if step.after <= age]
        status = order["status"] = taken[-1].status if taken else S.PENDING_PAYMENT

        timeline = _Timeline(rng, position, order, batch, self.ship_within)
        timeline.created()
        if failed_payment_after is not None and failed_payment_after <= age:
            timeline.payment(placed_at + failed_payment_after)
        previous = S.PENDING_PAYMENT
        for step in taken:
            at = placed_at + step.after
            if step.status == S.PAID:
                timeline.payment(at, previous)
            elif step.status == S.SHIPPED:
                timeline.shipped(previous, at, carrier[0])
            elif step.status == S.DELIVERED:
                timeline.delivered(previous, at)
            elif step.by_scan:
                reason = {"reason": ExceptionType.PAYMENT_TIMEOUT}
                timeline.transition(previous, S.CANCELLED, at, reason, scan="unpaid timeout")
            else:
                timeline.transition(previous, step.status, at)
            previous = step.status
        if status in (S.PAID, S.PROCESSING) and self.now - order["paid_at"] > self.ship_within:
            timeline.shipping_overdue()
        if status == S.SHIPPED:  # about one logistics update a day so far
            days = int((self.now - order["shipped_at"]) / DAY)
            timeline.on_the_way(self.now, min(len(timeline.route), days), IN_TRANSIT_PROBLEMS)

    def _age(self, rng: random.Random, steps: list[_Step], goal: str | None) -> timedelta:
        """How long ago the order was placed: any time in HISTORY, or while in ``goal``."""
        if goal is None:
            return HISTORY * rng.random()
        starts = [timedelta(0), *(step.after for step in steps)]
        statuses = [S.PENDING_PAYMENT, *(step.status for step in steps)]
        i = statuses.index(goal)
        start = starts[i]
        end = min(starts[i + 1] if i + 1 < len(starts) else HISTORY, HISTORY)
        return start + max(end - start, timedelta(0)) * rng.random()

    def _plan(
        self, rng: random.Random, carrier: tuple, goal: str | None
    ) -> tuple[timedelta | None, list[_Step]]:
        """The order's whole path, future steps included, and when a payment attempt failed.

        With a ``goal``, the path passes through that status.
        """
        if goal in (S.CANCELLED, S.CLOSED):
            never_paid = True
        elif goal in (None, S.PENDING_PAYMENT):
            never_paid = rng.random() < NEVER_PAID_SHARE
        else:
            never_paid = False
        failed_payment_after = None
        if never_paid:
            closed_by_shop = goal == S.CLOSED or (
                goal != S.CANCELLED and rng.random() < CLOSED_BY_SHOP_SHARE
            )
            if closed_by_shop:
                steps = [_Step(S.CLOSED, rng.uniform(0.2, 0.95) * self.unpaid_timeout)]
            else:
                steps = [self._cancel_step(rng)]
                if rng.random() < CANCELLED_THEN_CLOSED_SHARE:
                    steps.append(_Step(S.CLOSED, steps[0].after + rng.uniform(1, 3) * DAY))
            if rng.random() < FAILED_PAYMENT_UNPAID_SHARE:
                failed_payment_after = steps[0].after * rng.uniform(0.2, 0.8)
            return failed_payment_after, steps
        if rng.random() < FAILED_FIRST_PAYMENT_SHARE:
            failed_payment_after = rng.uniform(1, 10) * MINUTE
        steps = self._paid_steps(rng, carrier, failed_payment_after, goal == S.PROCESSING)
        if rng.random() < CLOSED_AFTER_SALES_SHARE:
            closed = steps[-1].after + AFTER_SALES_WINDOW + rng.random() * DAY
            steps.append(_Step(S.CLOSED, closed))
        return failed_payment_after, steps

    def _cancel_step(self, rng: random.Random) -> _Step:
        if rng.random() < 0.6:
            # Left unpaid: the minute-by-minute scan cancels it just after the timeout.
            return _Step(S.CANCELLED, self.unpaid_timeout + rng.random() * MINUTE, by_scan=True)
        return _Step(S.CANCELLED, rng.uniform(0.05, 0.85) * self.unpaid_timeout)

    def _paid_steps(
        self,
        rng: random.Random,
        carrier: tuple,
        failed_payment_after: timedelta | None,
        processing: bool,
    ) -> list[_Step]:
        """Paid, perhaps processing, shipped, delivered and completed, timed from placing."""
        if failed_payment_after is not None:
            paid = failed_payment_after + rng.uniform(1, 8) * MINUTE
        else:
            paid = (0.3 + 14.7 * rng.random() ** 2) * MINUTE  # most pay within a few minutes
        if rng.random() < LATE_SHIPPING_SHARE:
            ship_after = self.ship_within + rng.uniform(1, 36) * HOUR
        else:
            ship_after = self.ship_within * rng.uniform(0.08, 0.92)
        steps = [_Step(S.PAID, paid)]
        if processing or rng.random() < PROCESSING_SHARE:
            steps.append(_Step(S.PROCESSING, paid + ship_after * rng.uniform(0.1, 0.6)))
        shipped = paid + ship_after
        _name, fastest, slowest = carrier
        delivered = shipped + rng.uniform(fastest, slowest) * HOUR
        # Buyers confirm receipt within days; the storefront confirms the rest automatically.
        completed = delivered + rng.uniform(2, 7 * 24) * HOUR
        return [
            *steps,
            _Step(S.SHIPPED, shipped),
            _Step(S.DELIVERED, delivered),
            _Step(S.COMPLETED, completed),
        ]


class _Timeline:
    """Records one order's history as the services would: rows, events, exceptions, in order."""

    def __init__(
        self, rng: random.Random, position: int, order: dict, batch: Rows, ship_within: timedelta
    ):
        self.rng = rng
        self.position = position  # the order's place in the batch, its id until written
        self.order = order
        self.batch = batch
        self.ship_within = ship_within
        self.open_exceptions: dict[str, dict] = {}
        self.shipment: dict = {}
        self.shipment_position = -1
        self.route: tuple[str, ...] = ()

    def storefront(self, type: str, at: datetime, payload: dict) -> datetime:
        """Record an event the storefront sent; returns when the platform recorded it."""
        recorded_at = at + timedelta(seconds=self.rng.uniform(0.2, 4))
        self.system(type, at, payload, STOREFRONT, recorded_at, ActorKind.API_KEY)
        return recorded_at

    def system(
        self, type, at, payload, label="system", recorded_at=None, kind=ActorKind.SYSTEM
    ) -> None:
        self.batch.events.append(
            {
                "order": self.position,
                "type": type,
                "at": at,
                "recorded_at": recorded_at or at,
                "actor_kind": kind,
                "actor_label": label,
                "payload": payload,
            }
        )

    def created(self) -> None:
        payload = {"status": S.PENDING_PAYMENT, "total": str(self.order["total"])}
        self.storefront(OrderEventType.CREATED, self.order["placed_at"], payload)

    def transition(
        self, previous: str, target: str, at: datetime, payload: dict | None = None, scan=""
    ) -> None:
        """The storefront's status event (or the scan's), and the exceptions it makes moot."""
        check_transition(previous, target)
        if column := STATUS_TIMESTAMP.get(target):
            self.order[column] = at
        payload = {**(payload or {}), "from": previous, "to": target}
        if scan:
            self.system(OrderEventType.STATUS_CHANGED, at, payload, label=scan)
        at = at if scan else self.storefront(OrderEventType(target), at, payload)
        for type in STATUS_CLEARS_EXCEPTIONS.get(target, ()):
            self.resolve_exception(type, at)

    # Exceptions

    def raise_exception(self, type: str, at: datetime, details: dict) -> None:
        if type in self.open_exceptions:
            return
        exception = {
            "order": self.position,
            "type": type,
            "detected_at": at,
            "resolved_at": None,
            "details": details,
        }
        self.batch.exceptions.append(exception)
        self.open_exceptions[type] = exception
        self.system(OrderEventType.EXCEPTION_RAISED, at, {"exception": type, **details})

    def resolve_exception(self, type: str, at: datetime) -> None:
        exception = self.open_exceptions.pop(type, None)
        if exception is not None:
            exception["resolved_at"] = at
            exception["outcome"] = ExceptionOutcome.RESOLVED
            payload = {"exception": type, "outcome": ExceptionOutcome.RESOLVED}
            self.system(OrderEventType.EXCEPTION_RESOLVED, at, payload)

    def shipping_overdue(self) -> None:
        """What the shipping-overdue scan raises on its first run after the promise passed."""
        paid_at = self.order["paid_at"]
        at = paid_at + self.ship_within + self.rng.random() * MINUTE
        self.raise_exception(ExceptionType.SHIPPING_OVERDUE, at, {"paid_at": paid_at.isoformat()})

    def payment(self, at: datetime, previous: str | None = None) -> None:
        """A failed payment attempt, or (from ``previous``) the payment that pays the order."""
        method, total = PAYMENT_METHODS.pick(self.rng), self.order["total"]
        row = {"order": self.position, "amount": total, "method": method, "at": at}
        payload = {"amount": f"{total:.2f}", "method": method}
        if previous is None:
            payload["reason"] = reason = self.rng.choice(PAYMENT_FAILURES)
            row.update(status=PaymentStatus.FAILED, failure_reason=reason)
            self.batch.payments.append(row)
            recorded_at = self.storefront(OrderEventType.PAYMENT_FAILED, at, payload)
            self.raise_exception(ExceptionType.PAYMENT_FAILED, recorded_at, {"reason": reason})
            return
        payload["transaction_id"] = transaction = _transaction_id(self.rng, method, at)
        row.update(status=PaymentStatus.SUCCEEDED, transaction_id=transaction)
        self.batch.payments.append(row)
        self.order["paid_amount"] = total
        self.transition(previous, S.PAID, at, payload)

    # Shipping

    def shipped(self, previous: str, at: datetime, carrier: str) -> None:
        if at - self.order["paid_at"] > self.ship_within:
            self.shipping_overdue()
        tracking = tracking_number(self.rng, carrier)
        self.shipment = {
            "order": self.position,
            "carrier": carrier,
            "tracking_number": tracking,
            "status": ShipmentStatus.IN_TRANSIT,
            "shipped_at": at,
            "last_update_at": at,
            "delivered_at": None,
        }
        self.shipment_position = len(self.batch.shipments)
        self.batch.shipments.append(self.shipment)
        origin = self.rng.choice(WAREHOUSE_CITIES)
        address = self.order["shipping_address"]
        city = address["city"].removesuffix("市")
        self.route = (
            f"快件已从【{origin}转运中心】发出，发往【{city}转运中心】",
            f"快件已到达【{city}转运中心】",
            f"快件已到达【{address['district']}营业部】，快递员正在派送",
        )
        self._shipment_event(ShipmentStatus.IN_TRANSIT, f"【{origin}】{carrier}已揽收", at)
        payload = {"carrier": carrier, "tracking_number": tracking}
        self.transition(previous, S.SHIPPED, at, payload)

    def _shipment_event(self, status: str, description: str, at: datetime) -> None:
        self.batch.shipment_events.append(
            {
                "shipment": self.shipment_position,
                "status": status,
                "description": description,
                "at": at,
            }
        )

    def logistics_update(self, status: str, description: str, at: datetime) -> None:
        self.shipment["status"] = status
        self.shipment["last_update_at"] = at
        self._shipment_event(status, description, at)
        payload = {"status": status, "description": description}
        recorded_at = self.storefront(OrderEventType.LOGISTICS_UPDATE, at, payload)
        if status in LOGISTICS_EXCEPTIONS:
            details = {"description": description}
            self.raise_exception(LOGISTICS_EXCEPTIONS[status], recorded_at, details)
        elif status == ShipmentStatus.IN_TRANSIT:  # one parcel: it is no longer going back
            self.resolve_exception(ExceptionType.LOGISTICS_DELAYED, recorded_at)
            self.resolve_exception(ExceptionType.ADDRESS_PROBLEM, recorded_at)

    def on_the_way(self, until: datetime, updates: int, problems: tuple) -> None:
        """``updates`` logistics updates spread from shipping to ``until``, then perhaps one of
        ``problems`` ((status, share, descriptions), one roll for all)."""
        shipped_at = self.shipment["shipped_at"]
        journey = until - shipped_at
        for i in range(updates):
            moment = shipped_at + journey * (i + 1) / (updates + 1)
            self.logistics_update(ShipmentStatus.IN_TRANSIT, self.route[i], moment)
        roll = self.rng.random()
        for status, share, descriptions in problems:
            if roll < share:
                moment = shipped_at + journey * (updates + 0.5) / (updates + 1)
                self.logistics_update(status, self.rng.choice(descriptions), moment)
                return
            roll -= share

    def delivered(self, previous: str, at: datetime) -> None:
        self.on_the_way(at, self.rng.randint(1, len(self.route)), DELAYED_ON_THE_WAY)
        self.shipment.update(status=ShipmentStatus.DELIVERED, delivered_at=at, last_update_at=at)
        self._shipment_event(ShipmentStatus.DELIVERED, self.rng.choice(DELIVERY_NOTES), at)
        self.transition(previous, S.DELIVERED, at)
