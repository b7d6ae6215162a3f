import pytest

from tests.factories import TeamFactory, online_agent


@pytest.fixture
def team():
    """A front-line team; a module whose rules need another team (a supervisor, the default
    team) defines its own."""
    return TeamFactory(name="Hangzhou front line")


@pytest.fixture
def agent(team):
    """An agent online in the test's ``team``."""
    return online_agent(team, username="li.na")
