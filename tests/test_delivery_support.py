"""Shared helpers for the delivery tests (no tests here): a small synthetic campaign in a
real store, a real SMTP server (aiosmtpd) on loopback that counts what it receives, and a
local HTTP server speaking SendGrid's v3 mail/send."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message as MimeMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from outreach.campaign import CampaignSpec, load_campaign
from outreach.store import Store
from outreach.store.models import Campaign, Contact, Delivery, Partner, Wave

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CAMPAIGN = ROOT / "campaigns" / "the-way-ahead.yaml"
# Noon in London on a Wednesday: outside the sample's quiet hours (21:00-08:00).
NOON = datetime(2027, 4, 14, 11, 0, tzinfo=UTC)


def make_spec(**waves: Any) -> CampaignSpec:
    spec = load_campaign(SAMPLE_CAMPAIGN)
    if waves:
        merged = {**spec.waves.model_dump(), **waves}
        spec = spec.model_copy(update={"waves": type(spec.waves).model_validate(merged)})
    return spec


def address(index: int) -> str:
    return f"person{index}@example.org"


@dataclass
class Seeded:
    spec: CampaignSpec
    contacts: dict[int, int] = field(default_factory=dict)  # index -> contact pk
    deliveries: dict[int, int] = field(default_factory=dict)  # index -> delivery id
    partners: dict[str, int] = field(default_factory=dict)  # partner_id -> delivery id


def seed(
    store: Store,
    spec: CampaignSpec,
    count: int,
    *,
    wave: int = 1,
    languages: tuple[str, ...] = ("en", "es"),
    consent: Callable[[int], bool] = lambda index: True,
    partners: tuple[str, ...] = (),
    start: int = 0,
) -> Seeded:
    """`count` contacts (person<i>@example.org, language cycling), one email row each."""
    seeded = Seeded(spec)
    with store.session() as session:
        if session.get(Campaign, spec.id) is None:
            session.add(Campaign(id=spec.id, title=spec.event.title, spec={}, source_language="en"))
        if not session.query(Wave).filter_by(campaign_id=spec.id, number=wave).first():
            session.add(Wave(campaign_id=spec.id, number=wave, status="scheduled"))
        session.flush()
        contacts = [
            Contact(
                contact_id=f"c{i}", name=f"Person {i}", email=address(i),
                language=languages[i % len(languages)], consent_email=consent(i),
            )
            for i in range(start, start + count)
        ]  # fmt: skip
        session.add_all(contacts)
        session.flush()
        rows = [
            Delivery(
                campaign_id=spec.id, wave=wave, recipient=f"c:{c.id}", contact_pk=c.id,
                channel="email", language=c.language,
            )
            for c in contacts
        ]  # fmt: skip
        for partner_id in partners:
            if session.get(Partner, partner_id) is None:
                session.add(
                    Partner(partner_id=partner_id, name=f"Partner {partner_id}", kind="radio",
                            languages="en", email=f"{partner_id}@partners.example.org", reach=100)
                )  # fmt: skip
            rows.append(
                Delivery(campaign_id=spec.id, wave=wave, recipient=f"p:{partner_id}",
                         partner_id=partner_id, channel="partner_pack", language="en")
            )  # fmt: skip
        session.add_all(rows)
        session.flush()
        for offset, contact in enumerate(contacts):
            seeded.contacts[start + offset] = contact.id
            seeded.deliveries[start + offset] = rows[offset].id
        for row in rows[len(contacts) :]:
            assert row.partner_id is not None
            seeded.partners[row.partner_id] = row.id
    return seeded


def statuses(store: Store, wave: int = 1) -> dict[int, str]:
    with store.session() as session:
        return dict(session.query(Delivery.id, Delivery.status).filter(Delivery.wave == wave).all())


# -- a real SMTP server -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Recorder:
    """aiosmtpd handler: keeps every accepted message; can refuse chosen recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse: dict[str, str] = {}  # recipient -> SMTP reply, e.g. "550 5.1.1 no"
        self.on_mail: Callable[[int], None] | None = None  # called with messages so far
        self.lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope: Envelope, address, options):  # type: ignore[no-untyped-def]
        if self.on_mail is not None:
            self.on_mail(len(self.messages))
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope: Envelope, address, options):  # type: ignore[no-untyped-def]
        reply = self.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: Envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
            number = len(self.messages)
        return f"250 2.0.0 Ok: queued as Q{number}"

    def per_recipient(self) -> Counter[str]:
        with self.lock:
            return Counter(rcpt for tos, _ in self.messages for rcpt in tos)

    def parsed(self) -> list[MimeMessage]:
        with self.lock:
            return [email.message_from_bytes(data) for _, data in self.messages]


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: Recorder


def smtp_server() -> Iterator[SmtpServer]:
    """Use as a fixture body: `yield from smtp_server()`."""
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, recorder)
    finally:
        controller.stop()


# -- a local SendGrid v3 mail/send --------------------------------------------------------


class SendGridFake:
    """Speaks v3 `POST /v3/mail/send`: 202 with `X-Message-Id`, or scripted errors.

    `script` is a list of `(status, headers, body)` used for the next requests in order;
    when empty, requests succeed. `reject` makes a 400 naming any personalization whose
    address is in it (as SendGrid does: `errors[].field = "personalizations.N.to"`).
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self.script: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self.reject: set[str] = set()
        self.lock = threading.Lock()

    def respond(self, payload: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        with self.lock:
            self.requests.append(payload)
            number = len(self.requests)
            if self.script:
                return self.script.pop(0)
        errors = [
            {"message": "Does not contain a valid address.", "field": f"personalizations.{i}.to",
             "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"}
            for i, p in enumerate(payload.get("personalizations", []))
            if p["to"][0]["email"] in self.reject
        ]  # fmt: skip
        if errors:
            return 400, {}, {"errors": errors}
        return 202, {"X-Message-Id": f"msg{number:05d}"}, None


def sendgrid_server(fake: SendGridFake) -> Iterator[str]:
    """Use as a fixture body: yields the base URL (`http://127.0.0.1:<port>`)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path != "/v3/mail/send":
                self.send_response(404)
                self.end_headers()
                return
            fake.auth.append(self.headers.get("Authorization", ""))
            status, headers, reply = fake.respond(json.loads(body))
            data = json.dumps(reply).encode() if reply is not None else b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            if data:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
