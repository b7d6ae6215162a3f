"""Who may reach what: every URL of the product × every kind of principal, against one
declared matrix. A new URL fails the completeness test until it is declared here.

Principals: ``anon`` (nobody), ``key`` (a storefront key with every storefront scope),
``agent`` (a member of the team that owns the objects), ``outsider`` (an agent of another team),
``supervisor`` (the owning team's supervisor), ``admin``, ``analyst`` (read-only KPIs).

Expected answers, one letter per principal in that order:
- ``o``: let through: the view ran (2xx, a redirect elsewhere than the sign-in page, or a
  refusal of the request itself: 400, 405, 409, 415, 422);
- ``L``: sent to the sign-in page (desk pages);
- ``d``: denied, 401 or 403;
- ``h``: hidden, 404, as if the object did not exist (another team's object).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from csplatform.actors import Actor
from tests.factories import (
    CannedReplyFactory,
    CustomerFactory,
    OrderExceptionFactory,
    RefundFactory,
    SurveyInvitationFactory,
    TeamFactory,
    admin_user,
    analyst_user,
    api_key_header,
    mailbox_of,
    online_agent,
    storefront_api_key,
    supervisor_user,
    survey_token,
    upload_file,
    webhook_endpoint,
)
from tests.refunds.helpers import delivered_order, file_request

PRINCIPALS = ("anon", "key", "agent", "outsider", "supervisor", "admin", "analyst")
LET_THROUGH = {200, 201, 204, 400, 405, 409, 415, 422}

# url name: (method, expected for anon key agent outsider supervisor admin analyst)
MATRIX: dict[str, tuple[str, str]] = {
    # Public
    "root": ("GET", "o o o o o o o"),  # a redirect to the desk, which asks for a sign-in
    "healthz": ("GET", "o o o o o o o"),
    "login": ("GET", "o o o o o o o"),
    "logout": ("POST", "L L L L L L L"),  # signed out, on the sign-in page
    "set_language": ("POST", "o o o o o o o"),
    "survey": ("GET", "o o o o o o o"),
    "survey-thanks": ("GET", "o o o o o o o"),
    "schema": ("GET", "o o o o o o o"),
    "api-docs": ("GET", "o o o o o o o"),
    "api:auth-token": ("POST", "o o o o o o o"),
    "api:survey": ("GET", "o o o o o o o"),
    # Sign-in security
    "two-factor": ("GET", "L L o o o o o"),  # every signed-in user may set one up
    # The desk: any desk user
    "desk:home": ("GET", "L L o o o o h"),
    "desk:ticket-bulk": ("POST", "L L o o o o h"),
    "desk:presence": ("POST", "L L o o o o h"),
    "desk:notifications": ("GET", "L L o o o o h"),
    "desk:notifications-bell": ("GET", "L L o o o o h"),
    "desk:notifications-read": ("POST", "L L o o o o h"),
    "desk:order-list": ("GET", "L L o o o o h"),
    "desk:complaints": ("GET", "L L o o o o h"),
    # The desk: objects of the owning team
    "desk:ticket-detail": ("GET", "L L o h o o h"),
    "desk:ticket-reply": ("POST", "L L o h o o h"),
    "desk:ticket-attachment": ("GET", "L L o h o o h"),
    "desk:ticket-fields": ("POST", "L L o h o o h"),
    "desk:ticket-assign": ("POST", "L L o h o o h"),
    "desk:ticket-accept": ("POST", "L L o h o o h"),
    "desk:ticket-canned": ("GET", "L L o h o o h"),
    "desk:ticket-exception-resolve": ("POST", "L L o h o o h"),
    "desk:ticket-next": ("GET", "L L o o o o h"),
    "desk:ticket-pii-reveal": ("POST", "L L o h o o h"),
    "desk:return-start": ("POST", "L L o h o o h"),
    "desk:return-approve": ("POST", "L L o h o o h"),
    "desk:return-reject": ("POST", "L L o h o o h"),
    "desk:return-receive": ("POST", "L L o h o o h"),
    "desk:return-inspect": ("POST", "L L o h o o h"),
    "desk:return-exchange": ("POST", "L L o h o o h"),
    "desk:return-refund": ("POST", "L L o h o o h"),
    "desk:refund-retry": ("POST", "L L d h o o h"),
    "desk:return-evidence-add": ("POST", "L L o h o o h"),
    "desk:return-evidence": ("GET", "L L o h o o h"),
    "desk:complaint-action": ("POST", "L L o h o o h"),
    "desk:complaint-start": ("POST", "L L o h o o h"),
    "desk:email-retry": ("POST", "L L o h o o h"),
    # Orders are not team objects: every desk user looks them up
    "desk:order-detail": ("GET", "L L o o o o h"),
    "desk:order-pii-reveal": ("POST", "L L o o o o h"),
    # Supervisors and admins (to agents, the access log and the KPIs do not exist)
    "desk:return-approvals": ("GET", "L L d d o o h"),
    "desk:pii-access-log": ("GET", "L L h h o o h"),
    "kpis:dashboard": ("GET", "L L h h o o o"),
    "kpis:export": ("GET", "L L h h o o o"),
    "kpis:live": ("GET", "L L h h o o o"),
    "kpis:live-panel": ("GET", "L L h h o o o"),
    # API: orders are the storefront's to write; every desk user may read one
    "api:order": ("GET", "d o o o o o d"),
    # API: the storefront only
    "api:order-events": ("POST", "d o d d d d d"),
    "api:survey-links": ("GET", "d o d d d d d"),
    "api:customer-erasure": ("POST", "d o d d d d d"),
    # API: the storefront files, the desk works the queue
    "api:tickets": ("GET", "d o o o o o d"),
    "api:returns": ("GET", "d d o o o o d"),
    "api:complaints": ("GET", "d d o o o o d"),
    # API: one object, the storefront or its team
    "api:ticket": ("GET", "d o o h o o d"),
    "api:ticket-messages": ("POST", "d o o h o o d"),
    "api:ticket-merge": ("POST", "d d o h o o d"),
    "api:ticket-accept": ("POST", "d d o h o o d"),
    "api:return": ("GET", "d o o h o o d"),
    "api:return-cancel": ("POST", "d o d d d d d"),
    "api:return-shipment": ("POST", "d o d d d d d"),
    "api:return-appeal": ("POST", "d o d d d d d"),
    "api:return-evidence": ("POST", "d o o h o o d"),
    "api:return-approve": ("POST", "d d o h o o d"),
    "api:return-reject": ("POST", "d d o h o o d"),
    "api:return-receive": ("POST", "d d o h o o d"),
    "api:return-inspect": ("POST", "d d o h o o d"),
    "api:return-exchange": ("POST", "d d o h o o d"),
    "api:return-refund": ("POST", "d d o h o o d"),
    "api:complaint": ("GET", "d o o h o o d"),
    "api:complaint-confirm": ("POST", "d o d d d d d"),
    # API: the storefront's own webhook endpoints (admins use the Django admin)
    "api:webhooks": ("GET", "d o d d d d d"),
    "api:webhook": ("GET", "d o d d d d d"),
    "api:webhook-rotate-secret": ("POST", "d o d d d d d"),
    "api:webhook-deliveries": ("GET", "d o d d d d d"),
    "api:webhook-delivery-retry": ("POST", "d o d d d d d"),
    # API: the mail provider's key only (inbound_email scope, never among a key's defaults,
    # so the storefront key here is refused too; tests/messaging/test_inbound_api.py)
    "api:inbound-email": ("POST", "d d d d d d d"),
    # API: supervisors and admins, admins
    "api:kpis-summary": ("GET", "d d d d o o o"),
    "api:kpis-export": ("GET", "d d d d o o o"),
    "api:sla-policies": ("GET", "d d d d d o d"),
    "api:sla-calendars": ("GET", "d d d d d o d"),
}


def product_urls() -> dict[str, str]:
    """Every named URL of the product (the Django admin excepted: staff only, its own rules)."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                found[namespace + pattern.name] = prefix + str(pattern.pattern)

    walk(get_resolver().url_patterns, "/", "")
    return {name: route for name, route in found.items() if not route.startswith("/admin/")}


