"""Demo data of the surveys app: CSAT, NPS and complaint-satisfaction invitations and answers.

What the signals, the scheduling services and the sweep would have written: CSAT per solved demo
ticket (complaint tickets get the complaint survey), NPS per completed demo order, satisfaction
per closed complaint; sent by the first sweep after the family's delay, by e-mail or else SMS,
unless the family's cooldown holds. Some answer (RESPONSE_RATES); the rest expire.
"""

from __future__ import annotations

import zlib
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce

from complaints.choices import ClosedAs, ComplaintStatus
from complaints.models import Complaint
from csplatform.bulk import RowWriter
from demo.batches import Rows, Table
from demo.context import SeedContext, Weighted
from demo.walks import World
from orders.models import Order
from surveys.choices import FOLLOW_UP_AT_MOST, DeliveryChannel, InvitationReason, SurveyLanguage
from surveys.choices import InvitationStatus as IS
from surveys.choices import SurveyKind as K
from surveys.models import SurveyCooldown, SurveyInvitation, SurveyResponse, SurveySettings
from surveys.tokens import nonce_hasher
from tickets.choices import TicketKind, TicketStatus
from tickets.models import Ticket

EMAIL, SMS = DeliveryChannel.EMAIL, DeliveryChannel.SMS
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
COMMENTS = {  # by mood: of the desk (CSAT, complaints), then of the shop (NPS)
    "good": ("客服很耐心，问题解决得很快，点赞！", "回复及时，态度很好。", "处理得很专业，谢谢。"),
    "fair": ("问题解决了，就是等得有点久。", "还可以，希望下次能快一点。"),
    "bad": ("等了很久才有人回复，体验很差。", "问题没有真正解决，很失望。", "客服一直在推脱。"),
}
NPS_COMMENTS = {
    "good": ("东西好，发货快，会推荐给朋友。", "质量不错，价格也实惠。"),
    "fair": ("还行，物流可以再快一点。", "商品一般，客服不错。"),
    "bad": ("收到的东西和描述差别太大。", "物流太慢了，不会再买了。"),
}
SURVEY_TABLES = {
    "invitations": Table("survey invitations", SurveyInvitation, with_ids=True),
    "responses": Table("survey responses", SurveyResponse, parents={"invitation": "invitations"}),
}


def seed(ctx: SeedContext) -> dict[str, int]:
    """CSAT for solved tickets, NPS for completed orders, satisfaction for closed complaints."""
    world = _World(ctx)
    subjects = world.subjects() if ctx.size else []
    missing = [s for s in subjects if (s["kind"], s["id"]) not in world.have]
    if not missing:
        return {}
    totals = world.write(missing, SURVEY_TABLES, world.invite, BATCH_INVITATIONS)
    return totals | {"survey cooldowns": world.cooldowns_write()}


def _attributed(t: str) -> dict:
    """The columns of the attribution to the ticket at the path ``t``."""
    agent = Coalesce(f"{t}assignee_id", f"{t}owner_id")
    columns = {"ticket": f"{t}id", "agent": agent, "team": f"{t}team_id", "channel": f"{t}channel"}
    return columns | {"ticket_kind": f"{t}kind"}


