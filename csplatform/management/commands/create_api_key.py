from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from csplatform.models import DEFAULT_SCOPES, DEFAULT_STOREFRONT_NAME, ApiScope, Storefront
from csplatform.services import storefront_get_or_create, storefront_key_create


class Command(BaseCommand):
    help = (
        "Create a storefront API key. The key is stored hashed and printed once, as the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A name that says which storefront uses the key.")
        parser.add_argument(
            "--expires", help="Expiry as an ISO date or datetime (default: never).", default=None
        )
        parser.add_argument(
            "--storefront",
            default=None,
            help="The storefront whose data the key sees, by name; created if there is none "
            f"of this name (default: the default storefront, first named "
            f"{DEFAULT_STOREFRONT_NAME!r}).",
        )
        parser.add_argument(
            "--scopes",
            default=",".join(DEFAULT_SCOPES),
            help=f"Comma-separated, from {', '.join(ApiScope.values)} (default: all but "
            "inbound_email, which the mail provider's key is given alone).",
        )

    def handle(
        self,
        *args: Any,
        name: str,
        expires: str | None,
        scopes: str,
        storefront: str | None,
        **options: Any,
    ) -> None:
        name = name.strip()
        if not name:
            raise CommandError("The key needs a name.")
        expiry = None
        if expires:
            from django.utils.dateparse import parse_date, parse_datetime
            from django.utils.timezone import get_current_timezone, make_aware

            expiry = parse_datetime(expires)
            if expiry is None and (day := parse_date(expires)) is not None:
                from datetime import datetime, time

                expiry = datetime.combine(day, time.min)
            if expiry is None:
                raise CommandError(f"Cannot read the expiry {expires!r}; use YYYY-MM-DD.")
            if expiry.tzinfo is None:
                expiry = make_aware(expiry, get_current_timezone())
        try:
            with transaction.atomic():  # no new storefront without its key
                if storefront is None:
                    shop, shop_created = Storefront.default(), False
                else:
                    shop, shop_created = storefront_get_or_create(name=storefront)
                api_key, key = storefront_key_create(
                    name=name,
                    storefront=shop,
                    scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                    expiry_date=expiry,
                )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if shop_created:
            self.stdout.write(f"Created storefront {shop.name!r}.")
        elif not shop.active:
            self.stdout.write(
                self.style.WARNING(f"Storefront {shop.name!r} is inactive: its keys are refused.")
            )
        self.stdout.write(
            f"Created storefront key {api_key.name!r} for storefront {shop.name!r} "
            f"(prefix {api_key.prefix}, scopes {', '.join(api_key.profile.scopes)})."
        )
        self.stdout.write("Store it now: it is not shown again.")
        self.stdout.write(key)
