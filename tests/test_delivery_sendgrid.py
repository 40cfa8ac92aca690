"""SendGrid delivery, as received by a local HTTP server speaking v3 mail/send."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from test_delivery_support import NOON, SendGridFake, address, make_spec, seed, sendgrid_server

from outreach.delivery.sendgrid_api import SendGridConfigError, SendGridSender
from outreach.delivery.service import send_batch, wave_counts
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Delivery
from outreach.tracking.tokens import TokenSigner


@pytest.fixture
def fake() -> SendGridFake:
    return SendGridFake()


@pytest.fixture
def host(fake: SendGridFake) -> Iterator[str]:
    yield from sendgrid_server(fake)


@pytest.fixture
def sg_settings(settings: Settings, host: str) -> Settings:
    return settings.model_copy(
        update={
            "delivery_backend": "sendgrid",
            "sendgrid_api_key": "SG.test-key",
            "sendgrid_host": host,
            "send_batch_size": 1000,
        }
    )


def sender_for(host: str, sleeps: list[float]) -> SendGridSender:
    return SendGridSender(api_key="SG.test-key", host=host, sleep=sleeps.append)


def _substitute(text: str, values: dict[str, str]) -> str:
    pattern = re.compile("|".join(re.escape(t) for t in sorted(values, key=len, reverse=True)))
    return pattern.sub(lambda m: values[m.group(0)], text)


def test_2500_recipients_go_in_three_requests_with_ids_only_outside_to_and_substitutions(
    sqlite_store: Store, sg_settings: Settings, fake: SendGridFake
) -> None:
    spec = make_spec()
    seeded = seed(sqlite_store, spec, 2500, languages=("en",))
    counts = send_batch(sqlite_store, sg_settings, spec, 1, limit=2500, now=NOON)
    assert (counts.sent, counts.failed, counts.remaining) == (2500, 0, 0)
    sizes = sorted(len(r["personalizations"]) for r in fake.requests)
    assert sizes == [500, 1000, 1000]
    assert set(fake.auth) == {"Bearer SG.test-key"}
    signer = TokenSigner(sg_settings.secret_key_value())
    by_delivery = {v: k for k, v in seeded.deliveries.items()}
    seen = set()
    for request in fake.requests:
        assert request["categories"] == [spec.id, f"{spec.id}-wave-1"]
        assert request["custom_args"]["campaign"] == spec.id
        # Personal data only in personalizations[].to and [].substitutions:
        scrubbed = dict(request)
        scrubbed["personalizations"] = [
            {k: v for k, v in p.items() if k not in ("to", "substitutions")}
            for p in request["personalizations"]
        ]
        blob = json.dumps(scrubbed)
        assert "@example.org" not in blob and "Person " not in blob
        html = next(c["value"] for c in request["content"] if c["type"] == "text/html")
        text = next(c["value"] for c in request["content"] if c["type"] == "text/plain")
        assert [a["filename"] for a in request["attachments"]] == ["invitation.ics"]
        for p in request["personalizations"]:
            delivery = int(p["custom_args"]["delivery"])
            index = by_delivery[delivery]
            assert p["to"] == [{"email": address(index), "name": f"Person {index}"}]
            payload = signer.verify(p["custom_args"]["token"])
            assert (payload.delivery, payload.campaign, payload.wave) == (delivery, spec.id, 1)
            # What SendGrid will deliver: the template with this person's values.
            body = _substitute(text, p["substitutions"])
            assert f"Person {index}" in body and p["custom_args"]["token"] in body
            assert p["custom_args"]["token"] in _substitute(html, p["substitutions"])
            assert p["custom_args"]["token"] in p["headers"]["List-Unsubscribe"]
            seen.add(index)
    assert seen == set(range(2500))
    with sqlite_store.session() as session:
        providers = set(session.scalars(select(Delivery.provider_id)))
    assert providers == {"msg00001", "msg00002", "msg00003"}  # X-Message-Id of each request


def test_one_request_per_language(
    sqlite_store: Store, sg_settings: Settings, fake: SendGridFake
) -> None:
    spec = make_spec()
    seed(sqlite_store, spec, 30, languages=("en", "es", "ar"))
    assert send_batch(sqlite_store, sg_settings, spec, 1, now=NOON).sent == 30
    languages = sorted(r["custom_args"]["language"] for r in fake.requests)
    assert languages == ["ar", "en", "es"]
    for request in fake.requests:
        assert len(request["personalizations"]) == 10
        language = request["custom_args"]["language"]
        assert all(p["headers"].get("Content-Language", language) == language
                   for p in request["personalizations"]) or (
            request.get("headers", {}).get("Content-Language") == language
        )  # fmt: skip


def test_429_waits_for_retry_after_and_5xx_backs_off_then_all_are_sent(
    sqlite_store: Store, sg_settings: Settings, fake: SendGridFake, host: str
) -> None:
    spec = make_spec()
    seed(sqlite_store, spec, 40, languages=("en",))
    fake.script = [
        (429, {"Retry-After": "7"}, {"errors": [{"message": "too many requests"}]}),
        (503, {}, {"errors": [{"message": "unavailable"}]}),
    ]
    sleeps: list[float] = []
    counts = send_batch(
        sqlite_store, sg_settings, spec, 1, now=NOON, sender=sender_for(host, sleeps)
    )
    assert counts.sent == 40 and counts.failed == 0
    assert sleeps == [7.0, 2.0]  # Retry-After honoured; then back-off (second try: 2 s)
    # Each try carried the same 40 people; the third was accepted.
    assert [len(r["personalizations"]) for r in fake.requests] == [40, 40, 40]
    assert wave_counts(sqlite_store, spec.id, 1) == {"sent": 40}


def test_400_fails_only_the_named_personalizations_and_sends_the_rest(
    sqlite_store: Store, sg_settings: Settings, fake: SendGridFake
) -> None:
    spec = make_spec()
    seeded = seed(sqlite_store, spec, 10, languages=("en",))
    fake.reject = {address(3), address(7)}
    counts = send_batch(sqlite_store, sg_settings, spec, 1, now=NOON)
    assert (counts.sent, counts.failed) == (8, 2)
    assert len(fake.requests) == 2
    assert len(fake.requests[1]["personalizations"]) == 8
    with sqlite_store.session() as session:
        rows = {r.id: r for r in session.scalars(select(Delivery))}
    for index in (3, 7):
        row = rows[seeded.deliveries[index]]
        assert row.status == "failed" and "personalizations." in (row.last_error or "")
        assert "@" not in (row.last_error or "")
    assert wave_counts(sqlite_store, spec.id, 1) == {"sent": 8, "failed": 2}


def test_persistent_5xx_leaves_rows_pending_and_a_bad_key_blames_no_row(
    sqlite_store: Store, sg_settings: Settings, fake: SendGridFake, host: str
) -> None:
    spec = make_spec()
    seed(sqlite_store, spec, 5, languages=("en",))
    fake.script = [(500, {}, {"errors": []})] * 6
    sleeps: list[float] = []
    counts = send_batch(
        sqlite_store, sg_settings, spec, 1, now=NOON, sender=sender_for(host, sleeps)
    )
    assert (counts.sent, counts.failed, counts.deferred) == (0, 0, 5)
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    fake.script = [(401, {}, {"errors": [{"message": "bad key"}]})]
    with pytest.raises(SendGridConfigError):
        send_batch(sqlite_store, sg_settings, spec, 1, now=NOON.replace(hour=13))
    assert wave_counts(sqlite_store, spec.id, 1) == {"pending": 5}
