"""Demo data of the tickets app: teams, agents, and a year of tickets with their SLA clocks.

The tickets are about the orders seeder's customers and orders, written in batches (COPY on
PostgreSQL), not through the services: what the services, the SLA sweeper and the auto-close
would have recorded is replayed in time, the clocks taking the engine's pure steps
(``tickets.sla.steps``). Ticket ``k`` has the id ``k``, the number ``T-{k:06d}`` and its own
random generator, so a ticket is the same however many runs wrote it.
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
from demo import orders as demo_orders
from demo.batches import Rows, Table, batches_write, sequence_keep_ahead
from demo.context import DEMO_PASSWORD, SeedContext, Weighted
from orders.choices import Channel, CustomerTier
from orders.models import Customer, Order, OrderLine, Shipment
from tickets.choices import AuthorKind, Presence, Priority, TicketEventType, TicketKind
from tickets.choices import TicketStatus as S
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
from tickets.sla import steps as sla
from tickets.sla.clocks import target_plain
from tickets.sla.policies import active_policies, policy_for
from tickets.transitions import transition_changes, transition_event_type

K, E = TicketKind, TicketEventType

# Times are whole microseconds since the epoch while a ticket is simulated: exact, and fast.
SECOND = 1_000_000
MINUTE, HOUR, DAY = 60 * SECOND, 3600 * SECOND, 86_400 * SECOND
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BEIJING = 8 * HOUR  # UTC+8 all year: China keeps no daylight-saving time

MAX_TICKETS = 99_999_999  # T-99999999 still fits the number column
BATCH_TICKETS = 2_000
HISTORY_DAYS = 365
ANALYZE_FROM = 10_000  # after seeding this many tickets on PostgreSQL, refresh the statistics
STOREFRONT = "storefront"  # the actor label of the storefront's API key
BY_STOREFRONT = {"actor_kind": "api_key", "actor_user": None, "actor_label": STOREFRONT}
SWEEP_EVERY, AUTO_CLOSE_EVERY = 15 * SECOND, 300 * SECOND  # their beat schedules
SHIFT_STARTS = 8 * HOUR  # agents answer from 08:00 to midnight

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
CHATS = (Channel.CHAT, Channel.LIVE_STREAM)
# How often a ticket of each kind is about one of the customer's orders, when there is one.
ORDER_SHARE = {
    K.INQUIRY: 0.35, K.ORDER_ISSUE: 0.95, K.RETURN_REFUND: 0.9, K.AFTER_SALES: 0.85,
    K.COMPLAINT: 0.5,
}  # fmt: skip
# Beijing hours, 0 to 23: when customers write.
HOUR_WEIGHTS = (2, 1, 0.5, 0.3, 0.3, 0.5, 1, 2, 4, 7, 8, 8, 6, 7, 8, 8, 7, 6, 5, 6, 8, 9, 7, 4)
HOURS = Weighted(*zip(range(24), HOUR_WEIGHTS, strict=True))

ISSUES = {
    "apparel": ("洗了一次就起球了", "有明显的色差", "袖口开线了"),
    "electronics": ("充不进电", "蓝牙一直连不上", "用了三天就开不了机"),
    "beauty": ("用了之后脸上过敏发红", "收到的生产日期快过期了"),
    "food": ("收到的包装漏气了", "收到的生产日期快过期了"),
    "home": ("有一股很大的异味", "收到就有裂痕"),
    "baby": ("外包装破损了", "宝宝用了起红点"),
}
QUICK, PENDING, ON_HOLD, DIALOG = "quick", "pending", "on_hold", "dialog"  # conversation shapes
# A scenario: a header line "= needs shapes tags [category]", then its texts one a line in this
# order: the subject, the customer's first message, the answer that solves it at once, the
# question back, the customer's answer to it, the acknowledgement, the agents' internal note, the
# solving answer.
ROLES = ("subject", "open", "quick", "ask", "info", "ack", "note", "solve")


class _Scenario:
    """One kind of request: the order it needs, how conversations about it go, its texts.

    ``needs``: "-" (no order), "any" order, or the order's state when the customer writes:
    "unpaid", "paid" (not shipped), "shipped" (not delivered), "delivered"; ``shapes``: the
    weights of QUICK, PENDING, ON_HOLD and DIALOG; ``category``: the product's, if it needs one.
    """

    def __init__(self, header: str, texts: list[str]):
        needs, shapes, tags, *category = header.split()
        self.needs = None if needs == "-" else needs
        self.tags, self.category = tuple(tags.split(",")), (category or [None])[0]
        weights = map(int, shapes.split(","))
        self.shapes = Weighted(*zip((QUICK, PENDING, ON_HOLD, DIALOG), weights, strict=True))
        self.texts = dict(zip(ROLES, texts, strict=True))


def _scenarios(text: str) -> tuple[_Scenario, ...]:
    lines = text.strip().splitlines()
    return tuple(_Scenario(lines[i][2:], lines[i + 1 : i + 9]) for i in range(0, len(lines), 9))


SCENARIOS = {
    K.INQUIRY: _scenarios("""
= - 6,3,1,1 售前
{product}什么时候补货
你好，{product}一直显示缺货，请问什么时候能补货？想买两件。
{product}预计下周三补货，您可以先点“到货提醒”，到货后会第一时间通知您。
请问您需要的是哪个颜色和规格呢？我帮您查一下仓库的库存。
黑色的，要两件。
我这边帮您联系仓库确认补货时间，稍后回复您。
已在采购群询问{product}补货时间，等待回复。
已确认{product}下周三到货，已为您登记到货提醒，到货后会短信通知您。
= - 5,4,1,1 活动咨询
优惠券结算时用不了
我领了满199减20的券，结算的时候显示不可用，是怎么回事？
这张券仅限指定商品使用，参与活动的商品需要满199元才能用哦，您可以再凑单试试。
麻烦您截图一下结算页面，我帮您看看是哪里的问题。
截图已经发过去了，你看一下。
收到，我这边帮您查一下这张券的使用规则。
券批次配置了品类限制，已找运营确认能否补发通用券。
已核实是券的品类限制导致的，已为您补发一张全场通用的满199减20券，请在“我的-优惠券”查看。
= any 5,3,2,0 发票
订单{order}开发票
订单{order}需要开增值税普通发票，抬头是公司，怎么申请？
您在订单详情页点“申请开票”，填写公司抬头和税号即可，电子发票会在1-3个工作日内发到您的邮箱。
麻烦提供一下公司抬头和税号，我帮您提交开票申请。
抬头和税号都发在下面了，麻烦尽快开一下。
已为您提交开票申请，开好后通知您。
已提交财务开票，订单{order}。
订单{order}的发票已开具并发送到您的邮箱，请注意查收。
= paid 6,2,2,0 改地址
修改订单{order}收货地址
订单{order}的收货地址写错了，还没发货的话能帮我改一下吗？
已为您把订单{order}的收货地址改好了，请在订单详情里核对一下。
请提供一下新的收货地址和联系电话。
新地址发给你了，电话不变。
我这边联系仓库修改面单，请稍等。
已通知仓库修改订单{order}的面单地址。
仓库已确认修改成功，包裹会按新地址发出。
"""),
    K.ORDER_ISSUE: _scenarios("""
