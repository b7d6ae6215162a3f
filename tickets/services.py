"""Every write to tickets: creation and routing, conversation, status, assignment, merge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.actors import Actor
from csplatform.errors import ConflictError, DomainError, InvalidInput, NotPermitted
from csplatform.locks import retry_on_deadlock
from csplatform.uploads import MAX_PER_MESSAGE, CheckedUpload, uploads_check
from orders.locks import order_exception_lock
from orders.models import Customer, Order, OrderException
from orders.services import order_exception_resolve_by_agent

from .access import is_supervisor_of, may_move_ticket, tickets_visible_to
from .choices import (
    MILESTONES,
    OPEN_STATUSES,
    AuthorKind,
    Presence,
    SlaMetric,
    TicketEventType,
    TicketKind,
    TicketStatus,
)
from .events import ticket_event_record
from .models import (
    AgentProfile,
    Attachment,
    Message,
    RoutingRule,
    Tag,
    Team,
    Ticket,
    TicketEvent,
    TicketSettings,
)
from .notifications import notify
from .routing import priority_above, priority_initial, priority_raised_to, routing_rule_for
from .sla.clocks import ticket_clocks_cancel, ticket_clocks_sync
from .transitions import ALLOWED_TRANSITIONS, LIFECYCLE, check_transition, ticket_apply_transition

if TYPE_CHECKING:
    from django.contrib.auth.models import User
else:
    User = get_user_model()


class NotAllowed(NotPermitted):
    """The desk user may not act on this ticket this way (their role or their teams)."""


def _attachments_add(message: Message, checked: list[CheckedUpload]) -> list[Attachment]:
    """Store a message's checked files; inside the caller's transaction, after its checks."""
    return [
        Attachment.objects.create(
            message=message,
            file=upload.as_file(),
            name=upload.name,
            content_type=upload.content_type,
            size=upload.size,
        )
        for upload in checked
    ]


def _attachments_payload(checked: list[CheckedUpload]) -> dict | None:
    return {"attachments": len(checked)} if checked else None


# --- Routing and assignment -------------------------------------------------------------------


def ticket_route(*, kind: str, channel: str, customer_tier: str) -> tuple[Team | None, str]:
    """The team a new ticket goes to and the priority a rule sets ('' when none)."""
    rules = RoutingRule.objects.filter(active=True).select_related("team")
    rule = routing_rule_for(rules, kind=kind, channel=channel, customer_tier=customer_tier)
    if rule is not None:
        return rule.team, rule.set_priority
    return TicketSettings.load().default_team, ""


def ticket_auto_assign(*, ticket: Ticket, now: datetime) -> User | None:
    """Give the ticket to the online team member with the fewest open tickets under capacity.

    Equals take turns: the one assigned longest ago (or never) goes first. The candidates'
    profiles are locked so that two tickets assigned at once see each other's choice; only
    the profiles (``of``): the users and team memberships the query joins are read, and a
    lock on them would stop every transaction that checks a key on those users (a survey
    attributed to the agent, a note they write) until this one commits.
    """
    if ticket.team_id is None or ticket.assignee_id is not None:
        return None
    profiles = list(
        AgentProfile.objects.select_for_update(of=("self",))
        .filter(presence=Presence.ONLINE, user__teams=ticket.team_id, user__is_active=True)
        .order_by("id")
    )
    if not profiles:
        return None
    loads = dict(
        Ticket.objects.filter(
            assignee_id__in=[p.user_id for p in profiles], status__in=OPEN_STATUSES
        )
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    candidates = [p for p in profiles if loads.get(p.user_id, 0) < p.capacity]
    if not candidates:
        return None
    never = datetime.min.replace(tzinfo=UTC)
    chosen = min(
        candidates,
        key=lambda p: (loads.get(p.user_id, 0), p.last_assigned_at or never, p.user_id),
    )
    chosen.last_assigned_at = now
    chosen.save(update_fields=["last_assigned_at"])
    ticket.assignee_id = chosen.user_id
    ticket.save(update_fields=["assignee", "updated_at"])
    ticket_event_record(
        ticket=ticket,
        type=TicketEventType.ASSIGNEE,
        new=chosen.user.get_username(),
        actor=Actor.system("auto-assignment"),
        now=now,
    )
    return chosen.user


def agent_set_presence(*, user: User, presence: str, now: datetime | None = None) -> AgentProfile:
    now = now or timezone.now()
    profile, _created = AgentProfile.objects.get_or_create(user=user)
    if profile.presence != presence:
        profile.presence = presence
        profile.presence_changed_at = now
        profile.save(update_fields=["presence", "presence_changed_at"])
    return profile


# --- Creation ---------------------------------------------------------------------------------


@retry_on_deadlock
@transaction.atomic
def ticket_create(
    *,
    customer: Customer,
    kind: str,
    channel: str,
    subject: str,
    body: str,
    actor: Actor,
    order: Order | None = None,
    priority: str | None = None,
    status: str = TicketStatus.NEW,
    author_kind: str = AuthorKind.CUSTOMER,
    order_exception: OrderException | None = None,
    linked_from: Ticket | None = None,
    attachments: list | None = None,
    team: Team | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Open a ticket with its first message, route it to a team and assign it.

    ``attachments``: uploaded files of the first message (checked by ``csplatform.uploads``).
    ``team``: the team the ticket goes to whatever the routing rules say (a mail to a team's
    support address); a rule's priority still applies.
    """
    now = now or timezone.now()
    checked = uploads_check(attachments, max_count=MAX_PER_MESSAGE)
    if order is not None and order.customer_id != customer.pk:
        raise DomainError(_("The order belongs to another customer."), code="order_not_customers")
    routed_team, rule_priority = ticket_route(
        kind=kind, channel=channel, customer_tier=customer.tier
    )
    team = team or routed_team
    priority = priority_initial(
        requested=priority, rule_priority=rule_priority, customer_tier=customer.tier
    )
    ticket = Ticket.objects.create(
        subject=subject[:200],
        kind=kind,
        channel=channel,
        priority=priority,
        status=status,
        customer=customer,
        order=order,
        order_exception=order_exception,
        team=team,
        linked_from=linked_from,
        created_at=now,
        updated_at=now,
        last_customer_message_at=now if author_kind == AuthorKind.CUSTOMER else None,
    )
    ticket.number = f"T-{ticket.pk:06d}"
    ticket.save(update_fields=["number"])
    first = Message.objects.create(
        ticket=ticket,
        author_kind=author_kind,
        author_user=actor.user if author_kind == AuthorKind.AGENT else None,
        automated=author_kind == AuthorKind.SYSTEM,
        body=body,
        channel=channel,
        created_at=now,
    )
    ticket_event_record(
        ticket=ticket,
        type=TicketEventType.CREATED,
        new=status,
        payload={
            "team": team.name if team else None,
            "priority": priority,
            **(_attachments_payload(checked) or {}),
        },
        actor=actor,
        now=now,
        message=first,
    )
    ticket_clocks_sync(ticket, now=now)
    ticket.save(update_fields=["next_due_at", "next_warn_at"])
    ticket_auto_assign(ticket=ticket, now=now)
    _attachments_add(first, checked)  # stored last, as in ticket_reply
    return ticket


