"""A real SMTP server on loopback for tests: every mail the product sends is received, parsed and kept.

``aiosmtpd``'s ``Controller`` runs the server in a thread of the test process; the product talks to it through the
ordinary ``smtp_default`` connection (``sink.connection_json()`` is the ``AIRFLOW_CONN_SMTP_DEFAULT`` value), so
the test covers the SMTP provider's hook, the connection and the MIME message as a mail server sees them. Works
for subprocesses too (a live Airflow's tasks and dag-processor): it is a real TCP listener.

    with smtp_sink() as sink:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", sink.connection_json())
        ...                                  # code that sends mail
        [mail] = sink.wait_for(1)
        assert "PS1-42" in mail.html
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.conftest import free_port

__all__ = ["ReceivedMail", "SmtpSink", "smtp_sink"]

FROM_EMAIL = "airflow@prestaoracle.test"


@dataclass(frozen=True)
class ReceivedMail:
    """One mail as the server got it: the SMTP envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def html(self) -> str:
        """The decoded text/html part ("" when there is none)."""
        part = self.message.get_body(preferencelist=("html",))
        return str(part.get_content()) if part is not None else ""

    @property
    def raw(self) -> str:
        """The whole message as sent (headers and encoded parts), to check nothing leaks in any part."""
        return self.message.as_string()


class _Keeper:
    """aiosmtpd handler: parses and keeps every message; accepts everything."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self._sink._add(ReceivedMail(str(envelope.mail_from), tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpSink:
    """The running server's address and what it received (thread-safe: the server runs in its own thread)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._mails: list[ReceivedMail] = []
        self._changed = threading.Condition()

    def _add(self, mail: ReceivedMail) -> None:
        with self._changed:
            self._mails.append(mail)
            self._changed.notify_all()

    @property
    def mails(self) -> list[ReceivedMail]:
        with self._changed:
            return list(self._mails)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """At least ``count`` mails, waiting up to ``timeout`` seconds; raise with what did arrive otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._mails) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [m.subject for m in self._mails]
                    raise AssertionError(f"expected {count} mail(s) within {timeout:.0f} s, got {len(got)}: {got}")
                self._changed.wait(left)
            return list(self._mails)

    def connection(self, *, from_email: str = FROM_EMAIL, timeout: int = 10) -> dict:
        """The ``smtp_default`` connection for this server: plain SMTP (the hook's SSL and STARTTLS defaults off,
        or it fails with ``WRONG_VERSION_NUMBER``), one attempt (``retry_limit`` 0) so a test sees failures at once."""
        return {"conn_type": "smtp", "host": self.host, "port": self.port,
                "extra": {"from_email": from_email, "disable_ssl": True, "disable_tls": True, "timeout": timeout,
                          "retry_limit": 0}}

    def connection_json(self, **kwargs: object) -> str:
        """``connection()`` as the JSON ``AIRFLOW_CONN_SMTP_DEFAULT`` takes."""
        return json.dumps(self.connection(**kwargs))  # type: ignore[arg-type]


@contextlib.contextmanager
def smtp_sink(host: str = "127.0.0.1") -> Iterator[SmtpSink]:
    """Run an SMTP server on a free loopback port until the block ends; yield its :class:`SmtpSink`."""
    # aiosmtpd logs every SMTP command at INFO: noise around the test's own output.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    port = free_port()
    sink = SmtpSink(host, port)
    controller = Controller(_Keeper(sink), hostname=host, port=port, ready_timeout=10)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
