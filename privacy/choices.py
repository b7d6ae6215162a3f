from django.db import models
from django.utils.translation import gettext_lazy as _


class PiiField(models.TextChoices):
    """The personal data an agent may reveal, one field at a time."""

    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    ADDRESS = "address", _("Shipping address")


class RevealReason(models.TextChoices):
    CALL_BACK = "call_back", _("Calling the customer back")
    DELIVERY = "delivery", _("Delivery or address problem")
    IDENTITY = "identity", _("Verifying the customer's identity")
    REFUND = "refund", _("Refund or return handling")
    OTHER = "other", _("Other (explain)")


class ErasureTrigger(models.TextChoices):
    REQUEST = "request", _("Customer's request")
    RETENTION = "retention", _("Retention period ended")