@retry_on_deadlock
@transaction.atomic
def ticket_open_for_order_exception(
    *, exception_id: int, now: datetime | None = None
) -> Ticket | None:
    """Open the ``order_issue`` ticket of an order exception, once whatever the retries."""
    now = now or timezone.now()
    exc = order_exception_lock(exception_id=exception_id)
    if exc is None:
        return None
    existing = Ticket.objects.filter(order_exception=exc).first()
    if existing is not None:
        return existing
    order = exc.order
    label = exc.get_type_display()
    return ticket_create(
        customer=order.customer,
        order=order,
        order_exception=exc,
        kind=TicketKind.ORDER_ISSUE,
        channel=order.channel,
        subject=_("Order %(number)s: %(problem)s") % {"number": order.number, "problem": label},
        body=_("The system detected “%(problem)s” on order %(number)s.")
        % {"problem": label, "number": order.number},
        author_kind=AuthorKind.SYSTEM,
        actor=Actor.system("order exceptions"),
        now=now,
    )


def tickets_open_for_unticketed_exceptions(*, now: datetime | None = None, limit: int = 500) -> int:
    """Catch exceptions whose ticket was never opened (a lost task): open them now."""
    now = now or timezone.now()
    ids = list(
        OrderException.objects.open()
        .filter(ticket__isnull=True, detected_at__lte=now - timedelta(minutes=1))
        .order_by("detected_at")
        .values_list("id", flat=True)[:limit]
    )
    for exception_id in ids:
        ticket_open_for_order_exception(exception_id=exception_id, now=now)
    return len(ids)


