"""factory_boy factories shared by the whole suite, one section per app.

Build what a test needs and nothing more: ``OrderFactory(status=OrderStatus.SHIPPED, lines=3)``
gives an order whose amounts add up (the database checks it) and whose timestamps match its
status. Times default to "now" only where a test does not care; tests about time pass them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import F
from django.utils import timezone
from factory.django import DjangoModelFactory
from rest_framework.test import APIClient
from rest_framework_api_key.models import APIKey

from csplatform.models import Storefront
from csplatform.roles import ADMIN, AGENT, ANALYST, DEMO_GROUP, SUPERVISOR
from orders.choices import (
    ActorKind,
    Channel,
    ExceptionOutcome,
    ExceptionType,
    OrderEventType,
    OrderStatus,
    PaymentStatus,
    ShipmentStatus,
)
from orders.models import (
    Customer,
    Order,
    OrderEvent,
    OrderException,
    OrderLine,
    Payment,
    Shipment,
    ShipmentEvent,
)
from tickets.choices import AuthorKind, Presence, Priority, TicketKind, TicketStatus
from tickets.models import (
    AgentProfile,
    BusinessCalendar,
    BusinessCalendarWorkday,
    BusinessHours,
    CannedReply,
    Holiday,
    Message,
    Tag,
    Team,
    Ticket,
    TicketEvent,
)

# ============================================================================================
# Users, roles and credentials (csplatform)
# ============================================================================================

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(DjangoModelFactory):
    """A user; ``groups=["agent"]`` puts it in role groups (they exist via data migration)."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Wei"
    last_name = factory.Sequence(lambda n: f"Agent{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@staff.example.com")
    is_active = True

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if not create or not extracted:
            return
        names = set(extracted)
        groups = list(Group.objects.filter(name__in=names))
        missing = names - {g.name for g in groups}
        assert not missing, f"no such group(s) {missing}: did the role migration run?"
        self.groups.add(*groups)


def agent_user(**kwargs):
    return UserFactory(groups=[AGENT, *kwargs.pop("groups", [])], **kwargs)


def supervisor_user(**kwargs):
    return UserFactory(groups=[SUPERVISOR, *kwargs.pop("groups", [])], **kwargs)


def admin_user(**kwargs):
    return UserFactory(groups=[ADMIN, *kwargs.pop("groups", [])], **kwargs)


def analyst_user(**kwargs):
    """The read-only role: the KPIs of every team, nothing else."""
    return UserFactory(groups=[ANALYST, *kwargs.pop("groups", [])], **kwargs)


def demo_user(role: str = AGENT, **kwargs):
    """A seeded-style demo account: a role plus membership of the ``demo`` group."""
    return UserFactory(groups=[role, DEMO_GROUP, *kwargs.pop("groups", [])], **kwargs)


def default_storefront() -> Storefront:
    """The storefront that customers, orders and keys belong to unless a test says otherwise
    (the one the migration creates; made again after a transactional test's flush)."""
    return Storefront.default()


class StorefrontFactory(DjangoModelFactory):
    """Another storefront: ``storefront_api_key(storefront=StorefrontFactory())`` gives a key
    that must see none of the default storefront's data."""

    class Meta:
        model = Storefront
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Shop {n}")


def storefront_api_key(
    name: str = "storefront", *, storefront: Storefront | None = None, **kwargs
) -> tuple[APIKey, str]:
    """A key of ``storefront`` (the default storefront, whose customers and orders the
    factories make, unless given), with every scope unless ``scopes=`` says otherwise;
    returns ``(api_key, key)``; send ``Authorization: Api-Key <key>``."""
    from csplatform.services import storefront_key_create

    return storefront_key_create(name=name, storefront=storefront or default_storefront(), **kwargs)


def api_key_header(key: str) -> dict[str, str]:
    """Extra kwargs for Django's or DRF's test client, e.g. ``client.get(url, **header)``."""
    return {"HTTP_AUTHORIZATION": f"Api-Key {key}"}