= paid 5,0,4,1 催发货
订单{order}什么时候发货
订单{order}付款好几天了还没发货，什么时候能发？着急用。
已帮您催促仓库，订单{order}今天会安排发出，发货后可以在订单详情里查看物流。
请问您是着急哪一天收到呢？我帮您备注加急。
周五之前能到就行。
非常抱歉让您久等了，我这边马上联系仓库加急处理。
已在仓库群催发订单{order}，仓库反馈缺货调拨中。
订单{order}已经发出，今天就会有物流信息，给您带来不便非常抱歉。
= shipped 3,0,5,2 物流异常
{carrier}物流好几天没更新
我的快递{tracking}好几天没有物流更新了，是不是丢件了？
已帮您查询，包裹目前在{carrier}转运中心，因为件量大有延误，预计1-2天内送达。
麻烦确认一下收货地址和电话是否正确，我这边好联系快递。
地址电话都没问题。
我这边联系{carrier}核实包裹的位置，有结果马上告诉您。
已在{carrier}系统提交查件，单号{tracking}，等待快递回复。
{carrier}已回复，包裹今天重新派送，请留意电话。如果明天还没收到请再联系我们。
= delivered 0,6,3,2 签收异常
显示签收了但没收到货
订单{order}物流显示已经签收了，可是我根本没收到，也没人给我打电话。
已联系{carrier}，包裹放在了小区驿站，您可以凭取件码去领取。
请您先看一下快递柜、门卫或驿站有没有代收，方便的话告诉我结果。
问过门卫了，没有，快递柜也没有。
我这边联系{carrier}核实签收情况，请稍等。
快递员称包裹放在驿站，已要求送货上门。
已核实包裹被放在小区驿站，快递员今天会重新送货上门，再次抱歉。
= unpaid 6,3,0,1 支付问题
付款一直失败
订单{order}付款的时候一直提示失败，钱也没扣，怎么办？
可能是银行卡限额导致的，建议换一张卡或用支付宝余额支付。订单超时取消后优惠券会自动退回。
请问您用的是哪种支付方式？提示的错误是什么？
微信支付，提示“支付失败，请稍后再试”。
我这边帮您查一下支付记录。
支付渠道反馈短时异常，已恢复。
已核实是支付通道短暂异常，现在已经恢复，您可以重新下单支付。
= - 3,4,2,1 物流异常
快递一直没送到
我买的{product}快一个星期了还没送到，能帮我查一下吗？
已帮您查询，包裹已经在派送中，今天会送达，请留意电话。
麻烦提供一下订单号，我帮您查一下物流。
订单号发给你了。
我这边联系快递核实一下。
已提交快递查件。
已帮您查询，包裹已经在派送中，今天会送达。
"""),
    K.AFTER_SALES: _scenarios("""
= delivered 1,6,3,2 质量问题
{product}{issue}
你好，我买的{product}{issue}，这个怎么处理？
非常抱歉，已为您申请换新，新品会在48小时内发出，旧的不用寄回。
非常抱歉给您带来不好的体验，麻烦拍几张问题部位的照片发给我们。
照片已经发了，你们看一下。
我这边提交给质检核实，请稍等。
已转质检，照片显示{product}确实有质量问题，建议换新。
已核实是商品质量问题，为您申请了换新，新品会在48小时内发出，旧的不用寄回。
= delivered 1,6,2,1 破损
收到的{product}有破损
快递刚到，{product}外包装破了，东西也有磕碰。
非常抱歉，已为您申请破损补偿，20元已原路退回到您的支付账户。
请您拍一下外包装和商品破损处的照片。
照片拍好发过去了。
收到，我这边帮您申请破损补偿。
{carrier}运输破损，已向快递索赔。
已为您申请破损补偿，20元已经原路退回到您的支付账户。
= delivered 5,3,2,0 换货 apparel
{product}想换个尺码
{product}尺码偏小，想换大一码，怎么操作？
您在订单详情里申请“换货”，选择大一码寄回即可，收到后为您发出新的尺码，来回运费由我们承担。
请问您想换成哪个尺码和颜色呢？
换XL，颜色不变。
好的，我这边为您登记换货。
已登记换货，等待客户寄回。
换货已登记，新尺码会在收到退货后24小时内发出。
= - 1,5,3,1 质量问题
{product}{issue}
上个月买的{product}{issue}，还能售后吗？
在质保期内可以免费维修或更换，您在订单详情里申请售后即可。
麻烦提供一下订单号和问题照片，我帮您查一下售后期限。
订单号和照片都发你了。
收到，我这边为您登记售后。
已登记售后，转售后专员跟进。
已为您登记售后，质保期内可以免费维修或更换，售后专员会在24小时内联系您。
"""),
    K.RETURN_REFUND: _scenarios("""
