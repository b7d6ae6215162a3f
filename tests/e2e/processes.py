"""A private redis-server, and real Celery worker and beat processes on it with the production
settings (``csplatform.settings.base``: tasks go through the broker), pointed at the test
database: for the end-to-end tests that kill the worker and restart Redis."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from tests.redis_server import PrivateRedis

BASE_DIR = Path(__file__).resolve().parents[2]
CELERY = shutil.which("celery", path=str(Path(sys.executable).parent)) or shutil.which("celery")


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

    def __init__(self, tmp_path: Path, **env: str):
        """``env``: more environment for the worker and beat (settings read from it)."""
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
            **env,
        }

    def start_process(self, name: str, command: list[str]) -> subprocess.Popen:
        """Run ``command`` in the repository with the environment of the worker and beat; its
        output goes to a log of ``log_tails``."""
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
        self.worker = self.start_process(
            "worker",
            [CELERY, "-A", "csplatform", "worker", "--concurrency", "2", "--loglevel", "INFO"],
        )
        self._wait_for(lambda: b" ready." in self.logs[log_index].read_bytes(), "the worker")

    def start_beat(self) -> None:
        schedule = self.tmp / "celerybeat-schedule"
        self.beat = self.start_process(
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
