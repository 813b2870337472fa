"""Real mail servers on loopback for the email tests: Dovecot (IMAP) fed by an SMTP relay.

`MailServer` starts a private Dovecot with passwd-file users and an aiosmtpd relay that hands every
accepted message to Dovecot's LDA, like a small ISP: mail sent to <user>@mail.test over SMTP lands in
that user's Maildir and is read back over IMAP. Run as root (Dovecot drops to uid 65534 for mail);
`make test` installs Dovecot from Debian's packages (see the Makefile's test-deps).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
LDA = "/usr/lib/dovecot/dovecot-lda"
MAIL_UID = 65534
PASSWORD = "secret"

_CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:{dir}/mail/%n/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {dir}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {dir}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port}")


@dataclass
class _Relay:
    """SMTP in, Dovecot LDA out: what a receiving mail server does."""

    config: Path
    delivered: list[tuple[str, bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        data = envelope.original_content or b""
        for rcpt in envelope.rcpt_tos:
            user = rcpt.split("@", 1)[0].lower()
            done = subprocess.run(  # noqa: S603 - fixed argv
                [LDA, "-c", str(self.config), "-d", user, "-f", envelope.mail_from or "<>"],
                input=data,
                capture_output=True,
                check=False,
            )
            if done.returncode != 0:
                return f"550 delivery to {rcpt} failed: {done.stderr.decode(errors='replace')[:200]}"
            self.delivered.append((rcpt, data))
        return "250 OK"


@dataclass
class MailServer:
    root: Path
    imap_port: int
    smtp_port: int
    relay: _Relay

    def imap(self, user: str) -> Any:
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.imap_port, ssl=False, timeout=10)
        client.login(user, PASSWORD)
        return client

    def wait_for_messages(self, user: str, count: int, timeout: float = 10.0) -> list[bytes]:
        """The raw messages in the user's INBOX once there are at least `count` of them."""
        deadline = time.monotonic() + timeout
        while True:
            with self.imap(user) as client:
                client.select_folder("INBOX", readonly=True)
                uids = client.search(["ALL"])
                if len(uids) >= count or time.monotonic() > deadline:
                    fetched = client.fetch(uids, ["BODY.PEEK[]"])
                    return [fetched[uid][b"BODY[]"] for uid in sorted(fetched)]
            time.sleep(0.1)


@contextmanager
def mail_server(users: list[str]) -> Iterator[MailServer]:
    """Dovecot and its SMTP relay in a fresh directory under /tmp.

    Not under pytest's tmp_path: those directories are private to root (0700), and Dovecot's LDA and
    IMAP processes run as uid 65534, which must be able to walk down to the Maildirs.
    """
    if not Path(DOVECOT).exists() or not Path(LDA).exists():
        raise RuntimeError("Dovecot is not installed: run `make test-deps` (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="cxloop-mail-", dir="/tmp"))
    try:
        with _running(root, users) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _running(root: Path, users: list[str]) -> Iterator[MailServer]:
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    shutil.chown(root / "mail", MAIL_UID, MAIL_UID)
    root.chmod(0o755)
    (root / "users").write_text(
        "".join(f"{u}:{{PLAIN}}{PASSWORD}:{MAIL_UID}:{MAIL_UID}::{root}/mail/{u}\n" for u in users)
    )
    imap_port, smtp_port = free_port(), free_port()
    config = root / "dovecot.conf"
    config.write_text(_CONFIG.format(dir=root, imap_port=imap_port))
    dovecot = subprocess.Popen([DOVECOT, "-F", "-c", str(config)])  # noqa: S603
    relay = _Relay(config)
    controller = Controller(relay, hostname="127.0.0.1", port=smtp_port)
    try:
        _wait_for(imap_port)
        controller.start()
        yield MailServer(root=root, imap_port=imap_port, smtp_port=smtp_port, relay=relay)
    finally:
        controller.stop()
        dovecot.terminate()
        dovecot.wait(timeout=10)
