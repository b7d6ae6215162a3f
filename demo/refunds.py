"""Demo data of the refunds app: return, refund and exchange requests with their refunds.

The agent who first answers a ticket asking for a return (``demo.tickets`` writes them about
delivered orders) starts one on about RETURN_SHARE of the delivered demo orders, as
``return_request_create`` does; the request then lives, up to now, what the services and return
timers would have recorded: the decision, the goods back, inspection, the refund paid out once
(``GatewayPayout`` under the refund's idempotency key), every step a ``ReturnEvent``. Keyed by
ticket (a refund takes its ticket's id), so reruns add only what is missing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.db.models import F
from django.utils.translation import gettext as _

from csplatform.roles import SUPERVISOR
from demo.batches import Table, in_chunks
from demo.context import SeedContext, Weighted
from demo.orders import tracking_number
from demo.tickets import ISSUES
from demo.walks import (
    CUSTOMER,
    DAY,
    HOUR,
    MINUTE,
    SECOND,
    Life,
    World,
    lives_write,
    subject_match,
    system,
)
from orders.models import Order, OrderLine
from refunds import rules as return_rules
from refunds.choices import GOODS_BACK, RefundStatus, ReturnReason, ReturnStatus, ReturnType
from refunds.models import (
    CategoryRule,
    GatewayPayout,
    Refund,
    RefundRules,
    ReturnEvent,
    ReturnLine,
    ReturnRequest,
)
from refunds.services import refund_working_days_calendar
from refunds.transitions import LIFECYCLE
from tickets.choices import TicketKind
from tickets.models import Ticket

S, T, R = ReturnStatus, ReturnType, ReturnReason
ZERO, CENT = Decimal("0.00"), Decimal("0.01")
BATCH_REQUESTS = 2_000

RETURN_SHARE = 0.065  # of the delivered demo orders get a request (5–8% is usual online)
# Decisions on requests the rules do not approve at once, and what follows an approval.
CANCELLED_SHARE = 0.03  # the customer withdraws before the desk answers
TIMED_OUT_SHARE = 0.04  # nobody answers: the response timeout approves
REJECTED_SHARE = 0.08
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
# Per reason: the request types asked for, and the customer's words.
REQUESTS = {
    R.NO_REASON_7D: (
        Weighted((T.RETURN_REFUND, 1)),
        ("七天无理由退货", "不喜欢，申请七天无理由退货", "买多了，想退一件"),
    ),
    R.SIZE_FIT: (
        Weighted((T.EXCHANGE, 85), (T.RETURN_REFUND, 15)),
        ("尺码偏小，换大一码", "穿着不合身，想换个尺码"),
    ),
    R.DAMAGED_IN_TRANSIT: (
        Weighted((T.REFUND_ONLY, 60), (T.RETURN_REFUND, 40)),
        ("收到时外包装破损，商品有磕碰", "快递运输途中压坏了"),
    ),
    R.QUALITY: (
        Weighted((T.EXCHANGE, 45), (T.RETURN_REFUND, 40), (T.REFUND_ONLY, 15)),
        ("商品有质量问题，申请售后", "用了没几天就坏了"),
    ),
}
COMPENSATIONS = (Decimal(10), Decimal(20), Decimal(20), Decimal(30))  # 破损补偿, refund only
REJECTIONS = (
    "商品已拆封使用，影响二次销售，不符合退货条件",
    "提供的照片无法证明商品存在质量问题",
    "商品吊牌已剪，不支持无理由退货",
)
INSPECTION_NOTES = ("外包装完好，商品无使用痕迹", "商品完好，配件齐全", "已核实质量问题属实")
FAILED_INSPECTION = "退回商品有明显使用痕迹，不符合退货条件"

REFUND_TABLES = {
    "requests": Table("return requests", ReturnRequest, with_ids=True),
    "lines": Table("return lines", ReturnLine, parents={"request": "requests"}),
    "events": Table("return events", ReturnEvent, parents={"request": "requests"}),
    "refunds": Table("refunds", Refund, parents={"request": "requests"}, own_ids=True),
    "payouts": Table("gateway payouts", GatewayPayout),
}


def seed(ctx: SeedContext) -> dict[str, int]:
    """Return requests on the demo tickets that ask for one, up to RETURN_SHARE of orders."""
    world = _World(ctx)
    chosen = world.choose() if ctx.tickets and ctx.size else []
    if not chosen:
        return {}
    totals = lives_write(world, _Return, chosen, REFUND_TABLES)
    # What the services keep on the orders: the money refunded, the units back and kept.
    orders = [Order(pk=pk, refunded_amount=amount) for pk, amount in world.refunded.items()]
    Order.objects.bulk_update(orders, ["refunded_amount"], batch_size=1_000)
    lines = [OrderLine(pk=pk, quantity_returned=n) for pk, n in world.returned.items()]
    OrderLine.objects.bulk_update(lines, ["quantity_returned"], batch_size=1_000)
    return totals


class _World(World):
    def __init__(self, ctx: SeedContext):
        super().__init__(ctx)
        self.refunded: dict[int, Decimal] = {}  # by order
        self.returned: dict[int, int] = {}  # by order line
        self.rules = RefundRules.load()
        self.category_rules = {c.category: c for c in CategoryRule.objects.all()}
        self.calendar = refund_working_days_calendar(self.rules)
        self.supervisor = next((k for k, n in self.usernames.items() if n == SUPERVISOR), None)

    def choose(self) -> list[dict]:
        """The tickets that get a request this run: about RETURN_SHARE of delivered orders."""
        numbers = self.numbers
        delivered = Order.objects.filter(number__range=numbers, delivered_at__isnull=False)
        candidates = []
        for row in (
            Ticket.objects.filter(
                pk__lte=self.ctx.tickets,
                kind__in=(TicketKind.RETURN_REFUND, TicketKind.AFTER_SALES),
                order__number__range=numbers,
                first_response_at__isnull=False,
                order__delivered_at__lt=F("created_at"),
            )
            .order_by("pk")
            .values(
                "id",
                "subject",
                "order_id",
                "owner_id",
                "assignee_id",
                "team__supervisor_id",
                "first_response_at",
                "order__delivered_at",
                "order__paid_amount",
                "order__currency",
            )
            .iterator(chunk_size=20_000)
        ):
            row["reason"] = subject_match(row["subject"], ASKS)
            if row["reason"] is not None:
                candidates.append(row)
        self.lines: dict[int, list[tuple]] = {}
        for order_id, *line in in_chunks(
            sorted({c["order_id"] for c in candidates}),
            lambda ids: (
                OrderLine.objects.filter(order_id__in=ids)
                .order_by("order_id", "pk")
                .values_list("order_id", "pk", "sku", "category", "quantity", "unit_price")
            ),
        ):
            self.lines.setdefault(order_id, []).append(tuple(line))
        # Only what the rules accept: a return started in time for its reason.
        candidates = [c for c in candidates if self.allowed(c, T.RETURN_REFUND, 1)]
        if not candidates:
            return []
        share = min(1.0, RETURN_SHARE * delivered.count() / len(candidates))
        requests = ReturnRequest.objects.filter(order__number__range=numbers)
        have = set(requests.values_list("ticket_id", flat=True))
        have |= set(Refund.objects.values_list("pk", flat=True))  # refunds take ticket ids
        busy = set(requests.values_list("order_id", flat=True))
        chosen = []
        for candidate in candidates:
            if candidate["id"] in have or candidate["order_id"] in busy:
                continue
            if self.ctx.rng("refunds.pick", candidate["id"]).random() < share:
                busy.add(candidate["order_id"])
                chosen.append(candidate)
        return chosen

    def allowed(self, ticket: dict, type: str, quantity: int) -> bool:
        """``check_window`` for the order's first line (what the ticket is about)."""
        lines = self.lines.get(ticket["order_id"])
        if not lines:
            return False
        line_id, sku, category, _bought, _price = lines[0]
        order_line = SimpleNamespace(pk=line_id, sku=sku, category=category)
        try:
            return_rules.check_window(
                order=SimpleNamespace(delivered_at=ticket["order__delivered_at"]),
                reason=ticket["reason"],
                type=type,
                lines=[SimpleNamespace(order_line=order_line, quantity=quantity)],
                rules=self.rules,
                category_rules=self.category_rules,
                now=ticket["first_response_at"],
            )
        except return_rules.ReturnRefused:
            return False
        return True


