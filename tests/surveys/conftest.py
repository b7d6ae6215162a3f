import pytest

from tests.factories import SurveyInvitationFactory
from tests.surveys.helpers import Desk


@pytest.fixture
def desk():
    """A team new tickets are routed to, its supervisor (a member) and an agent."""
    return Desk()


@pytest.fixture
def invitation():
    """A survey invitation sent in Simplified Chinese."""
    return SurveyInvitationFactory(language="zh-hans")
