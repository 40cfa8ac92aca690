"""SMTP backend: one connection reused for many messages, reconnecting when dropped.

Per message it runs MAIL / RCPT / DATA itself (rather than `sendmail`) so it can tell
the row's fate from the server's reply codes:

- 2xx after DATA: sent; the provider id is the server's queue id when it names one
  ("250 2.0.0 Ok: queued as 4F1B2"), else the message's deterministic Message-ID;
- 5xx to RCPT or DATA: that row fails permanently (unknown mailbox, content refused);
- 4xx, a dropped connection or a timeout: transient (the ledger retries it later).

A dropped connection is re-opened once and the message retried on the new connection.

```python
sender = SmtpSender(host="127.0.0.1", port=2525)
sender.open()
results = sender.send(messages)
sender.close()
```
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from collections.abc import Sequence

from outreach.delivery.mime import message_bytes, message_id_for
from outreach.delivery.pacing import RateLimiter
from outreach.message import Message, SendResult

_QUEUED = re.compile(r"queued as\s+<?([A-Za-z0-9._@-]+)>?", re.IGNORECASE)


class SmtpConfigError(RuntimeError):
    """The server refused our login or TLS: no message can be sent until settings change."""


class _Refused(Exception):
    def __init__(self, code: int, text: str, stage: str) -> None:
        super().__init__(f"{stage} refused: {code} {text}")
        self.code = code
        self.text = text
        self.stage = stage


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class SmtpSender:
    """Sends through any SMTP server (STARTTLS, implicit TLS, login: from settings)."""

    name = "smtp"
    # One message per ledger commit: keeps the unavoidable "accepted by the server but not
    # yet marked sent" window to a single message (see README "delivery").
    preferred_batch = 1

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str = "none",
        username: str = "",
        password: str = "",
        timeout: float = 30.0,
        rate_per_second: float = 0.0,
        local_hostname: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self.local_hostname = local_hostname
        self.limiter = RateLimiter(rate_per_second)
        self.connection: smtplib.SMTP | None = None
        self.connects = 0  # how many connections this sender opened (tests, benchmarks)

    # -- connection -------------------------------------------------------------------
    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.security == "tls":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self.timeout,
                context=context,
                local_hostname=self.local_hostname,
            )
        else:
            connection = smtplib.SMTP(
                self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname
            )
        try:
            connection.ehlo()
            if self.security == "starttls":
                connection.starttls(context=context)
                connection.ehlo()
            if self.username:
                connection.login(self.username, self.password)
        except (
            smtplib.SMTPAuthenticationError,
            smtplib.SMTPNotSupportedError,
            ssl.SSLError,
        ) as exc:
            connection.close()
            raise SmtpConfigError(f"SMTP server {self.host}:{self.port}: {exc}") from exc
        self.connects += 1
        return connection

    def open(self) -> None:
        """Connect now (errors about login or TLS surface here); connection errors are
        left to `send`, which reports them per message as transient."""
        if self.connection is None:
            try:
                self.connection = self._connect()
            except (OSError, smtplib.SMTPException) as exc:
                if isinstance(exc, SmtpConfigError):
                    raise
                self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (OSError, smtplib.SMTPException):
                self.connection.close()
            self.connection = None

    def _drop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError):
                self.connection.close()
        self.connection = None

    # -- sending ----------------------------------------------------------------------
    def _transaction(self, connection: smtplib.SMTP, message: Message, data: bytes) -> str:
        options: list[str] = []
        if connection.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        if not (message.to_address.isascii() and message.from_address.isascii()):
            if not connection.has_extn("smtputf8"):
                raise _Refused(553, "server does not accept non-ASCII addresses", "RCPT")
            options.append("SMTPUTF8")
        code, reply = connection.mail(message.from_address, options)
        if code != 250:
            connection.rset()
            raise _Refused(code, _text(reply), "MAIL")
        code, reply = connection.rcpt(message.to_address)
        if code not in (250, 251):
            connection.rset()
            raise _Refused(code, _text(reply), "RCPT")
        code, reply = connection.data(data)
        if code != 250:
            connection.rset()
            raise _Refused(code, _text(reply), "DATA")
        return _text(reply)

    def _send_one(self, message: Message) -> SendResult:
        # smtplib sends bytes as they are, and SMTP needs CRLF line ends.
        data = message_bytes(message, linesep="\r\n")
        message_id = message_id_for(message).strip("<>")
        last_error = ""
        for _attempt in range(2):  # the second try runs on a fresh connection
            try:
                if self.connection is None:
                    self.connection = self._connect()
                reply = self._transaction(self.connection, message, data)
            except _Refused as exc:
                permanent = exc.code >= 500 and exc.stage != "MAIL"
                return SendResult(
                    message.delivery_id, False, error=str(exc), transient=not permanent
                )
            except smtplib.SMTPDataError as exc:  # DATA refused before the content went out
                self._maybe_rset()
                return SendResult(
                    message.delivery_id,
                    False,
                    error=f"DATA refused: {exc.smtp_code}",
                    transient=exc.smtp_code < 500,
                )
            except SmtpConfigError:
                raise
            except (
                TimeoutError,
                smtplib.SMTPServerDisconnected,
                smtplib.SMTPConnectError,
                OSError,
            ) as exc:
                last_error = f"connection: {type(exc).__name__}: {exc}"
                self._drop()
                continue
            except smtplib.SMTPResponseException as exc:
                self._drop()
                return SendResult(
                    message.delivery_id,
                    False,
                    error=f"SMTP {exc.smtp_code}",
                    transient=exc.smtp_code < 500,
                )
            match = _QUEUED.search(reply)
            return SendResult(
                message.delivery_id, True, provider_id=match.group(1) if match else message_id
            )
        return SendResult(message.delivery_id, False, error=last_error, transient=True)

    def _maybe_rset(self) -> None:
        try:
            if self.connection is not None:
                self.connection.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        results: list[SendResult] = []
        unreachable: str | None = None
        for message in messages:
            if unreachable is not None:
                # The server was unreachable twice in a row: don't wait for more timeouts.
                results.append(
                    SendResult(message.delivery_id, False, error=unreachable, transient=True)
                )
                continue
            self.limiter.acquire()
            result = self._send_one(message)
            if not result.ok and self.connection is None and result.transient:
                unreachable = result.error
            results.append(result)
        return results