def storefront_client(
    name: str = "storefront", *, storefront: Storefront | None = None
) -> APIClient:
    """A DRF test client that sends a fresh key of ``storefront`` (default: the default
    storefront) with every request."""
    _, key = storefront_api_key(name, storefront=storefront)
    client = APIClient()
    client.credentials(**api_key_header(key))
    return client


# ============================================================================================
# Orders
# ============================================================================================

MONEY_CENT = Decimal("0.01")

# Statuses that imply the order was paid, shipped, ...: the factory fills their timestamps.
_PAID = {
    OrderStatus.PAID,
    OrderStatus.PROCESSING,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
}
_SHIPPED = {OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED}
_DELIVERED = {OrderStatus.DELIVERED, OrderStatus.COMPLETED}


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    storefront = factory.LazyFunction(default_storefront)
    external_id = factory.Sequence(lambda n: f"C{100000 + n}")
    name = factory.Sequence(lambda n: f"张伟{n}")
    phone = factory.Sequence(lambda n: f"138{n % 10000:04d}8000")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


def _line_specs(lines, first: int = 1) -> list[dict]:
    """``lines`` is a number of default lines or a list of (partial) line dicts."""
    if isinstance(lines, int):
        lines = [{} for _ in range(lines)]
    specs = []
    for i, spec in enumerate(lines, start=first):
        full = {
            "sku": f"SKU-{i:03d}",
            "name": f"Item {i}",
            "category": "apparel",
            "quantity": 1,
            "unit_price": Decimal("99.00"),
            **spec,
        }
        full["unit_price"] = Decimal(str(full["unit_price"])).quantize(MONEY_CENT)
        specs.append(full)
    return specs


def _after(o, statuses: set, minutes: int):
    """``placed_at + minutes`` when the order's status implies the stage, else ``None``."""
    return o.placed_at + timedelta(minutes=minutes) if o.status in statuses else None


class OrderFactory(DjangoModelFactory):
    """An order whose total adds up and whose timestamps match its status.

    ``lines`` (a number, default 1, or a list of partial line dicts) become OrderLine rows;
    ``lines_total`` and ``total`` are computed from them and from ``shipping_fee``/``discount``.
    """

    class Meta:
        model = Order

    class Params:
        lines = 1

    number = factory.Sequence(lambda n: f"SO-{1001 + n}")
    customer = factory.SubFactory(CustomerFactory)
    storefront = factory.SelfAttribute("customer.storefront")
    channel = Channel.WEB
    status = OrderStatus.PENDING_PAYMENT
    currency = "CNY"
    line_specs = factory.LazyAttribute(lambda o: _line_specs(o.lines))
    lines_total = factory.LazyAttribute(
        lambda o: sum((s["unit_price"] * s["quantity"] for s in o.line_specs), Decimal("0.00"))
    )
    shipping_fee = Decimal("10.00")
    discount = Decimal("0.00")
    total = factory.LazyAttribute(lambda o: o.lines_total + o.shipping_fee - o.discount)
    paid_amount = factory.LazyAttribute(lambda o: o.total if o.status in _PAID else Decimal("0"))
    placed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    paid_at = factory.LazyAttribute(lambda o: _after(o, _PAID, 5))
    shipped_at = factory.LazyAttribute(lambda o: _after(o, _SHIPPED, 10))
    delivered_at = factory.LazyAttribute(lambda o: _after(o, _DELIVERED, 20))
    completed_at = factory.LazyAttribute(lambda o: _after(o, {OrderStatus.COMPLETED}, 30))
    cancelled_at = factory.LazyAttribute(lambda o: _after(o, {OrderStatus.CANCELLED}, 15))
    closed_at = factory.LazyAttribute(lambda o: _after(o, {OrderStatus.CLOSED}, 40))
    shipping_address = factory.LazyFunction(
        lambda: {
            "name": "张伟",
            "phone": "13812348000",
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "line1": "文三路 90 号 3 幢 501",
            "postcode": "310012",
        }
    )

    # ``line_specs`` is not a column: the lines are written once the order row exists.
    @classmethod
    def _create(cls, model_class, *args, line_specs=(), **kwargs):
        order = super()._create(model_class, *args, **kwargs)
        OrderLine.objects.bulk_create(OrderLine(order=order, **spec) for spec in line_specs)
        return order

    @classmethod
    def _build(cls, model_class, *args, line_specs=(), **kwargs):
        return super()._build(model_class, *args, **kwargs)


