"""Demo data of the messaging app: a support mailbox for each demo team, so that an agent's
reply on an e-mail ticket leaves as e-mail (to the console in the embedded setup, where
``EMAIL_BACKEND`` prints mail) and the desk shows it sent.

Called by ``manage.py seed_demo`` after the tickets seeder (the teams). The addresses are on
``shop.example``, a domain reserved for examples: nothing is ever delivered there. Without a
display name, mail goes out under the team's name. A team that has a mailbox already keeps it.
"""

from __future__ import annotations

from messaging.models import Mailbox
from tickets.models import Team

from .context import SeedContext
from .tickets import TEAMS

# The demo teams' support addresses, by the English gloss of their names.
_LOCAL_PARTS = {
    "Pre-sales": "presales",
    "After-sales": "aftersales",
    "Logistics": "logistics",
    "Complaints": "complaints",
    "General service": "service",
}


def seed(ctx: SeedContext) -> dict[str, int]:
    teams = {t.name: t for t in Team.objects.filter(name__in=[name for name, _, _ in TEAMS])}
    taken = set(Mailbox.objects.filter(team__in=teams.values()).values_list("team_id", flat=True))
    mailboxes = [
        Mailbox(
            team=teams[name],
            address=f"{_LOCAL_PARTS[gloss]}@shop.example",
            created_at=ctx.now,
        )
        for name, gloss, _ in TEAMS
        if name in teams and teams[name].pk not in taken
    ]
    Mailbox.objects.bulk_create(mailboxes, ignore_conflicts=True)
    return {"team mailboxes": len(mailboxes)}
