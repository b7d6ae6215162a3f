from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import ErasureTrigger, PiiField, RevealReason


class PiiAccessLog(models.Model):
    """One reveal of one personal-data field: who, when, whose, which field, why, from where."""

    at = models.DateTimeField(_("at"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("user"),
    )
    customer = models.ForeignKey(
        "orders.Customer",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("customer"),
    )
    field = models.CharField(_("field"), max_length=16, choices=PiiField.choices)
    # The order whose shipping address was revealed, or the ticket the reveal was made from.
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("order"),
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("ticket"),
    )
    reason = models.CharField(_("reason"), max_length=16, choices=RevealReason.choices)
    reason_detail = models.CharField(_("details"), max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data access log")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at"], name="pii_access_at"),
            models.Index(fields=["customer", "-at"], name="pii_access_customer_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_id} {self.field}"


class ErasureRecord(models.Model):
    """The destruction record of one customer's personal data; never holds the erased values."""

    at = models.DateTimeField(_("at"))
    # The pseudonymous id the customer's orders, refunds and tickets now carry.
    pseudonym = models.CharField(_("pseudonymous id"), max_length=64, unique=True)
    trigger = models.CharField(_("trigger"), max_length=16, choices=ErasureTrigger.choices)
    requested_by = models.CharField(_("requested by"), max_length=150)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # {"orders.Customer": 1, "tickets.Message": 3, ...}: rows changed, by table.
    rows_by_table = models.JSONField(_("rows changed by table"), default=dict)
    # Uploaded files (attachments, return evidence) unlinked and deleted from storage.
    files_deleted = models.PositiveIntegerField(_("files deleted"), default=0)

    class Meta:
        verbose_name = _("erasure record")
        verbose_name_plural = _("erasure records")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.pseudonym} {self.at:%Y-%m-%d}"


class PrivacySettings(models.Model):
    """Retention of customers' personal data; one row, edited in admin."""

    inactive_customer_retention_days = models.PositiveIntegerField(
        _("erase inactive customers after (days)"),
        default=3 * 365,
        help_text=_(
            "A customer with no order, ticket or update for this long has their personal data "
            "erased by the periodic job."
        ),
    )
    erasure_batch_size = models.PositiveIntegerField(
        _("customers erased per run"),
        default=500,
        help_text=_("The periodic job erases at most this many customers each time it runs."),
    )

    class Meta:
        verbose_name = _("privacy settings")
        verbose_name_plural = _("privacy settings")

    def __str__(self) -> str:
        return str(_("Privacy settings"))

    @classmethod
    def load(cls) -> "PrivacySettings":
        return cls.objects.get_or_create(pk=1)[0]
