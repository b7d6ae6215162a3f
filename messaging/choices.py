from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEventType(models.TextChoices):
    """The events a storefront may subscribe an endpoint to (api.md, "Webhooks")."""

    TICKET_CREATED = "ticket.created", _("Ticket created")
    TICKET_MESSAGE_CREATED = "ticket.message.created", _("Public ticket message created")
    TICKET_STATUS_CHANGED = "ticket.status_changed", _("Ticket status changed")
    ORDER_EXCEPTION_OPENED = "order.exception.opened", _("Order exception opened")
    REFUND_SETTLED = "refund.settled", _("Refund settled")
    RETURN_UPDATED = "return.updated", _("Return request updated")
    COMPLAINT_UPDATED = "complaint.updated", _("Complaint updated")
    SURVEY_INVITATION_CREATED = "survey.invitation.created", _("Survey invitation sent")
    CUSTOMER_NOTICE = "customer.notice", _("Customer notice")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    # Not delivered within the retry window (24 hours); may be sent again by hand.
    FAILED = "failed", _("Failed")
    # Its endpoint was disabled or deleted before it was delivered; may be sent again by hand.
    DEAD = "dead", _("Dead")


class NoticeType(models.TextChoices):
    """The notices a customer is sent when their case moves (admin-edited texts:
    ``NoticeTemplate``)."""

    ORDER_EXCEPTION_OPENED = "order_exception_opened", _("Order exception opened")
    RETURN_APPROVED = "return_approved", _("Return approved")
    RETURN_REJECTED = "return_rejected", _("Return rejected")
    RETURN_REFUNDED = "return_refunded", _("Refund paid out")
    COMPLAINT_ACCEPTED = "complaint_accepted", _("Complaint accepted")
    COMPLAINT_PLAN_PROPOSED = "complaint_plan_proposed", _("Complaint plan proposed")
    COMPLAINT_AWAITING_CONFIRMATION = (
        "complaint_awaiting_confirmation",
        _("Complaint awaiting the customer's confirmation"),
    )
    TICKET_SOLVED = "ticket_solved", _("Ticket solved")


class NoticeLanguage(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class EmailSkipped(models.TextChoices):
    """Why a notice went out without an e-mail."""

    NO_ADDRESS = "no_address", _("The customer has no e-mail address")
    NO_MAILBOX = "no_mailbox", _("The ticket's team has no mailbox")


class IgnoredReason(models.TextChoices):
    """Why an inbound mail became no ticket message (``EmailMessage.ignored_reason``)."""

    AUTO_SUBMITTED = "auto_submitted", _("Auto-submitted (Auto-Submitted header)")
    BULK = "bulk", _("Bulk or list mail (Precedence header)")
    AUTO_REPLY = "auto_reply", _("Auto-reply (X-Autoreply / X-Autorespond header)")
    NULL_SENDER = "null_sender", _("Empty return path (<>)")
    BOUNCE = "bounce", _("Delivery report or bounce")
    OWN_ADDRESS = "own_address", _("Sent from one of our own addresses")
    RATE_LIMITED = "rate_limited", _("Too many mails from this sender in an hour")
    MAILBOX_DISABLED = "mailbox_disabled", _("Mailbox disabled")


# What the inbound webhook answers for a mail to no known mailbox (recorded nowhere: there is
# no mailbox to record it in), beside the reasons an ignored mail is recorded with.
UNKNOWN_RECIPIENT = "unknown_recipient"
INBOUND_IGNORED_REASONS = [*IgnoredReason.values, UNKNOWN_RECIPIENT]
