from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext_lazy as _

# The storefront that the migration introducing storefronts gave every existing key, customer
# and order; the demo data's, and create_api_key's unless told otherwise.
DEFAULT_STOREFRONT_NAME = "Default storefront"


class Storefront(models.Model):
    """A shop front that syncs its orders here: its keys (``csplatform.ApiKeyProfile``) see its
    customers and orders, and what hangs off them, and nothing of another storefront's."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(
        _("active"), default=True, help_text=_("An inactive storefront's keys are refused.")
    )
    # The storefront of the data that predates storefronts, of the demo data, and of keys
    # created without naming one; found by this flag, so that it may be renamed.
    is_default = models.BooleanField(_("default storefront"), default=False, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        # The table predates the platform's owning the model; the rows stayed where they were.
        db_table = "orders_storefront"
        verbose_name = _("storefront")
        verbose_name_plural = _("storefronts")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="storefront_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> "Storefront":
        """The default storefront, whatever it is called now (made on first use, named
        ``DEFAULT_STOREFRONT_NAME``, where there is none)."""
        found = cls.objects.filter(is_default=True).first()
        if found is not None:
            return found
        try:
            with transaction.atomic():
                return cls.objects.create(name=DEFAULT_STOREFRONT_NAME, is_default=True)
        except IntegrityError:  # made meanwhile, or a storefront already has the name
            found = cls.objects.filter(is_default=True).first()
            if found is None:  # the one of that name becomes the default
                cls.objects.filter(name=DEFAULT_STOREFRONT_NAME).update(is_default=True)
                found = cls.objects.get(name=DEFAULT_STOREFRONT_NAME)
            return found


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
    # The mail provider's key for the raw-MIME inbound webhook, not a storefront resource:
    # given only when asked for, never among a new key's default scopes.
    INBOUND_EMAIL = "inbound_email", _("Inbound e-mail")


# A new key's scopes unless told otherwise: every storefront resource.
DEFAULT_SCOPES = [scope for scope in ApiScope.values if scope != ApiScope.INBOUND_EMAIL]


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
        Storefront,
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
            "complaints, surveys, webhooks, inbound_email (the mail provider's key). A key "
            "without scopes can do nothing."
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
