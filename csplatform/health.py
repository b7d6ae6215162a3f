"""What ``/healthz/`` checks: the database answers, and the Celery broker takes messages.

Each check returns ``"ok"`` or ``"fail"`` and never raises; the broker's waits at most
``BROKER_TIMEOUT`` seconds, so the health page itself never hangs on a broker that is gone.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

BROKER_TIMEOUT = 1.5  # seconds


def database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        logger.warning("Health check: the database failed (%s: %s).", type(error).__name__, error)
        return "fail"
    return "ok"


def broker_check() -> str:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        return _broker_folder_check()
    from kombu import Connection

    try:
        with Connection(
            url,
            connect_timeout=BROKER_TIMEOUT,
            transport_options={
                **getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
                "socket_timeout": BROKER_TIMEOUT,
                "socket_connect_timeout": BROKER_TIMEOUT,
            },
        ) as broker:
            # kombu waits any number of seconds; its stubs say whole ones only.
            broker.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT)  # type: ignore[arg-type]
            # Redis connects lazily: a channel's client asks the server itself.
            client = getattr(broker.default_channel, "client", None)
            if client is not None and hasattr(client, "ping"):
                client.ping()
    except Exception as error:  # whatever the transport raises, the broker is not usable
        logger.warning("Health check: the broker failed (%s: %s).", type(error).__name__, error)
        return "fail"
    return "ok"


def _broker_folder_check() -> str:
    """The embedded broker is a folder: it must be there and writable."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    wanted = (options.get("data_folder_in"), options.get("data_folder_out"))
    for folder in {folder for folder in wanted if folder is not None}:
        if not (Path(folder).is_dir() and os.access(folder, os.W_OK | os.X_OK)):
            logger.warning("Health check: the broker folder %s is not writable.", folder)
            return "fail"
    return "ok"


def health() -> dict[str, str]:
    checks = {"database": database_check(), "broker": broker_check()}
    status = "ok" if all(value == "ok" for value in checks.values()) else "fail"
    return {"status": status, **checks}
