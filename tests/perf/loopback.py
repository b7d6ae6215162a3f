"""What the load and chaos scripts share: a server started on a free loopback port, plain HTTP
requests to it (one connection each, as bursts of browsers and storefront calls make them),
and the count of PostgreSQL connections a database holds.

Only 127.0.0.1 is ever a target.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Result:
    label: str
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    error: str
    started: float  # time.monotonic()
    seconds: float
    body: bytes = b""

    def json(self):
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    path: str,
    *,
    label: str = "",
    body: dict | None = None,
    headers: dict | None = None,
    timeout: float = 30,
) -> Result:
    started = time.monotonic()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = {"Accept": "application/json", **(headers or {})}
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        return Result(label or path, response.status, "", started, time.monotonic() - started, data)
    except (OSError, http.client.HTTPException) as error:
        seconds = time.monotonic() - started
        return Result(label or path, None, type(error).__name__, started, seconds)
    finally:
        connection.close()


@dataclass
class Tally:
    results: list[Result] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, result: Result) -> Result:
        with self.lock:
            self.results.append(result)
        return result

    def summary(self, results: list[Result] | None = None) -> dict:
        results = self.results if results is None else results
        seconds = sorted(r.seconds for r in results if r.status is not None)
        statuses = Counter(str(r.status) if r.status else r.error for r in results)
        return {
            "requests": len(results),
            "answered": sum(1 for r in results if r.status is not None),
            "no_answer": sum(1 for r in results if r.status is None),
            "5xx": sum(1 for r in results if r.status and r.status >= 500),
            "statuses": dict(sorted(statuses.items())),
            "p50_ms": round(statistics.median(seconds) * 1000, 1) if seconds else None,
            "p95_ms": round(seconds[int(0.95 * (len(seconds) - 1))] * 1000, 1) if seconds else None,
        }


def wait_for(port: int, path: str, process: subprocess.Popen, timeout: float, log: Path) -> float:
    """Seconds until ``path`` answers; raises with the log's tail if the process died."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode})\n{tail(log)}")
        if request(port, "GET", path, timeout=5).status is not None:
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError(f"no answer on {path} within {timeout} s\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def start(command: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 30):
    """Signal the process group and reap the leader; SIGKILL if it does not go."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def manage(*args: str, env: dict | None = None) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


class ConnectionWatch:
    """Samples how many connections the PostgreSQL server holds to one database."""

    def __init__(self, database_url: str, every: float = 0.1):
        import environ

        config = environ.Env.db_url_config(database_url)
        self.name = config["NAME"]
        self.server = {
            "host": config.get("HOST") or None,
            "port": config.get("PORT") or None,
            "user": config.get("USER") or None,
            "password": config.get("PASSWORD") or None,
        }
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> int:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **self.server) as conn:
            return self._count(conn)

    def _count(self, conn) -> int:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.name]
        ).fetchone()
        return int(row[0])

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **self.server) as conn:
            while not self._stop.is_set():
                self.samples.append((time.monotonic(), self._count(conn)))
                time.sleep(self.every)

    def __enter__(self) -> ConnectionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def peak(self, since: float = 0.0) -> int:
        return max((n for t, n in self.samples if t >= since), default=0)