= delivered 0,5,4,1 退货,七天无理由
{product}申请七天无理由退货
{product}收到后感觉不太合适，想申请七天无理由退货。
已为您同意退货申请，请在7天内寄回，仓库签收后退款会原路退回。
已为您同意退货申请，请在7天内把商品寄回，并把退货快递单号发给我们。
已经寄回了，顺丰单号{return_tracking}。
好的，已为您登记退货。
等待仓库签收退货，单号{return_tracking}。
仓库已经签收您的退货，退款已原路退回，1-3个工作日到账。
= any 5,1,3,1 退款
退款还没到账
订单{order}申请退款三天了，钱还没到账，怎么回事？
已帮您查询，退款已经原路退回，银行处理需要1-3个工作日，请再耐心等待一下。
请问您付款用的是哪张银行卡？我帮您查一下退款流水。
招商银行的信用卡。
我这边帮您联系财务核实退款进度。
财务反馈订单{order}退款批次延迟，今天重新发起。
财务已重新发起退款，今天内会到账，给您带来不便非常抱歉。
= - 5,4,1,0 退款
怎么申请退款
之前买的{product}不想要了，怎么申请退款？
您在“我的订单”里找到对应订单，点“申请售后-退货退款”即可，审核通过后寄回商品就可以退款了。
麻烦提供一下订单号，我帮您看一下是否还在售后期内。
订单号发你了。
收到，我这边为您提交退货退款申请。
已提交退货退款申请。
已为您提交退货退款申请，审核已通过，请按页面提示寄回商品。
"""),
    K.COMPLAINT: _scenarios("""
