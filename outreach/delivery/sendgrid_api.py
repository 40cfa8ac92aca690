"""SendGrid backend: the `sendgrid` library's v3 mail/send, up to 1,000 recipients a request.

Messages rendered for different people differ only in a few per-person values (name,
tracking token and the links built from it). This backend turns each message back into a
template by replacing those values with substitution tags (`-name-`, `-token-`, ... from
`Message.substitutions`, or name and token when a channel gave none), groups messages
whose templates are identical (same language, subject, body, attachments), and sends one
request per group of up to 1,000 personalizations. Every template is checked by
substituting the values back: a message that does not round-trip exactly is sent on its
own, unchanged, so a recipient always gets exactly what the channel rendered.

What leaves in the JSON: personal data only in `personalizations[].to` and
`personalizations[].substitutions`; `custom_args` carry the delivery id and the signed
token (ids only); `categories` are the campaign id and `<campaign>-wave-<n>`. The
provider id is the response's `X-Message-Id` (shared by the request; SendGrid's events
carry it plus our `custom_args`).

Errors: 429 waits for `Retry-After`; 5xx and connection errors back off (1, 2, 4 ... s) and
retry, up to `max_retries`, after which the rows are transient failures; 400 fails only
the personalizations SendGrid's `errors[].field` names (`personalizations.3.to`) and the
rest are re-sent; 401/403 raise `SendGridConfigError` (no row is blamed for a bad key).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import escape
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from outreach.delivery.pacing import RateLimiter, backoff, retry_after_seconds
from outreach.message import Message, SendResult

MAX_PERSONALIZATIONS = 1000
_FIELD = re.compile(r"^personalizations\.(\d+)")
_EMAIL = re.compile(r"[^\s@<>\"']+@[^\s@<>\"']+")


class SendGridConfigError(RuntimeError):
    """SendGrid refused the API key (401/403): fix settings; no row is at fault."""


def _html_tag(tag: str) -> str:
    return tag[:-1] + "_html-" if tag.endswith("-") else tag + "_html"


def _substitute(text: str, values: dict[str, str]) -> str:
    """What SendGrid does with substitution tags: replace every tag, all at once."""
    if not values:
        return text
    pattern = re.compile("|".join(re.escape(tag) for tag in sorted(values, key=len, reverse=True)))
    return pattern.sub(lambda match: values[match.group(0)], text)


@dataclass
class Templated:
    """One message as (shared template, per-person values)."""

    message: Message
    subject: str
    text: str
    html: str
    substitutions: dict[str, str]
    attachments_key: str

    def group_key(self) -> tuple[Any, ...]:
        m = self.message
        return (
            m.campaign_id,
            m.wave,
            m.channel,
            m.language,
            m.from_address,
            m.from_name,
            m.reply_to,
            self.subject,
            self.text,
            self.html,
            self.attachments_key,
        )


def templatise(message: Message) -> Templated:
    values = dict(message.substitutions) or {"-name-": message.to_name, "-token-": message.token}
    values = {tag: value for tag, value in values.items() if value}
    # Longest values first, so a URL is replaced as a whole before the token inside it.
    pairs = sorted(values.items(), key=lambda item: len(item[1]), reverse=True)
    subject, text, html = message.subject, message.text, message.html
    html_values: dict[str, str] = {}
    for tag, value in pairs:
        subject = subject.replace(value, tag)
        text = text.replace(value, tag)
        html_value = str(escape(value))
        html = html.replace(html_value, _html_tag(tag))
        html_values[_html_tag(tag)] = html_value
    substitutions = {**values, **html_values}
    digest = hashlib.sha256()
    for attachment in message.attachments:
        digest.update(attachment.filename.encode() + b"\0" + attachment.content_type.encode())
        digest.update(hashlib.sha256(attachment.data).digest())
    templated = Templated(
        message,
        subject,
        text,
        html,
        substitutions,
        digest.hexdigest(),
    )
    round_trip = (
        _substitute(subject, substitutions) == message.subject
        and _substitute(text, substitutions) == message.text
        and _substitute(html, substitutions) == message.html
    )
    if not round_trip:
        # Values overlap or a tag occurs in the content: send this one as rendered.
        templated = Templated(
            message,
            message.subject,
            message.text,
            message.html,
            {},
            digest.hexdigest() + f":{id(message)}",
        )
    return templated


@dataclass
class _Group:
    items: list[Templated] = field(default_factory=list)


class SendGridSender:
    """v3 mail/send through `SendGridAPIClient(api_key, host=settings.sendgrid_host)`."""

    name = "sendgrid"
    preferred_batch = MAX_PERSONALIZATIONS

    def __init__(
        self,
        *,
        api_key: str,
        host: str = "https://api.sendgrid.com",
        rate_per_second: float = 0.0,
        max_retries: int = 5,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_key = api_key
        self.host = host.rstrip("/")
        self.max_retries = max_retries
        self.timeout = timeout
        self.sleep = sleep
        self.limiter = RateLimiter(rate_per_second, sleep=sleep)
        self.client: SendGridAPIClient | None = None
        self.requests = 0  # requests made (tests, benchmarks)

    def open(self) -> None:
        if self.client is None:
            self.client = SendGridAPIClient(self.api_key, host=self.host)

    def close(self) -> None:
        self.client = None

    # -- payloads ---------------------------------------------------------------------
    @staticmethod
    def payload(items: Sequence[Templated]) -> dict[str, Any]:
        first = items[0]
        m = first.message
        # Headers every message of the request shares go top-level; the rest
        # (List-Unsubscribe with the token, X-Outreach-Delivery) per personalization.
        shared = set(m.headers.items())
        for item in items[1:]:
            shared &= set(item.message.headers.items())
        personalizations = []
        for item in items:
            msg = item.message
            to: dict[str, str] = {"email": msg.to_address}
            if msg.to_name:
                to["name"] = msg.to_name
            entry: dict[str, Any] = {"to": [to], "custom_args": {"token": msg.token}}
            if msg.delivery_id is not None:
                entry["custom_args"]["delivery"] = str(msg.delivery_id)
            if item.substitutions:
                entry["substitutions"] = item.substitutions
            own = {k: v for k, v in msg.headers.items() if (k, v) not in shared}
            if own:
                entry["headers"] = own
            personalizations.append(entry)
        body: dict[str, Any] = {
            "personalizations": personalizations,
            "from": {"email": m.from_address, **({"name": m.from_name} if m.from_name else {})},
            "subject": first.subject,
            "content": [{"type": "text/plain", "value": first.text}]
            + ([{"type": "text/html", "value": first.html}] if first.html else []),
            "categories": [m.campaign_id, f"{m.campaign_id}-wave-{m.wave}"],
            "custom_args": {
                "campaign": m.campaign_id,
                "wave": str(m.wave),
                "channel": m.channel,
                "language": m.language,
            },
        }
        if m.reply_to:
            body["reply_to"] = {"email": m.reply_to}
        if shared:
            body["headers"] = dict(sorted(shared))
        if m.attachments:
            body["attachments"] = [
                {
                    "content": base64.b64encode(a.data).decode("ascii"),
                    "type": a.content_type.split(";")[0].strip(),
                    "filename": a.filename,
                    "disposition": "attachment",
                }
                for a in m.attachments
            ]
        return body

    # -- sending ----------------------------------------------------------------------
    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        self.open()
        groups: dict[tuple[Any, ...], _Group] = {}
        for message in messages:
            templated = templatise(message)
            groups.setdefault(templated.group_key(), _Group()).items.append(templated)
        by_id: dict[int, SendResult] = {}
        for group in groups.values():
            for start in range(0, len(group.items), MAX_PERSONALIZATIONS):
                chunk = group.items[start : start + MAX_PERSONALIZATIONS]
                for item, result in zip(chunk, self._post(chunk), strict=True):
                    by_id[id(item.message)] = result
        return [by_id[id(message)] for message in messages]

    def _post(self, items: list[Templated]) -> list[SendResult]:
        results: dict[int, SendResult] = {}
        pending = list(range(len(items)))
        tries = 0
        while pending:
            batch = [items[i] for i in pending]
            self.limiter.acquire(len(batch))
            self.requests += 1
            try:
                assert self.client is not None
                response = self.client.client.mail.send.post(
                    request_body=self.payload(batch), timeout=self.timeout
                )
            except HTTPError as exc:
                status = int(exc.status_code)
                if status in (401, 403):
                    raise SendGridConfigError(f"SendGrid refused the API key ({status})") from None
                if status == 400:
                    bad = self._bad_personalizations(exc, len(batch))
                    if bad:
                        for index, error in bad.items():
                            results[pending[index]] = SendResult(
                                batch[index].message.delivery_id, False, error=error
                            )
                        pending = [i for n, i in enumerate(pending) if n not in bad]
                        continue
                    return self._fill(items, results, pending, self._errors(exc), False)
                if status == 413 and len(pending) > 1:
                    half = len(pending) // 2
                    for part in (pending[:half], pending[half:]):
                        for index, result in zip(
                            part, self._post([items[i] for i in part]), strict=True
                        ):
                            results[index] = result
                    return [results[i] for i in range(len(items))]
                if status == 429 or status >= 500:
                    tries += 1
                    if tries > self.max_retries:
                        return self._fill(items, results, pending, f"SendGrid {status}", True)
                    wait = retry_after_seconds(_header(exc.headers, "Retry-After"))
                    self.sleep(wait if wait is not None else backoff(tries))
                    continue
                return self._fill(
                    items, results, pending, f"SendGrid {status}: {self._errors(exc)}", False
                )
            except (urllib.error.URLError, OSError) as exc:
                tries += 1
                if tries > self.max_retries:
                    return self._fill(items, results, pending, f"SendGrid unreachable: {exc}", True)
                self.sleep(backoff(tries))
                continue
            provider_id = _header(response.headers, "X-Message-Id")
            for index in pending:
                results[index] = SendResult(
                    items[index].message.delivery_id, True, provider_id=provider_id
                )
            pending = []
        return [results[i] for i in range(len(items))]

    @staticmethod
    def _fill(
        items: list[Templated],
        results: dict[int, SendResult],
        pending: list[int],
        error: str,
        transient: bool,
    ) -> list[SendResult]:
        for index in pending:
            results[index] = SendResult(
                items[index].message.delivery_id, False, error=error, transient=transient
            )
        return [results[i] for i in range(len(items))]

    @staticmethod
    def _error_list(exc: HTTPError) -> list[dict[str, Any]]:
        try:
            body = json.loads(exc.body.decode("utf-8") if isinstance(exc.body, bytes) else exc.body)
        except (ValueError, AttributeError):
            return []
        errors = body.get("errors") if isinstance(body, dict) else None
        return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []

    def _errors(self, exc: HTTPError) -> str:
        parts = [f"{e.get('field') or ''}: {e.get('message') or ''}" for e in self._error_list(exc)]
        return _EMAIL.sub("<address>", "; ".join(parts) or "bad request")

    def _bad_personalizations(self, exc: HTTPError, size: int) -> dict[int, str]:
        bad: dict[int, str] = {}
        for error in self._error_list(exc):
            match = _FIELD.match(str(error.get("field") or ""))
            if match and int(match.group(1)) < size:
                text = f"SendGrid 400 {error.get('field')}: {error.get('message') or ''}"
                bad.setdefault(int(match.group(1)), _EMAIL.sub("<address>", text))
        return bad


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    if value is None and isinstance(headers, dict):
        lowered = {k.lower(): v for k, v in headers.items()}
        value = lowered.get(name.lower())
    return value
