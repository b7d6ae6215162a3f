from django.core.management.base import BaseCommand, CommandError
from rest_framework_api_key.models import APIKey


class Command(BaseCommand):
    help = (
        "Create a storefront API key. The key is stored hashed and printed once, as the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="A name that says which storefront uses the key.")
        parser.add_argument(
            "--expires", help="Expiry as an ISO date or datetime (default: never).", default=None
        )

    def handle(self, *args, name: str, expires: str | None, **options):
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
        api_key, key = APIKey.objects.create_key(name=name, expiry_date=expiry)
        self.stdout.write(f"Created storefront key {api_key.name!r} (prefix {api_key.prefix}).")
        self.stdout.write("Store it now: it is not shown again.")
        self.stdout.write(key)