class _Return(Life):
    """One request from the moment the agent starts it until now."""

    lifecycle, stream = LIFECYCLE, "refunds.return"

    def live(self) -> None:
        rng, world, ticket = self.rng, self.world, self.ticket
        kinds, descriptions = REQUESTS[ticket["reason"]]
        type = kinds.pick(rng)
        line, _sku, _category, bought, unit_price = world.lines[ticket["order_id"]][0]
        quantity = bought if bought > 1 and rng.random() < 0.3 else 1
        if not world.allowed(ticket, type, quantity):
            return  # the rules would refuse it: the conversation stayed a conversation
        value, paid = (unit_price * quantity).quantize(CENT), ticket["order__paid_amount"]
        amount = ZERO if type == T.EXCHANGE else min(value, paid)
        if type == T.REFUND_ONLY and ticket["reason"] == R.DAMAGED_IN_TRANSIT:
            amount = min(rng.choice(COMPENSATIONS), value, paid)  # a part, for the damage
        if type != T.EXCHANGE and amount <= 0:
            return
        self.type, self.amount = type, amount
        created = ticket["first_response_at"]
        row = {
            "public_id": f"R{rng.getrandbits(48):012X}",
            "order": ticket["order_id"],
            "type": type,
            "reason": ticket["reason"],
            "status": S.REQUESTED,
            "description": rng.choice(descriptions),
            "requested_amount": amount,
            "ticket": ticket["id"],
            "respond_due_at": created + timedelta(hours=world.rules.response_timeout_hours),
            "created_at": created,
            "updated_at": created,
        }
        self.begin(row, self.batch.events, len(self.batch.requests))
        self.batch.requests.append(row)
        self.line = {**self.key, "order_line": line, "quantity": quantity}
        self.batch.lines.append(self.line)
        self.event("requested", created, self.agent, amount=str(amount))
        self._decide(created)

    def _decide(self, created: datetime) -> None:
        rng, rules = self.rng, self.world.rules
        if self.row["reason"] in (rules.auto_approve_reasons or []) and (
            self.amount <= rules.auto_approve_limit
        ):
            reason = _("Within the automatic approval limit.")
            return self._approve(created, system("auto-approval"), reason)
        roll = rng.random()
        if roll < CANCELLED_SHARE:
            if at := self.after(created, 1, 30, HOUR):
                self.move(S.CANCELLED, at, CUSTOMER)
                self.row["respond_due_at"] = None
            return
        roll -= CANCELLED_SHARE
        if roll < TIMED_OUT_SHARE:
            reason = _("Approved automatically: the merchant did not answer in time.")
            if at := self.after(self.row["respond_due_at"], 1, 59):
                self._approve(at, system("response timeout"), reason)
            return
        roll -= TIMED_OUT_SHARE
        at = created + (0.2 + 29.8 * rng.random() ** 2) * HOUR
        if at > self.now:
            return
        if roll < REJECTED_SHARE:
            reason = rng.choice(REJECTIONS)
            self.move(S.REJECTED, at, self.agent, reason)
            return self._decided(self.agent, at, reason)
        decider = self.agent
        supervisor = self.ticket["team__supervisor_id"] or self.world.supervisor
        if self.amount > rules.supervisor_limit and supervisor:
            # The agent proposes, a supervisor approves (four eyes).
            self.row["proposed_by"] = self.agent[1]
            self.event("proposed", max(created, at - rng.uniform(0.1, 2) * HOUR), self.agent)
            decider = self.user(supervisor)
        self._approve(at, decider, "")

    def _decided(self, by: tuple, at: datetime, reason: str, **more) -> None:
        self.row.update(decided_by=by[1], decided_at=at, decision_reason=reason, **more)
        self.row["respond_due_at"] = None

    def _approve(self, at: datetime, by: tuple, reason: str) -> None:
        """``_approve``: approved, then waiting for the goods or refunded at once."""
        self.move(S.APPROVED, at, by, reason)
        self._decided(by, at, reason)
        if self.type not in GOODS_BACK:
            return self._refund(at, by)
        self.move(S.AWAITING_RETURN, at, by)
        self.row["return_due_at"] = at + timedelta(days=self.world.rules.return_shipping_days)
        self._goods_back(at)

    def _goods_back(self, approved: datetime) -> None:
        rng, now, clerk = self.rng, self.now, self.agent
        if rng.random() < NOT_SENT_BACK_SHARE:
            if at := self.after(self.row["return_due_at"], 1, 59):
                reason = _("The goods were not sent back in time.")
                self.move(S.CLOSED, at, system("return timeout"), reason)
                self.row["return_due_at"] = None
            return
        shipped = approved + (0.2 + 3.8 * rng.random() ** 1.5) * DAY
        if shipped > now:
            return
        carrier = RETURN_CARRIERS.pick(rng)
        tracking = tracking_number(rng, carrier)
        self.row.update(
            return_carrier=carrier, return_tracking_number=tracking, return_shipped_at=shipped
        )
        self.event("shipped_back", shipped, CUSTOMER, carrier=carrier, tracking_number=tracking)
        received = shipped + rng.uniform(1, 4) * DAY
        if received > now:
            return
        self.move(S.RECEIVED, received, clerk)
        self.world.returned[self.line["order_line"]] = self.line["quantity"]
        due = self.world.calendar.add(
            received, timedelta(days=self.world.rules.refund_working_days)
        )
        self.row.update(received_at=received, refund_due_at=due, return_due_at=None)
        inspected = received + (1 + 29 * rng.random() ** 2) * HOUR
        if rng.random() < LATE_REFUND_SHARE:
            final = due + rng.uniform(2, 72) * HOUR
        else:
            final = inspected + (0.2 + 40 * rng.random() ** 2) * HOUR
            final = max(min(final, due - MINUTE), inspected)
        passed = rng.random() >= FAILED_INSPECTION_SHARE
        if due < min(final if passed else inspected, now):
            # The refund deadline passed while the goods sat received: breached, once.
            self.row["refund_breached_at"] = at = due + rng.uniform(1, 59) * SECOND
            then = S.INSPECTED if at >= inspected else S.RECEIVED
            self.event("refund_overdue", at, system("refund deadline"), old=then, new=then)
        if inspected > now:
            return
        notes = rng.choice(INSPECTION_NOTES) if passed else FAILED_INSPECTION
        self.move(S.INSPECTED, inspected, clerk, notes)
        self.row.update(inspected_at=inspected, inspection_passed=passed, inspection_notes=notes)
        if not passed:
            del self.world.returned[self.line["order_line"]]
            self.move(S.REJECTED, inspected, clerk, notes)
            self._decided(clerk, inspected, notes, refund_due_at=None)
        elif final <= now and self.type == T.EXCHANGE:
            self.move(S.EXCHANGED, final, clerk)
            self.row["refund_due_at"] = None
        elif final <= now:
            self._refund(final, clerk)

    def _refund(self, at: datetime, by: tuple) -> None:
        """``_refund`` and the payout: reserved on the order, paid once by the gateway."""
        settled = at + self.rng.uniform(2, 40) * SECOND
        paid, reference = settled <= self.now, f"SIM{self.rng.getrandbits(64):016X}"
        refund, amount = self.ticket["id"], self.amount
        money = {"amount": amount, "currency": self.ticket["order__currency"]}
        self.batch.refunds.append(
            {
                **self.key,
                **money,
                "id": refund,
                "order": self.ticket["order_id"],
                "status": RefundStatus.SUCCEEDED if paid else RefundStatus.PENDING,
                "provider_reference": reference if paid else "",
                "attempts": int(paid),
                "created_by": by[1],
                "created_at": at,
                "settled_at": settled if paid else None,
            }
        )
        self.world.refunded[self.ticket["order_id"]] = amount
        self.move(S.REFUNDED, at, by, amount=str(amount), refund=refund)
        self.row["refund_due_at"] = None
        if paid:
            payout = {"idempotency_key": f"refund-{refund}", "reference": reference, **money}
            self.batch.payouts.append({**payout, "created_at": settled})
            payment = {"amount": str(amount), "repeated": False, "refund": refund}
            self.event("refund_paid", settled, system("payouts"), **payment)
