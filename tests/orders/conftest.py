import pytest

from tests.factories import agent_user


@pytest.fixture
def agent_client(client):
    """The browser signed in as an agent of no particular team."""
    client.force_login(agent_user())
    return client
