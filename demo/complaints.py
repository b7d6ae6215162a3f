"""Demo data of the complaints app: complaints filed from the demo complaint tickets.

Called by ``manage.py seed_demo`` after the tickets seeder, whose complaint tickets (投诉客服态度,
假货, 快递员, 反映了三次…) the complaints are filed from: an agent answering such a ticket files
the complaint on it (``complaint_create`` with the ticket), so the ticket stays the one queue
item and its SLA policy runs the complaint timers. Only as many of those tickets get a
complaint as make COMPLAINT_RATE of the orders placed since the first demo order (complaints
per 1,000 orders is a KPI); the others stay ordinary conversations.

Each complaint then lives what the services would have recorded, up to now: graded by the
admin's severity rules (repeats and the customer's earlier complaints included), accepted
(受理, mostly within 24 hours), investigated, a plan and remedy given, the customer's
confirmation (or the unconfirmed close after the confirmation window), escalations for each
complaint timer its ticket breached, the milestones and notes on the ticket, and every step
as a ``ComplaintEvent``. A complaint whose ticket is still open has not been accepted yet:
the ticket's acceptance timer, which the tickets seeder left running, says so.

Complaint ``C-k`` takes its ticket's id ``k`` as its own id, so a run only adds the
complaints of tickets that have none, each from its own random generator.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Min
from django.utils.translation import gettext as _

from complaints import rules as severity_rules
from complaints.choices import (
    ClosedAs,
    ComplaintCategory,
    ComplaintStatus,
    Confirmation,
    EscalationLevel,
    RemedyType,
    ResponsibleParty,
)
from complaints.escalation import ESCALATING_METRICS
from complaints.events import complaint_event_values
from complaints.models import Complaint, ComplaintEvent, SeverityRules
from complaints.transitions import check_transition
from csplatform.bulk import RowWriter
from demo.batches import Rows, Table, batches_write, sequence_keep_ahead
from demo.context import SeedContext, Weighted
from demo.orders import ORDER_NUMBER_BASE
from demo.tickets import STOREFRONT
from orders.models import Order
from tickets.choices import AuthorKind, TicketEventType, TicketKind, TicketStatus
from tickets.models import Message, SlaClock, Ticket, TicketEvent
from tickets.sla.clocks import MILESTONES

S = ComplaintStatus
C = ComplaintCategory
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
BATCH_COMPLAINTS = 2_000

COMPLAINT_RATE = 0.0075  # complaints per order: 7.5 per 1,000 orders
# How much less often a ticket whose acceptance timer breached gets the complaint.
LATE_ACCEPTANCE_WEIGHT = 0.25
# How the customer answers the request to confirm the outcome.
ANSWERS = Weighted(("accept", 66), ("reject", 9), ("elsewhere", 10), ("silent", 15))

# The complaint a ticket subject (see demo.tickets) is about: category options.
CATEGORIES = {
    "attitude": Weighted((C.SERVICE_ATTITUDE, 1)),
    "fake": Weighted((C.PRODUCT_QUALITY, 70), (C.PRICE_DISPUTE, 30)),
    "courier": Weighted((C.LOGISTICS, 1)),
    "repeated": Weighted((C.AFTER_SALES_SERVICE, 85), (C.OTHER, 15)),
}
FINDINGS = {
    C.SERVICE_ATTITUDE: ("客服回复超时且未按话术安抚客户", ResponsibleParty.MERCHANT),
    C.PRODUCT_QUALITY: ("批次质检抽检漏检，商品做工不达标", ResponsibleParty.MERCHANT),
    C.PRICE_DISPUTE: ("直播间讲解与商品详情页描述不一致", ResponsibleParty.MERCHANT),
    C.LOGISTICS: ("快递网点派送员未按约定送货上门", ResponsibleParty.CARRIER),
    C.AFTER_SALES_SERVICE: ("售后工单多次转交无人跟进", ResponsibleParty.MERCHANT),
    C.OTHER: ("客户诉求未被完整记录，导致重复反映", ResponsibleParty.UNKNOWN),
}
PLANS = {
    C.SERVICE_ATTITUDE: (
        "向客户致歉，对涉事客服进行培训，并补偿一张30元无门槛券。",
        RemedyType.COUPON,
        Decimal(30),
    ),
    C.PRODUCT_QUALITY: ("为客户免费换新，旧商品无需寄回。", RemedyType.REPLACEMENT, None),
    C.PRICE_DISPUTE: ("按直播间承诺价格补偿差价。", RemedyType.COMPENSATION, Decimal(20)),
    C.LOGISTICS: (
        "向快递公司投诉并由网点致歉，补偿客户10元无门槛券。",
        RemedyType.COUPON,
        Decimal(10),
    ),
    C.AFTER_SALES_SERVICE: (
        "由专人全程跟进处理，并补偿客户50元。",
        RemedyType.COMPENSATION,
        Decimal(50),
    ),
    C.OTHER: ("向客户致歉，由专人跟进直至问题解决。", RemedyType.APOLOGY, None),
}
CONFIRM_COMMENTS = ("好的，接受这个处理方案。", "可以，谢谢。", "处理得还算及时。", "")
REJECT_COMMENTS = ("补偿太少了，不接受。", "问题根本没解决。")
ELSEWHERE_NOTES = ("客户电话中确认接受处理方案。", "客户在在线聊天中表示满意。")


def seed(ctx: SeedContext) -> dict[str, int]:
    """Complaints on the demo complaint tickets, about COMPLAINT_RATE of the orders."""
    if not ctx.tickets or not ctx.size:
        return {}
    world = _World(ctx)
    chosen = world.choose()
    if not chosen:
        return {}
    writer = RowWriter(ctx.now, Complaint)
    sequence_keep_ahead(writer, Complaint, max(ticket[0] for ticket in chosen))
    first_messages = world.first_messages([ticket[0] for ticket in chosen])
    breaches, stops = world.clocks([ticket[0] for ticket in chosen])
    milestones: dict[int, dict] = {}

    def fill(ticket: tuple, batch: Rows) -> None:
        life = _Life(world, ticket, first_messages.get(ticket[0], ""), batch)
        life.live(breaches.get(ticket[0], []), stops.get(ticket[0]))
        if life.milestones:
            milestones[ticket[0]] = life.milestones

    totals = batches_write(
        ctx, writer, chosen, BATCH_COMPLAINTS, lambda: Rows(COMPLAINT_TABLES), fill, "complaints"
    )
    tickets = [Ticket(pk=pk, milestones=m) for pk, m in milestones.items()]
    Ticket.objects.bulk_update(tickets, ["milestones"], batch_size=1_000)
    return totals


def _subject_kind(subject: str) -> str:
    if subject == "投诉客服态度":
        return "attitude"
    if subject.endswith("和直播间说的不一样"):
        return "fake"
    if subject.startswith("投诉") and subject.endswith("快递员"):
        return "courier"
    return "repeated"


class _World:
    def __init__(self, ctx: SeedContext):
        self.ctx = ctx
        self.now = ctx.now
        self.rules = SeverityRules.load()
        self.usernames = dict(get_user_model().objects.values_list("pk", "username"))
        # (created_at, id, customer, order, category) of every complaint: repeats and counts.
        self.history: dict[int, list[tuple]] = {}
        for row in Complaint.objects.values_list(
            "created_at", "pk", "customer_id", "order_id", "category"
        ):
            self.history.setdefault(row[2], []).append(row)

    def choose(self) -> list[tuple]:
        numbers = {
            "number__gte": f"SO-{ORDER_NUMBER_BASE + 1}",
            "number__lte": f"SO-{ORDER_NUMBER_BASE + self.ctx.size}",
        }
        orders = Order.objects.filter(**numbers)
        count = orders.count()
        since = orders.aggregate(first=Min("placed_at"))["first"]
        if not count or since is None:
            return []
        candidates = list(
            Ticket.objects.filter(
                pk__lte=self.ctx.tickets, kind=TicketKind.COMPLAINT, created_at__gte=since
            )
            .order_by("pk")
            .values_list(
                "pk",
                "subject",
                "customer_id",
                "customer__tier",
                "order_id",
                "order__total",
                "channel",
                "status",
                "owner_id",
                "assignee_id",
                "team_id",
                "created_at",
                "first_response_at",
                "solved_at",
            )
        )
        if not candidates:
            return []
        # Tickets whose acceptance timer breached are filed on less often: most complaints
        # are accepted within 24 hours, and a complaint agrees with its ticket's timers.
        late = self._acceptance_breached([c[0] for c in candidates])
        weight = {c[0]: LATE_ACCEPTANCE_WEIGHT if c[0] in late else 1.0 for c in candidates}
        share = COMPLAINT_RATE * count / sum(weight.values())
        have = set(
            Complaint.objects.filter(ticket_id__in=[c[0] for c in candidates]).values_list(
                "ticket_id", flat=True
            )
        )
        taken = set(Complaint.objects.values_list("pk", flat=True))
        chosen = [
            c
            for c in candidates
            if c[0] not in have
            and c[0] not in taken
            and self.ctx.rng("complaints.pick", c[0]).random() < share * weight[c[0]]
        ]
        # Filed in time order, so that repeats and counts see the earlier complaints.
        chosen.sort(key=lambda c: (c[12] or c[11], c[0]))
        return chosen

    @staticmethod
    def _acceptance_breached(ticket_ids: list[int]) -> set[int]:
        late: set[int] = set()
        for start in range(0, len(ticket_ids), 5_000):
            late.update(
                SlaClock.objects.filter(
                    ticket_id__in=ticket_ids[start : start + 5_000],
                    metric="acceptance",
                    breached_at__isnull=False,
                ).values_list("ticket_id", flat=True)
            )
        return late

    def first_messages(self, ticket_ids: list[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for start in range(0, len(ticket_ids), 5_000):
            for ticket_id, body in (
                Message.objects.filter(
                    ticket_id__in=ticket_ids[start : start + 5_000],
                    author_kind=AuthorKind.CUSTOMER,
                )
                .order_by("ticket_id", "created_at", "pk")
                .values_list("ticket_id", "body")
            ):
                found.setdefault(ticket_id, body)
        return found

    def clocks(self, ticket_ids: list[int]) -> tuple[dict[int, list[tuple]], dict[int, datetime]]:
        """Per ticket, its complaint timers that breached, and when its acceptance or plan
        timer first stopped (at the first solve: a reopened ticket's stay stopped)."""
        breaches: dict[int, list[tuple]] = {}
        stops: dict[int, datetime] = {}
        for start in range(0, len(ticket_ids), 5_000):
            for ticket_id, clock_id, metric, breached_at, stopped_at in SlaClock.objects.filter(
                ticket_id__in=ticket_ids[start : start + 5_000], metric__in=ESCALATING_METRICS
            ).values_list("ticket_id", "pk", "metric", "breached_at", "stopped_at"):
                if breached_at is not None:
                    breaches.setdefault(ticket_id, []).append((breached_at, clock_id, metric))
                if metric in MILESTONES and stopped_at is not None:
                    stops[ticket_id] = min(stops.get(ticket_id, stopped_at), stopped_at)
        return breaches, stops


COMPLAINT_TABLES = {
    "complaints": Table("complaints", Complaint, own_ids=True),
    "events": Table("complaint events", ComplaintEvent),
    "repeats": Table("complaint repeats", Complaint.repeat_of.through),
    "ticket_events": Table("complaint ticket events", TicketEvent),
    "messages": Table("complaint ticket notes", Message),
}


class _Life:
    """One complaint from its filing until now."""

    def __init__(self, world: _World, ticket: tuple, description: str, batch: Rows):
        (
            self.ticket_id,
            subject,
            self.customer_id,
            self.tier,
            self.order_id,
            self.order_total,
            self.channel,
            self.ticket_status,
            owner,
            assignee,
            self.team_id,
            self.ticket_created,
            self.first_response_at,
            self.solved_at,
        ) = ticket
        self.world = world
        self.rng = world.ctx.rng("complaints.complaint", self.ticket_id)
        self.batch = batch
        self.subject = subject
        self.description = description or subject
        self.agent = owner or assignee
        self.number = f"C-{self.ticket_id:06d}"
        self.milestones: dict[str, str] = {}
        self.status = S.RECEIVED
        self.closed_at: datetime | None = None

    # --- rows ---------------------------------------------------------------------------------

    def _actor(self) -> tuple:
        if self.agent is None:
            return ("system", None, "system")
        return ("user", self.agent, self.world.usernames.get(self.agent, ""))

    def _event(self, type: str, at: datetime, actor: tuple, **fields) -> None:
        kind, user, label = actor
        values = complaint_event_values(type, **fields)
        self.batch.events.append(
            {
                "complaint": self.ticket_id,
                **values,
                "actor_kind": kind,
                "actor_user": user,
                "actor_label": label,
                "at": at,
            }
        )
        self.row["updated_at"] = max(self.row["updated_at"], at)

    def _move(self, target: str, at: datetime, actor: tuple, reason: str = "", **payload) -> None:
        check_transition(self.status, target)
        self._event(
            payload.pop("event_type", "status"),
            at,
            actor,
            field="status",
            old=self.status,
            new=target,
            reason=reason,
            **payload,
        )
        self.status = self.row["status"] = target

    def _note(self, body: str, at: datetime) -> None:
        """``ticket_system_change`` with a note: an automated internal message."""
        self.batch.messages.append(
            {
                "ticket": self.ticket_id,
                "author_kind": AuthorKind.SYSTEM,
                "author_user": None,
                "internal": True,
                "automated": True,
                "body": body,
                "channel": self.channel,
                "created_at": at,
            }
        )

    def _milestone(self, milestone: str, at: datetime, actor: tuple) -> None:
        """``ticket_milestone_record`` on a ticket whose timers the solve already stopped."""
        self.milestones[milestone] = at.isoformat()
        kind, user, label = actor
        self.batch.ticket_events.append(
            {
                "ticket": self.ticket_id,
                "type": TicketEventType.MILESTONE,
                "old_value": "",
                "new_value": milestone,
                "payload": {},
                "actor_kind": kind,
                "actor_user": user,
                "actor_label": label,
                "at": at,
            }
        )

    # --- the complaint --------------------------------------------------------------------

    def live(self, breaches: list[tuple], stopped: datetime | None) -> None:
        rng, world = self.rng, self.world
        if self.first_response_at is not None:
            created, actor = self.first_response_at, self._actor()
        else:
            created = self.ticket_created + rng.uniform(1, 20) * SECOND
            actor = ("api_key", None, STOREFRONT)
        created = min(created, world.now)
        self.created = created
        category = CATEGORIES[_subject_kind(self.subject)].pick(rng)
        self.category = category
        rules = world.rules
        history = world.history.setdefault(self.customer_id, [])
        start = severity_rules.window_start(rules, created)
        repeats = [
            h
            for h in history
            if h[0] <= created
            and (
                (self.order_id is not None and h[3] == self.order_id)
                or (h[4] == category and h[0] >= start)
            )
        ]
        earlier = sum(1 for h in history if start <= h[0] <= created)
        grading = severity_rules.grade(
            rules=rules,
            category=category,
            description=self.description,
            customer_tier=self.tier,
            amount=self.order_total,
            earlier_in_window=earlier,
            is_repeat=bool(repeats),
        )
        history.append((created, self.ticket_id, self.customer_id, self.order_id, category))
        self.row = {
            "id": self.ticket_id,
            "number": self.number,
            "customer": self.customer_id,
            "order": self.order_id,
            "ticket": self.ticket_id,
            "category": category,
            "channel": self.channel,
            "description": self.description[:5000],
            "severity": grading.severity,
            "severity_reasons": grading.reasons,
            "escalation_level": EscalationLevel.AGENT,
            "status": S.RECEIVED,
            "is_repeat": bool(repeats),
            "created_at": created,
            "updated_at": created,
        }
        self.batch.complaints.append(self.row)
        for repeated in repeats:
            self.batch.repeats.append(
                {"from_complaint": self.ticket_id, "to_complaint": repeated[1]}
            )
        self._event(
            "received",
            created,
            actor,
            field="status",
            new=S.RECEIVED,
            severity=grading.severity,
            severity_reasons=grading.reasons,
            repeat_of=[f"C-{r[1]:06d}" for r in repeats],
        )
        self._note(
            _("Complaint %(number)s filed from this ticket.") % {"number": self.number}, created
        )
        escalations = []
        if self.ticket_status in (TicketStatus.SOLVED, TicketStatus.CLOSED) and self.solved_at:
            breached = {metric: at for at, _clock, metric in breaches}
            # Done by the time the timers stopped, the ticket's first solve.
            done_by = min(self.solved_at, stopped or self.solved_at)
            escalations += self._handle(done_by, breached)
        for breached_at, clock_id, metric in breaches:
            at = max(breached_at, created) + rng.uniform(1, 15) * SECOND
            if at <= world.now and (self.closed_at is None or at < self.closed_at):
                reason = f"{metric.replace('_', ' ')} timer breached"
                escalations.append((at, reason, ("system", None, "SLA"), clock_id, metric))
        self._escalations(sorted(escalations, key=lambda e: e[0]))

    def _handle(self, solved: datetime, breached: dict[str, datetime]) -> list[tuple]:
        """Accepted, investigated and planned before the ticket was solved; the customer's
        confirmation and the close after. Returns the escalations the customer caused.

        The ticket's acceptance and plan timers (``breached``: when each breached, if it did)
        say whether each step came in time, so the complaint agrees with its ticket's SLA.
        """
        rng, now = self.rng, self.world.now
        actor = self._actor()
        span = max(solved - self.created, timedelta(0))
        late = breached.get("acceptance")
        if late is not None and self.created <= late < solved:
            accepted = late + (solved - late) * rng.uniform(0.05, 0.3)
        else:
            accepted = self.created + min((0.05 + 19.95 * rng.random() ** 2) * HOUR, span * 0.3)
        self._move(S.ACCEPTED, accepted, actor)
        self.row["accepted_at"] = accepted
        self._milestone("acceptance", accepted, actor)
        investigating = accepted + min(rng.uniform(1, 30) * MINUTE, (solved - accepted) * 0.2)
        self._move(S.INVESTIGATING, investigating, actor)
        cause, party = FINDINGS[self.category]
        late = breached.get("plan")
        if late is not None and investigating <= late < solved:
            found = investigating + (late - investigating) * rng.uniform(0.2, 0.8)
            planned = late + (solved - late) * rng.uniform(0.1, 0.6)
        else:
            found = investigating + (solved - investigating) * rng.uniform(0.2, 0.5)
            planned = found + (solved - found) * rng.uniform(0.3, 0.9)
        self._event("root_cause", found, actor, field="root_cause", new=cause)
        self._event("responsible_party", found, actor, field="responsible_party", new=party)
        self.row.update(root_cause=cause, responsible_party=party)
        plan, remedy, amount = PLANS[self.category]
        self._event(
            "remedy",
            planned,
            actor,
            field="remedy_type",
            new=remedy,
            amount=str(amount) if amount is not None else None,
        )
        self.row.update(remedy_type=remedy, remedy_amount=amount)
        self._move(S.PLAN_PROPOSED, planned, actor, plan=plan)
        self.row.update(plan=plan, plan_proposed_at=planned)
        self._milestone("plan", planned, actor)
        return self._confirm(planned + rng.uniform(1, 30) * MINUTE, actor, now)

    def _ask_confirmation(self, at: datetime, actor: tuple) -> None:
        self._move(S.AWAITING_CONFIRMATION, at, actor)
        self.row.update(
            confirmation="",
            confirmation_requested_at=at,
            confirmation_due_at=at + timedelta(hours=self.world.rules.confirmation_hours),
        )

    def _confirm(self, asked: datetime, actor: tuple, now: datetime) -> list[tuple]:
        rng = self.rng
        escalations = []
        if asked > now:
            return escalations
        self._ask_confirmation(asked, actor)
        answer = ANSWERS.pick(rng)
        customer = ("api_key", None, STOREFRONT)
        if answer == "reject":
            at = asked + rng.uniform(1, 24) * HOUR
            if at > now:
                return escalations
            comment = rng.choice(REJECT_COMMENTS)
            self._confirmation(Confirmation.REJECTED, at, customer, comment)
            self.row["rejections"] = 1
            self._move(S.INVESTIGATING, at, customer, comment)
            self.row["confirmation_due_at"] = None
            escalations.append((at, _("The customer rejected the outcome."), customer, None, ""))
            planned = at + rng.uniform(2, 24) * HOUR
            if planned > now:
                return escalations
            plan, _remedy, _amount = PLANS[self.category]
            plan = f"{plan}（已升级处理，追加补偿）"
            self._move(S.PLAN_PROPOSED, planned, actor, plan=plan)
            self.row["plan"] = plan
            asked = planned + rng.uniform(1, 30) * MINUTE
            if asked > now:
                return escalations
            self._ask_confirmation(asked, actor)
            answer = "accept"
        due = self.row["confirmation_due_at"]
        if answer == "accept":
            at = asked + (0.3 + 47 * rng.random() ** 2) * HOUR
            if at <= now:
                comment = rng.choice(CONFIRM_COMMENTS)
                self._confirmation(Confirmation.ACCEPTED, at, customer, comment)
                self._close(ClosedAs.CONFIRMED, at, customer, comment)
        elif answer == "elsewhere":
            at = asked + rng.uniform(1, 24) * HOUR
            if at <= now:
                note = rng.choice(ELSEWHERE_NOTES)
                self._confirmation(Confirmation.ACCEPTED, at, actor, note, recorded_by_agent=True)
                self._close(ClosedAs.CONFIRMED, at, actor, note)
        else:
            # complaints_close_unconfirmed runs every five minutes.
            at = due + rng.uniform(1, 299) * SECOND
            if at <= now:
                reason = _("Not confirmed within the confirmation window.")
                self._close(
                    ClosedAs.UNCONFIRMED,
                    at,
                    ("system", None, "complaint confirmation window"),
                    reason,
                )
        return escalations

    def _confirmation(self, value: str, at: datetime, actor: tuple, comment: str, **payload):
        self._event(
            "confirmation",
            at,
            actor,
            field="confirmation",
            old=self.row.get("confirmation", ""),
            new=value,
            reason=comment,
            **payload,
        )
        self.row.update(confirmation=value, confirmation_comment=comment, confirmed_at=at)

    def _close(self, closed_as: str, at: datetime, actor: tuple, reason: str) -> None:
        self._move(S.RESOLVED, at, actor, reason)
        self._move(S.CLOSED, at, actor, reason, closed_as=closed_as)
        self.row.update(resolved_at=at, closed_at=at, closed_as=closed_as, confirmation_due_at=None)
        self.closed_at = at
        outcome = ClosedAs(closed_as).label
        self._note(
            _("Complaint %(number)s closed: %(outcome)s")
            % {"number": self.number, "outcome": outcome},
            at,
        )

    def _escalations(self, escalations: list[tuple]) -> None:
        level = EscalationLevel.AGENT
        for at, reason, actor, clock_id, metric in escalations:
            old, level = level, min(level + 1, EscalationLevel.MANAGER)
            payload = {"metric": metric} if clock_id is not None else {"metric": ""}
            self._event(
                "escalated",
                at,
                actor,
                field="escalation_level",
                old=old,
                new=level,
                reason=reason,
                sla_clock_id=clock_id,
                **payload,
            )
            label = EscalationLevel(level).label
            self._note(
                _("Complaint escalated to level %(level)d (%(label)s): %(reason)s")
                % {"level": level, "label": label, "reason": reason},
                at,
            )
        self.row["escalation_level"] = level
