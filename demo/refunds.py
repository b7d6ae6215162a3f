"""Demo data of the refunds app: return, refund and exchange requests with their refunds.

On about RETURN_SHARE of the delivered demo orders, the agent answering a ticket that asks for a
return starts one the rules allow; it lives, up to now, what the services and timers would have
recorded, up to the refund paid out once (a refund takes its ticket's id).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace as Namespace

from django.db.models import F
from django.utils.translation import gettext as _

from csplatform.roles import SUPERVISOR
from demo.batches import Table
from demo.context import SeedContext, Weighted
from demo.orders import tracking_number
from demo.tickets import ISSUES
from demo.walks import CUSTOMER, TICKET_FIELDS, Life, World, subject_match, system
from orders.models import Order, OrderLine
from refunds import models as m
from refunds import rules as return_rules
from refunds.choices import GOODS_BACK, RefundStatus
from refunds.choices import ReturnReason as R
from refunds.choices import ReturnStatus as S
from refunds.choices import ReturnType as T
from refunds.services import refund_working_days_calendar
from refunds.transitions import LIFECYCLE
from tickets.choices import TicketKind
from tickets.models import Ticket

RETURN_SHARE = 0.065  # of the delivered demo orders get a request (5–8% is usual online)
# How the desk decides a request the rules do not approve at once.
DECISIONS = Weighted(("cancelled", 3), ("timed out", 4), ("rejected", 8), ("approved", 85))
NOT_SENT_BACK_SHARE = 0.05  # approved returns whose goods never come back: closed by the timer
FAILED_INSPECTION_SHARE = 0.04
LATE_REFUND_SHARE = 0.05  # received goods refunded after the working-day deadline
RETURN_CARRIERS = Weighted(("顺丰速运", 55), ("中通快递", 15), ("圆通速递", 12), ("京东物流", 18))

# The reason a ticket subject (see demo.tickets) asks a return for: (start, end, reason).
ASKS = (
    ("", "申请七天无理由退货", R.NO_REASON_7D),
    ("", "想换个尺码", R.SIZE_FIT),
    ("收到的", "有破损", R.DAMAGED_IN_TRANSIT),
    ("", tuple({issue for issues in ISSUES.values() for issue in issues}), R.QUALITY),
)
TYPES = {
    R.NO_REASON_7D: Weighted((T.RETURN_REFUND, 1)),
    R.SIZE_FIT: Weighted((T.EXCHANGE, 85), (T.RETURN_REFUND, 15)),
    R.DAMAGED_IN_TRANSIT: Weighted((T.REFUND_ONLY, 60), (T.RETURN_REFUND, 40)),
    R.QUALITY: Weighted((T.EXCHANGE, 45), (T.RETURN_REFUND, 40), (T.REFUND_ONLY, 15)),
}
DESCRIPTIONS = {
    R.NO_REASON_7D: ("七天无理由退货", "不喜欢，申请七天无理由退货", "买多了，想退一件"),
    R.SIZE_FIT: ("尺码偏小，换大一码", "穿着不合身，想换个尺码"),
    R.DAMAGED_IN_TRANSIT: ("收到时外包装破损，商品有磕碰", "快递运输途中压坏了"),
    R.QUALITY: ("商品有质量问题，申请售后", "用了没几天就坏了"),
}
COMPENSATIONS = (10, 20, 20, 30)  # 破损补偿: a refund only, for the damage
REJECTIONS = (
    "商品已拆封使用，影响二次销售，不符合退货条件",
    "提供的照片无法证明商品存在质量问题",
    "商品吊牌已剪，不支持无理由退货",
)
INSPECTION_NOTES = ("外包装完好，商品无使用痕迹", "商品完好，配件齐全", "已核实质量问题属实")
FAILED_INSPECTION = "退回商品有明显使用痕迹，不符合退货条件"
ORDER_FIELDS = ("order__delivered_at", "order__paid_amount", "order__currency")
# The order's first line, what the ticket is about (a row per line: the first is kept).
LINE_FIELDS = tuple(
    f"order__lines__{f}" for f in ("pk", "sku", "category", "quantity", "unit_price")
)
REFUND_TABLES = {
    "requests": Table("return requests", m.ReturnRequest, with_ids=True),
    "lines": Table("return lines", m.ReturnLine, parents={"request": "requests"}),
    "events": Table("return events", m.ReturnEvent, parents={"request": "requests"}),
    "refunds": Table("refunds", m.Refund, parents={"request": "requests"}, own_ids=True),
    "payouts": Table("gateway payouts", m.GatewayPayout),
}


def seed(ctx: SeedContext) -> dict[str, int]:
    """Return requests on the demo tickets that ask for one, up to RETURN_SHARE of orders."""
    world = _World(ctx)
    chosen = world.choose() if ctx.tickets and ctx.size else []
    if not chosen:
        return {}
    totals = _Return.write_all(world, chosen, REFUND_TABLES)
    # What the services keep on the orders: the money refunded, the units back and kept.
    world.keep(Order, "refunded_amount", world.refunded)
    world.keep(OrderLine, "quantity_returned", world.returned)
    return totals


class _World(World):
    def __init__(self, ctx: SeedContext):
        super().__init__(ctx)
        self.rules = m.RefundRules.load()
        self.window = {  # what check_window weighs a request against
            "rules": self.rules,
            "category_rules": {c.category: c for c in m.CategoryRule.objects.all()},
        }
        self.calendar = refund_working_days_calendar(self.rules)
        self.supervisor = next((k for k, n in self.usernames.items() if n == SUPERVISOR), None)
        self.refunded: dict[int, Decimal] = {}  # by order
        self.returned: dict[int, int] = {}  # by order line

    def choose(self) -> list[dict]:
        """The tickets that get a request this run: about RETURN_SHARE of delivered orders."""
        delivered = Order.objects.filter(number__range=self.numbers, delivered_at__isnull=False)
        tickets = Ticket.objects.filter(
            pk__lte=self.ctx.tickets,
            kind__in=(TicketKind.RETURN_REFUND, TicketKind.AFTER_SALES),
            order__number__range=self.numbers,
            first_response_at__isnull=False,
            order__delivered_at__lt=F("created_at"),
        ).values(*TICKET_FIELDS, *ORDER_FIELDS, *LINE_FIELDS, "team__supervisor_id")
        asking: dict[int, dict] = {}
        for ticket in tickets.order_by("pk", "order__lines__pk").iterator(chunk_size=20_000):
            ticket["reason"] = subject_match(ticket["subject"], ASKS)
            if ticket["reason"] is not None:
                asking.setdefault(ticket["id"], ticket)
        candidates = [ticket for ticket in asking.values() if self.allowed(ticket)]
        share = min(1.0, RETURN_SHARE * delivered.count() / max(len(candidates), 1))
        requests = m.ReturnRequest.objects.filter(order__number__range=self.numbers)
        have = set(requests.values_list("ticket_id", flat=True))
        have |= set(m.Refund.objects.values_list("pk", flat=True))  # refunds take ticket ids
        busy = set(requests.values_list("order_id", flat=True))
        chosen = []
        for ticket in candidates:
            if ticket["id"] in have or ticket["order_id"] in busy:
                continue
            if self.ctx.rng("refunds.pick", ticket["id"]).random() < share:
                busy.add(ticket["order_id"])
                chosen.append(ticket)
        return chosen

    def allowed(self, ticket: dict) -> bool:
        """Whether the rules accept what the ticket asks for (type, quantity and amount, kept
        on it), and there is money to refund."""
        rng, reason = self.ctx.rng("refunds.ask", ticket["id"]), ticket["reason"]
        line, sku, category, bought, price = (ticket[field] for field in LINE_FIELDS)
        type = TYPES[reason].pick(rng)
        quantity = bought if bought > 1 and rng.random() < 0.3 else 1
        amount = min((price * quantity).quantize(Decimal("0.01")), ticket["order__paid_amount"])
        if type == T.EXCHANGE:
            amount = Decimal(0)
        elif type == T.REFUND_ONLY and reason == R.DAMAGED_IN_TRANSIT:
            amount = min(Decimal(rng.choice(COMPENSATIONS)), amount)
        ticket.update(type=type, quantity=quantity, amount=amount, line=line)
        order_line = Namespace(sku=sku, category=category)
        try:
            return_rules.check_window(
                order=Namespace(delivered_at=ticket["order__delivered_at"]),
                reason=reason,
                type=type,
                lines=[Namespace(order_line=order_line, quantity=quantity)],
                now=ticket["first_response_at"],
                **self.window,
            )
        except return_rules.ReturnRefused:
            return False
        return type == T.EXCHANGE or amount > 0


class _Return(Life):
    """One request from the moment the agent starts it until now."""

    lifecycle, stream = LIFECYCLE, "refunds.return"

    def live(self) -> None:
        ticket, rng, rules = self.ticket, self.rng, self.world.rules
        created, amount, reason = ticket["first_response_at"], ticket["amount"], ticket["reason"]
        due = created + timedelta(hours=rules.response_timeout_hours)
        request = {"ticket": ticket["id"], "order": ticket["order_id"], "type": ticket["type"]}
        request |= {"reason": reason, "description": rng.choice(DESCRIPTIONS[reason])}
        request |= {"public_id": f"R{rng.getrandbits(48):012X}", "requested_amount": amount}
        times = {"respond_due_at": due, "created_at": created, "updated_at": created}
        self.begin({**request, **times, "status": S.REQUESTED}, self.batch.requests)
        line = {"order_line": ticket["line"], "quantity": ticket["quantity"]}
        self.batch.lines.append({**self.key, **line})
        self.event("requested", created, self.agent, amount=str(amount))
        if reason in (rules.auto_approve_reasons or []) and amount <= rules.auto_approve_limit:
            reason = _("Within the automatic approval limit.")
            return self._approve(created, system("auto-approval"), reason)
        decision = DECISIONS.pick(rng)
        at = created + timedelta(hours=0.2 + 29.8 * rng.random() ** 2)
        supervisor = ticket["team__supervisor_id"] or self.world.supervisor
        if decision == "cancelled":
            self.move(S.CANCELLED, created + timedelta(hours=rng.uniform(1, 30)), CUSTOMER)
            self.row["respond_due_at"] = None
        elif decision == "timed out":
            reason = _("Approved automatically: the merchant did not answer in time.")
            at = due + timedelta(seconds=rng.uniform(1, 59))
            self._approve(at, system("response timeout"), reason)
        elif decision == "rejected":
            reason = rng.choice(REJECTIONS)
            self.move(S.REJECTED, at, self.agent, reason)
            self._decided(self.agent, at, reason)
        elif amount > rules.supervisor_limit and supervisor:
            # The agent proposes, a supervisor approves (four eyes).
            proposed = max(created, at - timedelta(hours=rng.uniform(0.1, 2)))
            self.event("proposed", proposed, self.agent)
            self.row["proposed_by"] = self.agent[1]
            self._approve(at, self.user(supervisor), "")
        else:
            self._approve(at, self.agent, "")

    def _decided(self, by: tuple, at: datetime, reason: str, **more) -> None:
        self.row.update(decided_by=by[1], decided_at=at, decision_reason=reason, **more)
        self.row["respond_due_at"] = None

    def _approve(self, at: datetime, by: tuple, reason: str) -> None:
        """``_approve``: approved, then refunded at once or the goods sent back, received,
        inspected (the refund deadline may pass meanwhile) and refunded or exchanged."""
        self.move(S.APPROVED, at, by, reason)
        self._decided(by, at, reason)
        if self.ticket["type"] not in GOODS_BACK:
            return self._refund(at, by)
        self.move(S.AWAITING_RETURN, at, by)
        rng, clerk, rules = self.rng, self.agent, self.world.rules
        self.row["return_due_at"] = at + timedelta(days=rules.return_shipping_days)
        if rng.random() < NOT_SENT_BACK_SHARE:
            closed = self.row["return_due_at"] + timedelta(seconds=rng.uniform(1, 59))
            reason = _("The goods were not sent back in time.")
            self.move(S.CLOSED, closed, system("return timeout"), reason)
            self.row["return_due_at"] = None
            return
        shipped = at + timedelta(days=0.2 + 3.8 * rng.random() ** 1.5)
        carrier = RETURN_CARRIERS.pick(rng)
        tracking = tracking_number(rng, carrier)
        self.event("shipped_back", shipped, CUSTOMER, carrier=carrier, tracking_number=tracking)
        self.row.update(return_carrier=carrier, return_tracking_number=tracking)
        self.row["return_shipped_at"] = shipped
        received = shipped + timedelta(days=rng.uniform(1, 4))
        self.move(S.RECEIVED, received, clerk)
        due = self.world.calendar.add(received, timedelta(days=rules.refund_working_days))
        self.row.update(received_at=received, refund_due_at=due, return_due_at=None)
        self.world.returned[self.ticket["line"]] = self.ticket["quantity"]
        inspected = received + timedelta(hours=1 + 29 * rng.random() ** 2)
        if rng.random() < LATE_REFUND_SHARE:
            final = due + timedelta(hours=rng.uniform(2, 72))
        else:
            final = inspected + timedelta(hours=0.2 + 40 * rng.random() ** 2)
            final = max(min(final, due - timedelta(minutes=1)), inspected)
        passed = rng.random() >= FAILED_INSPECTION_SHARE
        if due < min(final if passed else inspected, self.now - timedelta(minutes=1)):
            # The refund deadline passed while the goods sat received: breached, once.
            breached = self.row["refund_breached_at"] = due + timedelta(seconds=rng.uniform(1, 59))
            then = S.INSPECTED if breached >= inspected else S.RECEIVED
            self.event("refund_overdue", breached, system("refund deadline"), old=then, new=then)
        notes = rng.choice(INSPECTION_NOTES) if passed else FAILED_INSPECTION
        self.move(S.INSPECTED, inspected, clerk, notes)
        self.row.update(inspected_at=inspected, inspection_passed=passed, inspection_notes=notes)
        if not passed:
            del self.world.returned[self.ticket["line"]]
            self.move(S.REJECTED, inspected, clerk, notes)
            self._decided(clerk, inspected, notes, refund_due_at=None)
        elif self.ticket["type"] == T.EXCHANGE:
            self.move(S.EXCHANGED, final, clerk)
            self.row["refund_due_at"] = None
        else:
            self._refund(final, clerk)

    def _refund(self, at: datetime, by: tuple) -> None:
        """``_refund`` and the payout: reserved on the order, paid once by the gateway."""
        settled = at + timedelta(seconds=self.rng.uniform(2, 40))
        paid, reference = settled <= self.now, f"SIM{self.rng.getrandbits(64):016X}"
        refund, amount, order = self.ticket["id"], self.ticket["amount"], self.ticket["order_id"]
        self.move(S.REFUNDED, at, by, amount=str(amount), refund=refund)
        self.row["refund_due_at"] = None
        self.world.refunded[order] = amount
        money = {"amount": amount, "currency": self.ticket["order__currency"]}
        status = RefundStatus.SUCCEEDED if paid else RefundStatus.PENDING
        row = {**self.key, **money, "id": refund, "order": order, "status": status}
        row |= {"attempts": int(paid), "created_by": by[1], "created_at": at}
        row |= {"provider_reference": reference, "settled_at": settled} if paid else {}
        self.batch.refunds.append(row)
        if paid:
            payout = {"idempotency_key": f"refund-{refund}", "reference": reference, **money}
            self.batch.payouts.append({**payout, "created_at": settled})
            payment = {"amount": str(amount), "repeated": False, "refund": refund}
            self.event("refund_paid", settled, system("payouts"), **payment)
