"""A real IMAP server for the polling tests: a throwaway Dovecot (Debian's ``dovecot-imapd``)
in a temporary directory, on free loopback ports (plain IMAP with STARTTLS, and IMAPS with a
self-signed certificate for 127.0.0.1), with one passwd-file user and a maildir; plaintext
login allowed on localhost only. ``imap_server`` skips the test, with the reason,
where Dovecot is not installed or will not start."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "support"
PASSWORD = "imap-test-password"


@dataclass
class ImapServer:
    host: str
    port: int
    user: str
    password: str
    root: Path
    tls_port: int  # implicit TLS (IMAPS); the plain port offers STARTTLS
    ca_file: Path  # the server's self-signed certificate, for the client to trust

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a mail in the folder, as a delivery would (IMAP APPEND)."""
        client = self.client()
        try:
            status, _ = client.append(folder, None, None, raw)
            assert status == "OK"
        finally:
            client.logout()

    def recreate(self, folder: str) -> None:
        """Delete and create the folder again: its UIDVALIDITY changes, its UIDs start anew."""
        client = self.client()
        try:
            client.delete(folder)
            status, _ = client.create(folder)
            assert status == "OK"
        finally:
            client.logout()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _certificate(root: Path) -> Path:
    """A self-signed certificate for 127.0.0.1, valid for a day."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return root / "cert.pem"


def _config(root: Path, port: int, tls_port: int) -> str:
    # Mail is owned by an unprivileged system user: Dovecot refuses to serve mail as root.
    owner = pwd.getpwnam("dovecot") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    for name in ("run", "state", "mail"):
        (root / name).mkdir()
    os.chown(root / "mail", owner.pw_uid, owner.pw_gid)
    login_user = "dovenull" if os.geteuid() == 0 else owner.pw_name
    return f"""
base_dir = {root}/run
state_dir = {root}/state
instance_name = mailin-test-{port}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {owner.pw_name}
mail_location = maildir:{root}/mail/%u
first_valid_uid = {min(owner.pw_uid, 100)}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0666
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


class DovecotUnavailable(Exception):
    """Why no Dovecot could be started here."""


@contextmanager
def dovecot_started() -> Iterator[ImapServer]:
    if not os.path.exists(DOVECOT):
        raise DovecotUnavailable("Dovecot is not installed (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="mailin-dovecot-"))
    os.chmod(root, 0o755)  # noqa: S103 - the mail user Dovecot switches to must reach its maildir
    port, tls_port = free_port(), free_port()
    config = root / "dovecot.conf"
    try:
        ca_file = _certificate(root)
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise DovecotUnavailable(f"No certificate could be made (openssl): {exc}") from None
    config.write_text(_config(root, port, tls_port))
    stop = [DOVECOT, "-c", str(config), "stop"]
    try:
        # The daemon keeps the output it inherits open: a file, not a pipe to wait on.
        with open(root / "start.log", "wb") as output:
            started = subprocess.run(
                [DOVECOT, "-c", str(config)],
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=30,
                check=False,
            )
        if started.returncode != 0:
            reason = (root / "start.log").read_text(errors="replace").strip()[:300]
            raise DovecotUnavailable(f"Dovecot would not start: {reason}")
        server = ImapServer("127.0.0.1", port, USER, PASSWORD, root, tls_port, ca_file)
        deadline = time.monotonic() + 10
        while True:
            try:
                server.client().logout()
                break
            except (OSError, imaplib.IMAP4.error) as exc:
                if time.monotonic() > deadline:
                    raise DovecotUnavailable(f"Dovecot did not answer: {exc}") from None
                time.sleep(0.1)
        yield server
    finally:
        subprocess.run(
            stop, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=30
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_server():
    try:
        with dovecot_started() as server:
            yield server
    except DovecotUnavailable as why:
        pytest.skip(str(why))
