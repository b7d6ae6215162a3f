"""Smoke run of the README's first command: `make run` serves the desk on the embedded defaults.

Starts `make run` on a spare port, waits for the login page (at most two minutes), checks that
uvicorn serves it on 127.0.0.1 and that /healthz/ is ok, logs in as the demo agent, opens an
order page, checks that the Celery worker and beat came up, then
stops everything with Ctrl-C (SIGINT) as a user would. Exits non-zero on any failure.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("SMOKE_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"
DEADLINE_S = 120


def fail(message: str, log: Path) -> None:
    print(f"make run smoke: FAILED: {message}")
    print("---- last lines of make run ----")
    print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))
    sys.exit(1)


def main() -> None:
    log = Path(tempfile.mkstemp(prefix="make-run-", suffix=".log")[1])
    env = {**os.environ, "PORT": str(PORT)}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    untracked_before = untracked_files()
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        login_html = ""
        while time.monotonic() - started < DEADLINE_S:
            if proc.poll() is not None:
                fail(f"make run exited with {proc.returncode}", log)
            try:
                with opener.open(f"{BASE}/login/", timeout=5) as response:
                    login_html = response.read().decode()
                    break
            except OSError:
                time.sleep(1)
        else:
            fail(f"no login page within {DEADLINE_S} s", log)
        login_after = time.monotonic() - started

        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_html)
        if not token:
            fail("login page has no CSRF token", log)
        form = urllib.parse.urlencode(
            {"username": "agent", "password": "demo", "csrfmiddlewaretoken": token.group(1)}
        ).encode()
        request = urllib.request.Request(
            f"{BASE}/login/", data=form, headers={"Referer": f"{BASE}/login/"}
        )
        with opener.open(request, timeout=10) as response:
            landed = response.geturl()
        if "/login/" in landed:
            fail(f"the demo agent could not log in (landed on {landed})", log)

        # The web server is uvicorn on this machine only (DEBUG is on), and healthy.
        if f"Uvicorn running on http://127.0.0.1:{PORT}" not in log.read_text(errors="replace"):
            fail("the web server is not uvicorn listening on 127.0.0.1", log)
        with opener.open(f"{BASE}/healthz/", timeout=10) as response:
            health = json.load(response)
        if health != {"status": "ok", "database": "ok", "broker": "ok"}:
            fail(f"/healthz/ answered {health}", log)

        with opener.open(f"{BASE}/desk/orders/SO-1000001/", timeout=10) as response:
            page = response.read().decode()
        if "SO-1000001" not in page or not re.search(r"\d{3}\*{4}\d{4}", page):
            fail("the order page does not show the order with a masked phone", log)
        if re.search(r"\b1[3-9]\d{9}\b", page):
            fail("the order page shows a full phone number", log)

        while time.monotonic() - started < DEADLINE_S:
            text = log.read_text(errors="replace")
            if "ready." in text and "beat: Starting" in text:
                break
            time.sleep(1)
        else:
            fail("the Celery worker and beat did not report ready", log)
        print(
            f"make run smoke: login page after {login_after:.1f} s; demo agent logged in and "
            f"opened SO-1000001; worker and beat up after {time.monotonic() - started:.1f} s"
        )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # The worker finishes its warm shutdown after make returns: give the session time.
        deadline = time.monotonic() + 30
        while True:
            leftovers = subprocess.run(
                ["pgrep", "-s", str(proc.pid)], capture_output=True, text=True, check=False
            ).stdout.split()
            if not leftovers or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if leftovers:
            for pid in leftovers:
                os.kill(int(pid), signal.SIGKILL)
            fail(f"processes left running after Ctrl-C: {leftovers}", log)
    # Everything the embedded setup writes (database, broker, media) stays under var/.
    strays = sorted(untracked_files() - untracked_before)
    if strays:
        fail(f"make run wrote files outside var/: {strays}", log)


def untracked_files() -> set[str]:
    """Files git neither tracks nor ignores (var/ is ignored)."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    return {line[3:] for line in status if line.startswith("??")}


if __name__ == "__main__":
    main()