def order_lines_add(order: Order, lines) -> list[OrderLine]:
    """Add lines to a saved order and raise its totals in the same UPDATE (the check holds)."""
    specs = _line_specs(lines, first=order.lines.count() + 1)
    created = OrderLine.objects.bulk_create(OrderLine(order=order, **s) for s in specs)
    added = sum((s["unit_price"] * s["quantity"] for s in specs), Decimal("0.00"))
    Order.objects.filter(pk=order.pk).update(
        lines_total=F("lines_total") + added, total=F("total") + added
    )
    order.refresh_from_db(fields=["lines_total", "total"])
    return created


class OrderLineFactory(DjangoModelFactory):
    """A bare line: prefer ``OrderFactory(lines=...)`` or ``order_lines_add``, which keep the
    order's totals in step. Use this for orders built with ``lines=0`` and amounts set by hand.
    """

    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory, lines=0)
    sku = factory.Sequence(lambda n: f"LINE-{n:05d}")
    name = factory.Sequence(lambda n: f"Item {n}")
    category = "apparel"
    quantity = 1
    unit_price = Decimal("99.00")


class PaymentFactory(DjangoModelFactory):
    class Meta:
        model = Payment

    order = factory.SubFactory(OrderFactory, status=OrderStatus.PAID)
    amount = factory.LazyAttribute(lambda p: p.order.total)
    method = "alipay"
    transaction_id = factory.Sequence(lambda n: f"TX{n:010d}")
    status = PaymentStatus.SUCCEEDED
    at = factory.LazyAttribute(lambda p: p.order.paid_at or p.order.placed_at)


class ShipmentFactory(DjangoModelFactory):
    class Meta:
        model = Shipment

    order = factory.SubFactory(OrderFactory, status=OrderStatus.SHIPPED)
    carrier = "SF Express"
    tracking_number = factory.Sequence(lambda n: f"SF{n:012d}")
    status = ShipmentStatus.IN_TRANSIT
    shipped_at = factory.LazyAttribute(lambda s: s.order.shipped_at or timezone.now())
    last_update_at = factory.SelfAttribute("shipped_at")


class ShipmentEventFactory(DjangoModelFactory):
    class Meta:
        model = ShipmentEvent

    shipment = factory.SubFactory(ShipmentFactory)
    status = ShipmentStatus.IN_TRANSIT
    description = "Arrived at the sorting centre"
    at = factory.LazyAttribute(lambda e: e.shipment.last_update_at)


class OrderEventFactory(DjangoModelFactory):
    class Meta:
        model = OrderEvent

    order = factory.SubFactory(OrderFactory)
    type = OrderEventType.STATUS_CHANGED
    at = factory.LazyAttribute(lambda e: e.order.placed_at)
    recorded_at = factory.SelfAttribute("at")
    actor_kind = ActorKind.SYSTEM
    actor_label = "system"
    payload = factory.LazyFunction(dict)


class OrderExceptionFactory(DjangoModelFactory):
    """At most one open exception per order and type (a database constraint); one given a
    ``resolved_at`` was resolved by the system unless ``outcome``/``resolved_by`` say otherwise."""

    class Meta:
        model = OrderException

    order = factory.SubFactory(OrderFactory, status=OrderStatus.PAID)
    type = ExceptionType.SHIPPING_OVERDUE
    detected_at = factory.LazyFunction(timezone.now)
    resolved_at = None
    outcome = factory.LazyAttribute(
        lambda e: ExceptionOutcome.RESOLVED if e.resolved_at is not None else ""
    )
    details = factory.LazyFunction(dict)


