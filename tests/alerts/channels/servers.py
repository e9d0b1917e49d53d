"""Real receiving servers shared by the channel and end-to-end tests: aiosmtpd inboxes and an Alertmanager.

Import the fixtures into a conftest (or test module) that needs them; each binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from streams.broker import free_port

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
ALERTMANAGER_CONFIG = "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"
SMTP_LOGIN, SMTP_PASSWORD = "salvo", "pa55-word-xyz"


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses recipients at `refused.example`."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_RCPT(self, server, session, envelope: SmtpEnvelope, address: str, options) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such user"
        if address.endswith("@busy.example"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: SmtpEnvelope) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"


def _authenticate(server, session: Session, envelope, mechanism, auth_data) -> AuthResult:
    ok = auth_data.login == SMTP_LOGIN.encode() and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server on a free port."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def tls_inbox(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    """An SMTP server that requires STARTTLS (self-signed certificate) and AUTH LOGIN/PLAIN."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Inbox()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
        authenticator=_authenticate, auth_required=True,
    )  # fmt: skip
    controller.start()
    yield handler, controller.port, cert
    controller.stop()


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager on a free port, no clustering; yields its base URL."""
    if ALERTMANAGER is None:
        pytest.skip("Alertmanager not installed: run `make system-deps`")
    (tmp_path / "am.yml").write_text(ALERTMANAGER_CONFIG)
    port = free_port()
    process = subprocess.Popen(
        [ALERTMANAGER, f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
         f"--storage.path={tmp_path}", f"--config.file={tmp_path / 'am.yml'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("Alertmanager did not become ready")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
