# The application image: web (gunicorn), Celery worker and beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=csplatform.settings.production

RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 app

WORKDIR /app
COPY pyproject.toml requirements.lock ./
RUN pip install -c requirements.lock .
COPY . .
# collectstatic needs settings that import; the real secret comes at run time.
RUN SECRET_KEY=build-only-collectstatic-key-0123456789-abcdefghijklmnopqrstuvwxyz \
    PII_ENCRYPTION_KEYS=build-only-collectstatic-pii-key-0123456789 \
    PII_BLIND_INDEX_KEY=build-only-collectstatic-index-key-0123456789 \
    ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
    && python manage.py compilemessages --ignore '.venv/*' \
    && mkdir -p /app/var && chown -R app /app/var

USER app
EXPOSE 8000
CMD ["gunicorn", "csplatform.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
