"""A breach is noticed within a minute of its due time by a real Celery beat and worker, also
when the worker is killed or Redis restarts meanwhile (sla.md, "Enforcement").

Each test starts its own redis-server on a free port, a worker and beat with the production
settings (``csplatform.settings.base``: tasks go through the broker) pointed at the test
database and that Redis, and creates a ticket whose first response is due in one minute.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from csplatform.actors import Actor
from tests.factories import CustomerFactory, TeamFactory, online_agent, supervisor_user
from tests.redis_server import REDIS_SERVER, PrivateRedis
from tickets.models import Notification, SlaClock, SlaEvent, SlaPolicy, SlaTarget, TicketSettings
from tickets.services import ticket_create

BASE_DIR = Path(__file__).resolve().parents[2]
CELERY = shutil.which("celery", path=str(Path(sys.executable).parent)) or shutil.which("celery")

DEADLINE = timedelta(seconds=90)  # from the ticket's creation; due after 60 s
DISRUPT_AFTER = 20  # seconds after the creation
DOWN_FOR = 16  # seconds: longer than beat's 15 s, so a sweep falls into the outage

pytestmark = [
    # database_url() spells the test database as a postgres:// URL for the worker and beat.
    pytest.mark.postgres(reason="the worker and beat reach the test database by a postgres URL"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        REDIS_SERVER is None,
        reason="needs redis-server on PATH: the test starts a Redis of its own to restart it",
    ),
]


def stop(process: subprocess.Popen | None, sig: int = signal.SIGKILL) -> None:
    """Signal the process group (a prefork worker's children too) and reap the leader."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


class Services:
    """A private redis-server, and Celery worker and beat processes using it."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.redis = PrivateRedis()
        self.worker: subprocess.Popen | None = None
        self.beat: subprocess.Popen | None = None
        self.logs: list[Path] = []
        redis_url = self.redis.url
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "csplatform.settings.base",  # not the eager test settings
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "PYTHONUNBUFFERED": "1",
        }

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = self.tmp / f"{name}-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            return subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def start_redis(self) -> None:
        self.redis.start()

    def stop_redis(self) -> None:
        self.redis.stop()  # a shutdown; nothing is saved

    def start_worker(self) -> None:
        log_index = len(self.logs)
        self.worker = self._start(
            "worker",
            [CELERY, "-A", "csplatform", "worker", "--concurrency", "2", "--loglevel", "INFO"],
        )
        self._wait_for(lambda: b" ready." in self.logs[log_index].read_bytes(), "the worker")

    def start_beat(self) -> None:
        schedule = self.tmp / "celerybeat-schedule"
        self.beat = self._start(
            "beat",
            [CELERY, "-A", "csplatform", "beat", "--schedule", str(schedule), "--loglevel", "INFO"],
        )

    def kill_worker(self) -> None:
        stop(self.worker, signal.SIGKILL)

    def stop_all(self) -> None:
        for process in (self.beat, self.worker):
            stop(process)
        self.redis.stop()

    def log_tails(self, lines: int = 40) -> str:
        out = []
        for log in self.logs:
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)

    def _wait_for(self, check, what: str, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if check():
                return
            for process in (self.worker, self.beat):
                if process is not None and process.poll() is not None:
                    raise AssertionError(f"a process exited early\n{self.log_tails()}")
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{self.log_tails()}")


def database_url() -> str:
    """The test database (its NAME is the test database's) as DATABASE_URL spells it."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def services(tmp_path):
    running = Services(tmp_path)
    try:
        running.start_redis()
        running.start_beat()
        running.start_worker()
        yield running
    finally:
        running.stop_all()


@pytest.fixture
def supervisor():
    team = TeamFactory(name="Service desk")
    team.supervisor = supervisor_user(username="boss")
    team.save()
    online_agent(team, username="li.na")
    settings = TicketSettings.load()
    settings.default_team = team
    settings.save()
    policy = SlaPolicy.objects.create(name="One minute", position=1)
    SlaTarget.objects.create(policy=policy, metric="first_response", minutes=1)
    return team.supervisor


@pytest.mark.parametrize("disruption", ["none", "worker_killed", "redis_restarted"])
def test_a_breach_is_noticed_within_90_seconds_by_a_real_worker_and_beat(
    services, supervisor, disruption, capsys, record_property
):
    created = timezone.now()
    ticket = ticket_create(
        customer=CustomerFactory(),
        kind="inquiry",
        channel="web",
        subject="还没发货",
        body="我的订单什么时候发？",
        actor=Actor(kind="api_key", label="storefront"),
        now=created,
    )
    clock = SlaClock.objects.get(ticket=ticket, metric="first_response")
    assert ticket.assignee is not None
    assert clock.due_at == created + timedelta(minutes=1)
    disrupted = restored = False

    while timezone.now() < created + DEADLINE:
        time.sleep(1)
        elapsed = (timezone.now() - created).total_seconds()
        if disruption != "none" and not disrupted and elapsed >= DISRUPT_AFTER:
            if disruption == "worker_killed":
                services.kill_worker()
            else:
                services.stop_redis()
            disrupted = True
        if disrupted and not restored and elapsed >= DISRUPT_AFTER + DOWN_FOR:
            if disruption == "worker_killed":
                services.start_worker()
            else:
                services.start_redis()
            restored = True
        clock.refresh_from_db()
        told = Notification.objects.filter(user=supervisor, ticket=ticket, kind="sla_breach")
        if clock.status == "breached" and told.exists():
            break
    seen = timezone.now()

    assert clock.status == "breached", services.log_tails()
    assert told.exists(), services.log_tails()
    [breach] = SlaEvent.objects.filter(clock=clock, kind="breach")
    assert clock.breached_at == clock.due_at
    assert sorted(
        Notification.objects.filter(sla_event=breach).values_list("user__username", flat=True)
    ) == ["boss", "li.na"]
    after_due = (breach.at - clock.due_at).total_seconds()
    after_creation = (seen - created).total_seconds()
    record_property("seconds_after_due", round(after_due, 1))
    with capsys.disabled():
        print(
            f"\n[sla e2e, {disruption}] breach noticed {after_due:.1f} s after the due time, "
            f"seen {after_creation:.1f} s after the ticket was created"
        )
