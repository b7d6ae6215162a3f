"""The events of the webhook end-to-end test, made as the web server makes them: agents' public
replies through ``tickets.services.ticket_reply``, one transaction each, in a process with the
production settings (``csplatform.settings.base``), so that each commit's wake-up goes through
the broker (and is lost while it is down).

    python tests/e2e/webhook_producer.py AGENT_ID ROUNDS TICKET_ID [TICKET_ID ...]

Round after round, one reply to each ticket, the body naming the ticket and the round
("T-… #3"); a line "replied N" after every 50.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings.base")


def main() -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from tickets.models import Ticket
    from tickets.services import ticket_reply

    agent_id, rounds, *ticket_ids = (int(arg) for arg in sys.argv[1:])
    agent = get_user_model().objects.get(pk=agent_id)
    tickets = list(Ticket.objects.filter(pk__in=ticket_ids).order_by("pk"))
    replied = 0
    for round_ in range(1, rounds + 1):
        for ticket in tickets:
            ticket_reply(ticket=ticket, user=agent, body=f"{ticket.number} #{round_}")
            replied += 1
            if replied % 50 == 0:
                print(f"replied {replied}", flush=True)
    print(f"done {replied}", flush=True)


if __name__ == "__main__":
    main()
