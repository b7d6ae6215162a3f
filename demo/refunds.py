"""Demo data of the refunds app: return, refund and exchange requests with their refunds.

Called by ``manage.py seed_demo`` after the tickets seeder. A demo return is started by the
agent who first answers a ticket that asks for one — a seven-day return, an exchange of size,
a quality problem or a parcel damaged in transit (``demo.tickets`` writes such tickets about
delivered orders) — as ``return_request_create`` does when given the ticket. Only as many of
those tickets get a request as make about RETURN_SHARE of the delivered demo orders; the rest
stay conversations. The request then lives what the services and the return timers would
have recorded, up to now: the decision (automatic within the rules' limit, by the agent or a
supervisor, by the response timeout), the goods coming back, inspection, the refund and its
payout through the simulated gateway (one ``GatewayPayout`` per paid refund, under the
refund's idempotency key), and every step as a ``ReturnEvent``. The orders' refunded amounts
and returned quantities are brought in line afterwards.

Rows are keyed by their ticket (one request per ticket), each from its own random generator,
so a second run adds nothing and a larger run only adds requests to the new tickets.
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
from demo.batches import batches_write
from demo.context import SeedContext, Weighted
from demo.orders import ORDER_NUMBER_BASE, _tracking_number
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
        lambda ticket, batch: _Return(world, ticket, world.lines.get(ticket[3], []), batch).live(),
        "return requests",
    )
    _orders_sync({ticket[3] for ticket in chosen})
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
    if subject.endswith(QUALITY_ISSUES):
        return QUALITY
    return None


class _World:
    """What the requests of a run refer to, loaded once."""

    def __init__(self, ctx: SeedContext):
        self.ctx = ctx
        self.now = ctx.now
        self.rules = RefundRules.load()
        self.category_rules = {c.category: c for c in CategoryRule.objects.all()}
        self.calendar = refund_working_days_calendar(self.rules)
        self.usernames = dict(get_user_model().objects.values_list("pk", "username"))
        supervisors = dict(Team.objects.values_list("pk", "supervisor_id"))
        demo_supervisor = next(
            (pk for pk, name in self.usernames.items() if name == SUPERVISOR), None
        )
        self.supervisor_of = {
            team: supervisor or demo_supervisor for team, supervisor in supervisors.items()
        }
        self.demo_supervisor = demo_supervisor

    def choose(self) -> list[tuple]:
        """The tickets that get a request this run: about RETURN_SHARE of delivered orders."""
        numbers = {
            "number__gte": f"SO-{ORDER_NUMBER_BASE + 1}",
            "number__lte": f"SO-{ORDER_NUMBER_BASE + self.ctx.size}",
        }
        delivered = Order.objects.filter(delivered_at__isnull=False, **numbers).count()
        candidates = []
        for row in (
            Ticket.objects.filter(
                pk__lte=self.ctx.tickets,
                kind__in=(TicketKind.RETURN_REFUND, TicketKind.AFTER_SALES),
                order__isnull=False,
                first_response_at__isnull=False,
                order__delivered_at__lt=F("created_at"),
                **{f"order__{k}": v for k, v in numbers.items()},
            )
            .order_by("pk")
            .values_list(
                "pk",
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
            )
            .iterator(chunk_size=20_000)
        ):
            what = _classify(row[1], row[2])
            if what is not None:
                candidates.append((*row, what))
        self.lines = self._lines_of({c[3] for c in candidates})
        # Only what the rules accept: a return started in time for its reason.
        candidates = [c for c in candidates if self._in_window(c)]
        if not candidates:
            return []
        share = min(1.0, RETURN_SHARE * delivered / len(candidates))
        have = set(
            ReturnRequest.objects.filter(ticket_id__in=[c[0] for c in candidates]).values_list(
                "ticket_id", flat=True
            )
        )
        busy = set(
            ReturnRequest.objects.filter(**{f"order__{k}": v for k, v in numbers.items()})
            .values_list("order_id", flat=True)
            .distinct()
        )
        chosen = []
        for candidate in candidates:
            ticket_id, order_id = candidate[0], candidate[3]
            if ticket_id in have or order_id in busy:
                continue
            if self.ctx.rng("refunds.pick", ticket_id).random() < share:
                busy.add(order_id)
                chosen.append(candidate)
        return chosen

    def _lines_of(self, order_ids: set[int]) -> dict[int, list[tuple]]:
        lines: dict[int, list[tuple]] = {}
        ids = sorted(order_ids)
        for start in range(0, len(ids), 5_000):
            for row in (
                OrderLine.objects.filter(order_id__in=ids[start : start + 5_000])
                .order_by("order_id", "pk")
                .values_list("order_id", "pk", "sku", "category", "quantity", "unit_price")
            ):
                lines.setdefault(row[0], []).append(row[1:])
        return lines

    def _in_window(self, candidate: tuple) -> bool:
        """``check_window`` for the order's first line (what the ticket is about)."""
        lines = self.lines.get(candidate[3])
        if not lines:
            return False
        line_id, sku, category, _bought, _price = lines[0]
        order_line = SimpleNamespace(pk=line_id, sku=sku, category=category)
        _kinds, reason = TYPES[candidate[-1]]
        try:
            return_rules.check_window(
                order=SimpleNamespace(delivered_at=candidate[8]),
                reason=reason,
                type=ReturnType.RETURN_REFUND,
                lines=[SimpleNamespace(order_line=order_line, quantity=1)],
                rules=self.rules,
                category_rules=self.category_rules,
                now=candidate[7],
            )
        except return_rules.ReturnRefused:
            return False
        return True