# --- Orders: assertion helpers ----------------------------------------------------------------


def order_state(order: Order) -> dict:
    """Every stored row of an order, to prove that a refused request wrote nothing."""
    return {
        "order": Order.objects.filter(pk=order.pk).values().get(),
        "customer": Customer.objects.filter(pk=order.customer_id).values().get(),
        "lines": list(OrderLine.objects.filter(order=order).values()),
        "payments": list(Payment.objects.filter(order=order).values()),
        "shipments": list(Shipment.objects.filter(order=order).values()),
        "shipment_events": list(ShipmentEvent.objects.filter(shipment__order=order).values()),
        "events": list(OrderEvent.objects.filter(order=order).values()),
        "exceptions": list(OrderException.objects.filter(order=order).values()),
    }


# ============================================================================================
# Tickets
# ============================================================================================


class TeamFactory(DjangoModelFactory):
    """A team; ``members=[user, ...]`` adds members, ``supervisor=user`` sets its supervisor."""

    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)


def online_agent(team: Team | None = None, *, capacity: int = 20, **kwargs):
    """An agent who is a member of ``team`` (if given) and online with this capacity."""
    user = agent_user(**kwargs)
    if team is not None:
        team.members.add(user)
    AgentProfile.objects.update_or_create(
        user=user, defaults={"presence": Presence.ONLINE, "capacity": capacity}
    )
    return user


class BusinessCalendarFactory(DjangoModelFactory):
    """A business calendar in Shanghai, open Monday to Friday 09:00–18:00 unless
    ``hours=[(weekday, "HH:MM", "HH:MM"), ...]`` says otherwise; ``holidays=[date, ...]`` and
    ``workdays=[date, ...]`` (make-up working days, with the Monday hours) add days."""

    class Meta:
        model = BusinessCalendar
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Calendar {n}")
    timezone = "Asia/Shanghai"

    @factory.post_generation
    def hours(self, create, extracted, **kwargs):
        if create:
            rows = [(d, "09:00", "18:00") for d in range(5)] if extracted is None else extracted
            BusinessHours.objects.bulk_create(
                BusinessHours(calendar=self, weekday=d, opens=a, closes=b) for d, a, b in rows
            )

    @factory.post_generation
    def holidays(self, create, extracted, **kwargs):
        if create and extracted:
            Holiday.objects.bulk_create(Holiday(calendar=self, date=d) for d in extracted)

    @factory.post_generation
    def workdays(self, create, extracted, **kwargs):
        if create and extracted:
            BusinessCalendarWorkday.objects.bulk_create(
                BusinessCalendarWorkday(calendar=self, date=d) for d in extracted
            )


WARN_BEFORE_DUE = timedelta(minutes=30)


class TicketFactory(DjangoModelFactory):
    """A ticket written straight to the table (no routing, no first message, no events).

    For behaviour that goes through the lifecycle use ``tickets.services.ticket_create``; this
    factory is for arranging state: ``TicketFactory(status=TicketStatus.SOLVED, team=team)``.
    """

    class Meta:
        model = Ticket
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"T-{900000 + n:06d}")
    subject = factory.Sequence(lambda n: f"订单咨询 {n}")
    kind = TicketKind.INQUIRY
    channel = Channel.WEB
    priority = Priority.NORMAL
    status = TicketStatus.OPEN
    customer = factory.SubFactory(CustomerFactory)
    team = factory.SubFactory(TeamFactory)
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda t: t.created_at)
    solved_at = factory.LazyAttribute(
        lambda t: (
            t.created_at + timedelta(hours=1)
            if t.status in (TicketStatus.SOLVED, TicketStatus.CLOSED)
            else None
        )
    )
    closed_at = factory.LazyAttribute(
        lambda t: t.created_at + timedelta(hours=2) if t.status == TicketStatus.CLOSED else None
    )
    next_due_at = None
    # Arranged tickets warn ("breaching soon") 30 minutes before their due time.
    next_warn_at = factory.LazyAttribute(
        lambda t: t.next_due_at - WARN_BEFORE_DUE if t.next_due_at else None
    )

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set([Tag.objects.get_or_create(name=n)[0] for n in extracted])