# --- Conversation -----------------------------------------------------------------------------


def _lock(ticket: Ticket) -> Ticket:
    # The order comes along for what the change reads of it (the webhook payload), unlocked.
    return LIFECYCLE.lock(Ticket.objects.select_related("order"), pk=ticket.pk)


@retry_on_deadlock
@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    user: User,
    body: str,
    internal: bool = False,
    then_status: str | None = None,
    attachments: list[Any] | None = None,
    as_plan: bool = False,
    now: datetime | None = None,
) -> Message:
    """An agent's public reply or internal note; a reply may also set pending or solved.

    The first public reply sets the first-response time and makes the agent the owner.
    ``attachments``: uploaded files, checked before anything is written; a note's files are
    as internal as the note. ``as_plan``: the reply is the handling plan (处理方案) of an
    after-sales ticket, which also accepts it if that was not recorded yet.
    """
    now = now or timezone.now()
    ticket = _lock(ticket)
    actor = Actor.for_user(user)
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError(_("The ticket is closed."), code="ticket_closed")
    if not body.strip():
        raise DomainError(_("The message is empty."), code="invalid", errors={"body": ["empty"]})
    if as_plan:
        if internal:
            refusal = _("A handling plan is a public reply, not an internal note.")
            raise InvalidInput(refusal, errors={"as_plan": [refusal]})
        _agent_milestone_check(ticket, SlaMetric.PLAN)
    checked = uploads_check(attachments, max_count=MAX_PER_MESSAGE)
    message = Message.objects.create(
        ticket=ticket,
        author_kind=AuthorKind.AGENT,
        author_user=user,
        internal=internal,
        body=body,
        channel=ticket.channel,
        created_at=now,
    )
    payload = _attachments_payload(checked)
    if internal:
        ticket_event_record(
            ticket=ticket,
            type=TicketEventType.NOTE,
            actor=actor,
            now=now,
            payload=payload,
            message=message,
        )
    else:
        ticket_event_record(
            ticket=ticket,
            type=TicketEventType.REPLIED,
            actor=actor,
            now=now,
            payload=payload,
            message=message,
        )
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        if ticket.owner_id is None:
            ticket.owner = user
            ticket_event_record(
                ticket=ticket,
                type=TicketEventType.OWNER,
                new=user.get_username(),
                actor=actor,
                now=now,
            )
        if ticket.status == TicketStatus.NEW and then_status is None:
            then_status = TicketStatus.OPEN
        if as_plan:
            _milestone_set(ticket, SlaMetric.ACCEPTANCE, actor, now)
            _milestone_set(ticket, SlaMetric.PLAN, actor, now)
    if then_status and then_status != ticket.status:
        ticket_apply_transition(ticket=ticket, target=then_status, actor=actor, now=now)
    ticket_clocks_sync(ticket, now=now, replied=not internal)
    ticket.updated_at = now
    ticket.save()
    # Stored last: a refusal above (a transition) leaves no file behind on the disk.
    _attachments_add(message, checked)
    return message


@retry_on_deadlock
@transaction.atomic
def ticket_customer_message(
    *,
    ticket: Ticket,
    body: str,
    actor: Actor,
    attachments: list | None = None,
    now: datetime | None = None,
) -> tuple[Ticket, Message]:
    """A message from the customer: reopens a solved ticket; on a closed one opens a new ticket.

    Returns the ticket that received the message (the new one after a closed ticket).
    ``attachments``: uploaded files, checked before anything is written.
    """
    now = now or timezone.now()
    ticket = _lock(ticket)
    if ticket.status == TicketStatus.CLOSED:
        follow_up = ticket_create(
            customer=ticket.customer,
            order=ticket.order,
            kind=ticket.kind,
            channel=ticket.channel,
            subject=ticket.subject,
            body=body,
            linked_from=ticket,
            attachments=attachments,
            actor=actor,
            now=now,
        )
        ticket_event_record(
            ticket=ticket,
            type=TicketEventType.FOLLOW_UP,
            new=follow_up.number,
            actor=actor,
            now=now,
        )
        return follow_up, follow_up.messages.get()
    checked = uploads_check(attachments, max_count=MAX_PER_MESSAGE)
    message = Message.objects.create(
        ticket=ticket,
        author_kind=AuthorKind.CUSTOMER,
        body=body,
        channel=ticket.channel,
        created_at=now,
    )
    ticket_event_record(
        ticket=ticket,
        type=TicketEventType.CUSTOMER_MESSAGE,
        actor=actor,
        now=now,
        payload=_attachments_payload(checked),
        message=message,
    )
    if ticket.status in (TicketStatus.SOLVED, TicketStatus.PENDING, TicketStatus.ON_HOLD):
        ticket_apply_transition(ticket=ticket, target=TicketStatus.OPEN, actor=actor, now=now)
    ticket.last_customer_message_at = now
    ticket_clocks_sync(ticket, now=now, customer_message=True)
    ticket.updated_at = now
    ticket.save()
    _attachments_add(message, checked)  # stored last, as in ticket_reply
    return ticket, message