def test_every_url_of_the_product_is_in_the_matrix():
    assert set(product_urls()) - set(MATRIX) == set()
    assert set(MATRIX) - set(product_urls()) == set()


@pytest.fixture
def world(db):
    """Objects of team A (its agent, its supervisor), an agent of team B, an admin."""
    from complaints.services import complaint_create
    from messaging.email_out import email_queue
    from refunds.services import return_evidence_add
    from tickets.models import TicketSettings
    from tickets.services import ticket_create, ticket_reply

    team, other = TeamFactory(name="Team A"), TeamFactory(name="Team B")
    settings = TicketSettings.load()
    settings.default_team = team
    settings.save()
    agent = online_agent(team, username="a.agent")
    supervisor = supervisor_user(username="a.boss")
    team.supervisor = supervisor
    team.save()
    users = {
        "agent": agent,
        "outsider": online_agent(other, username="b.agent"),
        "supervisor": supervisor,
        "admin": admin_user(username="root"),
        "analyst": analyst_user(username="numbers"),
    }
    storefront = Actor(kind="api_key", label="shop")
    endpoint, _ = webhook_endpoint("http://127.0.0.1:9/hooks", events=["ticket.created"])
    order = delivered_order()
    request = file_request(order, reason="size_fit")
    return_evidence_add(request=request, files=[upload_file()], actor=storefront)
    failed = RefundFactory(
        request=request, amount=Decimal("10.00"), status="failed", needs_attention=True
    )
    ticket = ticket_create(
        customer=order.customer,
        order=order,
        kind="inquiry",
        channel="web",
        subject="Where is my parcel?",
        body="Still not here.",
        actor=storefront,
    )
    message = ticket_reply(ticket=ticket, user=agent, body="A photo", attachments=[upload_file()])
    complaint = complaint_create(
        customer=order.customer,
        order=order,
        category="logistics",
        channel="web",
        description="Parcel late",
        actor=storefront,
    )
    exception = OrderExceptionFactory(order=order, type="address_problem")
    email = email_queue(
        mailbox=mailbox_of(team),
        to="customer@example.com",
        subject="Re: Where is my parcel?",
        body_text="A photo",
        kind="conversation",
        ticket=ticket,
        message=message,
    )
    token = survey_token(SurveyInvitationFactory(ticket=ticket))
    canned = CannedReplyFactory(team=None)
    args = {
        "token": token,
        "number": ticket.number,
        "attachment_id": message.attachments.get().pk,
        "public_id": request.public_id,
        "evidence_id": request.evidence.get().pk,
        "refund_id": failed.pk,
        "exception_id": exception.pk,
        "field": "phone",
        "action": "note",
        "external_id": CustomerFactory().external_id,  # erased: not the world's customer
        "webhook_id": endpoint.pk,
        "delivery_id": endpoint.deliveries.first().pk,
        "email_id": email.pk,
    }
    numbers = {"order": order.number, "complaint": complaint.number, "canned": canned.pk}
    _, key = storefront_api_key()
    return users, args, numbers, key