class MessageFactory(DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    author_kind = AuthorKind.CUSTOMER
    body = "请问我的快递到哪了？"
    channel = factory.LazyAttribute(lambda m: m.ticket.channel)
    created_at = factory.LazyFunction(timezone.now)


class CannedReplyFactory(DjangoModelFactory):
    class Meta:
        model = CannedReply

    title = factory.Sequence(lambda n: f"Reply {n}")
    body = "您好 {{ customer.name }}，您的订单 {{ order.number }} 已发出。"
    team = None
    active = True


# --- Tickets: assertion helpers ---------------------------------------------------------------


def ticket_state(ticket: Ticket) -> dict:
    """Every stored row of a ticket, to prove that a refused request wrote nothing."""
    return {
        "ticket": Ticket.objects.filter(pk=ticket.pk).values().get(),
        "messages": list(Message.objects.filter(ticket=ticket).values()),
        "events": list(TicketEvent.objects.filter(ticket=ticket).values()),
        "tags": sorted(ticket.tags.values_list("name", flat=True)),
    }


# --- Returns and refunds -----------------------------------------------------------------------

from refunds.choices import RefundStatus, ReturnReason, ReturnType  # noqa: E402
from refunds.models import Refund, ReturnRequest  # noqa: E402


class ReturnRequestFactory(DjangoModelFactory):
    """A return request of a delivered order written straight to the table (no ticket, no
    checks, no events), for arranging history; behaviour goes through ``refunds.services``."""

    class Meta:
        model = ReturnRequest

    order = factory.SubFactory(OrderFactory, status=OrderStatus.DELIVERED)
    type = ReturnType.RETURN_REFUND
    reason = ReturnReason.QUALITY
    requested_amount = Decimal("50.00")
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda r: r.created_at)


class RefundFactory(DjangoModelFactory):
    """A refund of ``request`` (``request=None, order=...`` for one without) written straight
    to the table, no payout made; a succeeded one has the provider's reference and settles
    when created unless told otherwise."""

    class Meta:
        model = Refund

    request = factory.SubFactory(ReturnRequestFactory)
    order = factory.LazyAttribute(lambda r: r.request.order)
    amount = Decimal("10.00")
    status = RefundStatus.PENDING
    created_at = factory.LazyFunction(timezone.now)
    provider_reference = factory.LazyAttribute(
        lambda r: "GW-TEST" if r.status == RefundStatus.SUCCEEDED else ""
    )
    settled_at = factory.LazyAttribute(
        lambda r: r.created_at if r.status == RefundStatus.SUCCEEDED else None
    )


# --- Surveys ----------------------------------------------------------------------------------

from surveys.choices import InvitationStatus, SurveyKind  # noqa: E402
from surveys.models import SurveyInvitation, SurveyResponse  # noqa: E402
from surveys.tokens import nonce_new, token_for, token_hash  # noqa: E402


class SurveyInvitationFactory(DjangoModelFactory):
    """A CSAT invitation already sent for a solved ticket (``status``, ``kind`` to vary);
    ``survey_token(invitation)`` gives the link's token."""

    class Meta:
        model = SurveyInvitation

    kind = SurveyKind.CSAT
    status = InvitationStatus.SENT
    ticket = factory.SubFactory(TicketFactory, status=TicketStatus.SOLVED)
    customer = factory.LazyAttribute(lambda i: i.ticket.customer if i.ticket else None)
    language = "zh-hans"
    token_nonce = factory.LazyFunction(nonce_new)
    token_hash = factory.LazyAttribute(lambda i: token_hash(token_for(i.token_nonce)))
    team = factory.LazyAttribute(lambda i: i.ticket.team if i.ticket else None)
    agent = factory.LazyAttribute(lambda i: i.ticket.assignee if i.ticket else None)
    channel = factory.LazyAttribute(lambda i: i.ticket.channel if i.ticket else "")
    ticket_kind = factory.LazyAttribute(lambda i: i.ticket.kind if i.ticket else "")
    created_at = factory.LazyFunction(timezone.now)
    trigger_at = factory.LazyAttribute(lambda i: i.created_at)
    send_after = factory.LazyAttribute(lambda i: i.created_at)
    sent_at = factory.LazyAttribute(
        lambda i: i.created_at if i.status in ("sent", "answered", "expired") else None
    )
    expires_at = factory.LazyAttribute(
        lambda i: i.sent_at + timedelta(days=7) if i.sent_at else None
    )


