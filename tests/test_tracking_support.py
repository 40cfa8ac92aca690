"""Shared helpers for the tracking tests: a stored campaign, contacts, ledger rows, tokens.

Kept in one module so every `test_tracking_*` file seeds the store the same way. The
campaign is the shipped sample spec, stored as `outreach launch` stores it.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from outreach.campaign import load_campaign
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Campaign, Contact, Delivery, Group
from outreach.tracking.tokens import TokenPayload, TokenSigner

CAMPAIGN = "the-way-ahead"
GROUPS = [
    ("age", "18-24", "18 to 24", 0.12),
    ("age", "25-44", "25 to 44", 0.38),
    ("age", "45-64", "45 to 64", 0.3),
    ("age", "65+", "65 and over", 0.2),
    ("birth", "uk", "Born in the UK", 0.6),
    ("birth", "outside-uk", "Born outside the UK", 0.4),
    ("language", "en", "English", 0.7),
    ("language", "ar", "Arabic", 0.1),
    ("language", "es", "Spanish", 0.1),
    ("language", "bn", "Bengali", 0.1),
]
CONTACTS = [
    (
        "c1",
        "Amina Rahman",
        "amina@example.org",
        "+447700900001",
        "ar",
        "age:18-24;birth:outside-uk",
    ),
    ("c2", "Lucía Pérez", "lucia@example.org", "+447700900002", "es", "age:25-44;birth:outside-uk"),
    ("c3", "John Smith", "john@example.org", "+447700900003", "en", "age:65+;birth:uk"),
]


@dataclass
class Seeded:
    store: Store
    settings: Settings
    signer: TokenSigner
    contacts: dict[str, int]  # contact_id -> pk
    deliveries: dict[str, int]  # contact_id -> wave-1 email delivery id

    def token(self, channel: str = "flyer", language: str = "en", **extra: Any) -> str:
        return self.signer.sign(
            TokenPayload(CAMPAIGN, extra.pop("wave", 1), channel, language, **extra)
        )

    def email_token(self, contact_id: str) -> str:
        language = next(c[4] for c in CONTACTS if c[0] == contact_id)
        return self.token("email", language, delivery=self.deliveries[contact_id])


def seed(store: Store, settings: Settings) -> Seeded:
    spec = load_campaign(_sample())
    contacts: dict[str, int] = {}
    deliveries: dict[str, int] = {}
    with store.session() as session:
        session.add(
            Campaign(
                id=spec.id,
                title=spec.event.title,
                spec=spec.model_dump(mode="json"),
                spec_path=str(_sample()),
                source_language=spec.source_language,
            )
        )
        session.flush()
        for dimension, value, label, share in GROUPS:
            session.add(
                Group(
                    campaign_id=spec.id,
                    dimension=dimension,
                    value=value,
                    label=label,
                    population_share=share,
                )
            )
        for contact_id, name, email, phone, language, groups in CONTACTS:
            contact = Contact(
                contact_id=contact_id,
                name=name,
                email=email,
                phone=phone,
                language=language,
                groups=groups,
                consent_email=True,
            )
            session.add(contact)
            session.flush()
            contacts[contact_id] = contact.id
            delivery = Delivery(
                campaign_id=spec.id,
                wave=1,
                recipient=f"c:{contact.id}",
                contact_pk=contact.id,
                channel="email",
                language=language,
                status="sent",
            )
            session.add(delivery)
            session.flush()
            deliveries[contact_id] = delivery.id
    return Seeded(store, settings, TokenSigner(settings.secret_key_value()), contacts, deliveries)


def _sample():
    from conftest import SAMPLE_CAMPAIGN

    return SAMPLE_CAMPAIGN


def key_pair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A P-256 key pair; the public half as SendGrid shows it (base64 DER)."""
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(der).decode()


def sign_webhook(
    private: ec.EllipticCurvePrivateKey, body: bytes, timestamp: int
) -> dict[str, str]:
    """The headers SendGrid sends with a webhook POST."""
    signature = private.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": str(timestamp),
    }


def now() -> int:
    return int(time.time())


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` with uvicorn on a free loopback port in a thread; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def asgi_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def run(coro: Any) -> Any:
    return asyncio.run(coro)