# --- Changes by agents and supervisors --------------------------------------------------------


def _check_member(team_id: int | None, assignee: User) -> None:
    if team_id is None or not Team.objects.filter(pk=team_id, members=assignee).exists():
        raise DomainError(
            _("%(user)s is not a member of the ticket's team.") % {"user": assignee.get_username()},
            code="assignee_not_in_team",
        )


def _check_assignee(
    ticket: Ticket, team_id: int | None, assignee: User | None, by_user: User
) -> None:
    if assignee is None:
        if not is_supervisor_of(by_user, ticket.team_id) and ticket.assignee_id != by_user.pk:
            raise NotAllowed(_("Only a supervisor may unassign another agent's ticket."))
        return
    _check_member(team_id, assignee)
    if is_supervisor_of(by_user, ticket.team_id):
        return
    # Agents claim: they may take an unassigned ticket (or keep their own), nothing else.
    if assignee.pk != by_user.pk or ticket.assignee_id not in (None, by_user.pk):
        raise NotAllowed(_("Only a supervisor may assign a ticket to someone else."))


@retry_on_deadlock
@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    by_user: User,
    status: str | None = None,
    priority: str | None = None,
    kind: str | None = None,
    team: Team | None = None,
    assignee: User | EllipsisType | None = ...,
    tags: list[str] | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Change a ticket's fields; each change is checked and leaves its own event.

    ``assignee`` is a user, ``None`` to unassign, or left out (``...``) to keep it.
    """
    now = now or timezone.now()
    ticket = _lock(ticket)
    actor = Actor.for_user(by_user)
    if ticket.status == TicketStatus.CLOSED:
        if status and status != ticket.status:
            check_transition(ticket.status, status)  # 409 invalid_transition, ``allowed: []``
        raise ConflictError(_("The ticket is closed."), code="ticket_closed")

    if team is not None and team.pk != ticket.team_id:
        if not may_move_ticket(by_user, ticket):
            raise NotAllowed(_("Only a supervisor or the assignee may move the ticket."))
        _team_set(ticket, team, actor, now)

    if assignee is not ... and (assignee.pk if assignee else None) != ticket.assignee_id:
        _check_assignee(ticket, ticket.team_id, assignee, by_user)
        _assignee_set(ticket, assignee, actor, now)

    if priority and priority != ticket.priority:
        ticket_event_record(
            ticket=ticket,
            type=TicketEventType.PRIORITY,
            old=ticket.priority,
            new=priority,
            actor=actor,
            now=now,
        )
        ticket.priority = priority
    if kind and kind != ticket.kind:
        ticket_event_record(
            ticket=ticket,
            type=TicketEventType.KIND,
            old=ticket.kind,
            new=kind,
            actor=actor,
            now=now,
        )
        ticket.kind = kind
    if tags is not None:
        _tags_set(ticket, tags, actor, now)
    if status and status != ticket.status:
        ticket_apply_transition(ticket=ticket, target=status, actor=actor, now=now)
    ticket_clocks_sync(ticket, now=now)
    ticket.updated_at = now
    ticket.save()
    if team is not None and ticket.assignee_id is None:
        ticket_auto_assign(ticket=ticket, now=now)
    return ticket


@retry_on_deadlock
@transaction.atomic
def ticket_system_assign(
    *,
    ticket: Ticket,
    actor: Actor,
    team: Team,
    assignee: User | EllipsisType | None = ...,
    now: datetime | None = None,
) -> Ticket:
    """Give a ticket to a team, and to one of its members, because a rule of the product says
    so (a survey's follow-up goes to a supervisor): no person decided it, so no person's rights
    are checked and the events name the system.

    ``assignee`` is a member of ``team``, ``None`` to unassign, or left out (``...``) to keep
    the assignee when they are in the team; a ticket left unassigned is assigned by routing.
    """
    now = now or timezone.now()
    ticket = _lock(ticket)
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError(_("The ticket is closed."), code="ticket_closed")
    if team.pk != ticket.team_id:
        _team_set(ticket, team, actor, now)
    if assignee is not ... and (assignee.pk if assignee else None) != ticket.assignee_id:
        if assignee is not None:
            _check_member(ticket.team_id, assignee)
        _assignee_set(ticket, assignee, actor, now)
    ticket_clocks_sync(ticket, now=now)
    ticket.updated_at = now
    ticket.save()
    if ticket.assignee_id is None:
        ticket_auto_assign(ticket=ticket, now=now)
    return ticket


def _team_set(ticket: Ticket, team: Team, actor: Actor, now: datetime) -> None:
    ticket_event_record(
        ticket=ticket,
        type=TicketEventType.TEAM,
        old=ticket.team.name if ticket.team else "",
        new=team.name,
        actor=actor,
        now=now,
    )
    ticket.team = team
    # Ownership stays (首问负责制); an assignee outside the new team lets go of it.
    if ticket.assignee_id and not team.members.filter(pk=ticket.assignee_id).exists():
        _assignee_set(ticket, None, actor, now)


def _assignee_set(ticket: Ticket, assignee: User | None, actor: Actor, now: datetime) -> None:
    ticket_event_record(
        ticket=ticket,
        type=TicketEventType.ASSIGNEE,
        old=ticket.assignee.get_username() if ticket.assignee else "",
        new=assignee.get_username() if assignee else "",
        actor=actor,
        now=now,
    )
    ticket.assignee = assignee


def _tags_set(ticket: Ticket, names: list[str], actor: Actor, now: datetime) -> None:
    wanted = sorted({n.strip().lower()[:50] for n in names if n.strip()})
    current = sorted(ticket.tags.values_list("name", flat=True))
    if wanted == current:
        return
    existing = {t.name: t for t in Tag.objects.filter(name__in=wanted)}
    missing = [Tag(name=n) for n in wanted if n not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    ticket.tags.set(Tag.objects.filter(name__in=wanted))
    ticket_event_record(
        ticket=ticket,
        type=TicketEventType.TAGS,
        old=",".join(current),
        new=",".join(wanted),
        actor=actor,
        now=now,
    )


@retry_on_deadlock
@transaction.atomic
def ticket_merge(
    *, source: Ticket, target: Ticket, by_user: User, now: datetime | None = None
) -> Ticket:
    """Merge a duplicate into another ticket: its messages move, it closes with a link."""
    now = now or timezone.now()
    if source.pk == target.pk:
        raise ConflictError(_("A ticket cannot be merged into itself."), code="merge_self")
    # Lock in id order so that two merges of the same pair cannot deadlock.
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update(no_key=True)
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.customer_id != target.customer_id:
        raise ConflictError(
            _("Only tickets of the same customer can be merged."), code="merge_other_customer"
        )
    for t in (source, target):
        if t.status == TicketStatus.CLOSED:
            raise ConflictError(
                _("Ticket %(number)s is closed.") % {"number": t.number}, code="ticket_closed"
            )
    actor = Actor.for_user(by_user)
    moved = Message.objects.filter(ticket=source).update(ticket=target)
    if source.first_response_at and (
        target.first_response_at is None or source.first_response_at < target.first_response_at
    ):
        target.first_response_at = source.first_response_at
    if target.owner_id is None and source.owner_id is not None:
        target.owner_id = source.owner_id
    ticket_clocks_sync(target, now=now)
    target.updated_at = now
    target.save()
    ticket_event_record(
        ticket=target,
        type=TicketEventType.MERGED,
        old=source.number,
        new=target.number,
        payload={"messages_moved": moved},
        actor=actor,
        now=now,
    )
    source.merged_into = target
    if source.status != TicketStatus.SOLVED:
        ticket_apply_transition(ticket=source, target=TicketStatus.SOLVED, actor=actor, now=now)
    ticket_apply_transition(ticket=source, target=TicketStatus.CLOSED, actor=actor, now=now)
    ticket_event_record(
        ticket=source,
        type=TicketEventType.MERGED,
        old=source.number,
        new=target.number,
        payload={"messages_moved": moved},
        actor=actor,
        now=now,
    )
    # The duplicate's promises are the target's now: its own clocks are called off.
    ticket_clocks_cancel(source, now=now)
    source.updated_at = now
    source.save()
    return target


# --- Periodic ---------------------------------------------------------------------------------


def tickets_close_solved(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Close tickets solved longer ago than the configured hours (no customer reply since)."""
    now = now or timezone.now()
    limit = now - timedelta(hours=TicketSettings.load().auto_close_solved_after_hours)
    actor = Actor.system("auto-close")
    done = 0
    while True:
        with transaction.atomic():
            batch = list(
                Ticket.objects.select_for_update(skip_locked=True, no_key=True)
                .filter(status=TicketStatus.SOLVED, solved_at__lte=limit)
                .order_by("solved_at")[:batch_size]
            )
            for ticket in batch:
                ticket_apply_transition(
                    ticket=ticket, target=TicketStatus.CLOSED, actor=actor, now=now
                )
                ticket_clocks_sync(ticket, now=now)
                ticket.updated_at = now
                ticket.save(
                    update_fields=[
                        "status",
                        "closed_at",
                        "updated_at",
                        "next_due_at",
                        "next_warn_at",
                    ]
                )
        done += len(batch)
        if len(batch) < batch_size:
            return done


# --- Bulk changes from the desk ---------------------------------------------------------------


@dataclass(frozen=True)
class TicketBulkResult:
    number: str
    error: DomainError | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


def tickets_bulk_update(
    *,
    numbers: list[str],
    by_user: User,
    status: str | None = None,
    priority: str | None = None,
    assignee: User | EllipsisType | None = ...,
    now: datetime | None = None,
) -> list[TicketBulkResult]:
    """Apply one change to several tickets, one result per ticket number, in the given order.

    Each ticket is changed in its own transaction by ``ticket_update``, so a refusal on one (a
    transition its status does not allow, an assignment the user may not make) is reported for
    that ticket and neither stops nor undoes the others. A ticket the user may not see is
    reported exactly like one that does not exist.
    """
    now = now or timezone.now()
    wanted = list(dict.fromkeys(numbers))
    visible = {t.number: t for t in tickets_visible_to(by_user).filter(number__in=wanted)}
    results = []
    for number in wanted:
        ticket = visible.get(number)
        if ticket is None:
            missing = DomainError(
                _("Ticket %(number)s was not found.") % {"number": number}, code="not_found"
            )
            results.append(TicketBulkResult(number, missing))
            continue
        try:
            ticket_update(
                ticket=ticket,
                by_user=by_user,
                status=status,
                priority=priority,
                assignee=assignee,
                now=now,
            )
        except DomainError as exc:
            results.append(TicketBulkResult(number, exc))
        else:
            results.append(TicketBulkResult(number))
    return results


# --- SLA escalation ---------------------------------------------------------------------------


def ticket_escalate(
    *,
    ticket: Ticket,
    now: datetime,
    level: int,
    raise_priority: bool = False,
    team: Team | None = None,
) -> Ticket:
    """An escalation step of the SLA engine: raise the priority a step or move the ticket.

    The caller (the sweeper) holds the ticket's row lock inside a transaction.
    """
    actor = Actor.system(f"SLA escalation level {level}")
    if raise_priority:
        new = priority_above(ticket.priority)
        if new is not None:
            ticket_event_record(
                ticket=ticket,
                type=TicketEventType.PRIORITY,
                old=ticket.priority,
                new=new,
                actor=actor,
                now=now,
            )
            ticket.priority = new
    if team is not None and team.pk != ticket.team_id:
        _team_set(ticket, team, actor, now)
    ticket_clocks_sync(ticket, now=now)
    ticket.updated_at = now
    ticket.save()
    if ticket.assignee_id is None:
        ticket_auto_assign(ticket=ticket, now=now)
    return ticket


def ticket_overdue_escalate(*, ticket_id: int, kind: str, now: datetime) -> Ticket:
    """A process behind the ticket ran past its deadline (``kind``, say a refund overdue): the
    ticket's priority goes up a step, its team's supervisor and its assignee are told.

    Locks the ticket; called inside the caller's transaction, after the caller's own rows
    (``csplatform.locks``: the ticket comes after return requests and complaints).
    """
    ticket = (
        Ticket.objects.select_for_update(of=("self",), no_key=True)
        .select_related("team__supervisor", "assignee")
        .get(pk=ticket_id)
    )
    ticket_escalate(ticket=ticket, raise_priority=True, level=1, now=now)
    supervisor = ticket.team.supervisor if ticket.team else None
    notify(users=[supervisor, ticket.assignee], ticket=ticket, kind=kind, now=now)
    return ticket


# --- The ticket's order -----------------------------------------------------------------------


@transaction.atomic
def ticket_order_exception_resolve(
    *,
    ticket: Ticket,
    exception: OrderException,
    by_user: User,
    outcome: str,
    note: str = "",
    now: datetime | None = None,
) -> OrderException:
    """An agent resolves an exception of the ticket's order from the ticket, saying what was
    done about it (``outcome``) with an optional note; the order's and the ticket's timelines
    both show it.

    The agent must see the ticket (a ticket of their teams, ``tickets.access``), and the
    exception must be of the ticket's order: seeing a ticket about an order is what lets an
    agent act on that order. A closed ticket is read-only. The outcome, the note and an
    exception already resolved are checked by ``order_exception_resolve_by_agent``.
    """
    now = now or timezone.now()
    # Read again: the page the agent acted from may be older than a move or a closure.
    current = tickets_visible_to(by_user).filter(pk=ticket.pk).values("status", "order_id").first()
    if current is None:
        raise NotAllowed(_("Only the tickets of your teams can be acted on."))
    if current["order_id"] is None or exception.order_id != current["order_id"]:
        raise NotAllowed(_("The exception is not one of this ticket's order."))
    if current["status"] == TicketStatus.CLOSED:
        raise ConflictError(_("The ticket is closed."), code="ticket_closed")
    resolved = order_exception_resolve_by_agent(
        exception=exception, user=by_user, outcome=outcome, note=note, now=now
    )
    ticket_event_record(
        ticket=ticket,
        type=TicketEventType.EXCEPTION_RESOLVED,
        old=resolved.type,
        new=resolved.outcome,
        payload={"exception_id": resolved.pk},
        actor=Actor.for_user(by_user),
        now=now,
    )
    return resolved


# --- Changes made by other apps' processes ----------------------------------------------------


def _milestone_set(ticket: Ticket, milestone: str, actor: Actor, now: datetime) -> bool:
    """Record ``milestone`` on the locked ticket (the first time only); the caller syncs the
    clocks and saves. Returns whether it was new."""
    if milestone not in MILESTONES:
        raise ValueError(f"Unknown milestone {milestone!r}; known: {', '.join(MILESTONES)}")
    if milestone in ticket.milestones:
        return False
    ticket.milestones = {**ticket.milestones, milestone: now.isoformat()}
    ticket_event_record(
        ticket=ticket, type=TicketEventType.MILESTONE, new=milestone, actor=actor, now=now
    )
    return True


@retry_on_deadlock
@transaction.atomic
def ticket_milestone_record(
    *, ticket: Ticket, milestone: str, actor: Actor, now: datetime | None = None
) -> Ticket:
    """Record that the process behind the ticket reached ``milestone`` (once; later calls keep
    the first time). The SLA target of the same name, if the ticket's policy has one, stops.
    """
    now = now or timezone.now()
    ticket = _lock(ticket)
    if not _milestone_set(ticket, milestone, actor, now):
        return ticket
    ticket_clocks_sync(ticket, now=now)
    ticket.updated_at = now
    ticket.save()
    return ticket


# The kinds whose acceptance (受理) and handling plan (处理方案) an agent records on the ticket
# itself; a complaint or a return request records them on its own case.
AGENT_MILESTONE_KINDS = (TicketKind.AFTER_SALES,)


def _agent_milestone_check(ticket: Ticket, milestone: str) -> None:
    if ticket.kind not in AGENT_MILESTONE_KINDS:
        raise ConflictError(
            _(
                "Acceptance and the handling plan are recorded on after-sales tickets here; "
                "a complaint or a return records them on its own case."
            ),
            code="milestone_not_on_ticket",
            kind=ticket.kind,
        )
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError(_("The ticket is closed."), code="ticket_closed")
    if milestone in ticket.milestones:
        message = {
            str(SlaMetric.ACCEPTANCE): _("The ticket was accepted already."),
            str(SlaMetric.PLAN): _("A handling plan was given already."),
        }[milestone]
        raise ConflictError(message, code=f"{milestone}_recorded", at=ticket.milestones[milestone])


@retry_on_deadlock
@transaction.atomic
def ticket_accept(*, ticket: Ticket, user: User, now: datetime | None = None) -> Ticket:
    """受理: an agent takes on an after-sales case; the ticket's acceptance timer stops."""
    now = now or timezone.now()
    ticket = _lock(ticket)
    _agent_milestone_check(ticket, SlaMetric.ACCEPTANCE)
    _milestone_set(ticket, SlaMetric.ACCEPTANCE, Actor.for_user(user), now)
    ticket_clocks_sync(ticket, now=now)
    ticket.updated_at = now
    ticket.save()
    return ticket


@retry_on_deadlock
@transaction.atomic
def ticket_system_change(
    *,
    ticket: Ticket,
    actor: Actor,
    status: str | None = None,
    priority_at_least: str | None = None,
    kind: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Ticket:
    """A change another app's service makes to the ticket it opened (a return that ended
    solves its ticket, a graver complaint raises its priority, a complaint raised on an
    ordinary ticket makes it a complaint ticket), with an optional internal note.

    A status the ticket already has, or has gone past (solving a closed ticket), is left alone:
    the process behind the ticket ended, whatever agents did to the ticket meanwhile.
    """
    now = now or timezone.now()
    ticket = _lock(ticket)
    if note:
        Message.objects.create(
            ticket=ticket,
            author_kind=AuthorKind.SYSTEM,
            internal=True,
            automated=True,
            body=note,
            channel=ticket.channel,
            created_at=now,
        )
    if priority_at_least:
        raised = priority_raised_to(ticket.priority, priority_at_least)
        if raised != ticket.priority:
            ticket_event_record(
                ticket=ticket,
                type=TicketEventType.PRIORITY,
                old=ticket.priority,
                new=raised,
                actor=actor,
                now=now,
            )
            ticket.priority = raised
    if kind and kind != ticket.kind:
        ticket_event_record(
            ticket=ticket,
            type=TicketEventType.KIND,
            old=ticket.kind,
            new=kind,
            actor=actor,
            now=now,
        )
        ticket.kind = kind
    if status and status in ALLOWED_TRANSITIONS[ticket.status]:
        ticket_apply_transition(ticket=ticket, target=status, actor=actor, now=now)
    ticket_clocks_sync(ticket, now=now)
    ticket.updated_at = now
    ticket.save()
    return ticket


@retry_on_deadlock
@transaction.atomic
def ticket_system_reply(
    *, ticket: Ticket, body: str, actor: Actor, now: datetime | None = None
) -> Message:
    """A public message the platform posts to the customer on behalf of a process (a
    complaint's plan proposed by a non-user actor): a reply like an agent's, authored by the
    system, that reaches the customer through the ticket's channel."""
    now = now or timezone.now()
    ticket = _lock(ticket)
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError(_("The ticket is closed."), code="ticket_closed")
    message = Message.objects.create(
        ticket=ticket,
        author_kind=AuthorKind.SYSTEM,
        internal=False,
        automated=True,
        body=body,
        channel=ticket.channel,
        created_at=now,
    )
    ticket_event_record(
        ticket=ticket, type=TicketEventType.REPLIED, actor=actor, now=now, message=message
    )
    ticket.updated_at = now
    ticket.save(update_fields=["updated_at"])
    return message


def ticket_customer_notified(
    *,
    ticket: Ticket,
    notice: str,
    label: str,
    channels: list[str],
    now: datetime,
) -> TicketEvent:
    """Record on the ticket's timeline that the customer was sent a notice (``notice``, the
    notice type; ``label``, its untranslated name, translated when shown) through
    ``channels`` (``NoticeChannel`` values). Written in the transaction of the change that
    caused the notice; the ticket row itself is left alone (its own service may be saving it)."""
    return ticket_event_record(
        ticket=ticket,
        type=TicketEventType.CUSTOMER_NOTIFIED,
        actor=Actor.system("customer notices"),
        now=now,
        new=notice,
        payload={"label": label, "channels": list(channels)},
    )