def survey_token(invitation: SurveyInvitation) -> str:
    return token_for(invitation.token_nonce)


class SurveyResponseFactory(DjangoModelFactory):
    """An answer to ``invitation`` written straight to the table, attributed as the invitation
    is (kind, language, customer, ticket, team, agent, channel, ticket kind) and given when it
    was answered; behaviour goes through ``surveys.services``."""

    class Meta:
        model = SurveyResponse

    invitation = factory.SubFactory(SurveyInvitationFactory, status=InvitationStatus.ANSWERED)
    kind = factory.SelfAttribute("invitation.kind")
    score = 5
    language = factory.SelfAttribute("invitation.language")
    answered_at = factory.LazyAttribute(lambda r: r.invitation.answered_at or timezone.now())
    customer = factory.SelfAttribute("invitation.customer")
    ticket = factory.SelfAttribute("invitation.ticket")
    team = factory.SelfAttribute("invitation.team")
    agent = factory.SelfAttribute("invitation.agent")
    channel = factory.SelfAttribute("invitation.channel")
    ticket_kind = factory.SelfAttribute("invitation.ticket_kind")


# --- Uploads: files of each kind, by their bytes ------------------------------------------------

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402

# The smallest real files of each accepted type (their first bytes are what the checker reads).
PNG_BYTES = bytes.fromhex(  # 24 × 16, a red and blue check: visible as a thumbnail
    "89504e470d0a1a0a0000000d4948445200000018000000100802000000834628c2000000284944415478da"
    "633048b880862e1818a02162d4300c6383c8d386a966381b349a8e46d311150c0200a64eec105676c19b00"
    "00000049454e44ae426082"
)
JPEG_BYTES = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
GIF_BYTES = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"  # noqa: E501
WEBP_BYTES = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"  # noqa: E501
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
HTML_BYTES = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def upload_file(
    name: str = "photo.png", content: bytes = PNG_BYTES, content_type: str = "image/png"
) -> SimpleUploadedFile:
    """An uploaded file as a browser sends it: the name and type are the client's claims."""
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- Complaints --------------------------------------------------------------------------------

from complaints.models import Complaint, SeniorAgent  # noqa: E402


class ComplaintFactory(DjangoModelFactory):
    """A complaint written straight to the table (no ticket, no grading, no events), for
    arranging history; behaviour goes through ``complaints.services.complaint_create``."""

    class Meta:
        model = Complaint

    number = factory.Sequence(lambda n: f"C-{900000 + n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    category = "product_quality"
    channel = Channel.WEB
    description = "商品与描述不符"
    severity = "minor"
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda c: c.created_at)


def senior_agent(team: Team | None = None, **kwargs):
    """An agent flagged as senior (complaint escalation level 2), a member of ``team``."""
    user = agent_user(**kwargs)
    if team is not None:
        team.members.add(user)
    SeniorAgent.objects.create(user=user)
    return user


# --- Messaging (webhooks) -----------------------------------------------------------------------

from messaging.choices import WebhookEventType  # noqa: E402


def webhook_endpoint(url: str, *, storefront: Storefront | None = None, events=None, **kwargs):
    """An endpoint of ``storefront`` (default: the default storefront) subscribed to ``events``
    (default: every type), made as the API makes it; returns ``(endpoint, secret)``."""
    from messaging.services import webhook_endpoint_create

    return webhook_endpoint_create(
        storefront=storefront or default_storefront(),
        url=url,
        events=list(WebhookEventType.values) if events is None else events,
        **kwargs,
    )