def url_for(name: str, route: str, args: dict, numbers: dict) -> str:
    values = dict(args)
    if name in ("desk:order-detail", "desk:order-pii-reveal", "api:order", "api:order-events"):
        values["number"] = numbers["order"]
    if name in ("desk:complaint-action", "api:complaint", "api:complaint-confirm"):
        values["number"] = numbers["complaint"]
    path = route
    for converter in ("str", "int", "slug"):
        for key, value in values.items():
            path = path.replace(f"<{converter}:{key}>", str(value))
    assert "<" not in path, path
    if name == "desk:ticket-canned":
        path += f"?canned={numbers['canned']}"
    return path


def outcome(response) -> str:
    if response.status_code == 302 and response["Location"].startswith("/login/"):
        return "L"
    if response.status_code == 401 and response.get("HX-Redirect", "").startswith("/login/"):
        return "L"  # the same, to htmx: the browser goes to the sign-in page
    if response.status_code in (401, 403):
        return "d"
    if response.status_code == 404:
        return "h"
    if response.status_code in LET_THROUGH or 300 <= response.status_code < 400:
        return "o"
    return str(response.status_code)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_each_principal_reaches_exactly_what_the_matrix_says(world, principal):
    users, args, numbers, key = world
    client = Client()
    # As htmx sends the desk's actions: a refused action answers with its status, where a
    # plain form post would be redirected back to the ticket with a message.
    headers = {"HTTP_HX_REQUEST": "true"}
    if principal == "key":
        headers |= api_key_header(key)
    if principal in users:
        client.force_login(users[principal])
    position = PRINCIPALS.index(principal)
    wrong = []
    for name, route in sorted(product_urls().items()):
        method, expected = MATRIX[name]
        path = url_for(name, route, args, numbers)
        call = client.get if method == "GET" else client.post
        got = outcome(call(path, **headers))
        want = expected.split()[position]
        if got != want:
            wrong.append(f"{method} {path} ({name}): expected {want}, got {got}")
        if name == "logout" and principal in users:
            client.force_login(users[principal])
    print(f"\n[{principal}]\n" + "\n".join(wrong))
    assert wrong == []
