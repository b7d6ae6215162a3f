from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an ``Idempotency-Key``, replayed for 24 hours."""

    key = models.CharField(max_length=255)
    principal = models.CharField(max_length=64)  # "key:<api key prefix>" or "user:<user id>"
    fingerprint = models.CharField(max_length=64)  # method, path and body of the request
    status_code = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_key_once")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"


class ApiScope(models.TextChoices):
    """What a storefront key may reach: one scope per storefront resource of ``api.md``."""

    ORDERS = "orders", _("Orders and customers")
    TICKETS = "tickets", _("Tickets and messages")
    RETURNS = "returns", _("Returns and refunds")
    COMPLAINTS = "complaints", _("Complaints")
    SURVEYS = "surveys", _("Survey links")
    WEBHOOKS = "webhooks", _("Webhook endpoints")


class ApiKeyProfile(models.Model):
    """Whose a storefront key (``rest_framework_api_key.APIKey``: hashed, named, expiring,
    revocable) is, what it may do, and when it was last used.

    The key sees its storefront's customers and orders and what hangs off them, nothing else;
    the keys of one storefront (an old and a new one, while rotating) share that data.
    """

    api_key = models.OneToOneField(
        "rest_framework_api_key.APIKey", on_delete=models.CASCADE, related_name="profile"
    )
    storefront = models.ForeignKey(
        "orders.Storefront",
        on_delete=models.PROTECT,
        related_name="key_profiles",
        verbose_name=_("storefront"),
    )
    scopes = models.JSONField(
        _("scopes"),
        default=list,
        blank=True,
        help_text=_(
            "The parts of the API the key may use: orders, tickets, returns, "
            "complaints, surveys, webhooks. A key without scopes can do nothing."
        ),
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("storefront key scopes")
        verbose_name_plural = _("storefront key scopes")

    def __str__(self) -> str:
        return ", ".join(self.scopes) or "-"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        unknown = set(self.scopes or []) - set(ApiScope.values)
        if not isinstance(self.scopes, list) or unknown:
            raise ValidationError({"scopes": _("Choose from: %s.") % ", ".join(ApiScope.values)})