# --- Messaging (e-mail) ------------------------------------------------------------------------

from messaging.models import EmailMessage, Mailbox  # noqa: E402


class MailboxFactory(DjangoModelFactory):
    """A team's support address (IMAP off)."""

    class Meta:
        model = Mailbox

    team = factory.SubFactory(TeamFactory)
    address = factory.Sequence(lambda n: f"support{n}@shop.example.cn")
    created_at = factory.LazyFunction(timezone.now)


class EmailMessageFactory(DjangoModelFactory):
    """A customer's e-mail received on a ticket (``direction="out"`` for one sent)."""

    class Meta:
        model = EmailMessage

    mailbox = factory.SubFactory(MailboxFactory)
    direction = EmailMessage.Direction.INBOUND
    status = EmailMessage.Status.RECEIVED
    customer = factory.LazyAttribute(lambda mail: mail.ticket.customer if mail.ticket else None)
    customer_address = "customer@example.com"
    subject = "Where is my parcel?"
    body_text = "Still not here."
    header_id = factory.Sequence(lambda n: f"m{n}.customer@example.com")
    created_at = factory.LazyFunction(timezone.now)


# --- Messaging (e-mail) -----------------------------------------------------------------------


def mailbox_of(team: Team, *, address: str = "support@shop.example", display_name: str = ""):
    """The team's support mailbox (no IMAP polling)."""
    from messaging.models import Mailbox

    return Mailbox.objects.create(
        team=team, address=address, display_name=display_name, created_at=timezone.now()
    )


def inbound_email(ticket: Ticket, *, header_id: str, references: str = "", mailbox=None):
    """A customer's mail that became (or joined) ``ticket``: what a reply threads onto."""
    from messaging.models import EmailMessage

    return EmailMessage.objects.create(
        mailbox=mailbox,
        direction=EmailMessage.Direction.INBOUND,
        kind=EmailMessage.Kind.CONVERSATION,
        status=EmailMessage.Status.RECEIVED,
        customer=ticket.customer,
        customer_address=ticket.customer.email or "",
        subject=ticket.subject,
        body_text="…",
        ticket=ticket,
        header_id=header_id,
        references=references,
        created_at=timezone.now(),
    )


# --- Messaging (e-mail in: raw messages) ---------------------------------------------------------

import uuid  # noqa: E402
from email.message import EmailMessage as MimeMessage  # noqa: E402
from email.utils import formatdate  # noqa: E402

from messaging.models import Mailbox  # noqa: E402


def mailbox(address: str = "support@shop.example", *, team: Team | None = None, **kwargs):
    """A team's support address (a new team unless given), read by the inbound webhook; pass
    the ``imap_*`` fields to poll it."""
    return Mailbox.objects.create(
        team=team or TeamFactory(),
        address=address,
        display_name=kwargs.pop("display_name", "Shop support"),
        created_at=kwargs.pop("created_at", timezone.now()),
        **kwargs,
    )


def raw_email(
    *,
    sender: str = "Zhang Wei <zhang.wei@example.com>",
    to: str = "support@shop.example",
    subject: str = "Where is my parcel?",
    text: str | None = "My parcel has not arrived.",
    html: str | None = None,
    message_id: str | None = None,
    charset: str = "utf-8",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> bytes:
    """A raw RFC 822 message as a mail client sends it: text and/or HTML in ``charset``,
    ``attachments`` as ``(file name, content type, bytes)``, extra ``headers``."""
    mail = MimeMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<{message_id or uuid.uuid4().hex + '@mail.example.com'}>"
    for name, value in (headers or {}).items():
        mail[name] = value
    if text is not None:
        mail.set_content(text, charset=charset)
    if html is not None:
        if text is None:
            mail.set_content(html, subtype="html", charset=charset)
        else:
            mail.add_alternative(html, subtype="html", charset=charset)
    for name, content_type, content in attachments or []:
        maintype, subtype = content_type.split("/")
        mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return mail.as_bytes()