class _Batch:
    """The rows of up to BATCH_REQUESTS requests, written together."""

    def __init__(self):
        self.requests: list[dict] = []
        self.lines: list[dict] = []
        self.events: list[dict] = []
        self.refunds: list[dict] = []
        # Payloads naming a refund by its place in ``refunds`` until it has an id.
        self.refund_payloads: list[tuple[dict, int]] = []
        self.payouts: list[dict] = []  # "idempotency_key" holds the refund's place

    def write(self, writer: RowWriter) -> dict[str, int]:
        counts = {
            "return requests": len(self.requests),
            "return lines": len(self.lines),
            "return events": len(self.events),
            "refunds": len(self.refunds),
            "gateway payouts": len(self.payouts),
        }
        request_ids = writer.insert(ReturnRequest, self.requests, with_ids=True)
        by_request = {"request": request_ids}
        writer.insert(ReturnLine, self.lines, by_request)
        refund_ids = writer.insert(Refund, self.refunds, by_request, with_ids=True)
        for payload, position in self.refund_payloads:
            payload["refund"] = refund_ids[position]
        writer.insert(ReturnEvent, self.events, by_request)
        for payout in self.payouts:
            payout["idempotency_key"] = f"refund-{refund_ids[payout['idempotency_key']]}"
        writer.insert(GatewayPayout, self.payouts)
        return counts


