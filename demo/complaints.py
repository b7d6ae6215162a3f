"""Demo data of the complaints app: complaints filed from the demo complaint tickets.

On as many complaint tickets as make COMPLAINT_RATE of the demo orders, the agent files one
(``C-k`` on ticket ``k``); it lives, up to now, what the services would have recorded: graded,
accepted, investigated, remedied, confirmed or not as its ticket's timers say, escalated per
timer breached, with the ticket's milestones and notes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Min
from django.utils.translation import gettext as _

from complaints import rules as severity_rules
from complaints.choices import ClosedAs, Confirmation, EscalationLevel
from complaints.choices import ComplaintCategory as C
from complaints.choices import ComplaintStatus as S
from complaints.choices import RemedyType as M
from complaints.choices import ResponsibleParty as P
from complaints.escalation import ESCALATING_METRICS
from complaints.events import complaint_event_values
from complaints.models import Complaint, ComplaintEvent, SeverityRules
from complaints.transitions import LIFECYCLE
from demo.batches import Table, in_chunks
from demo.context import SeedContext, Weighted
from demo.walks import CUSTOMER, TICKET_FIELDS, Life, World, subject_match, system
from orders.models import Order
from tickets.choices import MILESTONES, AuthorKind, TicketEventType, TicketKind, TicketStatus
from tickets.events import ticket_event_values
from tickets.models import Message, SlaClock, Ticket, TicketEvent

COMPLAINT_RATE = 0.0075  # complaints per order: 7.5 per 1,000 orders
# How much less often a ticket whose acceptance timer breached gets the complaint.
LATE_ACCEPTANCE_WEIGHT = 0.25
# How the customer answers the request to confirm the outcome.
ANSWERS = Weighted(("accept", 66), ("reject", 9), ("elsewhere", 10), ("silent", 15))

# The categories a complaint ticket's subject (see demo.tickets) stands for: (start, end, …).
CATEGORIES = (
    ("投诉客服态度", "", Weighted((C.SERVICE_ATTITUDE, 1))),
    ("", "和直播间说的不一样", Weighted((C.PRODUCT_QUALITY, 70), (C.PRICE_DISPUTE, 30))),
    ("投诉", "快递员", Weighted((C.LOGISTICS, 1))),
    ("", "", Weighted((C.AFTER_SALES_SERVICE, 85), (C.OTHER, 15))),
)
# Per category, what the investigation finds (root cause, responsible party), and the plan
# (what is offered, the remedy, its amount in yuan).
FINDINGS = {
    C.SERVICE_ATTITUDE: ("客服回复超时且未按话术安抚客户", P.MERCHANT),
    C.PRODUCT_QUALITY: ("批次质检抽检漏检，商品做工不达标", P.MERCHANT),
    C.PRICE_DISPUTE: ("直播间讲解与商品详情页描述不一致", P.MERCHANT),
    C.LOGISTICS: ("快递网点派送员未按约定送货上门", P.CARRIER),
    C.AFTER_SALES_SERVICE: ("售后工单多次转交无人跟进", P.MERCHANT),
    C.OTHER: ("客户诉求未被完整记录，导致重复反映", P.UNKNOWN),
}
PLANS = {
    C.SERVICE_ATTITUDE: ("向客户致歉，对涉事客服进行培训，并补偿一张30元无门槛券。", M.COUPON, 30),
    C.PRODUCT_QUALITY: ("为客户免费换新，旧商品无需寄回。", M.REPLACEMENT, None),
    C.PRICE_DISPUTE: ("按直播间承诺价格补偿差价。", M.COMPENSATION, 20),
    C.LOGISTICS: ("向快递公司投诉并由网点致歉，补偿客户10元无门槛券。", M.COUPON, 10),
    C.AFTER_SALES_SERVICE: ("由专人全程跟进处理，并补偿客户50元。", M.COMPENSATION, 50),
    C.OTHER: ("向客户致歉，由专人跟进直至问题解决。", M.APOLOGY, None),
}
CONFIRM_COMMENTS = ("好的，接受这个处理方案。", "可以，谢谢。", "处理得还算及时。", "")
REJECT_COMMENTS = ("补偿太少了，不接受。", "问题根本没解决。")
ELSEWHERE_NOTES = ("客户电话中确认接受处理方案。", "客户在在线聊天中表示满意。")

# The complaint ticket's columns a complaint takes (besides TICKET_FIELDS).
FIELDS = ("customer_id", "customer__tier", "order__total", "channel", "status", "solved_at")
COMPLAINT_TABLES = {
    "complaints": Table("complaints", Complaint, own_ids=True),
    "events": Table("complaint events", ComplaintEvent),
    "repeats": Table("complaint repeats", Complaint.repeat_of.through),
    "ticket_events": Table("complaint ticket events", TicketEvent),
    "messages": Table("complaint ticket notes", Message),
}


def seed(ctx: SeedContext) -> dict[str, int]:
    """Complaints on the demo complaint tickets, about COMPLAINT_RATE of the orders."""
    world = _World(ctx)
    chosen = world.choose() if ctx.tickets and ctx.size else []
    if not chosen:
        return {}
    # Each ticket's first customer message (the dict keeps the last of each, latest first).
    world.descriptions = dict(
        in_chunks(
            [ticket["id"] for ticket in chosen],
            lambda ids: (
                Message.objects.filter(ticket_id__in=ids, author_kind=AuthorKind.CUSTOMER)
                .order_by("ticket_id", "-created_at", "-pk")
                .values_list("ticket_id", "body")
            ),
        )
    )
    totals = _Complaint.write_all(world, chosen, COMPLAINT_TABLES)
    world.keep(Ticket, "milestones", world.milestones)
    return totals


class _World(World):
    def __init__(self, ctx: SeedContext):
        super().__init__(ctx)
        self.rules = SeverityRules.load()
        self.milestones: dict[int, dict] = {}  # by ticket
        # (created_at, id, customer, order, category) of every complaint: repeats and counts.
        self.history: dict[int, list[tuple]] = {}
        for row in Complaint.objects.values_list(
            "created_at", "pk", "customer_id", "order_id", "category"
        ):
            self.history.setdefault(row[2], []).append(row)

    def choose(self) -> list[dict]:
        orders = Order.objects.filter(number__range=self.numbers)
        since = orders.aggregate(first=Min("placed_at"))["first"] or self.now
        tickets = Ticket.objects.filter(
            pk__lte=self.ctx.tickets, kind=TicketKind.COMPLAINT, created_at__gte=since
        )
        candidates = list(tickets.order_by("pk").values(*TICKET_FIELDS, *FIELDS, "created_at"))
        ids = [c["id"] for c in candidates]
        # Per ticket, its complaint timers that breached, and when its acceptance or plan
        # timer first stopped (at the first solve: a reopened ticket's stay stopped).
        self.breaches: dict[int, list[tuple]] = {}
        self.stops: dict[int, datetime] = {}
        for ticket_id, clock_id, metric, breached_at, stopped_at in in_chunks(
            ids,
            lambda ids: SlaClock.objects.filter(
                ticket_id__in=ids, metric__in=ESCALATING_METRICS
            ).values_list("ticket_id", "pk", "metric", "breached_at", "stopped_at"),
        ):
            if breached_at is not None:
                self.breaches.setdefault(ticket_id, []).append((breached_at, clock_id, metric))
            if metric in MILESTONES and stopped_at is not None:
                self.stops[ticket_id] = min(self.stops.get(ticket_id, stopped_at), stopped_at)
        # Tickets whose acceptance timer breached are filed on less often: most complaints
        # are accepted within 24 hours, and a complaint agrees with its ticket's timers.
        late = {k for k, found in self.breaches.items() if any(b[2] == "acceptance" for b in found)}
        weight = {k: LATE_ACCEPTANCE_WEIGHT if k in late else 1.0 for k in ids}
        share = COMPLAINT_RATE * orders.count() / max(sum(weight.values()), 1)
        have = set(Complaint.objects.filter(ticket_id__in=ids).values_list("ticket_id", flat=True))
        have |= set(Complaint.objects.values_list("pk", flat=True))
        chosen = [
            c
            for c in candidates
            if c["id"] not in have
            and self.ctx.rng("complaints.pick", c["id"]).random() < share * weight[c["id"]]
        ]
        # Filed in time order, so that repeats and counts see the earlier complaints.
        return sorted(chosen, key=lambda c: (c["first_response_at"] or c["created_at"], c["id"]))


class _Complaint(Life):
    """One complaint from its filing until now."""

    lifecycle, stream = LIFECYCLE, "complaints.complaint"
    values = staticmethod(complaint_event_values)

    def _note(self, body: str, at: datetime) -> None:
        """``ticket_system_change`` with a note: an automated internal message."""
        note = {"body": body, "channel": self.ticket["channel"], "created_at": at}
        system_note = {"author_kind": AuthorKind.SYSTEM, "internal": True, "automated": True}
        self.batch.messages.append({"ticket": self.ticket["id"], **system_note, **note})

    def _milestone(self, milestone: str, at: datetime) -> None:
        """``ticket_milestone_record`` on a ticket whose timers the solve already stopped."""
        self.world.milestones.setdefault(self.ticket["id"], {})[milestone] = at.isoformat()
        kind, user, label = self.agent
        values = ticket_event_values(TicketEventType.MILESTONE, new=milestone)
        actors = {"actor_kind": kind, "actor_user": user, "actor_label": label}
        self.batch.ticket_events.append({"ticket": self.ticket["id"], **values, **actors, "at": at})

    def live(self) -> None:
        rng, world, ticket, number = self.rng, self.world, self.ticket, f"C-{self.ticket['id']:06d}"
        created, by = ticket["first_response_at"], self.agent
        if created is None:
            created, by = ticket["created_at"] + timedelta(seconds=rng.uniform(1, 20)), CUSTOMER
        self.created = created = min(created, world.now)
        self.category = category = subject_match(ticket["subject"], CATEGORIES).pick(rng)
        description = world.descriptions.get(ticket["id"]) or ticket["subject"]
        customer, order = ticket["customer_id"], ticket["order_id"]
        history = world.history.setdefault(customer, [])
        start = severity_rules.window_start(world.rules, created)
        repeats = [  # the same order at any time, or the same category within the window
            h
            for h in history
            if h[0] <= created
            and ((order is not None and h[3] == order) or (h[4] == category and h[0] >= start))
        ]
        grading = severity_rules.grade(
            rules=world.rules,
            category=category,
            description=description,
            customer_tier=ticket["customer__tier"],
            amount=ticket["order__total"],
            earlier_in_window=sum(1 for h in history if start <= h[0] <= created),
            is_repeat=bool(repeats),
        )
        history.append((created, ticket["id"], customer, order, category))
        graded = {"severity": grading.severity, "severity_reasons": grading.reasons}
        row = {"id": ticket["id"], "number": number, "ticket": ticket["id"], "status": S.RECEIVED}
        row |= {"customer": customer, "order": order, "channel": ticket["channel"]}
        row |= {"category": category, "description": description[:5000], **graded}
        row |= {"is_repeat": bool(repeats), "created_at": created, "updated_at": created}
        self.begin(row, self.batch.complaints, ticket["id"])
        for r in repeats:
            self.batch.repeats.append({"from_complaint": ticket["id"], "to_complaint": r[1]})
        repeat_of = [f"C-{r[1]:06d}" for r in repeats]
        received = {**self.record.constant, "new": S.RECEIVED, **graded, "repeat_of": repeat_of}
        self.event("received", created, by, **received)
        self._note(_("Complaint %(number)s filed from this ticket.") % {"number": number}, created)
        self.escalations: list[tuple] = []  # (at, reason, actor, clock, metric)
        self.closed_at = None
        breaches = world.breaches.get(ticket["id"], [])
        if ticket["status"] in (TicketStatus.SOLVED, TicketStatus.CLOSED) and ticket["solved_at"]:
            # Done by the time the timers stopped, the ticket's first solve.
            solved = min(ticket["solved_at"], world.stops.get(ticket["id"]) or ticket["solved_at"])
            self.until_now(self._handle, solved, {metric: at for at, _, metric in breaches})
        for breached_at, clock_id, metric in breaches:
            at = max(breached_at, created) + timedelta(seconds=rng.uniform(1, 15))
            if at <= world.now and (self.closed_at is None or at < self.closed_at):
                reason = f"{metric.replace('_', ' ')} timer breached"
                self.escalations.append((at, reason, system("SLA"), clock_id, metric))
        self._escalate()

    def _handle(self, solved: datetime, breached: dict[str, datetime]) -> None:
        """Accepted, investigated and planned before the ticket was solved, in time as the
        ticket's acceptance and plan timers say (``breached``: when each breached, if it did);
        the customer's answer after."""
        rng, by = self.rng, self.agent
        late = breached.get("acceptance")
        if late is not None and self.created <= late < solved:
            accepted = late + (solved - late) * rng.uniform(0.05, 0.3)
        else:
            span = max(solved - self.created, timedelta(0)) * 0.3
            accepted = self.created + min(timedelta(hours=0.05 + 19.95 * rng.random() ** 2), span)
        self.move(S.ACCEPTED, accepted, by)
        self.row["accepted_at"] = accepted
        self._milestone("acceptance", accepted)
        minutes = timedelta(minutes=rng.uniform(1, 30))
        investigating = accepted + min(minutes, (solved - accepted) * 0.2)
        self.move(S.INVESTIGATING, investigating, by)
        late = breached.get("plan")
        if late is not None and investigating <= late < solved:
            found = investigating + (late - investigating) * rng.uniform(0.2, 0.8)
            planned = late + (solved - late) * rng.uniform(0.1, 0.6)
        else:
            found = investigating + (solved - investigating) * rng.uniform(0.2, 0.5)
            planned = found + (solved - found) * rng.uniform(0.3, 0.9)
        (cause, party), (plan, remedy, amount) = FINDINGS[self.category], PLANS[self.category]
        self.event("root_cause", found, by, field="root_cause", new=cause)
        self.event("responsible_party", found, by, field="responsible_party", new=party)
        money = None if amount is None else Decimal(amount)
        self.event(
            "remedy", planned, by, field="remedy_type", new=remedy, amount=money and str(money)
        )
        self.row.update(
            root_cause=cause, responsible_party=party, remedy_type=remedy, remedy_amount=money
        )
        self._plan(plan, planned)
        self._milestone("plan", planned)
        self._confirm(planned + timedelta(minutes=rng.uniform(1, 30)))

    def _plan(self, plan: str, at: datetime) -> None:
        self.move(S.PLAN_PROPOSED, at, self.agent, plan=plan)
        self.row.update(plan=plan, plan_proposed_at=self.row.get("plan_proposed_at", at))

    def _ask(self, at: datetime) -> None:
        self.move(S.AWAITING_CONFIRMATION, at, self.agent)
        due = at + timedelta(hours=self.world.rules.confirmation_hours)
        self.row.update(confirmation="", confirmation_requested_at=at, confirmation_due_at=due)

    def _confirm(self, asked: datetime) -> None:
        """The customer's answer (a rejection escalates, and the plan is made again), or the
        unconfirmed close."""
        rng = self.rng
        self._ask(asked)
        answer = ANSWERS.pick(rng)
        if answer == "reject":
            at = asked + timedelta(hours=rng.uniform(1, 24))
            comment = rng.choice(REJECT_COMMENTS)
            self._answer(Confirmation.REJECTED, at, CUSTOMER, comment)
            self.move(S.INVESTIGATING, at, CUSTOMER, comment)
            self.row.update(rejections=1, confirmation_due_at=None)
            self.escalations.append(
                (at, _("The customer rejected the outcome."), CUSTOMER, None, "")
            )
            planned = at + timedelta(hours=rng.uniform(2, 24))
            self._plan(f"{PLANS[self.category][0]}（已升级处理，追加补偿）", planned)
            asked = planned + timedelta(minutes=rng.uniform(1, 30))
            self._ask(asked)
            answer = "accept"
        if answer in ("accept", "elsewhere"):
            accept = answer == "accept"
            hours = (0.3 + 47 * rng.random() ** 2) if accept else rng.uniform(1, 24)
            comment = rng.choice(CONFIRM_COMMENTS if accept else ELSEWHERE_NOTES)
            who, extra = (CUSTOMER, {}) if accept else (self.agent, {"recorded_by_agent": True})
            self._answer(
                Confirmation.ACCEPTED, asked + timedelta(hours=hours), who, comment, **extra
            )
            self._close(ClosedAs.CONFIRMED, asked + timedelta(hours=hours), who, comment)
        else:
            # complaints_close_unconfirmed runs every five minutes.
            at = self.row["confirmation_due_at"] + timedelta(seconds=rng.uniform(1, 299))
            reason = _("Not confirmed within the confirmation window.")
            self._close(ClosedAs.UNCONFIRMED, at, system("complaint confirmation window"), reason)

    def _answer(self, value: str, at: datetime, by: tuple, comment: str, **payload) -> None:
        change = {"field": "confirmation", "old": self.row.get("confirmation", ""), "new": value}
        self.event("confirmation", at, by, **change, reason=comment, **payload)
        self.row.update(confirmation=value, confirmation_comment=comment, confirmed_at=at)

    def _close(self, closed_as: str, at: datetime, by: tuple, reason: str) -> None:
        self.move(S.RESOLVED, at, by, reason)
        self.move(S.CLOSED, at, by, reason, closed_as=closed_as)
        self.row.update(resolved_at=at, closed_at=at, closed_as=closed_as, confirmation_due_at=None)
        self.closed_at = at
        outcome = {"number": self.row["number"], "outcome": ClosedAs(closed_as).label}
        self._note(_("Complaint %(number)s closed: %(outcome)s") % outcome, at)

    def _escalate(self) -> None:
        level = EscalationLevel.AGENT
        for at, reason, by, clock_id, metric in sorted(self.escalations, key=lambda e: e[0]):
            old, level = level, min(level + 1, EscalationLevel.MANAGER)
            change = {"field": "escalation_level", "old": old, "new": level, "reason": reason}
            self.event("escalated", at, by, **change, sla_clock_id=clock_id, metric=metric)
            label = EscalationLevel(level).label
            note = _("Complaint escalated to level %(level)d (%(label)s): %(reason)s")
            self._note(note % {"level": level, "label": label, "reason": reason}, at)
        self.row["escalation_level"] = level
