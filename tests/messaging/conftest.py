import pytest

from tests.messaging.imap_server import imap_server  # noqa: F401 - a real IMAP server
from tests.messaging.receiver import receiver_start


@pytest.fixture
def receiver():
    receiver = receiver_start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(autouse=True)
def _short_read_timeout(settings):
    # The timeout test's receiver sleeps past it: half a second, not the production five.
    settings.WEBHOOKS_READ_TIMEOUT = 0.5
    settings.WEBHOOKS_CONNECT_TIMEOUT = 0.5
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