class _Return:
    """One request from the moment the agent starts it until now."""

    def __init__(self, world: _World, ticket: tuple, lines: list[tuple], batch: _Batch):
        (
            self.ticket_id,
            _kind,
            _subject,
            self.order_id,
            owner,
            assignee,
            team,
            self.created_at,
            self.delivered_at,
            self.paid,
            self.currency,
            self.what,
        ) = ticket
        self.world = world
        self.rng = world.ctx.rng("refunds.return", self.ticket_id)
        self.lines = lines
        self.batch = batch
        self.position = len(batch.requests)
        self.agent = owner or assignee
        self.supervisor = world.supervisor_of.get(team) or world.demo_supervisor

    # --- actors and rows ------------------------------------------------------------------

    def _user(self, user_id: int | None) -> tuple:
        if user_id is None:
            return ("system", None, "system")
        return ("user", user_id, self.world.usernames.get(user_id, ""))

    @staticmethod
    def _system(label: str) -> tuple:
        return ("system", None, label)

    def _event(
        self,
        type: str,
        at: datetime,
        actor: tuple,
        *,
        old: str | None = None,
        new: str | None = None,
        reason: str = "",
        payload: dict | None = None,
    ) -> dict:
        kind, user, label = actor
        event = {
            "request": self.position,
            "type": type,
            "old_status": self.status if old is None else old,
            "new_status": self.status if new is None else new,
            "reason": reason[:500],
            "payload": payload or {},
            "actor_kind": kind,
            "actor_user": user,
            "actor_label": label,
            "at": at,
        }
        self.batch.events.append(event)
        self.row["updated_at"] = at
        return event

    def _move(self, target: str, at: datetime, actor: tuple, reason: str = "", **payload) -> dict:
        """``return_apply_transition``: the status and its event, by the same table."""
        check_transition(self.status, target)
        event = self._event(
            "status", at, actor, old=self.status, new=target, reason=reason, payload=payload
        )
        self.status = self.row["status"] = target
        return event

    # --- the request ------------------------------------------------------------------------

    def live(self) -> None:
        rng, world = self.rng, self.world
        kinds, reason = TYPES[self.what]
        type = kinds.pick(rng)
        line = self._line(reason, type)
        if line is None:
            return  # the rules would refuse it: the conversation stayed a conversation
        line_id, quantity, value = line
        if type == T.EXCHANGE:
            amount = ZERO
        elif type == T.REFUND_ONLY and reason == R.DAMAGED_IN_TRANSIT:
            amount = min(rng.choice(COMPENSATIONS), value, self.paid)  # a part, for the damage
        else:
            amount = min(value, self.paid)
        if type != T.EXCHANGE and amount <= 0:
            return
        self.type, self.amount = type, amount
        created = self.created_at
        self.status = S.REQUESTED
        self.row = {
            "public_id": f"R{rng.getrandbits(48):012X}",
            "order": self.order_id,
            "type": type,
            "reason": reason,
            "status": S.REQUESTED,
            "description": rng.choice(DESCRIPTIONS[reason]),
            "requested_amount": amount,
            "ticket": self.ticket_id,
            "respond_due_at": created + timedelta(hours=world.rules.response_timeout_hours),
            "created_at": created,
            "updated_at": created,
        }
        self.batch.requests.append(self.row)
        self.batch.lines.append(
            {"request": self.position, "order_line": line_id, "quantity": quantity}
        )
        self._event("requested", created, self._user(self.agent), payload={"amount": str(amount)})
        self._decide()

    def _line(self, reason: str, type: str) -> tuple[int, int, Decimal] | None:
        """The order's first line (what the ticket is about), if the rules allow its return."""
        if not self.lines:
            return None
        line_id, sku, category, bought, unit_price = self.lines[0]
        quantity = bought if bought > 1 and self.rng.random() < 0.3 else 1
        order_line = SimpleNamespace(pk=line_id, sku=sku, category=category)
        try:
            return_rules.check_window(
                order=SimpleNamespace(delivered_at=self.delivered_at),
                reason=reason,
                type=type,
                lines=[SimpleNamespace(order_line=order_line, quantity=quantity)],
                rules=self.world.rules,
                category_rules=self.world.category_rules,
                now=self.created_at,
            )
        except return_rules.ReturnRefused:
            return None
        return line_id, quantity, (unit_price * quantity).quantize(CENT)

    def _decide(self) -> None:
        rng, world, rules = self.rng, self.world, self.world.rules
        created, now = self.created_at, world.now
        auto = (
            self.row["reason"] in (rules.auto_approve_reasons or [])
            and self.amount <= rules.auto_approve_limit
        )
        if auto:
            self._approve(
                created, self._system("auto-approval"), _("Within the automatic approval limit.")
            )
            return
        roll = rng.random()
        if roll < CANCELLED_SHARE:
            at = created + rng.uniform(1, 30) * HOUR
            if at <= now:
                self._move(S.CANCELLED, at, ("api_key", None, STOREFRONT))
                self.row["respond_due_at"] = None
            return
        roll -= CANCELLED_SHARE
        if roll < TIMED_OUT_SHARE:
            at = self.row["respond_due_at"] + rng.uniform(1, 59) * SECOND
            reason = _("Approved automatically: the merchant did not answer in time.")
            if at <= now:
                self._approve(at, self._system("response timeout"), reason)
            return
        roll -= TIMED_OUT_SHARE
        at = created + (0.2 + 29.8 * rng.random() ** 2) * HOUR
        if at > now:
            return
        if roll < REJECTED_SHARE:
            decider = self._user(self.agent)
            reason = rng.choice(REJECTIONS)
            self._move(S.REJECTED, at, decider, reason)
            self.row.update(
                decided_by=decider[1], decided_at=at, decision_reason=reason, respond_due_at=None
            )
            return
        decider = self.agent
        if self.amount > rules.supervisor_limit and self.supervisor:
            # The agent proposes, a supervisor approves (four eyes).
            self.row["proposed_by"] = self.agent
            proposed = max(created, at - rng.uniform(0.1, 2) * HOUR)
            self._event("proposed", proposed, self._user(self.agent))
            decider = self.supervisor
        self._approve(at, self._user(decider), "")

    def _approve(self, at: datetime, actor: tuple, reason: str) -> None:
        """``_approve``: approved, then waiting for the goods or refunded at once."""
        self._move(S.APPROVED, at, actor, reason)
        self.row.update(
            decided_by=actor[1], decided_at=at, decision_reason=reason, respond_due_at=None
        )
        if self.type in GOODS_BACK:
            self._move(S.AWAITING_RETURN, at, actor)
            self.row["return_due_at"] = at + timedelta(days=self.world.rules.return_shipping_days)
            self._goods_back(at)
        else:
            self._refund(at, actor)

    def _goods_back(self, approved: datetime) -> None:
        rng, now = self.rng, self.world.now
        if rng.random() < NOT_SENT_BACK_SHARE:
            at = self.row["return_due_at"] + rng.uniform(1, 59) * SECOND
            if at <= now:
                reason = _("The goods were not sent back in time.")
                self._move(S.CLOSED, at, self._system("return timeout"), reason)
                self.row["return_due_at"] = None
            return
        shipped = approved + (0.2 + 3.8 * rng.random() ** 1.5) * DAY
        if shipped > now:
            return
        carrier = RETURN_CARRIERS.pick(rng)
        tracking = _tracking_number(rng, carrier)
        self.row.update(
            return_carrier=carrier, return_tracking_number=tracking, return_shipped_at=shipped
        )
        payload = {"carrier": carrier, "tracking_number": tracking}
        self._event("shipped_back", shipped, ("api_key", None, STOREFRONT), payload=payload)
        received = shipped + rng.uniform(1, 4) * DAY
        if received > now:
            return
        clerk = self._user(self.agent)
        self._move(S.RECEIVED, received, clerk)
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
            self._event("refund_overdue", at, self._system("refund deadline"), old=then, new=then)
        if inspected > now:
            return
        notes = rng.choice(INSPECTION_NOTES) if passed else FAILED_INSPECTION
        self._move(S.INSPECTED, inspected, clerk, notes)
        self.row.update(inspected_at=inspected, inspection_passed=passed, inspection_notes=notes)
        if not passed:
            self._move(S.REJECTED, inspected, clerk, notes)
            self.row.update(
                decided_by=self.agent,
                decided_at=inspected,
                decision_reason=notes,
                refund_due_at=None,
            )
            return
        if final > now:
            return
        if self.type == T.EXCHANGE:
            self._move(S.EXCHANGED, final, clerk)
            self.row["refund_due_at"] = None
        else:
            self._refund(final, clerk)

    def _refund(self, at: datetime, actor: tuple) -> None:
        """``_refund`` and the payout: reserved on the order, paid once by the gateway."""
        rng, batch = self.rng, self.batch
        position = len(batch.refunds)
        settled = at + rng.uniform(2, 40) * SECOND
        paid = settled <= self.world.now
        reference = f"SIM{rng.getrandbits(64):016X}"
        batch.refunds.append(
            {
                "request": self.position,
                "order": self.order_id,
                "amount": self.amount,
                "currency": self.currency,
                "status": RefundStatus.SUCCEEDED if paid else RefundStatus.PENDING,
                "provider_reference": reference if paid else "",
                "attempts": 1 if paid else 0,
                "created_by": actor[1],
                "created_at": at,
                "settled_at": settled if paid else None,
            }
        )
        event = self._move(S.REFUNDED, at, actor, amount=str(self.amount))
        batch.refund_payloads.append((event["payload"], position))
        self.row["refund_due_at"] = None
        if not paid:
            return
        payload = {"amount": str(self.amount), "repeated": False}
        self._event("refund_paid", settled, self._system("payouts"), payload=payload)
        batch.refund_payloads.append((payload, position))
        batch.payouts.append(
            {
                "idempotency_key": position,
                "reference": reference,
                "amount": self.amount,
                "currency": self.currency,
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
