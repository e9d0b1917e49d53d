"""The e-mail channel: a text and HTML message over SMTP, with STARTTLS and authentication configurable."""

from __future__ import annotations

import asyncio
import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from alerts.channels.base import ChannelError, Envelope, redact
from alerts.present import DEFAULT_DESK, DeskConfig, plain_lines, sources, status_word
from schemas.delivery import FailureReason
from schemas.subscription import EmailTarget

PAYLOAD_VERSION = "1"


class EmailConfig(BaseModel):
    """The SMTP server every e-mail subscription is sent through (process configuration).

    :param starttls: upgrade the connection with STARTTLS before authenticating (default on).
    :param username: log in when set; `password` is then required.
    :param ca_file: CA bundle that signs the server's certificate (default: the system's).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65_535)] = 25
    starttls: bool = True
    username: str | None = None
    password: SecretStr | None = None
    sender: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = "salvo@localhost"
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 15.0
    ca_file: Path | None = None

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> EmailConfig:
        """A username without a password fails only at the first alert; refuse it at start-up instead."""
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username and password for SMTP authentication, or neither")
        return self


def header_text(text: str) -> str:
    """`text` on one line: a CR or LF from a feed headline in `Subject` would start a header of its own
    (`Bcc:`), so every run of whitespace, line breaks included, becomes one space."""
    return " ".join(text.split())


def build_message(envelope: Envelope, *, sender: str, desk: DeskConfig = DEFAULT_DESK) -> EmailMessage:
    """The message: subject with severity (and the replay mark), text and HTML parts with the event time in the
    desk's zone, why it fired and the sources as links; the idempotency key as Message-ID seed."""
    alert = envelope.alert
    target = envelope.subscription.target
    assert isinstance(target, EmailTarget)
    status = status_word(alert)
    lines = plain_lines(alert, desk)
    footer = f"Salvo alert {envelope.idempotency_key} (rule {alert.rule_id}, payload v{PAYLOAD_VERSION})"
    message = EmailMessage()
    message["Subject"] = header_text(f"[{status}] {alert.title}")
    message["From"] = sender
    message["To"] = ", ".join(target.to)
    message["Date"] = format_datetime(envelope.now)
    message["Message-ID"] = make_msgid(idstring=envelope.idempotency_key.replace(":", "."), domain="salvo")
    message["X-Salvo-Idempotency-Key"] = header_text(envelope.idempotency_key)
    message.set_content("\n".join([alert.title, "", *lines, "--", footer]))
    links = {s.url for s in sources(alert) if s.url} | {desk.incident_url(alert)}
    items = "".join(f"<li>{_html_line(line, links)}</li>" for line in lines)
    message.add_alternative(
        f"<h2>[{html.escape(status)}] {html.escape(alert.title)}</h2>"
        f"<ul>{items}</ul><p><small>{html.escape(footer)}</small></p>",
        subtype="html",
    )
    return message


def _html_line(line: str, links: set[str]) -> str:
    """One line as HTML: escaped, and a link where it ends in one of the alert's web URLs."""
    label, _, tail = line.rpartition(": ")
    if label and tail in links:
        return f'{html.escape(label)}: <a href="{html.escape(tail)}">{html.escape(tail)}</a>'
    return html.escape(line)


def _smtp_error(error: Exception, secrets: list[str | None]) -> ChannelError:
    """Map an smtplib failure to a step and reason: 4xx codes are transient, 5xx and auth are not."""
    detail = redact(f"{type(error).__name__}: {error}", secrets)
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return ChannelError("authenticate to SMTP server", detail, reason=FailureReason.AUTH)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        reason = FailureReason.SERVER if all(400 <= c < 500 for c in codes) else FailureReason.CLIENT
        return ChannelError("send e-mail", detail, reason=reason)
    if isinstance(error, smtplib.SMTPResponseException):
        reason = FailureReason.SERVER if 400 <= error.smtp_code < 500 else FailureReason.CLIENT
        return ChannelError("send e-mail", detail, reason=reason)
    if isinstance(error, TimeoutError):
        return ChannelError("connect to SMTP server", detail, reason=FailureReason.TIMEOUT)
    return ChannelError("connect to SMTP server", detail, reason=FailureReason.SERVER)


class EmailChannel:
    """Sends through smtplib in a worker thread, so a slow server never blocks the event loop."""

    def __init__(self, config: EmailConfig, *, desk: DeskConfig = DEFAULT_DESK) -> None:
        self._config = config
        self._desk = desk

    def _send_sync(self, message: EmailMessage) -> None:
        config = self._config
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout_s) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=config.ca_file))
            if config.username and config.password:
                smtp.login(config.username, config.password.get_secret_value())
            smtp.send_message(message)

    async def send(self, envelope: Envelope) -> None:
        """Send the message; raises `ChannelError` with the step that failed and the password redacted."""
        message = build_message(envelope, sender=self._config.sender, desk=self._desk)
        password = self._config.password.get_secret_value() if self._config.password else None
        try:
            await asyncio.to_thread(self._send_sync, message)
        except (smtplib.SMTPException, OSError) as error:
            raise _smtp_error(error, [password]) from None
