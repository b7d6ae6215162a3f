"""Demo data of the tickets app: teams, agents, and a year of tickets with their SLA clocks.

Called by ``manage.py seed_demo`` after the orders seeder, whose customers and orders the tickets
are about. Like the orders, tickets are written in batches (COPY on PostgreSQL, ``bulk_create``
elsewhere) rather than through the services, which lock rows and write one event per call. What
the services, the SLA sweeper and the periodic auto-close would have recorded is reproduced
instead, step by step in time: messages, timeline events, assignments, first responses,
status changes, the SLA clocks of the governing policy (banked, paused, stopped, warned,
breached, escalated as the engine does) and the ticket's next due and warning times.

Ticket ``k`` has the id ``k`` and the number ``T-{k:06d}``, as ``ticket_create`` numbers a
ticket from its id; a run creates only the numbers that do not exist yet, each from its own
random generator, and keeps the id sequence ahead of them. The first tickets are placed so that
each is in a given open status now, so even a small demo has a backlog in every queue view.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.db import transaction

from csplatform.bulk import RowWriter
from csplatform.models import Storefront
from csplatform.roles import AGENT, DEMO_GROUP, SUPERVISOR
from demo.batches import Rows, Table, batches_write, sequence_keep_ahead
from demo.context import DEMO_PASSWORD, SeedContext, Weighted
from demo.orders import (
    CATEGORIES,
    CUSTOMER_NUMBER_BASE,
    GIVEN_NAME_CHARS,
    ITEMS,
    ORDER_NUMBER_BASE,
    ORDERS_PER_CUSTOMER,
    SURNAMES,
)
from orders.choices import Channel, CustomerTier
from orders.models import Customer, Order, OrderLine, Shipment
from tickets.choices import (
    AuthorKind,
    Presence,
    Priority,
    TicketEventType,
    TicketKind,
    TicketStatus,
)
from tickets.events import ticket_event_values
from tickets.models import (
    AgentProfile,
    EscalationAction,
    EscalationRule,
    Message,
    RoutingRule,
    SlaClock,
    SlaEvent,
    Tag,
    Team,
    Ticket,
    TicketEvent,
    TicketSettings,
)
from tickets.routing import priority_above, priority_initial, routing_rule_for
from tickets.sla.clocks import target_plain
from tickets.sla.policies import active_policies, policy_for
from tickets.sla.steps import (
    BREACH,
    BREACHED,
    ESCALATION,
    WARNING,
    ClockState,
    TicketFacts,
    breach_escalation,
    clocks_step,
    escalations_due,
    sweep_due_at,
    sweep_finding,
)
from tickets.transitions import transition_changes, transition_event_type

S = TicketStatus
K = TicketKind
E = TicketEventType

# Times are whole microseconds since the epoch while a ticket is simulated: exact, and fast.
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BEIJING = 8 * HOUR  # UTC+8 all year: China keeps no daylight-saving time

MAX_TICKETS = 99_999_999  # T-99999999 still fits the number column
BATCH_TICKETS = 2_000
HISTORY_DAYS = 365
ANALYZE_FROM = 10_000  # after seeding this many tickets on PostgreSQL, refresh the statistics

STOREFRONT = "storefront"  # the actor label of the storefront's API key
BY_STOREFRONT = {"actor_kind": "api_key", "actor_user": None, "actor_label": STOREFRONT}
SWEEP_EVERY = 15 * SECOND  # the beat schedule of the SLA sweep
AUTO_CLOSE_EVERY = 300 * SECOND  # ... and of the auto-close of solved tickets
SHIFT_STARTS, SHIFT_ENDS = 8 * HOUR, 24 * HOUR  # agents answer from 08:00 to midnight

# --- Teams, agents and routing --------------------------------------------------------------

DEFAULT_TEAM = "General service"  # created by a data migration
# (team, English gloss for the reader, numbers of the kfNN agents in it)
TEAMS = (
    ("售前咨询", "Pre-sales", (*range(1, 11),)),
    ("售后服务", "After-sales", (*range(9, 23),)),
    ("物流专线", "Logistics", (*range(21, 31),)),
    ("投诉处理", "Complaints", (*range(31, 36),)),
    (DEFAULT_TEAM, "General service", (5, *range(36, 41))),
)
AGENT_TEAMS = ("售前咨询", "售后服务")  # the demo login ``agent`` works in these two
AGENT_COUNT = 40
AGENT_CAPACITY = 20
PRESENCES = Weighted((Presence.ONLINE, 55), (Presence.AWAY, 15), (Presence.OFFLINE, 30))
# Who answers a team's tickets: the demo agent often (so that their queue is never empty),
# the supervisor rarely.
DEMO_AGENT_WEIGHT, SUPERVISOR_WEIGHT = 3.0, 0.3

# (name, position, condition, team, priority the rule sets)
ROUTING_RULES = (
    ("投诉 → 投诉处理", 10, {"kind": K.COMPLAINT}, "投诉处理", Priority.HIGH),
    ("电话 → 综合服务", 20, {"channel": Channel.PHONE}, DEFAULT_TEAM, ""),
    ("退货退款 → 售后服务", 30, {"kind": K.RETURN_REFUND}, "售后服务", ""),
    ("售后问题 → 售后服务", 40, {"kind": K.AFTER_SALES}, "售后服务", ""),
    ("订单问题 → 物流专线", 50, {"kind": K.ORDER_ISSUE}, "物流专线", ""),
    ("咨询 → 售前咨询", 60, {"kind": K.INQUIRY}, "售前咨询", ""),
)

# --- What tickets are about -----------------------------------------------------------------

KINDS = Weighted(
    (K.INQUIRY, 32), (K.ORDER_ISSUE, 26), (K.RETURN_REFUND, 20), (K.AFTER_SALES, 16),
    (K.COMPLAINT, 6),
)  # fmt: skip
CHANNELS = Weighted(
    (Channel.CHAT, 34), (Channel.APP, 20), (Channel.MINI_PROGRAM, 14), (Channel.PHONE, 12),
    (Channel.WEB, 8), (Channel.SOCIAL, 5), (Channel.LIVE_STREAM, 4), (Channel.EMAIL, 3),
)  # fmt: skip
# How often a ticket of each kind is about one of the customer's orders, when there is one.
ORDER_SHARE = {
    K.INQUIRY: 0.35,
    K.ORDER_ISSUE: 0.95,
    K.RETURN_REFUND: 0.9,
    K.AFTER_SALES: 0.85,
    K.COMPLAINT: 0.5,
}
# Beijing hours, 0 to 23: when customers write.
HOUR_WEIGHTS = (2, 1, 0.5, 0.3, 0.3, 0.5, 1, 2, 4, 7, 8, 8, 6, 7, 8, 8, 7, 6, 5, 6, 8, 9, 7, 4)
HOURS = Weighted(*zip(range(24), HOUR_WEIGHTS, strict=True))

QUICK, PENDING, ON_HOLD, DIALOG = "quick", "pending", "on_hold", "dialog"

ISSUES = {
    "apparel": ("洗了一次就起球了", "有明显的色差", "袖口开线了"),
    "electronics": ("充不进电", "蓝牙一直连不上", "用了三天就开不了机"),
    "beauty": ("用了之后脸上过敏发红", "收到的生产日期快过期了"),
    "food": ("收到的包装漏气了", "收到的生产日期快过期了"),
    "home": ("有一股很大的异味", "收到就有裂痕"),
    "baby": ("外包装破损了", "宝宝用了起红点"),
}


class _Scenario:
    """One kind of request: its texts, the order it needs, and how conversations about it go.

    ``needs``: None (no order), "any" order, or the order's state when the customer writes:
    "unpaid", "paid" (not shipped), "shipped" (not delivered), "delivered".
    """

    def __init__(self, needs, paths, tags, **texts):
        self.needs = needs
        self.paths = Weighted(*zip((QUICK, PENDING, ON_HOLD, DIALOG), paths, strict=True))
        self.tags = tags
        self.texts = texts
        self.category = texts.pop("category", None)


_STOCK = _Scenario(
    None, (6, 3, 1, 1), ("售前",),
    subject="{product}什么时候补货",
    open="你好，{product}一直显示缺货，请问什么时候能补货？想买两件。",
    quick="{product}预计下周三补货，您可以先点“到货提醒”，到货后会第一时间通知您。",
    ask="请问您需要的是哪个颜色和规格呢？我帮您查一下仓库的库存。",
    info="黑色的，要两件。",
    ack="我这边帮您联系仓库确认补货时间，稍后回复您。",
    note="已在采购群询问{product}补货时间，等待回复。",
    solve="已确认{product}下周三到货，已为您登记到货提醒，到货后会短信通知您。",
)  # fmt: skip
_COUPON = _Scenario(
    None, (5, 4, 1, 1), ("活动咨询",),
    subject="优惠券结算时用不了",
    open="我领了满199减20的券，结算的时候显示不可用，是怎么回事？",
    quick="这张券仅限指定商品使用，参与活动的商品需要满199元才能用哦，您可以再凑单试试。",
    ask="麻烦您截图一下结算页面，我帮您看看是哪里的问题。",
    info="截图已经发过去了，你看一下。",
    ack="收到，我这边帮您查一下这张券的使用规则。",
    note="券批次配置了品类限制，已找运营确认能否补发通用券。",
    solve="已核实是券的品类限制导致的，已为您补发一张全场通用的满199减20券，请在“我的-优惠券”查看。",
)  # fmt: skip
_INVOICE = _Scenario(
    "any", (5, 3, 2, 0), ("发票",),
    subject="订单{order}开发票",
    open="订单{order}需要开增值税普通发票，抬头是公司，怎么申请？",
    quick="您在订单详情页点“申请开票”，填写公司抬头和税号即可，电子发票会在1-3个工作日内发到您的邮箱。",
    ask="麻烦提供一下公司抬头和税号，我帮您提交开票申请。",
    info="抬头和税号都发在下面了，麻烦尽快开一下。",
    ack="已为您提交开票申请，开好后通知您。",
    note="已提交财务开票，订单{order}。",
    solve="订单{order}的发票已开具并发送到您的邮箱，请注意查收。",
)  # fmt: skip
_ADDRESS = _Scenario(
    "paid", (6, 2, 2, 0), ("改地址",),
    subject="修改订单{order}收货地址",
    open="订单{order}的收货地址写错了，还没发货的话能帮我改一下吗？",
    quick="已为您把订单{order}的收货地址改好了，请在订单详情里核对一下。",
    ask="请提供一下新的收货地址和联系电话。",
    info="新地址发给你了，电话不变。",
    ack="我这边联系仓库修改面单，请稍等。",
    note="已通知仓库修改订单{order}的面单地址。",
    solve="仓库已确认修改成功，包裹会按新地址发出。",
)  # fmt: skip
_SHIP_LATE = _Scenario(
    "paid", (5, 0, 4, 1), ("催发货",),
    subject="订单{order}什么时候发货",
    open="订单{order}付款好几天了还没发货，什么时候能发？着急用。",
    quick="已帮您催促仓库，订单{order}今天会安排发出，发货后可以在订单详情里查看物流。",
    ask="请问您是着急哪一天收到呢？我帮您备注加急。",
    info="周五之前能到就行。",
    ack="非常抱歉让您久等了，我这边马上联系仓库加急处理。",
    note="已在仓库群催发订单{order}，仓库反馈缺货调拨中。",
    solve="订单{order}已经发出，今天就会有物流信息，给您带来不便非常抱歉。",
)  # fmt: skip
_TRACKING = _Scenario(
    "shipped", (3, 0, 5, 2), ("物流异常",),
    subject="{carrier}物流好几天没更新",
    open="我的快递{tracking}好几天没有物流更新了，是不是丢件了？",
    quick="已帮您查询，包裹目前在{carrier}转运中心，因为件量大有延误，预计1-2天内送达。",
    ask="麻烦确认一下收货地址和电话是否正确，我这边好联系快递。",
    info="地址电话都没问题。",
    ack="我这边联系{carrier}核实包裹的位置，有结果马上告诉您。",
    note="已在{carrier}系统提交查件，单号{tracking}，等待快递回复。",
    solve="{carrier}已回复，包裹今天重新派送，请留意电话。如果明天还没收到请再联系我们。",
)  # fmt: skip
_NOT_RECEIVED = _Scenario(
    "delivered", (0, 6, 3, 2), ("签收异常",),
    subject="显示签收了但没收到货",
    open="订单{order}物流显示已经签收了，可是我根本没收到，也没人给我打电话。",
    quick="已联系{carrier}，包裹放在了小区驿站，您可以凭取件码去领取。",
    ask="请您先看一下快递柜、门卫或驿站有没有代收，方便的话告诉我结果。",
    info="问过门卫了，没有，快递柜也没有。",
    ack="我这边联系{carrier}核实签收情况，请稍等。",
    note="快递员称包裹放在驿站，已要求送货上门。",
    solve="已核实包裹被放在小区驿站，快递员今天会重新送货上门，再次抱歉。",
)  # fmt: skip
_PAYMENT = _Scenario(
    "unpaid", (6, 3, 0, 1), ("支付问题",),
    subject="付款一直失败",
    open="订单{order}付款的时候一直提示失败，钱也没扣，怎么办？",
    quick="可能是银行卡限额导致的，建议换一张卡或用支付宝余额支付。订单超时取消后优惠券会自动退回。",
    ask="请问您用的是哪种支付方式？提示的错误是什么？",
    info="微信支付，提示“支付失败，请稍后再试”。",
    ack="我这边帮您查一下支付记录。",
    note="支付渠道反馈短时异常，已恢复。",
    solve="已核实是支付通道短暂异常，现在已经恢复，您可以重新下单支付。",
)  # fmt: skip
_LATE_PARCEL = _Scenario(
    None, (3, 4, 2, 1), ("物流异常",),
    subject="快递一直没送到",
    open="我买的{product}快一个星期了还没送到，能帮我查一下吗？",
    quick="已帮您查询，包裹已经在派送中，今天会送达，请留意电话。",
    ask="麻烦提供一下订单号，我帮您查一下物流。",
    info="订单号发给你了。",
    ack="我这边联系快递核实一下。",
    note="已提交快递查件。",
    solve="已帮您查询，包裹已经在派送中，今天会送达。",
)  # fmt: skip
_QUALITY = _Scenario(
    "delivered", (1, 6, 3, 2), ("质量问题",),
    subject="{product}{issue}",
    open="你好，我买的{product}{issue}，这个怎么处理？",
    quick="非常抱歉，已为您申请换新，新品会在48小时内发出，旧的不用寄回。",
    ask="非常抱歉给您带来不好的体验，麻烦拍几张问题部位的照片发给我们。",
    info="照片已经发了，你们看一下。",
    ack="我这边提交给质检核实，请稍等。",
    note="已转质检，照片显示{product}确实有质量问题，建议换新。",
    solve="已核实是商品质量问题，为您申请了换新，新品会在48小时内发出，旧的不用寄回。",
)  # fmt: skip
_DAMAGED = _Scenario(
    "delivered", (1, 6, 2, 1), ("破损",),
    subject="收到的{product}有破损",
    open="快递刚到，{product}外包装破了，东西也有磕碰。",
    quick="非常抱歉，已为您申请破损补偿，20元已原路退回到您的支付账户。",
    ask="请您拍一下外包装和商品破损处的照片。",
    info="照片拍好发过去了。",
    ack="收到，我这边帮您申请破损补偿。",
    note="{carrier}运输破损，已向快递索赔。",
    solve="已为您申请破损补偿，20元已经原路退回到您的支付账户。",
)  # fmt: skip
_EXCHANGE = _Scenario(
    "delivered", (5, 3, 2, 0), ("换货",), category="apparel",
    subject="{product}想换个尺码",
    open="{product}尺码偏小，想换大一码，怎么操作？",
    quick="您在订单详情里申请“换货”，选择大一码寄回即可，收到后为您发出新的尺码，来回运费由我们承担。",
    ask="请问您想换成哪个尺码和颜色呢？",
    info="换XL，颜色不变。",
    ack="好的，我这边为您登记换货。",
    note="已登记换货，等待客户寄回。",
    solve="换货已登记，新尺码会在收到退货后24小时内发出。",
)  # fmt: skip
_OLD_PURCHASE = _Scenario(
    None, (1, 5, 3, 1), ("质量问题",),
    subject="{product}{issue}",
    open="上个月买的{product}{issue}，还能售后吗？",
    quick="在质保期内可以免费维修或更换，您在订单详情里申请售后即可。",
    ask="麻烦提供一下订单号和问题照片，我帮您查一下售后期限。",
    info="订单号和照片都发你了。",
    ack="收到，我这边为您登记售后。",
    note="已登记售后，转售后专员跟进。",
    solve="已为您登记售后，质保期内可以免费维修或更换，售后专员会在24小时内联系您。",
)  # fmt: skip
_SEVEN_DAYS = _Scenario(
    "delivered", (0, 5, 4, 1), ("退货", "七天无理由"),
    subject="{product}申请七天无理由退货",
    open="{product}收到后感觉不太合适，想申请七天无理由退货。",
    quick="已为您同意退货申请，请在7天内寄回，仓库签收后退款会原路退回。",
    ask="已为您同意退货申请，请在7天内把商品寄回，并把退货快递单号发给我们。",
    info="已经寄回了，顺丰单号{return_tracking}。",
    ack="好的，已为您登记退货。",
    note="等待仓库签收退货，单号{return_tracking}。",
    solve="仓库已经签收您的退货，退款已原路退回，1-3个工作日到账。",
)  # fmt: skip
_REFUND_LATE = _Scenario(
    "any", (5, 1, 3, 1), ("退款",),
    subject="退款还没到账",
    open="订单{order}申请退款三天了，钱还没到账，怎么回事？",
    quick="已帮您查询，退款已经原路退回，银行处理需要1-3个工作日，请再耐心等待一下。",
    ask="请问您付款用的是哪张银行卡？我帮您查一下退款流水。",
    info="招商银行的信用卡。",
    ack="我这边帮您联系财务核实退款进度。",
    note="财务反馈订单{order}退款批次延迟，今天重新发起。",
    solve="财务已重新发起退款，今天内会到账，给您带来不便非常抱歉。",
)  # fmt: skip
_REFUND_HOW = _Scenario(
    None, (5, 4, 1, 0), ("退款",),
    subject="怎么申请退款",
    open="之前买的{product}不想要了，怎么申请退款？",
    quick="您在“我的订单”里找到对应订单，点“申请售后-退货退款”即可，审核通过后寄回商品就可以退款了。",
    ask="麻烦提供一下订单号，我帮您看一下是否还在售后期内。",
    info="订单号发你了。",
    ack="收到，我这边为您提交退货退款申请。",
    note="已提交退货退款申请。",
    solve="已为您提交退货退款申请，审核已通过，请按页面提示寄回商品。",
)  # fmt: skip
_ATTITUDE = _Scenario(
    None, (0, 0, 6, 4), ("投诉", "服务态度"),
    subject="投诉客服态度",
    open="昨天咨询的客服态度很差，问了半天都不回复，最后直接不理人了，要求给个说法！",
    quick="非常抱歉，已对相关客服进行批评教育，并为您发放了一张30元无门槛券。",
    ask="非常抱歉，麻烦提供一下当时咨询的时间，我们调取聊天记录核实。",
    info="昨天晚上九点多。",
    ack="非常抱歉给您带来了不好的体验，我会认真核实这件事并给您答复。",
    note="已调取聊天记录，确认客服回复超时，已安排培训。",
    solve="经核实确实是我们客服的问题，已对相关人员进行培训，并为您发放了一张30元无门槛券，再次向您致歉。",
)  # fmt: skip
_FAKE = _Scenario(
    "delivered", (0, 2, 4, 4), ("投诉", "差评预警"),
    subject="{product}和直播间说的不一样",
    open="直播间里说{product}是正品专柜货，收到的东西做工很差，严重怀疑是假货，我要投诉！",
    quick="已为您办理全额退款，商品无需退回，给您带来不好的体验非常抱歉。",
    ask="非常抱歉，麻烦提供一下商品照片和吊牌照片，我们马上核实。",
    info="照片都发了，你们自己看。",
    ack="非常抱歉，我们会马上核实商品来源，今天内给您答复。",
    note="已请品控核实{product}批次，客户情绪激动，注意安抚。",
    solve="已核实商品为正品，但给您的体验不好，已为您办理全额退款，商品无需退回。",
)  # fmt: skip
_COURIER = _Scenario(
    "shipped", (0, 1, 6, 3), ("投诉",),
    subject="投诉{carrier}快递员",
    open="{carrier}的快递员不送货上门，打电话还态度恶劣，单号{tracking}。",
    quick="非常抱歉，已向{carrier}投诉该快递员，网点会电话向您致歉。",
    ask="非常抱歉，请问快递员是什么时间联系您的？",
    info="今天上午十点左右。",
    ack="非常抱歉，我们已向{carrier}投诉该快递员，会尽快给您答复。",
    note="已向{carrier}网点提交投诉，单号{tracking}。",
    solve="{carrier}网点已对快递员进行处理，并会电话向您致歉，我们也为您补偿了10元无门槛券。",
)  # fmt: skip
_REPEATED = _Scenario(
    None, (0, 0, 5, 5), ("投诉", "差评预警"),
    subject="问题反映了三次还没解决",
    open="同一个问题已经反映三次了还是没人解决，再不处理我就去12315投诉了！",
    quick="非常抱歉让您多次反映，问题已处理完毕，并为您办理了补偿。",
    ask="非常抱歉，麻烦再描述一下问题，这次由我全程跟进。",
    info="就是上次说的退款问题，到现在还没处理。",
    ack="非常抱歉让您多次反映，这次由我全程跟进，今天内一定给您答复。",
    note="已升级给主管，要求今天内处理完毕。",
    solve="问题已经处理完毕，已为您办理补偿，后续有任何问题可以直接找我。",
)  # fmt: skip

SCENARIOS = {
    K.INQUIRY: (_STOCK, _COUPON, _INVOICE, _ADDRESS),
    K.ORDER_ISSUE: (_SHIP_LATE, _TRACKING, _NOT_RECEIVED, _PAYMENT, _LATE_PARCEL),
    K.AFTER_SALES: (_QUALITY, _DAMAGED, _EXCHANGE, _OLD_PURCHASE),
    K.RETURN_REFUND: (_SEVEN_DAYS, _REFUND_LATE, _REFUND_HOW),
    K.COMPLAINT: (_ATTITUDE, _FAKE, _COURIER, _REPEATED),
}
GREETING = "亲，您好！我是客服{agent}，很高兴为您服务。"
SIGN_OFF = "还有其他问题随时联系我们哦～"
MORE = (
    "那大概要多久？",
    "好的，那我等你们消息。",
    "能不能快一点？我着急用。",
    "还需要我提供什么吗？",
    "这个我不太明白，能再说清楚一点吗？",
)
FOLLOW_UP = (
    "正在为您加急处理，有进展第一时间通知您。",
    "已经帮您备注加急了，请您耐心等待一下。",
    "这边还在核实中，今天内一定给您答复。",
)
REOPEN = (
    "问题还是没有解决，麻烦再看一下。",
    "说好的处理我还没收到，怎么回事？",
    "刚才试了一下还是不行。",
)
SOLVE_AGAIN = (
    "非常抱歉，已经重新为您处理，这次会一直跟进到底。",
    "已再次核实并处理完毕，给您带来不便非常抱歉。",
)
NO_REPLY = ("由于超过48小时未收到您的回复，工单先做已解决处理，如有需要可以随时回复我们。",)
# Texts of a role that no scenario words itself.
SHARED_TEXTS = {
    "more": MORE,
    "reopen": REOPEN,
    "follow_up": FOLLOW_UP,
    "solve_again": SOLVE_AGAIN,
    "no_reply": NO_REPLY,
}

# --- Lifecycle ------------------------------------------------------------------------------

AUTO_ASSIGN_SHARE = 0.6  # of tickets created while agents are on shift
NOTE_SHARE = 0.15  # an internal note before the solving reply
NO_CUSTOMER_REPLY_SHARE = 0.15  # of tickets waiting on the customer
REOPEN_SHARE = 0.06  # of solved tickets: the customer writes again within days
# Of conversations: a busy day, the team solves them only one to three days later (their
# closure may breach; a well-run team keeps this rare).
SLOW_SOLVE_SHARE = 0.04
# Of chat and live-stream answers after the first: quick, as the rooms' 5-minute promise asks.
CHAT_QUICK_SHARE = 0.9
# Cases whose acceptance (受理) and handling plan (处理方案) the agent records on the ticket: the
# first answer accepts, the reply that leaves a next step with the customer is the plan.
# (Complaint tickets get theirs from the complaints seeder.)
AGENT_MILESTONE_KINDS = (K.AFTER_SALES, K.RETURN_REFUND)
MANUAL_CLOSE_SHARE = 0.55  # of solved tickets: closed by the agent rather than the auto-close
TAG_SHARE = 0.6  # of tickets: tagged by the agent when first answering
PRIORITY_CHANGE_SHARE = 0.1  # of tickets: the agent changes the priority when first answering
# The first tickets are placed so that each is in this status now: a demo of any size then
# has a backlog in every queue view (with new tickets both breaching soon and breached).
SHOWCASE_STATUSES = (S.NEW, S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED, S.OPEN, S.NEW, S.PENDING) * 5
SHOWCASE_PATHS = {S.NEW: DIALOG, S.OPEN: DIALOG, S.PENDING: PENDING, S.ON_HOLD: ON_HOLD}


def seed(ctx: SeedContext) -> dict[str, int]:
    """Teams, agents and routing rules, then the tickets up to ``ctx.tickets``."""
    if ctx.tickets > MAX_TICKETS:
        raise CommandError(f"At most {MAX_TICKETS:,} demo tickets fit the ticket numbering.")
    created = _seed_desk(ctx)
    if ctx.tickets:
        created.update(_seed_tickets(ctx))
    return created


def _number(k: int) -> str:
    return f"T-{k:06d}"


def _dt(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _us(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND + delta.microseconds


def _ceil(us: int, step: int) -> int:
    return -(-us // step) * step


# --- Teams, agents, routing, tags -----------------------------------------------------------


def _agent_username(n: int) -> str:
    return f"kf{n:02d}"  # 客服 01, the way Chinese desks number their agents


def _agent_name(ctx: SeedContext, n: int) -> tuple[str, str]:
    rng = ctx.rng("tickets.agent", n)
    surname, _ = SURNAMES[int(len(SURNAMES) * rng.random() ** 1.6)]
    given = "".join(rng.choice(GIVEN_NAME_CHARS)[0] for _ in range(rng.choice((1, 2, 2))))
    return surname, given


def _seed_desk(ctx: SeedContext) -> dict[str, int]:
    """Agents, teams, memberships, presences, routing rules and tags (small: the ORM)."""
    User = get_user_model()
    with transaction.atomic():
        agents, agents_created = _seed_agents(ctx, User)
        demo = {u.username: u for u in User.objects.filter(username__in=(AGENT, SUPERVISOR))}
        demo = {name: u for name, u in demo.items() if u.groups.filter(name=DEMO_GROUP).exists()}
        teams_created = 0
        teams = {}
        for name, _gloss, numbers in TEAMS:
            team, created = Team.objects.get_or_create(name=name)
            teams_created += created
            teams[name] = team
            supervisor = demo.get(SUPERVISOR)
            if supervisor is not None and team.supervisor_id is None:
                team.supervisor = supervisor
                team.save(update_fields=["supervisor"])
            members = [agents[n] for n in numbers if n in agents]
            if supervisor is not None:
                members.append(supervisor)
            if AGENT in demo and name in AGENT_TEAMS:
                members.append(demo[AGENT])
            team.members.add(*members)
        settings = TicketSettings.load()
        if settings.default_team_id is None:
            settings.default_team = teams[DEFAULT_TEAM]
            settings.save(update_fields=["default_team"])
        profiles = _seed_profiles(ctx, [*demo.values(), *agents.values()])
        rules = _seed_routing_rules(teams)
        tags = _seed_tags()
    return {
        "agents": agents_created,
        "teams": teams_created,
        "agent profiles": profiles,
        "routing rules": rules,
        "tags": tags,
    }


def _seed_agents(ctx: SeedContext, User) -> tuple[dict[int, object], int]:
    """The kfNN agents, demo logins with the demo password; an existing non-demo user is kept."""
    usernames = {_agent_username(n): n for n in range(1, AGENT_COUNT + 1)}
    existing = {u.username: u for u in User.objects.filter(username__in=usernames)}
    demo_group = Group.objects.get(name=DEMO_GROUP)
    agent_group = Group.objects.get(name=AGENT)
    demo_members = set(
        demo_group.user_set.filter(username__in=usernames).values_list("username", flat=True)
    )
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow by design
    new = []
    for username, n in usernames.items():
        if username not in existing:
            last, first = _agent_name(ctx, n)
            new.append(
                User(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@example.com",
                    password=password,
                )
            )
    User.objects.bulk_create(new)
    created = {u.username for u in new}
    agents = {}
    for user in User.objects.filter(username__in=usernames):
        if user.username not in created and user.username not in demo_members:
            ctx.stdout.write(
                ctx.style.WARNING(f"User {user.username!r} exists and is not a demo account.")
            )
            continue
        agents[usernames[user.username]] = user
    for group in (demo_group, agent_group):
        group.user_set.add(*[u for u in agents.values() if u.username in created])
    return agents, len(created)


def _seed_profiles(ctx: SeedContext, users: list) -> int:
    have = set(AgentProfile.objects.filter(user__in=users).values_list("user_id", flat=True))
    rows = []
    for user in users:
        if user.pk in have:
            continue
        rng = ctx.rng("tickets.presence", user.pk)
        presence = PRESENCES.pick(rng)
        if user.username in (AGENT, SUPERVISOR):
            presence = Presence.ONLINE  # the demo logins are at work
        rows.append(
            AgentProfile(
                user=user,
                presence=presence,
                capacity=AGENT_CAPACITY,
                presence_changed_at=ctx.now - timedelta(minutes=rng.uniform(5, 600)),
            )
        )
    AgentProfile.objects.bulk_create(rows)
    return len(rows)


def _seed_routing_rules(teams: dict[str, Team]) -> int:
    have = set(RoutingRule.objects.values_list("name", flat=True))
    rules = [
        RoutingRule(
            name=name, position=position, team=teams[team], set_priority=priority, **condition
        )
        for name, position, condition, team, priority in ROUTING_RULES
        if name not in have
    ]
    RoutingRule.objects.bulk_create(rules)
    return len(rules)


def _seed_tags() -> int:
    names = sorted({tag for kind in SCENARIOS.values() for s in kind for tag in s.tags} | {"vip"})
    have = set(Tag.objects.filter(name__in=names).values_list("name", flat=True))
    Tag.objects.bulk_create([Tag(name=n) for n in names if n not in have], ignore_conflicts=True)
    return len(set(names) - have)


# --- Tickets --------------------------------------------------------------------------------


TICKET_TABLES = {
    "tickets": Table("tickets", Ticket, own_ids=True),
    "messages": Table("ticket messages", Message),
    "events": Table("ticket events", TicketEvent),
    "clocks": Table("SLA clocks", SlaClock, with_ids=True),
    "sla_events": Table("SLA events", SlaEvent, parents={"clock": "clocks"}),
    "tags": Table("ticket tags", Ticket.tags.through),
}


def _seed_tickets(ctx: SeedContext) -> dict[str, int]:
    writer = RowWriter(ctx.now, Ticket)
    sequence_keep_ahead(writer, Ticket, ctx.tickets)
    missing = _missing_tickets(ctx.tickets)
    if not missing:
        return {}
    world = _World(ctx)
    if not world.customers:
        ctx.stdout.write(
            ctx.style.WARNING("No demo customers to write tickets: seed some orders too.")
        )
        return {}

    totals = batches_write(
        ctx,
        writer,
        missing,
        BATCH_TICKETS,
        lambda: Rows(TICKET_TABLES),
        lambda k, batch: _Life(world, k, batch).live(),
        "tickets",
    )
    if writer.copy and totals["tickets"] >= ANALYZE_FROM:
        # Fresh statistics, so that the first queries after a large seed are planned on them.
        with writer.connection.cursor() as cursor:
            for model in (Ticket, Message, TicketEvent, SlaClock, SlaEvent, Ticket.tags.through):
                cursor.execute(f"ANALYZE {writer.connection.ops.quote_name(model._meta.db_table)}")
    return totals


def _missing_tickets(count: int) -> list[int]:
    """Ticket indexes whose number is free and whose id is free (they go together)."""
    taken: set[int] = set()
    for pk, number in (
        Ticket.objects.filter(pk__lte=count).values_list("pk", "number").iterator(chunk_size=20_000)
    ):
        taken.add(pk)
        if number and number.startswith("T-") and number[2:].isdigit():
            taken.add(int(number[2:]))
    for number in Ticket.objects.filter(pk__gt=count, number__startswith="T-").values_list(
        "number", flat=True
    ):
        if number[2:].isdigit():
            taken.add(int(number[2:]))
    return [k for k in range(1, count + 1) if k not in taken]


class _World:
    """What every ticket of a run refers to, loaded once."""

    def __init__(self, ctx: SeedContext):
        self.ctx = ctx
        self.now = _us(ctx.now)
        self.history_start = self.now - HISTORY_DAYS * DAY
        User = get_user_model()
        self.usernames = {}
        self.first_names = {}
        for pk, username, first in User.objects.filter(teams__isnull=False).values_list(
            "pk", "username", "first_name"
        ):
            self.usernames[pk] = username
            self.first_names[pk] = first
        self.teams = {t.pk: t for t in Team.objects.select_related("supervisor")}
        members: dict[int, list[int]] = {}
        for team_id, user_id in Team.members.through.objects.values_list("team_id", "user_id"):
            members.setdefault(team_id, []).append(user_id)
        self.members = {}  # team id -> Weighted user ids
        for team_id, user_ids in members.items():
            team = self.teams[team_id]

            def weight(user_id, team=team):
                if self.usernames.get(user_id) == AGENT:
                    return DEMO_AGENT_WEIGHT
                return SUPERVISOR_WEIGHT if user_id == team.supervisor_id else 1.0

            self.members[team_id] = Weighted(*((u, weight(u)) for u in sorted(user_ids)))
        self.demo_agent = next((pk for pk, name in self.usernames.items() if name == AGENT), None)
        self.rules = list(RoutingRule.objects.filter(active=True).select_related("team"))
        ticket_settings = TicketSettings.load()
        self.default_team = ticket_settings.default_team
        self.auto_close_after = ticket_settings.auto_close_solved_after_hours * HOUR
        self.policies = active_policies()
        self.ladders: dict[tuple[int, str], list] = {}
        for rule in EscalationRule.objects.select_related("team").order_by(
            "metric", "minutes_after_breach", "id"
        ):
            self.ladders.setdefault((rule.policy_id, rule.metric), []).append(rule)
        self.targets = {
            target.pk: target_plain(target)
            for loaded in self.policies
            for target in loaded.targets.values()
        }
        self.matched: dict[tuple, object] = {}
        self.tags = dict(Tag.objects.values_list("name", "id"))
        self.tier_of = {tier: SimpleNamespace(tier=tier) for tier in CustomerTier.values}
        self._load_customers(ctx)
        self._load_orders(ctx)

    def _load_customers(self, ctx: SeedContext) -> None:
        count = -(-ctx.size // ORDERS_PER_CUSTOMER)
        self.customers = list(
            Customer.objects.filter(
                storefront=Storefront.default(),
                external_id__gte=f"CUS-{CUSTOMER_NUMBER_BASE + 1}",
                external_id__lte=f"CUS-{CUSTOMER_NUMBER_BASE + count}",
            )
            .order_by("external_id")
            .values_list("id", "tier")
        )
        self.tier = dict(self.customers)

    def _load_orders(self, ctx: SeedContext) -> None:
        """The demo orders by placing time, with what tickets about them mention."""
        first, last = f"SO-{ORDER_NUMBER_BASE + 1}", f"SO-{ORDER_NUMBER_BASE + ctx.size}"
        in_range = {"number__gte": first, "number__lte": last}
        rows = []
        for row in (
            Order.objects.filter(**in_range)
            .values_list(
                "id", "customer_id", "number", "placed_at", "paid_at", "shipped_at", "delivered_at"
            )
            .iterator(chunk_size=20_000)
        ):
            pk, customer_id, number, *moments = row
            rows.append((_us(moments[0]), pk, customer_id, number, *map(_maybe_us, moments[1:])))
        rows.sort()
        self.orders = rows
        self.placed = [row[0] for row in rows]
        self.products: dict[int, tuple[str, str]] = {}
        for order_id, name, category in (
            OrderLine.objects.filter(**{f"order__{k}": v for k, v in in_range.items()})
            .order_by("order_id", "id")
            .values_list("order_id", "name", "category")
            .iterator(chunk_size=20_000)
        ):
            self.products.setdefault(order_id, (name, category))
        self.shipments = {
            order_id: (carrier, tracking)
            for order_id, carrier, tracking in Shipment.objects.filter(
                **{f"order__{k}": v for k, v in in_range.items()}
            )
            .values_list("order_id", "carrier", "tracking_number")
            .iterator(chunk_size=20_000)
        }

    def route(self, kind: str, channel: str, tier: str) -> tuple[Team | None, str]:
        rule = routing_rule_for(self.rules, kind=kind, channel=channel, customer_tier=tier)
        return (rule.team, rule.set_priority) if rule else (self.default_team, "")

    def targets_for(self, ticket) -> dict | None:
        """The governing policy's targets by metric (``policy_for``), remembered per
        combination of what policies match on."""
        key = (ticket.kind, ticket.priority, ticket.channel, ticket.customer.tier, ticket.team_id)
        try:
            return self.matched[key]
        except KeyError:
            loaded = policy_for(ticket, self.policies)
            targets = None
            if loaded is not None:
                targets = {m: self.targets[t.pk] for m, t in loaded.targets.items()}
            self.matched[key] = targets
            return targets


def _maybe_us(moment: datetime | None) -> int | None:
    return None if moment is None else _us(moment)


class _Swept:
    """What the sweeper keeps on a clock row besides its state: warning and escalations."""

    __slots__ = ("escalation_level", "events", "warned_at")

    def __init__(self):
        self.warned_at = None
        self.escalation_level = 0
        self.events: list[tuple] = []  # (kind, level, at, detail)


class _Life:
    """One ticket from its creation until now: what the services, the SLA sweeper and the
    auto-close would have done, and the rows they would have written.

    The clocks take the engine's own steps (``tickets.sla.steps``); the sweeps between the
    ticket's changes warn, breach and escalate as the sweeper does. Tests check that the
    engine, run at the seeding moment, finds nothing left to do.
    """

    def __init__(self, world: _World, k: int, batch: Rows):
        self.world = world
        self.k = k
        self.batch = batch
        self.rng = world.ctx.rng("tickets.ticket", k)
        self.now = world.now
        self.clocks: list[ClockState] = []
        self.swept: list[_Swept] = []
        self.assignee = self.owner = None
        self.first_response_at = self.solved_at = self.closed_at = None
        self.next_due_at = self.next_warn_at = None
        self.reopen_count = 0
        self.tag_ids: list[int] = []
        self.milestones: dict[str, str] = {}

    # --- planning -----------------------------------------------------------------------

    def live(self) -> None:
        rng, world = self.rng, self.world
        goal = SHOWCASE_STATUSES[self.k - 1] if self.k <= len(SHOWCASE_STATUSES) else None
        self.kind = KINDS.pick(rng)
        self.channel = CHANNELS.pick(rng)
        if goal is None:
            created = self._created_at()
            order, scenario = self._order_and_scenario(created)
            path = scenario.paths.pick(rng)
            plan = self._plan(path, created, on_shift=True)
        else:
            path = SHOWCASE_PATHS.get(goal) or QUICK
            plan = self._plan(path, 0, on_shift=False, slow_first_response=goal == S.NEW)
            created = self.now - self._age_in(goal, plan)
            plan = [(created + at, *rest) for at, *rest in plan]
            order, scenario = self._order_and_scenario(created)
        self.created_at = self.updated_at = created
        self.scenario = scenario
        self.order = order
        self._texts(order, scenario)
        self.customer_id = order[2] if order else self._customer()
        tier = world.tier[self.customer_id]
        team, rule_priority = world.route(self.kind, self.channel, tier)
        self.priority = priority_initial(
            requested=None, rule_priority=rule_priority, customer_tier=tier
        )
        self.team = team
        self.team_id = team.pk if team else None
        self.customer = world.tier_of[tier]  # what policy matching reads: customer.tier
        self.status = S.NEW
        self.last_customer_message_at = created
        self._run(plan)
        self._emit()

    def _created_at(self) -> int:
        """A moment of the last year, at the hours customers write (Beijing time)."""
        rng = self.rng
        while True:
            local_day = (self.now + BEIJING) // DAY - rng.randrange(HISTORY_DAYS)
            moment = (
                local_day * DAY
                - BEIJING
                + HOURS.pick(rng) * HOUR
                + rng.randrange(HOUR // SECOND) * SECOND
                + rng.randrange(SECOND)
            )
            if moment < self.now:
                return moment

    def _customer(self) -> int:
        customers = self.world.customers
        # Some customers write often: lean towards the front of the list.
        return customers[int(len(customers) * self.rng.random() ** 1.5)][0]

    def _order_and_scenario(self, created: int):
        rng, world = self.rng, self.world
        scenarios = SCENARIOS[self.kind]
        if world.orders and rng.random() < ORDER_SHARE[self.kind]:
            lo = bisect_left(world.placed, created - 30 * DAY)
            hi = bisect_left(world.placed, created - 30 * MINUTE)
            for _ in range(4 if hi > lo else 0):
                order = world.orders[rng.randrange(lo, hi)]
                state = _order_state(order, created)
                _name, category = world.products.get(order[1], ("", None))
                fitting = [
                    s
                    for s in scenarios
                    if s.needs in (state, "any") and s.category in (None, category)
                ]
                if fitting:
                    return order, rng.choice(fitting)
        return None, rng.choice([s for s in scenarios if s.needs is None])

    def _texts(self, order, scenario: _Scenario) -> None:
        rng, world = self.rng, self.world
        if order is not None and order[1] in world.products:
            product, category = world.products[order[1]]
        else:
            category = scenario.category or CATEGORIES.pick(rng)
            item = rng.choice(ITEMS[category])
            product = item.name
        carrier, tracking = world.shipments.get(order[1], ("", "")) if order else ("", "")
        self.fields = {
            "order": order[3] if order else "",
            "product": product,
            "issue": rng.choice(ISSUES[category]),
            "carrier": carrier,
            "tracking": tracking,
            "return_tracking": f"SF{rng.randrange(10**13):013d}",
        }

    def _text(self, role: str) -> str:
        shared = SHARED_TEXTS.get(role)
        if shared is None:
            return self.scenario.texts[role].format_map(self.fields)
        return shared[0] if len(shared) == 1 else self.rng.choice(shared)

    def _plan(
        self, path: str, created: int, *, on_shift: bool, slow_first_response: bool = False
    ) -> list[tuple]:
        """The ticket's whole path as (moment, step, argument), future steps included."""
        rng = self.rng
        shift = self._on_shift if on_shift else _unchanged
        steps: list[tuple] = []
        if slow_first_response:
            first = created + rng.randrange(5 * MINUTE, 3 * HOUR)
        elif self.chat and rng.random() < 0.92:
            first = created + int((0.3 + 3.7 * rng.random() ** 2) * MINUTE)
        else:
            roll = rng.random()
            if roll < 0.78:
                minutes = rng.uniform(2, 13)
            elif roll < 0.93:
                minutes = rng.uniform(13, 45)
            else:
                minutes = rng.uniform(45, 240)
            first = created + int(minutes * MINUTE)
        first = shift(first)
        if path == QUICK:
            steps.append((first, "reply", S.SOLVED, "quick"))
            solved = first
        elif path == PENDING:
            steps.append((first, "reply", S.PENDING, "ask"))
            if rng.random() < NO_CUSTOMER_REPLY_SHARE:
                solved = shift(first + rng.randrange(48 * HOUR, 72 * HOUR))
                steps.append((solved, "reply", S.SOLVED, "no_reply"))
            else:
                info = first + int((5 + 1435 * rng.random() ** 2) * MINUTE)
                solved = shift(info + self._answer_delay(2, 180))
                steps += [(info, "customer", "info"), (solved, "reply", S.SOLVED, "solve")]
        elif path == ON_HOLD:
            noted = first + rng.randrange(MINUTE, 20 * MINUTE)
            solved = shift(noted + rng.randrange(3 * HOUR, 96 * HOUR))
            steps += [
                (first, "reply", None, "ack"),
                (noted, "note", "note"),
                (noted, "status", S.ON_HOLD),
                (solved, "reply", S.SOLVED, "solve"),
            ]
        else:  # DIALOG
            more = first + int((2 + 238 * rng.random() ** 2) * MINUTE)
            answer = shift(more + self._answer_delay(3, 120))
            info = answer + int((5 + 715 * rng.random() ** 2) * MINUTE)
            solved = shift(info + self._answer_delay(5, 300))
            if rng.random() < SLOW_SOLVE_SHARE:
                solved = shift(solved + rng.randrange(24 * HOUR, 72 * HOUR))
            steps += [
                (first, "reply", None, "ack"),
                (more, "customer", "more"),
                (answer, "reply", None, "follow_up"),
                (info, "customer", "info"),
                (solved, "reply", S.SOLVED, "solve"),
            ]
        if rng.random() < NOTE_SHARE and path != ON_HOLD:
            *head, last = steps
            steps = [*head, (last[0], "note", "note"), last]
        if rng.random() < REOPEN_SHARE:
            again = solved + rng.randrange(2 * HOUR, 80 * HOUR)
            solved = shift(again + self._answer_delay(5, 120))
            steps += [(again, "customer", "reopen"), (solved, "reply", S.SOLVED, "solve_again")]
        if rng.random() < MANUAL_CLOSE_SHARE:
            steps.append((shift(solved + rng.randrange(10 * MINUTE, 8 * HOUR)), "status", S.CLOSED))
        else:
            steps.append((solved + self.world.auto_close_after, "auto_close"))
        return steps

    @property
    def chat(self) -> bool:
        return self.channel in (Channel.CHAT, Channel.LIVE_STREAM)

    def _answer_delay(self, low: float, high: float) -> int:
        """How long an agent takes to answer a customer's message: minutes in a chat room,
        ``low`` to ``high`` minutes (mostly near ``low``) elsewhere."""
        rng = self.rng
        if self.chat and rng.random() < CHAT_QUICK_SHARE:
            return int((0.3 + 4.2 * rng.random() ** 2) * MINUTE)
        return int((low + (high - low) * rng.random() ** 2) * MINUTE)

    def _on_shift(self, moment: int) -> int:
        """Agents act from 08:00 to midnight: a step due at night waits for the morning."""
        local = (moment + BEIJING) % DAY
        if local >= SHIFT_STARTS:
            return moment
        return moment - local + SHIFT_STARTS + self.rng.randrange(40 * MINUTE)

    def _age_in(self, goal: str, plan: list[tuple]) -> int:
        """How long ago a showcase ticket was created, for it to be in ``goal`` now."""
        status, start = S.NEW, 0
        for at, step, *args in plan:
            following = _status_after(status, step, args)
            if following != status:
                if status == goal:
                    return start + int((at - start) * self.rng.uniform(0.05, 0.95))
                status, start = following, at
        return start + self.rng.randrange(HOUR)

    # --- running the plan -----------------------------------------------------------------

    def _run(self, plan: list[tuple]) -> None:
        world = self.world
        if self._on_shift_now(self.created_at) and self.rng.random() < AUTO_ASSIGN_SHARE:
            auto_assignee = self._pick_agent()
        else:
            auto_assignee = None
        # ticket_create: the ticket, its first message, the event, the clocks, the assignment.
        created = self.created_at
        self._message(AuthorKind.CUSTOMER, None, self._text("open"), created)
        team_name = self.team.name if self.team else None
        payload = {"team": team_name, "priority": self.priority}
        self._event(E.CREATED, created, BY_STOREFRONT, new=S.NEW, payload=payload)
        self._sync(created)
        if auto_assignee is not None:
            self.assignee = auto_assignee
            new = world.usernames[auto_assignee]
            self._event(E.ASSIGNEE, created, _system("auto-assignment"), new=new)
        for at, step, *args in plan:
            if step == "auto_close":
                # The periodic auto-close runs every five minutes, on the clock.
                at = _ceil(at, AUTO_CLOSE_EVERY)
            if at > self.now:
                break
            self._sweep_before(at)
            getattr(self, f"_step_{step}")(at, *args)
        self._sweep_before(self.now + 1)

    def _on_shift_now(self, moment: int) -> bool:
        return (moment + BEIJING) % DAY >= SHIFT_STARTS

    def _pick_agent(self) -> int | None:
        members = self.world.members.get(self.team_id)
        if members is None:
            return None
        demo_agent = self.world.demo_agent
        if (
            self.k <= len(SHOWCASE_STATUSES)
            and demo_agent in members.options
            and self.rng.random() < 0.5
        ):
            return demo_agent
        return members.pick(self.rng)

    def _agent(self, at: int) -> int | None:
        """The agent who acts: the assignee, or whoever claims the ticket now."""
        if self.assignee is None:
            agent = self._pick_agent()
            if agent is None:
                return None
            self._update(at, agent, assignee=agent)
        return self.assignee

    def _step_reply(self, at: int, then_status: str | None, role: str) -> None:
        agent = self._agent(at)
        if agent is None:
            return
        first = self.first_response_at is None
        if first:
            self._first_answer_changes(at, agent)
        body = self._text(role)
        if first:
            body = GREETING.format(agent=self.world.first_names[agent]) + body
        if then_status == S.SOLVED and self.rng.random() < 0.5:
            body += SIGN_OFF
        self._message(AuthorKind.AGENT, agent, body, at)
        actor = self._by(agent)
        self._event(E.REPLIED, at, actor)
        if self.first_response_at is None:
            self.first_response_at = at
        if self.owner is None:
            self.owner = agent
            self._event(E.OWNER, at, actor, new=self.world.usernames[agent])
        if self.status == S.NEW and then_status is None:
            then_status = S.OPEN
        if self.kind in AGENT_MILESTONE_KINDS:
            self._milestone("acceptance", at, actor)
            if then_status in (S.PENDING, S.SOLVED):
                self._milestone("plan", at, actor)
        if then_status and then_status != self.status:
            self._transition(then_status, at, actor)
        self._sync(at, replied=True)
        self.updated_at = at

    def _milestone(self, milestone: str, at: int, actor: dict) -> None:
        """``ticket_accept`` / a reply sent as the plan: recorded once."""
        if milestone not in self.milestones:
            self.milestones[milestone] = _dt(at).isoformat()
            self._event(E.MILESTONE, at, actor, new=milestone)

    def _first_answer_changes(self, at: int, agent: int) -> None:
        """What agents often set when they first take a ticket: tags, a priority."""
        rng = self.rng
        tags = None
        if rng.random() < TAG_SHARE:
            tags = list(self.scenario.tags)
            if self.customer.tier == CustomerTier.VIP:
                tags.append("vip")
        priority = None
        if rng.random() < PRIORITY_CHANGE_SHARE:
            if self.kind == K.INQUIRY and self.priority == Priority.NORMAL:
                priority = Priority.LOW
            else:
                priority = priority_above(self.priority)
        if tags or (priority and priority != self.priority):
            self._update(at, agent, tags=tags, priority=priority)

    def _step_note(self, at: int, role: str) -> None:
        agent = self._agent(at)
        if agent is None:
            return
        body = self._text(role)
        self._message(AuthorKind.AGENT, agent, body, at, internal=True)
        self._event(E.NOTE, at, self._by(agent))
        self._sync(at)
        self.updated_at = at

    def _step_customer(self, at: int, role: str) -> None:
        self._message(AuthorKind.CUSTOMER, None, self._text(role), at)
        actor = BY_STOREFRONT
        self._event(E.CUSTOMER_MESSAGE, at, actor)
        if self.status in (S.SOLVED, S.PENDING, S.ON_HOLD):
            self._transition(S.OPEN, at, actor)
        self.last_customer_message_at = at
        self._sync(at, customer_message=True)
        self.updated_at = at

    def _step_status(self, at: int, target: str) -> None:
        agent = self._agent(at)
        if agent is not None and self.status != target:
            self._update(at, agent, status=target)

    def _step_auto_close(self, at: int) -> None:
        if self.status != S.SOLVED:
            return
        self._transition(S.CLOSED, at, _system("auto-close"))
        self._sync(at)
        self.updated_at = at

    def _update(self, at: int, agent: int, *, assignee=None, priority=None, tags=None, status=None):
        """``ticket_update`` by an agent: one event per change, then the clocks."""
        usernames = self.world.usernames
        actor = self._by(agent)
        if assignee is not None and assignee != self.assignee:
            old = usernames[self.assignee] if self.assignee else ""
            self._event(E.ASSIGNEE, at, actor, old=old, new=usernames[assignee])
            self.assignee = assignee
        if priority and priority != self.priority:
            self._event(E.PRIORITY, at, actor, old=self.priority, new=priority)
            self.priority = priority
        if tags:
            wanted = sorted(set(tags))
            self._event(E.TAGS, at, actor, new=",".join(wanted))
            self.tag_ids = [self.world.tags[name] for name in wanted]
        if status and status != self.status:
            self._transition(status, at, actor)
        self._sync(at)
        self.updated_at = at

    def _transition(self, target: str, at: int, actor: dict) -> None:
        current = self.status
        changes = transition_changes(
            current=current, target=target, now=at, reopen_count=self.reopen_count
        )
        for name, value in changes.items():
            setattr(self, name, value)
        self._event(transition_event_type(current, target), at, actor, old=current, new=target)

    # --- rows -------------------------------------------------------------------------------

    def _message(
        self, author: str, user: int | None, body: str, at: int, *, internal: bool = False
    ) -> None:
        self.batch.messages.append(
            {
                "ticket": self.k,
                "author_kind": author,
                "author_user": user,
                "internal": internal,
                "automated": False,
                "body": body,
                "channel": self.channel,
                "created_at": _dt(at),
            }
        )

    def _event(self, type: str, at: int, actor: dict, **change) -> None:
        """A timeline row as ``ticket_event_record`` writes it; ``actor``: its actor columns."""
        values = ticket_event_values(type, **change)
        self.batch.events.append({"ticket": self.k, "at": _dt(at), **values, **actor})

    def _by(self, agent: int) -> dict:
        return {
            "actor_kind": "user",
            "actor_user": agent,
            "actor_label": self.world.usernames[agent],
        }

    def _emit(self) -> None:
        batch, k = self.batch, self.k
        fields = self.fields
        subject = self.scenario.texts["subject"].format_map(fields)
        batch.tickets.append(
            {
                "id": k,
                "number": _number(k),
                "subject": subject[:200],
                "kind": self.kind,
                "channel": self.channel,
                "priority": self.priority,
                "status": self.status,
                "customer": self.customer_id,
                "order": self.order[1] if self.order else None,
                "team": self.team_id,
                "assignee": self.assignee,
                "owner": self.owner,
                "created_at": _dt(self.created_at),
                "updated_at": _dt(self.updated_at),
                "first_response_at": _maybe_dt(self.first_response_at),
                "solved_at": _maybe_dt(self.solved_at),
                "closed_at": _maybe_dt(self.closed_at),
                "last_customer_message_at": _maybe_dt(self.last_customer_message_at),
                "reopen_count": self.reopen_count,
                "next_due_at": self.next_due_at,
                "next_warn_at": self.next_warn_at,
                "milestones": self.milestones,
            }
        )
        for tag_id in self.tag_ids:
            batch.tags.append({"ticket": k, "tag": tag_id})
        for clock, swept in zip(self.clocks, self.swept, strict=True):
            position = len(batch.clocks)
            row = clock._asdict()  # the row's fields, but its relations by name
            row.update(ticket=k, policy=clock.policy_id, target=clock.target_id)
            row.update(warned_at=swept.warned_at, escalation_level=swept.escalation_level)
            batch.clocks.append(row)
            for kind, level, at, detail in swept.events:
                batch.sla_events.append(
                    {"clock": position, "kind": kind, "level": level, "at": at, "detail": detail}
                )

    # --- SLA clocks: ticket_clocks_sync, and the sweeper between changes --------------------

    def _sync(self, now: int, *, replied: bool = False, customer_message: bool = False) -> None:
        world, clocks = self.world, self.clocks
        at = _dt(now)
        step = clocks_step(
            clocks,
            world.targets_for(self),
            TicketFacts(
                status=self.status,
                created_at=_dt(self.created_at),
                responded=self.first_response_at is not None,
                milestones=self.milestones,
            ),
            now=at,
            calendar_of=lambda i: world.targets[clocks[i].target_id].calendar,
            replied=replied,
            customer_message=customer_message,
        )
        self.clocks = [*step.clocks, *step.created]
        self.swept += [_Swept() for _ in step.created]
        self.next_due_at, self.next_warn_at = step.next_due_at, step.next_warn_at
        self._breaches_record(step.breached, at)

    def _sweep_before(self, moment: int) -> None:
        """Run the sweeps that act on this ticket's clocks before ``moment`` (and by now)."""
        while True:
            due = (
                sweep_due_at(c, warned=s.warned_at is not None)
                for c, s in zip(self.clocks, self.swept, strict=True)
            )
            earliest = min((at for at in due if at is not None), default=None)
            if earliest is None or _us(earliest) > self.now:
                return
            # Sweeps run on a 15-second beat; the seeding moment counts as one.
            sweep = min(_ceil(_us(earliest), SWEEP_EVERY), self.now)
            if sweep >= moment:
                return
            self._sweep(_dt(sweep))

    def _sweep(self, now: datetime) -> None:
        """``sla_sweep``: breaches, then warnings, then escalations, on what each finds."""
        clocks, found = self.clocks, self._findings(now)
        breaches = [i for i, finding in found if finding == BREACH]
        for i in breaches:
            clocks[i] = clocks[i]._replace(status=BREACHED, breached_at=clocks[i].due_at)
        self._breaches_record(breaches, now)
        for i, finding in found:
            if finding == WARNING:
                self.swept[i].warned_at = now
                self.swept[i].events.append((WARNING, 0, now, {"due_at": _iso(clocks[i].due_at)}))
        escalating = [i for i, finding in self._findings(now) if finding == ESCALATION]
        for i in sorted(escalating, key=lambda i: clocks[i].next_escalation_at):
            self._escalate(i, now)

    def _findings(self, now: datetime) -> list[tuple[int, str | None]]:
        return [
            (i, sweep_finding(c, warned=s.warned_at is not None, now=now))
            for i, (c, s) in enumerate(zip(self.clocks, self.swept, strict=True))
        ]

    def _breaches_record(self, breached, now: datetime) -> None:
        for i in breached:
            c, swept = self.clocks[i], self.swept[i]
            swept.events.append((BREACH, 0, now, {"due_at": _iso(c.due_at)}))
            ladder = self.world.ladders.get((c.policy_id, c.metric))
            swept.escalation_level = 0
            first = ladder[0].minutes_after_breach if ladder else None
            self.clocks[i] = c._replace(next_escalation_at=breach_escalation(c, first))

    def _escalate(self, i: int, now: datetime) -> None:
        clock, swept = self.clocks[i], self.swept[i]
        ladder = self.world.ladders.get((clock.policy_id, clock.metric), [])
        minutes = [rule.minutes_after_breach for rule in ladder]
        levels, next_at = escalations_due(clock, swept.escalation_level, minutes, now)
        for level in levels:
            rule = ladder[level - 1]
            swept.events.append((ESCALATION, level, now, {"action": rule.action}))
            self._escalation_action(rule, level, _us(now))
            swept.escalation_level = level
        self.clocks[i] = self.clocks[i]._replace(next_escalation_at=next_at)

    def _escalation_action(self, rule, level: int, now: int) -> None:
        """``ticket_escalate``: notifications are not seeded; priority and team changes are."""
        actor = _system(f"SLA escalation level {level}")
        if rule.action == EscalationAction.RAISE_PRIORITY:
            new = priority_above(self.priority)
            if new is not None:
                self._event(E.PRIORITY, now, actor, old=self.priority, new=new)
                self.priority = new
        elif rule.action == EscalationAction.MOVE_TO_TEAM and rule.team_id:
            if rule.team_id != self.team_id:
                old = self.team.name if self.team else ""
                self._event(E.TEAM, now, actor, old=old, new=rule.team.name)
                self.team, self.team_id = rule.team, rule.team_id
                members = self.world.members.get(self.team_id)
                if self.assignee and (members is None or self.assignee not in members.options):
                    old_user = self.world.usernames[self.assignee]
                    self._event(E.ASSIGNEE, now, actor, old=old_user)
                    self.assignee = None
        else:
            return
        self._sync(now)
        self.updated_at = now


def _system(label: str) -> dict:
    return {"actor_kind": "system", "actor_user": None, "actor_label": label}


def _unchanged(moment: int) -> int:
    return moment


def _maybe_dt(us: int | None) -> datetime | None:
    return None if us is None else _dt(us)


def _iso(moment: datetime | None) -> str:
    """A due time as the sweeper writes it into an event's detail: ``str`` of the datetime."""
    return str(None if moment is None else moment.astimezone(UTC))


def _order_state(order: tuple, moment: int) -> str:
    _placed, _pk, _customer, _number, paid, shipped, delivered = order
    if delivered is not None and delivered <= moment:
        return "delivered"
    if shipped is not None and shipped <= moment:
        return "shipped"
    if paid is not None and paid <= moment:
        return "paid"
    return "unpaid"


def _status_after(status: str, step: str, args: list) -> str:
    """The status a planned step leaves the ticket in (for placing showcase tickets)."""
    if step == "reply":
        then_status = args[0]
        if then_status:
            return then_status
        return S.OPEN if status == S.NEW else status
    if step == "customer":
        return S.OPEN if status in (S.SOLVED, S.PENDING, S.ON_HOLD) else status
    if step == "status":
        return args[0]
    if step == "auto_close":
        return S.CLOSED
    return status