= - 0,0,6,4 投诉,服务态度
投诉客服态度
昨天咨询的客服态度很差，问了半天都不回复，最后直接不理人了，要求给个说法！
非常抱歉，已对相关客服进行批评教育，并为您发放了一张30元无门槛券。
非常抱歉，麻烦提供一下当时咨询的时间，我们调取聊天记录核实。
昨天晚上九点多。
非常抱歉给您带来了不好的体验，我会认真核实这件事并给您答复。
已调取聊天记录，确认客服回复超时，已安排培训。
经核实确实是我们客服的问题，已对相关人员进行培训，并为您发放了一张30元无门槛券，再次向您致歉。
= delivered 0,2,4,4 投诉,差评预警
{product}和直播间说的不一样
直播间里说{product}是正品专柜货，收到的东西做工很差，严重怀疑是假货，我要投诉！
已为您办理全额退款，商品无需退回，给您带来不好的体验非常抱歉。
非常抱歉，麻烦提供一下商品照片和吊牌照片，我们马上核实。
照片都发了，你们自己看。
非常抱歉，我们会马上核实商品来源，今天内给您答复。
已请品控核实{product}批次，客户情绪激动，注意安抚。
已核实商品为正品，但给您的体验不好，已为您办理全额退款，商品无需退回。
= shipped 0,1,6,3 投诉
投诉{carrier}快递员
{carrier}的快递员不送货上门，打电话还态度恶劣，单号{tracking}。
非常抱歉，已向{carrier}投诉该快递员，网点会电话向您致歉。
非常抱歉，请问快递员是什么时间联系您的？
今天上午十点左右。
非常抱歉，我们已向{carrier}投诉该快递员，会尽快给您答复。
已向{carrier}网点提交投诉，单号{tracking}。
{carrier}网点已对快递员进行处理，并会电话向您致歉，我们也为您补偿了10元无门槛券。
= - 0,0,5,5 投诉,差评预警
问题反映了三次还没解决
同一个问题已经反映三次了还是没人解决，再不处理我就去12315投诉了！
非常抱歉让您多次反映，问题已处理完毕，并为您办理了补偿。
非常抱歉，麻烦再描述一下问题，这次由我全程跟进。
就是上次说的退款问题，到现在还没处理。
非常抱歉让您多次反映，这次由我全程跟进，今天内一定给您答复。
已升级给主管，要求今天内处理完毕。
问题已经处理完毕，已为您办理补偿，后续有任何问题可以直接找我。
"""),
}  # fmt: skip

GREETING = "亲，您好！我是客服{agent}，很高兴为您服务。"
SIGN_OFF = "还有其他问题随时联系我们哦～"
# Texts of the roles that no scenario words itself: one of them, picked.
SHARED_TEXTS = {
    "more": (
        "那大概要多久？", "好的，那我等你们消息。", "能不能快一点？我着急用。",
        "还需要我提供什么吗？", "这个我不太明白，能再说清楚一点吗？",
    ),
    "follow_up": (
        "正在为您加急处理，有进展第一时间通知您。", "已经帮您备注加急了，请您耐心等待一下。",
        "这边还在核实中，今天内一定给您答复。",
    ),
    "reopen": (
        "问题还是没有解决，麻烦再看一下。", "说好的处理我还没收到，怎么回事？",
        "刚才试了一下还是不行。",
    ),
    "solve_again": (
        "非常抱歉，已经重新为您处理，这次会一直跟进到底。",
        "已再次核实并处理完毕，给您带来不便非常抱歉。",
    ),
    "no_reply": ("由于超过48小时未收到您的回复，工单先做已解决处理，如有需要可以随时回复我们。",),
}  # fmt: skip

# --- Lifecycle ------------------------------------------------------------------------------

AUTO_ASSIGN_SHARE = 0.6  # of tickets created while agents are on shift
NOTE_SHARE = 0.15  # an internal note before the solving reply
NO_CUSTOMER_REPLY_SHARE = 0.15  # of tickets waiting on the customer
# Of conversations: a busy day, the team solves them only one to three days later (their
# closure may breach; a well-run team keeps this rare).
SLOW_SOLVE_SHARE = 0.04
REOPEN_SHARE = 0.06  # of solved tickets: the customer writes again within days
MANUAL_CLOSE_SHARE = 0.55  # of solved tickets: closed by the agent rather than the auto-close
# Of chat and live-stream answers after the first: quick, as the rooms' 5-minute promise asks.
CHAT_QUICK_SHARE = 0.9
TAG_SHARE = 0.6  # of tickets: tagged by the agent when first answering
PRIORITY_CHANGE_SHARE = 0.1  # of tickets: the agent changes the priority when first answering
# Cases whose acceptance (受理) and handling plan (处理方案) the agent records on the ticket: the
# first answer accepts, the reply that leaves a next step with the customer is the plan.
# (Complaint tickets get theirs from the complaints seeder.)
AGENT_MILESTONE_KINDS = (K.AFTER_SALES, K.RETURN_REFUND)
# The first tickets are placed so that each is in this status now: a demo of any size then
# has a backlog in every queue view (with new tickets both breaching soon and breached).
SHOWCASE_STATUSES = (S.NEW, S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED, S.OPEN, S.NEW, S.PENDING) * 5
SHOWCASE_SHAPES = {S.NEW: DIALOG, S.OPEN: DIALOG, S.PENDING: PENDING, S.ON_HOLD: ON_HOLD}

# How conversations go. A step is (who acts, its text role, the status it leaves the ticket in,
# its delay after the step before), or (chance, steps, otherwise steps). Delays: ("first",) the
# first response; ("answer", low, high): an agent's, minutes, mostly near ``low`` (a few
# minutes in chat rooms); ("wait", low, high): the customer's, alike; ("within", low, high):
# any time between; None: at once. Replies and status changes wait for the agents' shift; a
# "later" step moves the step before it later.
FIRST = ("first",)
SHAPES = {
    QUICK: [("reply", "quick", S.SOLVED, FIRST)],
    PENDING: [
        ("reply", "ask", S.PENDING, FIRST),
        (NO_CUSTOMER_REPLY_SHARE, [("reply", "no_reply", S.SOLVED, ("within", 2 * DAY, 3 * DAY))], [
            ("customer", "info", S.OPEN, ("wait", 5, 1440)),
            ("reply", "solve", S.SOLVED, ("answer", 2, 180)),
        ]),
    ],
    ON_HOLD: [
        ("reply", "ack", S.OPEN, FIRST),
        ("note", "note", None, ("within", MINUTE, 20 * MINUTE)),
        ("status", None, S.ON_HOLD, None),
        ("reply", "solve", S.SOLVED, ("within", 3 * HOUR, 96 * HOUR)),
    ],
    DIALOG: [
        ("reply", "ack", S.OPEN, FIRST),
        ("customer", "more", S.OPEN, ("wait", 2, 240)),
        ("reply", "follow_up", S.OPEN, ("answer", 3, 120)),
        ("customer", "info", S.OPEN, ("wait", 5, 720)),
        ("reply", "solve", S.SOLVED, ("answer", 5, 300)),
        (SLOW_SOLVE_SHARE, [("later", None, None, ("within", DAY, 3 * DAY))], []),
    ],
}  # fmt: skip
# After the solving reply (and perhaps a note before it): perhaps a reopen, then the close.
ENDINGS = [
    (REOPEN_SHARE, [
        ("customer", "reopen", S.OPEN, ("within", 2 * HOUR, 80 * HOUR)),
        ("reply", "solve_again", S.SOLVED, ("answer", 5, 120)),
    ], []),
    (MANUAL_CLOSE_SHARE, [("status", None, S.CLOSED, ("within", 10 * MINUTE, 8 * HOUR))], [
        ("auto_close", None, S.CLOSED, ("auto_close",)),
    ]),
]  # fmt: skip
AT_WORK = ("reply", "status", "later")  # the steps that wait for the agents' shift


def seed(ctx: SeedContext) -> dict[str, int]:
    """Teams, agents and routing rules, then the tickets up to ``ctx.tickets``."""
    if ctx.tickets > MAX_TICKETS:
        raise CommandError(f"At most {MAX_TICKETS:,} demo tickets fit the ticket numbering.")
    created = _seed_desk(ctx)
    if ctx.tickets:
        created.update(_seed_tickets(ctx))
    return created


# --- Teams, agents, routing, tags -----------------------------------------------------------


@transaction.atomic
def _seed_desk(ctx: SeedContext) -> dict[str, int]:
    """Agents, teams, memberships, presences, routing rules and tags (small: the ORM)."""
    User = get_user_model()
    agents, agents_created = _seed_agents(ctx, User)
    demo = User.objects.filter(username__in=(AGENT, SUPERVISOR), groups__name=DEMO_GROUP)
    demo = {u.username: u for u in demo}
    supervisor = demo.get(SUPERVISOR)
    teams, teams_created = {}, 0
    for name, _gloss, numbers in TEAMS:
        team, created = Team.objects.get_or_create(name=name)
        teams[name], teams_created = team, teams_created + created
        if supervisor is not None and team.supervisor_id is None:
            team.supervisor = supervisor
            team.save(update_fields=["supervisor"])
        members = [agents[n] for n in numbers if n in agents]
        members += [supervisor] if supervisor else []
        members += [demo[AGENT]] if AGENT in demo and name in AGENT_TEAMS else []
        team.members.add(*members)
    settings = TicketSettings.load()
    if settings.default_team_id is None:
        settings.default_team = teams[DEFAULT_TEAM]
        settings.save(update_fields=["default_team"])
    profiles = {u.pk: _profile(ctx, u) for u in [*demo.values(), *agents.values()]}
    rules = {
        name: {"position": position, "team": teams[team], "set_priority": priority, **condition}
        for name, position, condition, team, priority in ROUTING_RULES
    }
    tags = {tag for scenarios in SCENARIOS.values() for s in scenarios for tag in s.tags}
    return {
        "agents": agents_created,
        "teams": teams_created,
        "agent profiles": len(_create_missing(AgentProfile, "user_id", profiles)),
        "routing rules": len(_create_missing(RoutingRule, "name", rules)),
        "tags": len(_create_missing(Tag, "name", {tag: {} for tag in sorted({*tags, "vip"})})),
    }


def _seed_agents(ctx: SeedContext, User) -> tuple[dict[int, object], int]:
    """The kfNN agents (客服 01, as Chinese desks number them), demo logins with the demo
    password; an existing user of such a name that is no demo account is left alone."""
    numbers = {f"kf{n:02d}": n for n in range(1, AGENT_COUNT + 1)}
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow by design
    rows = {
        name: {"email": f"{name}@example.com", "password": password, **_agent_name(ctx, n)}
        for name, n in numbers.items()
    }
    new = _create_missing(User, "username", rows)
    for group in Group.objects.filter(name__in=(DEMO_GROUP, AGENT)):
        group.user_set.add(*User.objects.filter(username__in=new))
    demo = User.objects.filter(username__in=numbers, groups__name=DEMO_GROUP)
    demo = set(demo.values_list("username", flat=True))
    agents = {}
    for user in User.objects.filter(username__in=numbers):
        if user.username in demo:
            agents[numbers[user.username]] = user
        else:
            warning = f"User {user.username!r} exists and is not a demo account."
            ctx.stdout.write(ctx.style.WARNING(warning))
    return agents, len(new)


def _agent_name(ctx: SeedContext, n: int) -> dict[str, str]:
    rng = ctx.rng("tickets.agent", n)
    surnames, given_chars = demo_orders.SURNAMES, demo_orders.GIVEN_NAME_CHARS
    surname, _ = surnames[int(len(surnames) * rng.random() ** 1.6)]
    given = "".join(rng.choice(given_chars)[0] for _ in range(rng.choice((1, 2, 2))))
    return {"last_name": surname, "first_name": given}


def _profile(ctx: SeedContext, user) -> dict:
    rng = ctx.rng("tickets.presence", user.pk)
    presence = PRESENCES.pick(rng)
    return {
        # The demo logins are at work.
        "presence": Presence.ONLINE if user.username in (AGENT, SUPERVISOR) else presence,
        "capacity": AGENT_CAPACITY,
        "presence_changed_at": ctx.now - timedelta(minutes=rng.uniform(5, 600)),
    }


def _create_missing(model, key: str, rows: dict) -> list:
    """Create the rows, given by their ``key`` value, that do not exist yet; their keys."""
    have = set(model.objects.filter(**{f"{key}__in": rows}).values_list(key, flat=True))
    new = [model(**{key: value}, **fields) for value, fields in rows.items() if value not in have]
    model.objects.bulk_create(new, ignore_conflicts=True)
    return [getattr(row, key) for row in new]


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
        warning = "No demo customers to write tickets: seed some orders too."
        ctx.stdout.write(ctx.style.WARNING(warning))
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
            for table in TICKET_TABLES.values():
                name = writer.connection.ops.quote_name(table.model._meta.db_table)
                cursor.execute(f"ANALYZE {name}")
    return totals


def _missing_tickets(count: int) -> list[int]:
    """Ticket indexes whose id and number (which go together) are both free."""
    taken = set(Ticket.objects.filter(pk__lte=count).values_list("pk", flat=True))
    numbers = Ticket.objects.filter(number__startswith="T-").values_list("number", flat=True)
    taken.update(int(n[2:]) for n in numbers.iterator(chunk_size=20_000) if n[2:].isdigit())
    return [k for k in range(1, count + 1) if k not in taken]


class _World:
    """What every ticket of a run refers to, loaded once."""

    def __init__(self, ctx: SeedContext):
        self.ctx, self.now = ctx, _us(ctx.now)
        users = get_user_model().objects.filter(teams__isnull=False)
        users = users.values_list("pk", "username", "first_name")
        self.usernames = {pk: username for pk, username, _ in users}
        self.first_names = {pk: first for pk, _, first in users}
        self.demo_agent = next((pk for pk, name in self.usernames.items() if name == AGENT), None)
        self.teams = {team.pk: team for team in Team.objects.all()}
        members: dict[int, list[int]] = {}
        for team_id, user_id in Team.members.through.objects.values_list("team_id", "user_id"):
            members.setdefault(team_id, []).append(user_id)
        self.members = {
            team: Weighted(*((user, self._weight(user, team)) for user in sorted(users)))
            for team, users in members.items()
        }
        self.rules = list(RoutingRule.objects.filter(active=True))
        settings = TicketSettings.load()
        self.default_team = settings.default_team_id
        self.auto_close_after = settings.auto_close_solved_after_hours * HOUR
        self.policies = active_policies()
        self.targets = {t.pk: target_plain(t) for p in self.policies for t in p.targets.values()}
        self.ladders: dict[tuple, list] = {}  # (policy, metric): escalation rules, in order
        for rule in EscalationRule.objects.order_by("metric", "minutes_after_breach", "id"):
            self.ladders.setdefault((rule.policy_id, rule.metric), []).append(rule)
        self.matched: dict[tuple, dict | None] = {}
        self.tags = dict(Tag.objects.values_list("name", "id"))
        self._load_orders(ctx)

    def _weight(self, user: int, team: int) -> float:
        """How often a member answers the team's tickets."""
        if self.usernames.get(user) == AGENT:
            return DEMO_AGENT_WEIGHT
        return SUPERVISOR_WEIGHT if user == self.teams[team].supervisor_id else 1.0

    def _load_orders(self, ctx: SeedContext) -> None:
        """The demo customers, and the demo orders by placing time with what tickets about them
        mention: a product and a shipment."""
        first = demo_orders.CUSTOMER_NUMBER_BASE + 1
        count = -(-ctx.size // demo_orders.ORDERS_PER_CUSTOMER)  # rounded up
        customers = Customer.objects.filter(storefront=Storefront.default()).filter(
            external_id__gte=f"CUS-{first}", external_id__lte=f"CUS-{first + count - 1}"
        )
        self.customers = list(customers.order_by("external_id").values_list("id", "tier"))
        self.tier = dict(self.customers)
        base = demo_orders.ORDER_NUMBER_BASE
        numbers = {"number__gte": f"SO-{base + 1}", "number__lte": f"SO-{base + ctx.size}"}
        of_orders = {f"order__{lookup}": value for lookup, value in numbers.items()}
        columns = ("id", "customer_id", "number", "placed_at", "paid_at", "shipped_at")
        orders = Order.objects.filter(**numbers).values_list(*columns, "delivered_at")
        self.orders = sorted(
            (_us(placed), pk, customer, number, *(m and _us(m) for m in moments))
            for pk, customer, number, placed, *moments in orders.iterator(chunk_size=20_000)
        )
        self.placed = [order[0] for order in self.orders]
        lines = OrderLine.objects.filter(**of_orders).order_by("order_id", "id")
        self.products: dict[int, tuple[str, str]] = {}
        for order, *product in lines.values_list("order_id", "name", "category").iterator(20_000):
            self.products.setdefault(order, tuple(product))
        shipments = Shipment.objects.filter(**of_orders)
        shipments = shipments.values_list("order_id", "carrier", "tracking_number")
        self.shipments = {o: tuple(shipped) for o, *shipped in shipments.iterator(20_000)}

    def targets_for(self, t: _Life) -> dict | None:
        """The governing policy's targets by metric (``policy_for``), remembered per
        combination of what policies match on."""
        key = (t.kind, t.priority, t.channel, t.tier, t.team)
        if key not in self.matched:
            ticket = SimpleNamespace(kind=t.kind, priority=t.priority, channel=t.channel)
            ticket.customer, ticket.team_id = SimpleNamespace(tier=t.tier), t.team
            loaded = policy_for(ticket, self.policies)
            targets = loaded and {m: self.targets[x.pk] for m, x in loaded.targets.items()}
            self.matched[key] = targets
        return self.matched[key]


class _Life:
    """One ticket from its creation until now: what the services, the SLA sweeper and the
    auto-close would have done, and the rows they would have written."""

    COLUMNS = ("kind", "channel", "priority", "status", "customer", "team", "assignee", "owner")
    MOMENTS = ("created_at", "updated_at", "first_response_at", "solved_at", "closed_at")

    def __init__(self, world: _World, k: int, batch: Rows):
        self.world, self.k, self.batch = world, k, batch
        self.rng = world.ctx.rng("tickets.ticket", k)
        self.now = world.now
        self.clocks: list[sla.ClockState] = []
        self.swept: list[SimpleNamespace] = []  # the sweeper's marks on each clock
        self.assignee = self.owner = self.first_response_at = self.solved_at = None
        self.closed_at = self.next_due_at = self.next_warn_at = None
        self.reopen_count = 0
        self.tag_ids: list[int] = []
        self.milestones: dict[str, str] = {}

    def live(self) -> None:
        rng, world = self.rng, self.world
        goal = SHOWCASE_STATUSES[self.k - 1] if self.k <= len(SHOWCASE_STATUSES) else None
        self.kind, self.channel = KINDS.pick(rng), CHANNELS.pick(rng)
        if goal is None:
            created = self._created_at()
            order, scenario = self._order_and_scenario(created)
            plan = self._plan(scenario.shapes.pick(rng), created, on_shift=True)
        else:
            shape = SHOWCASE_SHAPES.get(goal, QUICK)
            plan = self._plan(shape, 0, on_shift=False, slow_first=goal == S.NEW)
            created = self.now - self._age_in(goal, plan)
            plan = [(created + at, *rest) for at, *rest in plan]
            order, scenario = self._order_and_scenario(created)
        self.created_at = self.updated_at = self.last_customer_message_at = created
        self.scenario, self.order = scenario, order
        self.fields = self._fields(order, scenario)
        self.customer = order[2] if order else self._customer()
        self.tier = world.tier[self.customer]
        rule = routing_rule_for(
            world.rules, kind=self.kind, channel=self.channel, customer_tier=self.tier
        )
        self.team = rule.team_id if rule else world.default_team
        self.priority = priority_initial(
            requested=None, rule_priority=rule.set_priority if rule else "", customer_tier=self.tier
        )
        self.status = S.NEW
        self._run(plan)
        self._emit()

    # --- what the ticket is about ---------------------------------------------------------

    def _created_at(self) -> int:
        """A moment of the last year, at the hours customers write (Beijing time)."""
        rng = self.rng
        while True:
            local_day = (self.now + BEIJING) // DAY - rng.randrange(HISTORY_DAYS)
            hour = HOURS.pick(rng) * HOUR
            moment = local_day * DAY - BEIJING + hour + rng.randrange(HOUR // SECOND) * SECOND
            moment += rng.randrange(SECOND)
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
                category = world.products.get(order[1], ("", None))[1]
                fitting = [
                    s
                    for s in scenarios
                    if s.needs in (state, "any") and s.category in (None, category)
                ]
                if fitting:
                    return order, rng.choice(fitting)
        return None, rng.choice([s for s in scenarios if s.needs is None])

    def _fields(self, order, scenario: _Scenario) -> dict[str, str]:
        """What the texts mention: the order, its product and shipment, an issue."""
        rng, world = self.rng, self.world
        if order is not None and order[1] in world.products:
            product, category = world.products[order[1]]
        else:
            category = scenario.category or demo_orders.CATEGORIES.pick(rng)
            product = rng.choice(demo_orders.ITEMS[category]).name
        carrier, tracking = world.shipments.get(order[1], ("", "")) if order else ("", "")
        return {
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

    # --- planning -------------------------------------------------------------------------

    def _plan(self, shape: str, created: int, *, on_shift: bool, slow_first=False) -> list:
        """The ticket's whole path as (moment, who acts, text role, status it leaves), future
        steps included."""
        self.on_shift, self.slow_first = on_shift, slow_first
        plan: list[tuple] = []
        moment = self._add_steps(SHAPES[shape], created, plan)
        if self.rng.random() < NOTE_SHARE and shape != ON_HOLD:
            plan.insert(-1, (plan[-1][0], "note", "note", None))
        self._add_steps(ENDINGS, moment, plan)
        return plan

    def _add_steps(self, steps: list, moment: int, plan: list) -> int:
        """Add ``steps`` (see SHAPES) to ``plan``; the moment of the last."""
        for step in steps:
            if isinstance(step[0], float):
                chance, taken, otherwise = step
                chosen = taken if self.rng.random() < chance else otherwise
                moment = self._add_steps(chosen, moment, plan)
                continue
            who, role, then, delay = step
            if delay is not None:
                moment += self._delay(*delay)
                if who in AT_WORK:
                    moment = self._at_work(moment)
            if who == "later":
                plan[-1] = (moment, *plan[-1][1:])
            else:
                plan.append((moment, who, role, then))
        return moment

    def _delay(self, kind: str, low=0, high=0) -> int:
        """A step's delay after the step before (see SHAPES)."""
        rng = self.rng
        if kind == "auto_close":
            return self.world.auto_close_after
        if kind == "within":
            return rng.randrange(low, high)
        if kind == "first" and self.slow_first:
            return rng.randrange(5 * MINUTE, 3 * HOUR)
        if kind == "first" and (self.channel not in CHATS or rng.random() >= 0.92):
            roll = rng.random()
            low, high = (2, 13) if roll < 0.78 else (13, 45) if roll < 0.93 else (45, 240)
            return int(rng.uniform(low, high) * MINUTE)
        if kind == "first":  # in a chat room: minutes
            low, high = 0.3, 4.0
        elif kind == "answer" and self.channel in CHATS and rng.random() < CHAT_QUICK_SHARE:
            low, high = 0.3, 4.5
        return int((low + (high - low) * rng.random() ** 2) * MINUTE)

    def _at_work(self, moment: int) -> int:
        """Agents act from 08:00 to midnight: a step due at night waits for the morning."""
        local = (moment + BEIJING) % DAY
        if not self.on_shift or local >= SHIFT_STARTS:
            return moment
        return moment - local + SHIFT_STARTS + self.rng.randrange(40 * MINUTE)

    def _age_in(self, goal: str, plan: list[tuple]) -> int:
        """How long ago a showcase ticket was created, for it to be in ``goal`` now."""
        status, start = S.NEW, 0
        for at, _who, _role, then in plan:
            if then and then != status:
                if status == goal:
                    return start + int((at - start) * self.rng.uniform(0.05, 0.95))
                status, start = then, at
        return start + self.rng.randrange(HOUR)

    # --- running the plan -----------------------------------------------------------------

    def _run(self, plan: list[tuple]) -> None:
        """``ticket_create``, then the planned steps up to now with the sweeps between them."""
        world, created = self.world, self.created_at
        assignee = None
        if (created + BEIJING) % DAY >= SHIFT_STARTS and self.rng.random() < AUTO_ASSIGN_SHARE:
            assignee = self._pick_agent()
        self._message(AuthorKind.CUSTOMER, None, self._text("open"), created)
        payload = {"team": self._team_name(), "priority": self.priority}
        self._event(E.CREATED, created, BY_STOREFRONT, new=S.NEW, payload=payload)
        self._sync(created)
        if assignee is not None:
            self.assignee = assignee
            actor = _system("auto-assignment")
            self._event(E.ASSIGNEE, created, actor, new=world.usernames[assignee])
        for at, who, role, then in plan:
            if who == "auto_close":
                at = -(-at // AUTO_CLOSE_EVERY) * AUTO_CLOSE_EVERY  # it runs on the clock
            if at > self.now:
                break
            self._sweep_before(at)
            getattr(self, f"_step_{who}")(at, role, then)
        self._sweep_before(self.now + 1)

    def _pick_agent(self) -> int | None:
        members = self.world.members.get(self.team)
        if members is None:
            return None
        demo = self.world.demo_agent
        if self.k <= len(SHOWCASE_STATUSES) and demo in members.options and self.rng.random() < 0.5:
            return demo
        return members.pick(self.rng)

    def _agent(self, at: int) -> int | None:
        """The agent who acts: the assignee, or whoever claims the ticket now."""
        if self.assignee is None:
            agent = self._pick_agent()
            if agent is None:
                return None
            self._event(E.ASSIGNEE, at, self._by(agent), new=self.world.usernames[agent])
            self.assignee = agent
            self._sync(at)
        return self.assignee

    def _step_reply(self, at: int, role: str, then: str) -> None:
        agent = self._agent(at)
        if agent is None:
            return
        actor, first = self._by(agent), self.first_response_at is None
        if first:
            self._first_answer_changes(at, actor)
        body = self._text(role)
        if first:
            body = GREETING.format(agent=self.world.first_names[agent]) + body
            self.first_response_at = at
        if then == S.SOLVED and self.rng.random() < 0.5:
            body += SIGN_OFF
        self._message(AuthorKind.AGENT, agent, body, at)
        self._event(E.REPLIED, at, actor)
        if self.owner is None:
            self.owner = agent
            self._event(E.OWNER, at, actor, new=self.world.usernames[agent])
        if self.kind in AGENT_MILESTONE_KINDS:
            self._milestone("acceptance", at, actor)  # ``ticket_accept``
            if then in (S.PENDING, S.SOLVED):
                self._milestone("plan", at, actor)  # a reply sent as the plan
        if then != self.status:
            self._transition(then, at, actor)
        self._sync(at, replied=True)

    def _milestone(self, milestone: str, at: int, actor: dict) -> None:
        if milestone not in self.milestones:  # recorded once
            self.milestones[milestone] = _dt(at).isoformat()
            self._event(E.MILESTONE, at, actor, new=milestone)

    def _first_answer_changes(self, at: int, actor: dict) -> None:
        """What agents often set when they first take a ticket: tags, a priority."""
        tagged, priority = self.rng.random() < TAG_SHARE, self.priority
        if self.rng.random() < PRIORITY_CHANGE_SHARE:
            lower = self.kind == K.INQUIRY and priority == Priority.NORMAL
            priority = Priority.LOW if lower else priority_above(priority) or priority
        if not tagged and priority == self.priority:
            return
        if priority != self.priority:
            self._event(E.PRIORITY, at, actor, old=self.priority, new=priority)
            self.priority = priority
        if tagged:
            vip = ["vip"] if self.tier == CustomerTier.VIP else []
            tags = sorted({*self.scenario.tags, *vip})
            self._event(E.TAGS, at, actor, new=",".join(tags))
            self.tag_ids = [self.world.tags[name] for name in tags]
        self._sync(at)

    def _step_note(self, at: int, role: str, then: None) -> None:
        agent = self._agent(at)
        if agent is not None:
            self._message(AuthorKind.AGENT, agent, self._text(role), at, internal=True)
            self._event(E.NOTE, at, self._by(agent))
            self._sync(at)

    def _step_customer(self, at: int, role: str, then: str) -> None:
        self._message(AuthorKind.CUSTOMER, None, self._text(role), at)
        self._event(E.CUSTOMER_MESSAGE, at, BY_STOREFRONT)
        if self.status in (S.SOLVED, S.PENDING, S.ON_HOLD):
            self._transition(S.OPEN, at, BY_STOREFRONT)
        self.last_customer_message_at = at
        self._sync(at, customer_message=True)

    def _step_status(self, at: int, role: None, then: str) -> None:
        agent = self._agent(at)
        if agent is not None and self.status != then:
            self._transition(then, at, self._by(agent))
            self._sync(at)

    def _step_auto_close(self, at: int, role: None, then: str) -> None:
        if self.status == S.SOLVED:
            self._transition(S.CLOSED, at, _system("auto-close"))
            self._sync(at)

    def _transition(self, target: str, at: int, actor: dict) -> None:
        current, count = self.status, self.reopen_count
        changes = transition_changes(current=current, target=target, now=at, reopen_count=count)
        for name, value in changes.items():
            setattr(self, name, value)
        self._event(transition_event_type(current, target), at, actor, old=current, new=target)

    # --- rows -----------------------------------------------------------------------------

    def _message(self, author: str, user, body: str, at: int, internal: bool = False) -> None:
        row = {"ticket": self.k, "author_kind": author, "author_user": user, "body": body}
        row.update(internal=internal, channel=self.channel, created_at=_dt(at))
        self.batch.messages.append(row)

    def _event(self, type: str, at: int, actor: dict, **change) -> None:
        """A timeline row as ``ticket_event_record`` writes it; ``actor``: its actor columns."""
        values = ticket_event_values(type, **change)
        self.batch.events.append({"ticket": self.k, "at": _dt(at), **values, **actor})

    def _by(self, agent: int) -> dict:
        return _actor("user", agent, self.world.usernames[agent])

    def _team_name(self) -> str | None:
        return self.world.teams[self.team].name if self.team else None

    def _emit(self) -> None:
        batch, k = self.batch, self.k
        row = {name: getattr(self, name) for name in self.COLUMNS}
        moments = (*self.MOMENTS, "last_customer_message_at")
        row.update({name: getattr(self, name) and _dt(getattr(self, name)) for name in moments})
        row.update(id=k, number=f"T-{k:06d}", order=self.order[1] if self.order else None)
        row.update(subject=self.scenario.texts["subject"].format_map(self.fields)[:200])
        row.update(reopen_count=self.reopen_count, milestones=self.milestones)
        row.update(next_due_at=self.next_due_at, next_warn_at=self.next_warn_at)
        batch.tickets.append(row)
        batch.tags += [{"ticket": k, "tag": tag} for tag in self.tag_ids]
        for clock, swept in zip(self.clocks, self.swept, strict=True):
            position = len(batch.clocks)
            row = clock._asdict()  # the row's fields, but its relations by name
            row.update(ticket=k, policy=clock.policy_id, target=clock.target_id)
            row.update(warned_at=swept.warned_at, escalation_level=swept.level)
            batch.clocks.append(row)
            batch.sla_events += [{**event, "clock": position} for event in swept.events]

    # --- SLA clocks: ticket_clocks_sync, and the sweeper between changes --------------------

    def _sync(self, now: int, **flags: bool) -> None:
        """``ticket_clocks_sync`` after a change at ``now``, with its keyword flags."""
        world, clocks, at = self.world, self.clocks, _dt(now)
        responded = self.first_response_at is not None
        facts = sla.TicketFacts(self.status, _dt(self.created_at), responded, self.milestones)
        step = sla.clocks_step(
            clocks, world.targets_for(self), facts, now=at, calendar_of=self._calendar, **flags
        )
        self.clocks = [*step.clocks, *step.created]
        self.swept += [SimpleNamespace(warned_at=None, level=0, events=[]) for _ in step.created]
        self.next_due_at, self.next_warn_at = step.next_due_at, step.next_warn_at
        self.updated_at = now
        self._breaches_record(step.breached, at)

    def _calendar(self, i: int):
        return self.world.targets[self.clocks[i].target_id].calendar

    def _sweep_before(self, moment: int) -> None:
        """Run the sweeps that act on this ticket's clocks before ``moment`` (and by now)."""
        while True:
            due = (sla.sweep_due_at(c, warned=s.warned_at is not None) for c, s in self._clocks())
            earliest = min((at for at in due if at is not None), default=None)
            if earliest is None or _us(earliest) > self.now:
                return
            # Sweeps run on a 15-second beat; the seeding moment counts as one.
            sweep = min(-(-_us(earliest) // SWEEP_EVERY) * SWEEP_EVERY, self.now)
            if sweep >= moment:
                return
            self._sweep(_dt(sweep))

    def _sweep(self, now: datetime) -> None:
        """``sla_sweep``: breaches, then warnings, then escalations, on what each finds."""
        clocks, found = self.clocks, self._findings(now)
        breaches = [i for i, finding in found if finding == sla.BREACH]
        for i in breaches:
            clocks[i] = clocks[i]._replace(status=sla.BREACHED, breached_at=clocks[i].due_at)
        self._breaches_record(breaches, now)
        for i in (i for i, finding in found if finding == sla.WARNING):
            self.swept[i].warned_at = now
            self._sla_event(i, sla.WARNING, 0, now, {"due_at": _iso(clocks[i].due_at)})
        escalating = [i for i, finding in self._findings(now) if finding == sla.ESCALATION]
        for i in sorted(escalating, key=lambda i: clocks[i].next_escalation_at):
            self._escalate(i, now)

    def _clocks(self):
        return zip(self.clocks, self.swept, strict=True)

    def _findings(self, now: datetime) -> list[tuple[int, str | None]]:
        return [
            (i, sla.sweep_finding(c, warned=s.warned_at is not None, now=now))
            for i, (c, s) in enumerate(self._clocks())
        ]

    def _sla_event(self, i: int, kind: str, level: int, at: datetime, detail: dict) -> None:
        self.swept[i].events.append({"kind": kind, "level": level, "at": at, "detail": detail})

    def _breaches_record(self, breached, now: datetime) -> None:
        for i in breached:
            c = self.clocks[i]
            self._sla_event(i, sla.BREACH, 0, now, {"due_at": _iso(c.due_at)})
            ladder = self.world.ladders.get((c.policy_id, c.metric))
            self.swept[i].level = 0
            first = ladder[0].minutes_after_breach if ladder else None
            self.clocks[i] = c._replace(next_escalation_at=sla.breach_escalation(c, first))

    def _escalate(self, i: int, now: datetime) -> None:
        clock, swept = self.clocks[i], self.swept[i]
        ladder = self.world.ladders.get((clock.policy_id, clock.metric), [])
        minutes = [rule.minutes_after_breach for rule in ladder]
        levels, next_at = sla.escalations_due(clock, swept.level, minutes, now)
        for level in levels:
            rule = ladder[level - 1]
            self._sla_event(i, sla.ESCALATION, level, now, {"action": rule.action})
            self._escalation_action(rule, level, _us(now))
            swept.level = level
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
            if rule.team_id != self.team:
                new = self.world.teams[rule.team_id].name
                self._event(E.TEAM, now, actor, old=self._team_name() or "", new=new)
                self.team = rule.team_id
                members = self.world.members.get(self.team)
                if self.assignee and (members is None or self.assignee not in members.options):
                    self._event(E.ASSIGNEE, now, actor, old=self.world.usernames[self.assignee])
                    self.assignee = None
        else:
            return
        self._sync(now)


def _actor(kind: str, user: int | None, label: str) -> dict:
    """An event's actor columns."""
    return {"actor_kind": kind, "actor_user": user, "actor_label": label}


def _system(label: str) -> dict:
    return _actor("system", None, label)


def _dt(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _iso(moment: datetime | None) -> str:
    """A due time as the sweeper writes it into an event's detail: ``str`` of the datetime."""
    return str(None if moment is None else moment.astimezone(UTC))


def _order_state(order: tuple, moment: int) -> str:
    """What an order was at ``moment``: "unpaid", "paid", "shipped" or "delivered"."""
    _placed, _pk, _customer, _number, paid, shipped, delivered = order
    for state, at in (("delivered", delivered), ("shipped", shipped), ("paid", paid)):
        if at is not None and at <= moment:
            return state
    return "unpaid"