class _World(World):
    def __init__(self, ctx: SeedContext):
        super().__init__(ctx)
        self.config = SurveySettings.load()
        self.have = {
            (kind, ticket if kind == K.CSAT else order if kind == K.NPS else complaint)
            for kind, ticket, order, complaint in SurveyInvitation.objects.values_list(
                "kind", "ticket_id", "order_id", "complaint_id"
            ).iterator(chunk_size=50_000)
        }
        self.last_sent: dict[tuple[int, str], object] = {}  # by customer and family
        self.token_hash = nonce_hasher()

    def families(self) -> list[tuple[str, object, dict]]:
        """Each family's subjects, and the columns of their fields besides the shared ones."""
        tickets = Ticket.objects.filter(
            pk__lte=self.ctx.tickets,
            status__in=(TicketStatus.SOLVED, TicketStatus.CLOSED),
            solved_at__isnull=False,
            merged_into__isnull=True,
        ).exclude(kind=TicketKind.COMPLAINT)
        orders = Order.objects.filter(number__range=self.numbers, completed_at__isnull=False)
        closed = Complaint.objects.filter(status=ComplaintStatus.CLOSED, closed_at__isnull=False)
        csat = {"trigger_at": "solved_at", "order": "order_id", "unhappy": Q(reopen_count__gt=0)}
        nps = {"trigger_at": "completed_at", "order": "pk", "channel": "channel"}
        unconfirmed = Q(closed_as=ClosedAs.UNCONFIRMED)
        complaint = {"trigger_at": "closed_at", "order": "order_id", "unhappy": unconfirmed}
        return [
            (K.CSAT, tickets, {**_attributed(""), **csat}),
            (K.NPS, orders, nps),
            (K.COMPLAINT, closed, {**_attributed("ticket__"), **complaint, "number": "number"}),
        ]

    def subjects(self) -> list[dict]:
        """Every subject's invitation as the sweep left it (status, when sent)."""
        subjects = []
        for kind, rows, own in self.families():
            columns = {"id": "pk", "customer": "customer_id", **own}
            columns.update(email="customer__email_index", phone="customer__phone_index")
            after = timedelta(hours=getattr(self.config, f"{kind}_delay_hours"))
            days = getattr(self.config, f"{kind}_cooldown_days", None)
            family = []
            rows = rows.order_by("pk").values_list(*columns.values())
            for values in rows.iterator(chunk_size=50_000):
                s = dict(zip(columns, values, strict=True), kind=kind)
                s["send_after"], s["status"] = s["trigger_at"] + after, IS.SCHEDULED
                s["via"] = EMAIL if s["email"] else SMS if s["phone"] else None
                family.append(s)
            self.sweep(family, None if days is None else timedelta(days=days))
            subjects += family
        return subjects

    def sweep(self, subjects: list[dict], cooldown: timedelta | None) -> None:
        """When the sweep sends each invitation, in the order it meets them: the first sweep
        after ``send_after``; skipped for a customer surveyed within the cooldown."""
        for s in sorted(subjects, key=lambda s: (s["send_after"], s["kind"], s["id"])):
            # Seconds to the sweep that finds it due: a hash, far cheaper than a generator.
            spread = zlib.crc32(f"{self.ctx.seed}:{s['kind']}:{s['id']}".encode())
            at = s["send_after"] + (1 + spread % (SWEEP_EVERY - 1)) * SECOND
            if at > self.now:
                continue
            s["sent_at"], s["status"] = at, IS.SKIPPED
            if not s["via"]:
                s["reason"] = InvitationReason.NO_CONTACT
                continue
            customer = (s["customer"], s["kind"])
            if cooldown is not None:
                if self.last_sent.get(customer, at - cooldown) > at - cooldown:
                    s["reason"] = InvitationReason.COOLDOWN
                    continue
                self.last_sent[customer] = at
            s["status"] = IS.SENT

    def invite(self, s: dict, batch: Rows) -> None:
        """The invitation as the scheduling service and the sweep left it, and its answer."""
        rng, now, kind = self.ctx.rng(f"surveys.{s['kind']}", s["id"]), self.now, s["kind"]
        nonce = f"{rng.getrandbits(128):032x}"
        attribution = {"kind": kind, "customer": s["customer"], "order": s["order"]}
        attribution |= {"ticket": s.get("ticket"), "agent": s.get("agent"), "team": s.get("team")}
        attribution |= {"channel": s["channel"] or "", "ticket_kind": s.get("ticket_kind") or ""}
        attribution |= {"complaint_id": s["id"] if kind == K.COMPLAINT else None}
        attribution["language"] = SurveyLanguage.ZH_HANS  # the demo customers write Chinese
        times = {"trigger_at": s["trigger_at"], "send_after": s["send_after"]}
        times["created_at"] = min(s["trigger_at"] + rng.uniform(0.5, 5) * SECOND, now)
        token = {"token_nonce": nonce, "token_hash": self.token_hash(nonce)}
        row = {**attribution, **times, **token, "status": s["status"]}
        row["complaint_number"] = s.get("number") or ""
        batch.invitations.append(row)
        if s["status"] == IS.SKIPPED:
            row.update(reason=s["reason"], closed_at=s["sent_at"])
        if s["status"] != IS.SENT:
            return
        sent = s["sent_at"]
        expires = sent + timedelta(days=self.config.expiry_days)
        delivered = min(sent + rng.uniform(1, 20) * SECOND, now)
        row.update(sent_at=sent, sent_via=s["via"], delivered_at=delivered, expires_at=expires)
        if rng.random() < RESPONSE_RATES[kind]:
            # Most answer the day the link arrives.
            answered = sent + (0.02 + 0.97 * rng.random() ** 3) * (expires - sent)
            if answered <= now:
                scores = UNHAPPY_SCORES if s.get("unhappy") and kind != K.NPS else SCORES[kind]
                score = scores.pick(rng)
                good, fair = (9, 7) if kind == K.NPS else (4, 3)
                mood = "good" if score >= good else "fair" if score >= fair else "bad"
                comments = (NPS_COMMENTS if kind == K.NPS else COMMENTS)[mood]
                comment = rng.choice(comments) if rng.random() < COMMENT_SHARE else ""
                row.update(status=IS.ANSWERED, answered_at=answered)
                # The follow-up (回访) tickets are left to the sweep's catch-up to open.
                follow_up = score <= FOLLOW_UP_AT_MOST[kind]
                response = {"score": score, "comment": comment, "needs_follow_up": follow_up}
                place = len(batch.invitations) - 1
                batch.responses.append(
                    {**attribution, **response, "invitation": place, "answered_at": answered}
                )
                return
        if expires <= now:
            row.update(status=IS.EXPIRED, closed_at=expires + rng.randrange(SWEEP_EVERY) * SECOND)

    def cooldowns_write(self) -> int:
        """Each customer's last CSAT and NPS send, as ``_in_cooldown`` records it; the rows
        added."""
        existing = {
            (customer, kind): (pk, last)
            for pk, customer, kind, last in SurveyCooldown.objects.values_list(
                "pk", "customer_id", "kind", "last_sent_at"
            ).iterator(chunk_size=50_000)
        }
        new, changed = [], []
        for (customer, kind), last in sorted(self.last_sent.items()):
            pk, before = existing.get((customer, kind), (None, None))
            if pk is None:
                new.append({"customer": customer, "kind": kind, "last_sent_at": last})
            elif before is None or before < last:
                changed.append(SurveyCooldown(pk=pk, last_sent_at=last))
        writer = RowWriter(self.now, SurveyCooldown)
        with transaction.atomic(using=writer.alias):
            writer.insert(SurveyCooldown, new)
        SurveyCooldown.objects.bulk_update(changed, ["last_sent_at"], batch_size=2_000)
        return len(new)
