"""Demo data of the surveys app: CSAT, NPS and complaint-satisfaction invitations and answers.

Called by ``manage.py seed_demo`` after the tickets and complaints seeders. What the signals,
the scheduling services and the minute-by-minute sweep would have written is reproduced:

- CSAT: one invitation per solved or closed demo ticket (complaint tickets get the complaint
  survey instead), scheduled ``csat_delay_hours`` after the solve and attributed to the ticket's
  agent, team, channel and kind as they were then; the sweep sends it, unless the customer was
  sent one within the CSAT cooldown (skipped) — by e-mail when the customer has an address,
  else by SMS.
- NPS: one invitation per completed demo order, ``nps_delay_hours`` after completion; the
  90-day cooldown lets only a customer's first of a quarter go out.
- Complaint satisfaction: one invitation per closed complaint, sent when it closes.

Sent invitations are answered by some customers (RESPONSE_RATES) within their expiry, with
scores leaning positive; the others expire. Every customer sent a survey has its cooldown row.
Tokens are stored as the services store them: a nonce and the SHA-256 of the HMAC token.

Invitations are keyed by their subject (ticket, order, complaint), each from its own random
generator, so a second run adds nothing and a larger one only the new subjects' surveys.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.db.models.functions import Coalesce

from complaints.choices import ClosedAs, ComplaintStatus
from complaints.models import Complaint
from csplatform.bulk import RowWriter
from demo.batches import Rows, Table, batches_write
from demo.context import SeedContext, Weighted
from demo.orders import ORDER_NUMBER_BASE
from orders.models import Order
from surveys.choices import (
    FOLLOW_UP_AT_MOST,
    DeliveryChannel,
    InvitationReason,
    InvitationStatus,
    SurveyKind,
    SurveyLanguage,
)
from surveys.models import SurveyCooldown, SurveyInvitation, SurveyResponse, SurveySettings
from surveys.tokens import nonce_hasher
from tickets.choices import TicketKind, TicketStatus
from tickets.models import Ticket

K = SurveyKind
IS = InvitationStatus
SECOND = timedelta(seconds=1)
BATCH_INVITATIONS = 5_000
SWEEP_EVERY = 60  # seconds: the beat schedule of the survey sweep

RESPONSE_RATES = {K.CSAT: 0.28, K.NPS: 0.22, K.COMPLAINT: 0.34}
SCORES = {
    K.CSAT: Weighted((5, 56), (4, 25), (3, 9), (2, 4), (1, 6)),
    K.NPS: Weighted(*zip(range(10, -1, -1), (22, 23, 18, 13, 7, 5, 3, 3, 2, 2, 2), strict=True)),
    K.COMPLAINT: Weighted((5, 42), (4, 38), (3, 10), (2, 5), (1, 5)),
}
# A ticket that had to be reopened, or a complaint nobody confirmed, is rated lower.
UNHAPPY_SCORES = Weighted((5, 25), (4, 25), (3, 20), (2, 14), (1, 16))
COMMENT_SHARE = 0.3
COMMENTS = {
    "good": ("客服很耐心，问题解决得很快，点赞！", "回复及时，态度很好。", "处理得很专业，谢谢。"),
    "fair": ("问题解决了，就是等得有点久。", "还可以，希望下次能快一点。"),
    "bad": ("等了很久才有人回复，体验很差。", "问题没有真正解决，很失望。", "客服一直在推脱。"),
}
NPS_COMMENTS = {
    "good": ("东西好，发货快，会推荐给朋友。", "质量不错，价格也实惠。"),
    "fair": ("还行，物流可以再快一点。", "商品一般，客服不错。"),
    "bad": ("收到的东西和描述差别太大。", "物流太慢了，不会再买了。"),
}
CONTACT = {"email_index": "customer__email_index", "phone_index": "customer__phone_index"}


@dataclass(slots=True)
class _Subject:
    """What one invitation is about, and when the sweep would send it."""

    kind: str
    id: int  # of the ticket, order or complaint
    customer: int
    trigger_at: datetime
    email_index: str
    phone_index: str
    ticket: int | None = None
    order: int | None = None
    agent: int | None = None
    team: int | None = None
    channel: str | None = ""
    ticket_kind: str | None = ""
    unhappy: bool = False
    complaint_number: str | None = ""
    send_after: datetime | None = None
    sent_at: datetime | None = None
    status: str = IS.SCHEDULED

    @property
    def key(self) -> tuple[str, int]:
        return self.kind, self.id

    @property
    def contact(self) -> str | None:
        if self.email_index:
            return DeliveryChannel.EMAIL
        return DeliveryChannel.SMS if self.phone_index else None


def seed(ctx: SeedContext) -> dict[str, int]:
    """CSAT for solved tickets, NPS for completed orders, satisfaction for closed complaints."""
    if not ctx.size:
        return {}
    world = _World(ctx)
    missing = [s for s in world.subjects() if s.key not in world.have]
    if not missing:
        return {}
    writer = RowWriter(ctx.now, SurveyInvitation)

    totals = batches_write(
        ctx,
        writer,
        missing,
        BATCH_INVITATIONS,
        lambda: Rows(SURVEY_TABLES),
        lambda subject, batch: _invite(world, subject, batch),
        "survey invitations",
    )
    totals["survey cooldowns"] = _cooldowns_sync(world, writer)
    return totals


def _families(ctx: SeedContext) -> list[tuple[str, QuerySet, dict, str, str | None]]:
    """Each family's subjects, the columns that give their fields, and the names of the
    settings of its delay and cooldown."""
    tickets = Ticket.objects.filter(
        pk__lte=ctx.tickets,
        status__in=(TicketStatus.SOLVED, TicketStatus.CLOSED),
        solved_at__isnull=False,
        merged_into__isnull=True,
    ).exclude(kind=TicketKind.COMPLAINT)
    csat = {
        "id": "pk",
        "customer": "customer_id",
        "trigger_at": "solved_at",
        "ticket": "pk",
        "order": "order_id",
        "agent": Coalesce("assignee_id", "owner_id"),
        "team": "team_id",
        "channel": "channel",
        "ticket_kind": "kind",
        "unhappy": ExpressionWrapper(Q(reopen_count__gt=0), BooleanField()),
        **CONTACT,
    }
    orders = Order.objects.filter(
        number__gte=f"SO-{ORDER_NUMBER_BASE + 1}",
        number__lte=f"SO-{ORDER_NUMBER_BASE + ctx.size}",
        completed_at__isnull=False,
    )
    nps = {
        "id": "pk",
        "customer": "customer_id",
        "trigger_at": "completed_at",
        "order": "pk",
        "channel": "channel",
        **CONTACT,
    }
    complaints = Complaint.objects.filter(status=ComplaintStatus.CLOSED, closed_at__isnull=False)
    complaint = {
        "id": "pk",
        "customer": "customer_id",
        "trigger_at": "closed_at",
        "ticket": "ticket_id",
        "order": "order_id",
        "agent": Coalesce("ticket__assignee_id", "ticket__owner_id"),
        "team": "ticket__team_id",
        "channel": "ticket__channel",
        "ticket_kind": "ticket__kind",
        "unhappy": ExpressionWrapper(Q(closed_as=ClosedAs.UNCONFIRMED), BooleanField()),
        "complaint_number": "number",
        **CONTACT,
    }
    families = [(K.NPS, orders, nps, "nps", "nps")]
    families.append((K.COMPLAINT, complaints, complaint, "complaint", None))
    if ctx.tickets:
        families.insert(0, (K.CSAT, tickets, csat, "csat", "csat"))
    return families


class _World:
    def __init__(self, ctx: SeedContext):
        self.ctx = ctx
        self.now = ctx.now
        self.config = SurveySettings.load()
        subject_of = {K.CSAT: 0, K.NPS: 1, K.COMPLAINT: 2}
        self.have = {
            (kind, subjects[subject_of[kind]])
            for kind, *subjects in SurveyInvitation.objects.values_list(
                "kind", "ticket_id", "order_id", "complaint_id"
            ).iterator(chunk_size=50_000)
        }
        self.cooldowns: dict[tuple[int, str], datetime] = {}
        self.token_hash = nonce_hasher()

    def subjects(self) -> list[_Subject]:
        subjects = []
        for kind, rows, columns, delay, cooldown in _families(self.ctx):
            after = timedelta(hours=getattr(self.config, f"{delay}_delay_hours"))
            family = [
                _Subject(kind, **dict(zip(columns, row, strict=True)))
                for row in rows.order_by("pk")
                .values_list(*columns.values())
                .iterator(chunk_size=50_000)
            ]
            for s in family:
                s.send_after = s.trigger_at + after
            days = getattr(self.config, f"{cooldown}_cooldown_days") if cooldown else None
            self._sweep(family, None if days is None else timedelta(days=days))
            subjects += family
        return subjects

    def _sweep(self, subjects: list[_Subject], cooldown: timedelta | None) -> None:
        """When the sweep sends each invitation, in the order it meets them: the first sweep
        after ``send_after``; skipped for a customer surveyed within the cooldown."""
        last_sent = self.cooldowns
        for s in sorted(subjects, key=lambda s: (s.send_after, s.key)):
            # Seconds to the sweep that finds it due: a hash rather than a generator, which
            # would cost more than everything else done here.
            spread = zlib.crc32(f"{self.ctx.seed}:{s.kind}:{s.id}".encode())
            at = s.send_after + (1 + spread % (SWEEP_EVERY - 1)) * SECOND
            if at > self.now:
                continue
            s.sent_at = at
            if s.contact is None:
                s.status = IS.SKIPPED
                continue
            if cooldown is not None:
                previous = last_sent.get((s.customer, s.kind))
                if previous is not None and previous > at - cooldown:
                    s.status = IS.SKIPPED
                    continue
                last_sent[(s.customer, s.kind)] = at
            s.status = IS.SENT


SURVEY_TABLES = {
    "invitations": Table("survey invitations", SurveyInvitation, with_ids=True),
    "responses": Table("survey responses", SurveyResponse, parents={"invitation": "invitations"}),
}


def _invite(world: _World, s: _Subject, batch: Rows) -> None:
    """The invitation as the scheduling service and the sweep left it, and its answer."""
    rng = world.ctx.rng(f"surveys.{s.kind}", s.id)
    nonce = f"{rng.getrandbits(128):032x}"
    now, config = world.now, world.config
    attribution = {
        "kind": s.kind,
        "customer": s.customer,
        "ticket": s.ticket,
        "order": s.order,
        "complaint_id": s.id if s.kind == K.COMPLAINT else None,
        "language": SurveyLanguage.ZH_HANS,  # the demo customers write Chinese
        "agent": s.agent,
        "team": s.team,
        "channel": s.channel or "",
        "ticket_kind": s.ticket_kind or "",
    }
    row = {
        **attribution,
        "status": IS.SCHEDULED,
        "complaint_number": s.complaint_number or "",
        "token_nonce": nonce,
        "token_hash": world.token_hash(nonce),
        "created_at": min(s.trigger_at + rng.uniform(0.5, 5) * SECOND, now),
        "trigger_at": s.trigger_at,
        "send_after": s.send_after,
    }
    batch.invitations.append(row)
    if s.status == IS.SKIPPED:
        reason = InvitationReason.NO_CONTACT if s.contact is None else InvitationReason.COOLDOWN
        row.update(status=IS.SKIPPED, reason=reason, closed_at=s.sent_at)
        return
    if s.status != IS.SENT:
        return
    sent = s.sent_at
    assert sent is not None  # a sent invitation
    expires = sent + timedelta(days=config.expiry_days)
    row.update(
        status=IS.SENT,
        sent_at=sent,
        sent_via=s.contact,
        delivered_at=min(sent + rng.uniform(1, 20) * SECOND, now),
        expires_at=expires,
    )
    if rng.random() < RESPONSE_RATES[s.kind]:
        # Most answer the day the link arrives.
        answered = sent + (0.02 + 0.97 * rng.random() ** 3) * (expires - sent)
        if answered <= now:
            scores = UNHAPPY_SCORES if s.unhappy and s.kind != K.NPS else SCORES[s.kind]
            score = scores.pick(rng)
            comment = ""
            if rng.random() < COMMENT_SHARE:
                texts = NPS_COMMENTS if s.kind == K.NPS else COMMENTS
                comment = rng.choice(texts[_mood(s.kind, score)])
            row.update(status=IS.ANSWERED, answered_at=answered)
            batch.responses.append(
                {
                    **attribution,
                    "invitation": len(batch.invitations) - 1,
                    "score": score,
                    "comment": comment,
                    "answered_at": answered,
                    # The follow-up (回访) tickets are left to the sweep's catch-up to open.
                    "needs_follow_up": score <= FOLLOW_UP_AT_MOST[s.kind],
                }
            )
            return
    if expires <= now:
        row.update(status=IS.EXPIRED, closed_at=expires + rng.randrange(SWEEP_EVERY) * SECOND)


def _mood(kind: str, score: int) -> str:
    if kind == K.NPS:
        return "good" if score >= 9 else "fair" if score >= 7 else "bad"
    return "good" if score >= 4 else "fair" if score == 3 else "bad"


def _cooldowns_sync(world: _World, writer: RowWriter) -> int:
    """Each customer's last CSAT and NPS send, as ``_in_cooldown`` records it."""
    wanted = world.cooldowns
    if not wanted:
        return 0
    existing = {
        (customer, kind): (pk, last)
        for pk, customer, kind, last in SurveyCooldown.objects.values_list(
            "pk", "customer_id", "kind", "last_sent_at"
        ).iterator(chunk_size=50_000)
    }
    new, changed = [], []
    for (customer, kind), last in sorted(wanted.items()):
        found = existing.get((customer, kind))
        if found is None:
            new.append({"customer": customer, "kind": kind, "last_sent_at": last})
        elif found[1] is None or found[1] < last:
            changed.append(SurveyCooldown(pk=found[0], last_sent_at=last))
    with transaction.atomic(using=writer.alias):
        writer.insert(SurveyCooldown, new)
    SurveyCooldown.objects.bulk_update(changed, ["last_sent_at"], batch_size=2_000)
    return len(new)
