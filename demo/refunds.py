"""Demo data of the refunds app: return, refund and exchange requests with their refunds.

The agent who first answers a ticket asking for a return (``demo.tickets`` writes them about
delivered orders) starts one on about RETURN_SHARE of the delivered demo orders, as
``return_request_create`` does with the ticket; the request then lives, up to now, what the
services and return timers would have recorded: the decision, the goods back, inspection, the
refund paid out once (``GatewayPayout`` under the refund's idempotency key), every step a
``ReturnEvent``. Keyed by ticket, each from its own random generator, so reruns add only what
is missing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from csplatform.bulk import RowWriter
from csplatform.roles import SUPERVISOR
from demo.batches import Walk, actor, batches_write, in_chunks
from demo.context import SeedContext, Weighted
from demo.orders import ORDER_NUMBER_BASE, tracking_number
from demo.tickets import ISSUES, STOREFRONT
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
from refunds.transitions import check_transition
from tickets.choices import TicketKind
from tickets.models import Team, Ticket

S = ReturnStatus
T = ReturnType
R = ReturnReason
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
BATCH_REQUESTS = 2_000

# Of the delivered demo orders, the share that gets a return request (5–8% is usual online).
RETURN_SHARE = 0.065
# Decisions on requests the rules do not approve at once.
CANCELLED_SHARE = 0.03  # the customer withdraws before the desk answers
TIMED_OUT_SHARE = 0.04  # nobody answers: the response timeout approves
REJECTED_SHARE = 0.08
NOT_SENT_BACK_SHARE = 0.05  # approved returns whose goods never come back: closed by the timer
FAILED_INSPECTION_SHARE = 0.04
LATE_REFUND_SHARE = 0.05  # received goods refunded after the working-day deadline
RETURN_CARRIERS = Weighted(("顺丰速运", 55), ("中通快递", 15), ("圆通速递", 12), ("京东物流", 18))

# What the tickets ask for (their subjects, see demo.tickets), and the request that answers.
# (subject test, [(type, weight)], reason)
SEVEN_DAYS, EXCHANGE, DAMAGED, QUALITY = "seven_days", "exchange", "damaged", "quality"
TYPES = {
    SEVEN_DAYS: (Weighted((T.RETURN_REFUND, 1)), R.NO_REASON_7D),
    EXCHANGE: (Weighted((T.EXCHANGE, 85), (T.RETURN_REFUND, 15)), R.SIZE_FIT),
    DAMAGED: (Weighted((T.REFUND_ONLY, 60), (T.RETURN_REFUND, 40)), R.DAMAGED_IN_TRANSIT),
    QUALITY: (
        Weighted((T.EXCHANGE, 45), (T.RETURN_REFUND, 40), (T.REFUND_ONLY, 15)),
        R.QUALITY,
    ),
}
QUALITY_ISSUES = tuple({issue for issues in ISSUES.values() for issue in issues})
DESCRIPTIONS = {
    R.NO_REASON_7D: ("七天无理由退货", "不喜欢，申请七天无理由退货", "买多了，想退一件"),
    R.SIZE_FIT: ("尺码偏小，换大一码", "穿着不合身，想换个尺码"),
    R.DAMAGED_IN_TRANSIT: ("收到时外包装破损，商品有磕碰", "快递运输途中压坏了"),
    R.QUALITY: ("商品有质量问题，申请售后", "用了没几天就坏了"),
}
COMPENSATIONS = (Decimal(10), Decimal(20), Decimal(20), Decimal(30))  # 破损补偿, refund only
REJECTIONS = (
    "商品已拆封使用，影响二次销售，不符合退货条件",
    "提供的照片无法证明商品存在质量问题",
    "商品吊牌已剪，不支持无理由退货",
)
INSPECTION_NOTES = ("外包装完好，商品无使用痕迹", "商品完好，配件齐全", "已核实质量问题属实")
FAILED_INSPECTION = "退回商品有明显使用痕迹，不符合退货条件"


def seed(ctx: SeedContext) -> dict[str, int]:
    """Return requests on the demo tickets that ask for one, up to RETURN_SHARE of orders."""
    if not ctx.tickets or not ctx.size:
        return {}
    world = _World(ctx)
    chosen = world.choose()
    if not chosen:
        return {}
    writer = RowWriter(ctx.now, ReturnRequest)
    totals = batches_write(
        ctx,
        writer,
        chosen,
        BATCH_REQUESTS,
        _Batch,
        lambda ticket, batch: _Return(world, ticket, batch).live(),
        "return requests",
    )
    _orders_sync({ticket["order_id"] for ticket in chosen})
    return totals


def _classify(kind: str, subject: str) -> str | None:
    """Which return the ticket asks for, from the subject the tickets seeder gave it."""
    if kind == TicketKind.RETURN_REFUND and subject.endswith("申请七天无理由退货"):
        return SEVEN_DAYS
    if kind != TicketKind.AFTER_SALES:
        return None
    if subject.endswith("想换个尺码"):
        return EXCHANGE
    if subject.startswith("收到的") and subject.endswith("有破损"):
        return DAMAGED
    return QUALITY if subject.endswith(QUALITY_ISSUES) else None


class _World:
    """What the requests of a run refer to, loaded once."""

    def __init__(self, ctx: SeedContext):
        self.ctx = ctx
        self.now = ctx.now
        self.rules = RefundRules.load()
        self.category_rules = {c.category: c for c in CategoryRule.objects.all()}
        self.calendar = refund_working_days_calendar(self.rules)
        self.usernames = dict(get_user_model().objects.values_list("pk", "username"))
        demo_supervisor = next(
            (k for k, name in self.usernames.items() if name == SUPERVISOR), None
        )
        self.supervisor_of = {
            team: supervisor or demo_supervisor
            for team, supervisor in Team.objects.values_list("pk", "supervisor_id")
        }
        self.demo_supervisor = demo_supervisor

    def choose(self) -> list[dict]:
        """The tickets that get a request this run: about RETURN_SHARE of delivered orders."""
        numbers = {
            "order__number__gte": f"SO-{ORDER_NUMBER_BASE + 1}",
            "order__number__lte": f"SO-{ORDER_NUMBER_BASE + self.ctx.size}",
        }
        orders = Order.objects.filter(**{k.removeprefix("order__"): v for k, v in numbers.items()})
        delivered = orders.filter(delivered_at__isnull=False).count()
        tickets = Ticket.objects.filter(
            pk__lte=self.ctx.tickets,
            kind__in=(TicketKind.RETURN_REFUND, TicketKind.AFTER_SALES),
            order__isnull=False,
            first_response_at__isnull=False,
            order__delivered_at__lt=F("created_at"),
            **numbers,
        ).order_by("pk")
        candidates = []
        for row in tickets.values(
            "id",
            "kind",
            "subject",
            "order_id",
            "owner_id",
            "assignee_id",
            "team_id",
            "first_response_at",
            "order__delivered_at",
            "order__paid_amount",
            "order__currency",
        ).iterator(chunk_size=20_000):
            row["what"] = _classify(row["kind"], row["subject"])
            if row["what"] is not None:
                candidates.append(row)
        self.lines = self._lines_of({c["order_id"] for c in candidates})
        # Only what the rules accept: a return started in time for its reason.
        candidates = [c for c in candidates if self.allowed(c, ReturnType.RETURN_REFUND, 1)]
        if not candidates:
            return []
        share = min(1.0, RETURN_SHARE * delivered / len(candidates))
        ids = [c["id"] for c in candidates]
        have = set(
            ReturnRequest.objects.filter(ticket_id__in=ids).values_list("ticket_id", flat=True)
        )
        busy = set(ReturnRequest.objects.filter(**numbers).values_list("order_id", flat=True))
        chosen = []
        for candidate in candidates:
            if candidate["id"] in have or candidate["order_id"] in busy:
                continue
            if self.ctx.rng("refunds.pick", candidate["id"]).random() < share:
                busy.add(candidate["order_id"])
                chosen.append(candidate)
        return chosen

    def _lines_of(self, order_ids: set[int]) -> dict[int, list[tuple]]:
        lines: dict[int, list[tuple]] = {}
        for order_id, *line in in_chunks(
            sorted(order_ids),
            lambda ids: (
                OrderLine.objects.filter(order_id__in=ids)
                .order_by("order_id", "pk")
                .values_list("order_id", "pk", "sku", "category", "quantity", "unit_price")
            ),
        ):
            lines.setdefault(order_id, []).append(tuple(line))
        return lines

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
                reason=TYPES[ticket["what"]][1],
                type=type,
                lines=[SimpleNamespace(order_line=order_line, quantity=quantity)],
                rules=self.rules,
                category_rules=self.category_rules,
                now=ticket["first_response_at"],
            )
        except return_rules.ReturnRefused:
            return False
        return True


class _Batch:
    """The rows of up to BATCH_REQUESTS requests; refunds are named by their place in
    ``refunds`` (in payloads and in the payouts' idempotency keys) until they have ids."""

    def __init__(self):
        self.requests, self.lines, self.events, self.refunds, self.payouts = [], [], [], [], []
        self.refund_payloads: list[tuple[dict, int]] = []

    def write(self, writer: RowWriter) -> dict[str, int]:
        counts = {
            "return requests": len(self.requests),
            "return lines": len(self.lines),
            "return events": len(self.events),
            "refunds": len(self.refunds),
            "gateway payouts": len(self.payouts),
        }
        by_request = {"request": writer.insert(ReturnRequest, self.requests, with_ids=True)}
        writer.insert(ReturnLine, self.lines, by_request)
        refund_ids = writer.insert(Refund, self.refunds, by_request, with_ids=True)
        for payload, position in self.refund_payloads:
            payload["refund"] = refund_ids[position]
        writer.insert(ReturnEvent, self.events, by_request)
        for payout in self.payouts:
            payout["idempotency_key"] = f"refund-{refund_ids[payout['idempotency_key']]}"
        writer.insert(GatewayPayout, self.payouts)
        return counts


class _Return(Walk):
    """One request from the moment the agent starts it until now."""

    check = staticmethod(check_transition)

    def __init__(self, world: _World, ticket: dict, batch: _Batch):
        self.world, self.ticket, self.batch = world, ticket, batch
        self.rng = world.ctx.rng("refunds.return", ticket["id"])
        self.agent = ticket["owner_id"] or ticket["assignee_id"]
        self.supervisor = world.supervisor_of.get(ticket["team_id"]) or world.demo_supervisor

    def values(self, type: str, old=None, new=None, reason="", payload=None) -> dict:
        old, new = old or self.status, new or self.status
        return {"type": type, "old_status": old, "new_status": new, "reason": reason[:500]} | {
            "payload": payload or {}
        }

    def user(self, user_id: int | None) -> tuple:
        return actor(self.world.usernames, user_id)

    def live(self) -> None:
        rng, world, ticket = self.rng, self.world, self.ticket
        kinds, reason = TYPES[ticket["what"]]
        type = kinds.pick(rng)
        bought, unit_price = world.lines[ticket["order_id"]][0][3:]
        quantity = bought if bought > 1 and rng.random() < 0.3 else 1
        if not world.allowed(ticket, type, quantity):
            return  # the rules would refuse it: the conversation stayed a conversation
        value, paid = (unit_price * quantity).quantize(CENT), ticket["order__paid_amount"]
        if type == T.EXCHANGE:
            amount = ZERO
        elif type == T.REFUND_ONLY and reason == R.DAMAGED_IN_TRANSIT:
            amount = min(rng.choice(COMPENSATIONS), value, paid)  # a part, for the damage
        else:
            amount = min(value, paid)
        if type != T.EXCHANGE and amount <= 0:
            return
        self.type, self.amount = type, amount
        created = ticket["first_response_at"]
        row = {
            "public_id": f"R{rng.getrandbits(48):012X}",
            "order": ticket["order_id"],
            "type": type,
            "reason": reason,
            "status": S.REQUESTED,
            "description": rng.choice(DESCRIPTIONS[reason]),
            "requested_amount": amount,
            "ticket": ticket["id"],
            "respond_due_at": created + timedelta(hours=world.rules.response_timeout_hours),
            "created_at": created,
            "updated_at": created,
        }
        position = len(self.batch.requests)
        super().__init__(row, self.batch.events, {"request": position})
        self.batch.requests.append(row)
        line_id = world.lines[ticket["order_id"]][0][0]
        self.batch.lines.append({"request": position, "order_line": line_id, "quantity": quantity})
        self.event("requested", created, self.user(self.agent), payload={"amount": str(amount)})
        self._decide(created)

    def _decide(self, created: datetime) -> None:
        rng, now, rules = self.rng, self.world.now, self.world.rules
        if self.row["reason"] in (rules.auto_approve_reasons or []) and (
            self.amount <= rules.auto_approve_limit
        ):
            reason = _("Within the automatic approval limit.")
            return self._approve(created, actor({}, None, "auto-approval"), reason)
        roll = rng.random()
        if roll < CANCELLED_SHARE:
            at = created + rng.uniform(1, 30) * HOUR
            if at <= now:
                self.move(S.CANCELLED, at, ("api_key", None, STOREFRONT))
                self.row["respond_due_at"] = None
            return
        roll -= CANCELLED_SHARE
        if roll < TIMED_OUT_SHARE:
            at = self.row["respond_due_at"] + rng.uniform(1, 59) * SECOND
            reason = _("Approved automatically: the merchant did not answer in time.")
            if at <= now:
                self._approve(at, actor({}, None, "response timeout"), reason)
            return
        roll -= TIMED_OUT_SHARE
        at = created + (0.2 + 29.8 * rng.random() ** 2) * HOUR
        if at > now:
            return
        if roll < REJECTED_SHARE:
            reason = rng.choice(REJECTIONS)
            self.move(S.REJECTED, at, self.user(self.agent), reason)
            self._decided(self.agent, at, reason)
            return
        decider = self.agent
        if self.amount > rules.supervisor_limit and self.supervisor:
            # The agent proposes, a supervisor approves (four eyes).
            self.row["proposed_by"] = self.agent
            self.event(
                "proposed", max(created, at - rng.uniform(0.1, 2) * HOUR), self.user(decider)
            )
            decider = self.supervisor
        self._approve(at, self.user(decider), "")

    def _decided(self, user_id: int | None, at: datetime, reason: str, **more) -> None:
        self.row.update(decided_by=user_id, decided_at=at, decision_reason=reason, **more)
        self.row["respond_due_at"] = None

    def _approve(self, at: datetime, by: tuple, reason: str) -> None:
        """``_approve``: approved, then waiting for the goods or refunded at once."""
        self.move(S.APPROVED, at, by, reason)
        self._decided(by[1], at, reason)
        if self.type in GOODS_BACK:
            self.move(S.AWAITING_RETURN, at, by)
            self.row["return_due_at"] = at + timedelta(days=self.world.rules.return_shipping_days)
            self._goods_back(at)
        else:
            self._refund(at, by)

    def _goods_back(self, approved: datetime) -> None:
        rng, now, rules = self.rng, self.world.now, self.world.rules
        if rng.random() < NOT_SENT_BACK_SHARE:
            at = self.row["return_due_at"] + rng.uniform(1, 59) * SECOND
            if at <= now:
                reason = _("The goods were not sent back in time.")
                self.move(S.CLOSED, at, actor({}, None, "return timeout"), reason)
                self.row["return_due_at"] = None
            return
        shipped = approved + (0.2 + 3.8 * rng.random() ** 1.5) * DAY
        if shipped > now:
            return
        carrier = RETURN_CARRIERS.pick(rng)
        payload = {"carrier": carrier, "tracking_number": tracking_number(rng, carrier)}
        self.row.update(
            return_carrier=carrier,
            return_tracking_number=payload["tracking_number"],
            return_shipped_at=shipped,
        )
        self.event("shipped_back", shipped, ("api_key", None, STOREFRONT), payload=payload)
        received = shipped + rng.uniform(1, 4) * DAY
        if received > now:
            return
        clerk = self.user(self.agent)
        self.move(S.RECEIVED, received, clerk)
        due = self.world.calendar.add(received, timedelta(days=rules.refund_working_days))
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
            self.event("refund_overdue", at, actor({}, None, "refund deadline"), old=then, new=then)
        if inspected > now:
            return
        notes = rng.choice(INSPECTION_NOTES) if passed else FAILED_INSPECTION
        self.move(S.INSPECTED, inspected, clerk, notes)
        self.row.update(inspected_at=inspected, inspection_passed=passed, inspection_notes=notes)
        if not passed:
            self.move(S.REJECTED, inspected, clerk, notes)
            self._decided(self.agent, inspected, notes, refund_due_at=None)
        elif final <= now and self.type == T.EXCHANGE:
            self.move(S.EXCHANGED, final, clerk)
            self.row["refund_due_at"] = None
        elif final <= now:
            self._refund(final, clerk)

    def _refund(self, at: datetime, by: tuple) -> None:
        """``_refund`` and the payout: reserved on the order, paid once by the gateway."""
        rng, batch, amount = self.rng, self.batch, self.amount
        position = len(batch.refunds)
        settled = at + rng.uniform(2, 40) * SECOND
        paid = settled <= self.world.now
        reference = f"SIM{rng.getrandbits(64):016X}"
        currency = self.ticket["order__currency"]
        batch.refunds.append(
            {
                **self.key,
                "order": self.ticket["order_id"],
                "amount": amount,
                "currency": currency,
                "status": RefundStatus.SUCCEEDED if paid else RefundStatus.PENDING,
                "provider_reference": reference if paid else "",
                "attempts": 1 if paid else 0,
                "created_by": by[1],
                "created_at": at,
                "settled_at": settled if paid else None,
            }
        )
        event = self.move(S.REFUNDED, at, by, payload={"amount": str(amount)})
        batch.refund_payloads.append((event["payload"], position))
        self.row["refund_due_at"] = None
        if paid:
            payload = {"amount": str(amount), "repeated": False}
            self.event("refund_paid", settled, actor({}, None, "payouts"), payload=payload)
            batch.refund_payloads.append((payload, position))
            batch.payouts.append(
                {
                    "idempotency_key": position,
                    "reference": reference,
                    "amount": amount,
                    "currency": currency,
                    "created_at": settled,
                }
            )


def _orders_sync(order_ids: set[int]) -> None:
    """What the services keep on the order: the refunded amount (every refund that did not
    fail) and each line's units back in the warehouse (goods received and kept)."""
    ids = sorted(order_ids)
    refunded = (
        Refund.objects.filter(order=OuterRef("pk"))
        .exclude(status=RefundStatus.FAILED)
        .order_by()
        .values("order")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    returned = (
        ReturnLine.objects.filter(
            order_line=OuterRef("pk"),
            request__type__in=GOODS_BACK,
            request__received_at__isnull=False,
        )
        .exclude(request__inspection_passed=False)
        .order_by()
        .values("order_line")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    for start in range(0, len(ids), 2_000):
        chunk = ids[start : start + 2_000]
        Order.objects.filter(pk__in=chunk).update(
            refunded_amount=Coalesce(Subquery(refunded), Value(ZERO))
        )
        OrderLine.objects.filter(order_id__in=chunk).update(
            quantity_returned=Coalesce(Subquery(returned), Value(0))
        )
