"""Keep survey tokens out of the logs.

The token is in the page's path (``/s/<token>``, ``/api/v1/surveys/<token>/``), and Django
logs the path of refused requests (404, 409, 410, CSRF failures) and, under ``runserver``,
of every request. This filter, attached to those loggers when the app is ready, replaces the
token with ``[token]`` before a record is written.
"""

from __future__ import annotations

import logging
import re

_TOKEN_IN_PATH = re.compile(r"(/s/|/api/v1/surveys/)[^/\s?\"']+")
LOGGERS = ("django.request", "django.security.csrf", "django.server")


def _redact(value):
    return _TOKEN_IN_PATH.sub(r"\1[token]", value) if isinstance(value, str) else value


class SurveyTokenFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact(arg) for key, arg in record.args.items()}
        return True


def redaction_install() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, SurveyTokenFilter) for f in logger.filters):
            logger.addFilter(SurveyTokenFilter())
