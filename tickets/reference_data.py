"""Rows every installation starts with, written by data migrations (and restored by tests)."""


def ensure_default_team(apps, schema_editor=None) -> None:
    """Tickets always land in a queue: a default team for what no routing rule catches."""
    Team = apps.get_model("tickets", "Team")
    TicketSettings = apps.get_model("tickets", "TicketSettings")
    team, _ = Team.objects.get_or_create(name="General service")
    settings, _ = TicketSettings.objects.get_or_create(pk=1)
    if settings.default_team_id is None:
        settings.default_team = team
        settings.save(update_fields=["default_team"])
