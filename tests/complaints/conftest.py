import pytest

from tests.complaints.helpers import Desk


@pytest.fixture
def desk():
    """The complaints team with one person per escalation level."""
    return Desk()
