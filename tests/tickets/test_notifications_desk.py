"""The desk's bell: unread SLA notifications, counted, listed, opened and marked read."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import TicketFactory, agent_user
from tickets.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return agent_user(username="li.na")


def notify(user, *, delivered=True, read=False, kind="sla_breach"):
    now = timezone.now()
    ticket = TicketFactory()
    return Notification.objects.create(
        user=user,
        ticket=ticket,
        kind=kind,
        text=f"{ticket.number}: first response breached",
        created_at=now,
        deliver_after=now - timedelta(minutes=1) if delivered else now + timedelta(hours=8),
        read_at=now if read else None,
    )


def test_the_bell_counts_delivered_unread_notifications_only(client, agent):
    notify(agent)
    notify(agent)
    notify(agent, read=True)
    notify(agent, delivered=False)  # held until the next opening
    notify(agent_user())  # someone else's
    client.force_login(agent)
    body = client.get("/desk/notifications/bell/", HTTP_HX_REQUEST="true").content.decode()
    assert '<span class="bell-count"' in body
    assert ">2</span>" in body


def test_the_bell_shows_no_count_when_everything_is_read(client, agent):
    notify(agent, read=True)
    client.force_login(agent)
    body = client.get("/desk/notifications/bell/").content.decode()
    assert "bell-count" not in body


def test_opening_a_notification_marks_it_read_and_goes_to_its_ticket(client, agent):
    note = notify(agent)
    client.force_login(agent)
    response = client.post("/desk/notifications/read/", {"id": note.pk})
    assert response.status_code == 302
    assert response["Location"] == f"/desk/tickets/{note.ticket.number}/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_mark_all_read_touches_only_the_users_delivered_notifications(client, agent):
    mine = notify(agent)
    held = notify(agent, delivered=False)
    theirs = notify(agent_user())
    client.force_login(agent)
    client.post("/desk/notifications/read/")
    for note, read in ((mine, True), (held, False), (theirs, False)):
        note.refresh_from_db()
        assert (note.read_at is not None) is read


def test_the_notifications_page_lists_the_users_notifications(client, agent):
    note = notify(agent)
    notify(agent_user())
    client.force_login(agent)
    page = client.get("/desk/notifications/").content.decode()
    assert note.ticket.number in page
    assert page.count('class="unread"') == 1


def test_users_without_a_desk_role_get_a_404(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get("/desk/notifications/bell/").status_code == 404
