"""The tracking app over HTTP (httpx's ASGI transport): tokens, redirects, RSVPs,
unsubscribes, SendGrid's signed webhook and the admin views, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from test_tracking_support import (
    CAMPAIGN,
    Seeded,
    asgi_client,
    key_pair,
    now,
    run,
    seed,
    sign_webhook,
)

from outreach.store.models import ResponseEvent, Suppression
from outreach.tracking.app import create_app
from outreach.tracking.tokens import TokenPayload, TokenSigner

TITLE = "The Way Ahead"


@pytest.fixture
def seeded(store, settings) -> Seeded:  # type: ignore[no-untyped-def]
    return seed(store, settings)


def events(seeded: Seeded, kind: str | None = None) -> list[ResponseEvent]:
    with seeded.store.session() as session:
        query = select(ResponseEvent).order_by(ResponseEvent.id)
        if kind:
            query = query.where(ResponseEvent.kind == kind)
        rows = list(session.scalars(query))
        for row in rows:
            session.expunge(row)
        return rows


def suppressions(seeded: Seeded) -> list[tuple[int | None, str, str]]:
    with seeded.store.session() as session:
        return [
            (s.contact_pk, s.reason, s.source)
            for s in session.scalars(select(Suppression).order_by(Suppression.id))
        ]


def request(app, method: str, url: str, **kwargs):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with asgi_client(app) as client:
            return await client.request(method, url, **kwargs)

    return run(go())


# -- tokens --------------------------------------------------------------------------


def _forgeries(seeded: Seeded) -> list[str]:
    good = seeded.email_token("c1")
    body, _, signature = good.rpartition(".")
    other_key = TokenSigner("someone-elses-key").sign(
        TokenPayload(CAMPAIGN, 1, "email", "en", delivery=seeded.deliveries["c1"])
    )
    # Same signature, payload re-encoded to point at another person's delivery.
    import base64

    altered_payload = (
        base64.urlsafe_b64encode(
            json.dumps({"c": CAMPAIGN, "w": 1, "ch": "email", "l": "en", "d": 2}).encode()
        )
        .decode()
        .rstrip("=")
    )
    return [
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        f"{altered_payload}.{signature}",
        other_key,
        "not-a-token",
        body,
    ]


@pytest.mark.parametrize("path", ["/rsvp/{t}", "/r/{t}", "/u/{t}", "/rsvp/{t}/thanks?s=abcdefgh12"])
def test_forged_or_altered_tokens_get_404_and_no_data(seeded, settings, path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, store=seeded.store)
    for forged in _forgeries(seeded):
        response = request(app, "GET", path.format(t=forged))
        assert response.status_code == 404
        assert TITLE not in response.text and "Toynbee" not in response.text
        assert "location" not in response.headers
    posted = request(app, "POST", f"/rsvp/{_forgeries(seeded)[0]}", data={"answer": "yes"})
    assert posted.status_code == 404
    one_click = request(
        app, "POST", f"/u/{_forgeries(seeded)[1]}", data={"List-Unsubscribe": "One-Click"}
    )
    assert one_click.status_code == 404
    assert events(seeded) == [] and suppressions(seeded) == []


def test_valid_token_for_unknown_campaign_is_404(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, store=seeded.store)
    token = seeded.signer.sign(TokenPayload("no-such-campaign", 1, "flyer", "en"))
    assert request(app, "GET", f"/rsvp/{token}").status_code == 404


# -- tracked links -------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/phish",
        "//evil.example",
        "https://meet.example.org/the-way-ahead.evil.example",
        "https://meet.example.org/the-way-ahead@evil.example",
        "/rsvp/forged.token",
        "javascript:alert(1)",
        "/u/anything",
    ],
)
def test_open_redirect_is_refused(seeded, settings, target) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, store=seeded.store)
    response = request(app, "GET", f"/r/{seeded.email_token('c1')}", params={"to": target})
    assert response.status_code == 400
    assert "location" not in response.headers
    assert events(seeded, "click") == []


def test_click_on_owned_url_is_recorded_and_redirects(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, store=seeded.store)
    token = seeded.email_token("c2")
    online = "https://meet.example.org/the-way-ahead"
    response = request(app, "GET", f"/r/{token}", params={"to": online})
    assert response.status_code == 302 and response.headers["location"] == online
    rsvp = f"{settings.public_url}/rsvp/{token}"
    response = request(app, "GET", f"/r/{token}", params={"to": rsvp})
    assert response.status_code == 302 and response.headers["location"] == rsvp
    response = request(app, "GET", f"/r/{token}")  # no target: the RSVP page
    assert response.headers["location"] == f"/rsvp/{token}"
    clicks = events(seeded, "click")
    assert len(clicks) == 3
    assert {c.contact_pk for c in clicks} == {seeded.contacts["c2"]}
    assert clicks[0].data["target"] == online and clicks[0].channel == "email"
    assert response.headers["referrer-policy"] == "no-referrer"
    # The email's RSVP button links to the page directly: opening it is a click too.
    assert request(app, "GET", f"/rsvp/{token}").status_code == 200
    clicks = events(seeded, "click")
    assert len(clicks) == 4 and clicks[-1].data["target"] == "rsvp"
    assert clicks[-1].delivery_id == seeded.deliveries["c2"]


# -- RSVP ----------------------------------------------------------------------------

FORM = {
    "answer": "maybe",
    "party_size": "2",
    "access_needs": "hearing loop",
    "heard_via": "radio",
    "group_age": "65+",
    "group_birth": "",  # prefer not to say
    "group_language": "klingon",  # not one of the campaign's groups: ignored
    "barriers": ["time", "cost", "teleport"],
    "barrier_text": "Weekends are easier",
    "submission_id": "0123456789abcdef",
}


def test_rsvp_from_a_radio_code_is_stored_once_despite_double_submit(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, store=seeded.store)
    token = seeded.token("radio", "en", partner="betar-fm")
    page = request(app, "GET", f"/rsvp/{token}")
    assert page.status_code == 200
    assert 'name="submission_id"' in page.text and '<label for="answer_yes">' in page.text
    assert "Thursday, 20 May 2027, 18:30–20:30" in page.text  # Europe/London, en_GB
    first = request(app, "POST", f"/rsvp/{token}", data=FORM)
    second = request(app, "POST", f"/rsvp/{token}", data=FORM)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == f"/rsvp/{token}/thanks?s=0123456789abcdef"
    stored = events(seeded, "rsvp")
    assert len(stored) == 1
    event = stored[0]
    assert (event.channel, event.partner_id, event.answer, event.party_size) == (
        "radio",
        "betar-fm",
        "maybe",
        2,
    )
    assert event.contact_pk is None and event.self_groups == "age:65+"
    assert event.data["barriers"] == ["cost", "time"]
    assert event.data["heard_via"] == "radio"
    thanks = request(app, "GET", first.headers["location"])
    assert thanks.status_code == 200
    assert "It is free, and we will pay travel costs on the day." in thanks.text
    assert "Saturday morning session" in thanks.text
    assert events(seeded, "scan")[0].channel == "radio"


@pytest.mark.parametrize(
    ("change", "field_id"),
    [
        ({"answer": ""}, "answer_yes"),
        ({"party_size": "0"}, "party_size"),
        ({"party_size": "many"}, "party_size"),
    ],
)
def test_invalid_rsvp_is_shown_again_with_errors_and_not_stored(
    seeded, settings, change, field_id
) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, store=seeded.store)
    token = seeded.token("flyer", "es", point="haringey-market")
    response = request(app, "POST", f"/rsvp/{token}", data={**FORM, **change})
    assert response.status_code == 400
    assert f'href="#{field_id}"' in response.text
    assert 'lang="es"' in response.text
    assert "Weekends are easier" in response.text  # what they typed is kept
    assert events(seeded, "rsvp") == []


# -- unsubscribe ---------------------------------------------------------------------


def test_one_click_unsubscribe_suppresses_at_once_and_is_idempotent(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    from outreach.delivery.suppressions import is_suppressed

    app = create_app(settings, store=seeded.store)
    token = seeded.email_token("c3")
    page = request(app, "GET", f"/u/{token}")
    assert page.status_code == 200 and 'method="post"' in page.text
    assert suppressions(seeded) == []  # a GET (a link scanner) never unsubscribes
    for _ in range(2):
        response = request(
            app,
            "POST",
            f"/u/{token}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200
    assert suppressions(seeded) == [(seeded.contacts["c3"], "unsubscribe", "web")]
    assert is_suppressed(seeded.store, email="john@example.org")
    assert not is_suppressed(seeded.store, contact_pk=seeded.contacts["c1"])
    assert len(events(seeded, "unsubscribe")) == 1


def test_unsubscribe_form_button_and_non_personal_links(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, store=seeded.store)
    response = request(app, "POST", f"/u/{seeded.email_token('c1')}")
    assert response.status_code == 200 and 'lang="ar"' in response.text
    assert suppressions(seeded) == [(seeded.contacts["c1"], "unsubscribe", "web")]
    flyer = seeded.token("flyer", "en")
    response = request(app, "POST", f"/u/{flyer}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400
    assert len(suppressions(seeded)) == 1


# -- SendGrid webhook ----------------------------------------------------------------


def _batch(seeded: Seeded) -> list[dict]:
    t1, t2, t3 = (seeded.email_token(c) for c in ("c1", "c2", "c3"))
    ts = now()
    return [
        {
            "event": "delivered",
            "email": "amina@example.org",
            "sg_event_id": "e1",
            "timestamp": ts,
            "token": t1,
        },
        {
            "event": "open",
            "email": "amina@example.org",
            "sg_event_id": "e2",
            "timestamp": ts,
            "token": t1,
        },
        {
            "event": "click",
            "email": "amina@example.org",
            "sg_event_id": "e3",
            "timestamp": ts,
            "url": "https://x",
            "token": t1,
        },
        {
            "event": "bounce",
            "type": "blocked",
            "email": "lucia@example.org",
            "sg_event_id": "e4",
            "timestamp": ts,
            "token": t2,
        },
        {
            "event": "bounce",
            "type": "bounce",
            "email": "lucia@example.org",
            "sg_event_id": "e5",
            "timestamp": ts,
            "token": t2,
        },
        {
            "event": "spamreport",
            "email": "john@example.org",
            "sg_event_id": "e6",
            "timestamp": ts,
            "outreach_token": t3,
        },
        {
            "event": "group_unsubscribe",
            "email": "amina@example.org",
            "sg_event_id": "e7",
            "timestamp": ts,
            "token": t1,
        },
        {"event": "delivered", "email": "other@example.org", "sg_event_id": "e8", "timestamp": ts},
        {
            "event": "delivered",
            "email": "x@example.org",
            "sg_event_id": "e9",
            "timestamp": ts,
            "token": "forged.token",
        },
    ]


def test_signed_webhook_is_stored_mapped_and_deduplicated(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    private, public = key_pair()
    settings.sendgrid_webhook_public_key = public
    app = create_app(settings, store=seeded.store)
    body = json.dumps(_batch(seeded)).encode()
    response = request(
        app, "POST", "/webhooks/sendgrid", content=body, headers=sign_webhook(private, body, now())
    )
    assert response.status_code == 200
    assert response.json() == {"stored": 7, "duplicates": 0, "ignored": 2}
    stored = events(seeded)
    assert [e.kind for e in stored] == [
        "delivered",
        "open",
        "click",
        "bounce",
        "bounce",
        "spamreport",
        "unsubscribe",
    ]
    assert all(e.source == "sendgrid" and e.channel == "email" for e in stored)
    assert stored[0].contact_pk == seeded.contacts["c1"]
    assert stored[0].delivery_id == seeded.deliveries["c1"]
    assert sorted(suppressions(seeded)) == sorted(
        [
            (seeded.contacts["c2"], "bounce", "sendgrid"),  # the hard bounce only
            (seeded.contacts["c3"], "spamreport", "sendgrid"),
            (seeded.contacts["c1"], "unsubscribe", "sendgrid"),
        ]
    )
    # SendGrid redelivers the same batch (new timestamp, new signature): nothing new.
    again = request(
        app, "POST", "/webhooks/sendgrid", content=body, headers=sign_webhook(private, body, now())
    )
    assert again.status_code == 200 and again.json()["stored"] == 0
    assert again.json()["duplicates"] == 7
    assert len(events(seeded)) == 7 and len(suppressions(seeded)) == 3


def test_tampered_stale_or_unsigned_webhooks_are_rejected(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    private, public = key_pair()
    settings.sendgrid_webhook_public_key = public
    app = create_app(settings, store=seeded.store)
    body = json.dumps(_batch(seeded)).encode()
    headers = sign_webhook(private, body, now())
    tampered = body.replace(b'"open"', b'"click"')
    assert (
        request(app, "POST", "/webhooks/sendgrid", content=tampered, headers=headers).status_code
        == 403
    )
    stale = sign_webhook(private, body, now() - 11 * 60)
    assert (
        request(app, "POST", "/webhooks/sendgrid", content=body, headers=stale).status_code == 403
    )
    other_private, _ = key_pair()
    assert (
        request(
            app,
            "POST",
            "/webhooks/sendgrid",
            content=body,
            headers=sign_webhook(other_private, body, now()),
        ).status_code
        == 403
    )
    assert (
        request(
            app,
            "POST",
            "/webhooks/sendgrid",
            content=body,
            headers={"Content-Type": "application/json"},
        ).status_code
        == 401
    )
    assert events(seeded) == [] and suppressions(seeded) == []


def test_webhook_is_404_when_no_key_is_configured(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, store=seeded.store)
    assert request(app, "POST", "/webhooks/sendgrid", content=b"[]").status_code == 404


def test_sendgrid_library_accepts_our_test_signatures(seeded) -> None:  # type: ignore[no-untyped-def]
    """Our signing helper matches SendGrid's own verifier (so the wire format is right)."""
    from sendgrid.helpers.eventwebhook import EventWebhook

    private, public = key_pair()
    body = json.dumps(_batch(seeded))
    headers = sign_webhook(private, body.encode(), 1700000000)
    verifier = EventWebhook(public)
    assert verifier.verify_signature(
        body, headers["X-Twilio-Email-Event-Webhook-Signature"], "1700000000"
    )


# -- health and admin ----------------------------------------------------------------


def test_healthz(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, store=seeded.store)
    assert request(app, "GET", "/healthz").json() == {"status": "ok"}


def test_admin_views_need_the_token_and_show_counts_only(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, store=seeded.store)
    assert request(app, "GET", "/admin").status_code == 404  # no admin token configured
    settings.admin_token = SecretStr("s3cret-admin")
    app = create_app(settings, store=seeded.store)
    token = seeded.email_token("c1")
    request(app, "POST", f"/rsvp/{token}", data={**FORM, "answer": "yes"})
    assert request(app, "GET", "/admin").status_code == 401
    bad = request(app, "GET", "/admin", headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401 and "RSVP" not in bad.text
    page = request(app, "GET", "/admin", headers={"Authorization": "Bearer s3cret-admin"})
    assert page.status_code == 200 and CAMPAIGN in page.text
    for personal in ("Amina", "amina@example.org", "+447700900001", "Weekends are easier"):
        assert personal not in page.text
    counts = request(
        app, "GET", "/admin/counts.json", headers={"Authorization": "Bearer s3cret-admin"}
    ).json()
    (campaign,) = counts["campaigns"]
    assert campaign["rsvps"] == [["email", {"yes": 1, "maybe": 0, "no": 0, "people": 2}]]
    assert dict(campaign["barriers"]) == {"time": 1, "cost": 1}

    async def login():  # type: ignore[no-untyped-def]
        async with asgi_client(app) as client:
            wrong = await client.post("/admin/login", data={"token": "nope"})
            assert wrong.status_code == 401
            ok = await client.post("/admin/login", data={"token": "s3cret-admin"})
            assert ok.status_code == 303
            return await client.get("/admin")

    assert run(login()).status_code == 200


def test_counting_events_commits_before_answering(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    """A 303 after an RSVP means the row is already visible to another connection."""
    app = create_app(settings, store=seeded.store)
    token = seeded.token("flyer", "pl")
    response = request(app, "POST", f"/rsvp/{token}", data={**FORM, "submission_id": "zz" * 8})
    assert response.status_code == 303
    from outreach.store import Store

    other = Store(seeded.store.url)
    with other.session() as session:
        assert (
            session.scalar(select(func.count(ResponseEvent.id)).where(ResponseEvent.kind == "rsvp"))
            == 1
        )
    other.dispose()


def test_one_click_unsubscribe_stops_the_next_waves_email(sqlite_store, settings) -> None:  # type: ignore[no-untyped-def]
    """Through delivery's real send path: the unsubscribed person's wave-2 row is suppressed."""
    service = pytest.importorskip("outreach.delivery.service")
    from datetime import UTC, datetime, timedelta

    from test_tracking_support import _sample

    from outreach.campaign import load_campaign
    from outreach.store.models import Delivery, Wave

    seeded = seed(sqlite_store, settings)
    app = create_app(settings, store=sqlite_store)
    response = request(
        app, "POST", f"/u/{seeded.email_token('c3')}", data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    with sqlite_store.session() as session:
        session.add(Wave(campaign_id=CAMPAIGN, number=2, status="scheduled"))
        for contact_id in ("c1", "c3"):
            pk = seeded.contacts[contact_id]
            session.add(
                Delivery(campaign_id=CAMPAIGN, wave=2, recipient=f"c:{pk}", contact_pk=pk,
                         channel="email", language="en", status="pending")
            )  # fmt: skip
    spec = load_campaign(_sample())
    # Noon on a weekday, a month after wave 1: no quiet hours, no minimum gap in the way.
    when = datetime(2027, 4, 14, 12, 0, tzinfo=UTC) + timedelta(days=0)
    counts = service.send_batch(sqlite_store, settings, spec, 2, now=when)
    assert counts.suppressed == 1
    with sqlite_store.session() as session:
        statuses = dict(
            session.execute(
                select(Delivery.contact_pk, Delivery.status).where(Delivery.wave == 2)
            ).all()
        )
    assert statuses[seeded.contacts["c3"]] == "suppressed"
    assert statuses[seeded.contacts["c1"]] == "sent", statuses
    assert counts.sent == 1
    outbox = [p for p in settings.outbox_dir.rglob("*") if p.is_file()]
    assert any(b"amina@example.org" in p.read_bytes() for p in outbox)
    assert not any(b"john@example.org" in p.read_bytes() for p in outbox)


def test_pages_compile_once_per_language_and_head_is_not_a_visit(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, store=seeded.store)
    pages = app.state.tracker.pages
    for _ in range(3):
        for lang in ("ar", "es"):
            assert request(app, "GET", f"/rsvp/{seeded.token('flyer', lang)}").status_code == 200
    assert len(pages._envs) == 2  # one environment per (language, campaign), reused
    assert len(events(seeded, "scan")) == 6
    assert request(app, "HEAD", f"/rsvp/{seeded.token('flyer', 'en')}").status_code in (200, 405)
    assert len(events(seeded, "scan")) == 6


def test_partner_pack_unsubscribe_suppresses_the_partner_address(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    from outreach.delivery.suppressions import is_suppressed
    from outreach.store.models import Delivery, Partner

    with seeded.store.session() as session:
        session.add(Partner(partner_id="betar-fm", name="Betar FM", kind="radio",
                            email="desk@betar.example"))  # fmt: skip
        session.flush()
        row = Delivery(campaign_id=CAMPAIGN, wave=1, recipient="p:betar-fm",
                       partner_id="betar-fm", channel="partner_pack", language="bn",
                       status="sent")  # fmt: skip
        session.add(row)
        session.flush()
        delivery_id = row.id
    app = create_app(settings, store=seeded.store)
    token = seeded.token("partner_pack", "bn", delivery=delivery_id, partner="betar-fm")
    response = request(app, "POST", f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert is_suppressed(seeded.store, email="desk@betar.example")
    assert [e.partner_id for e in events(seeded, "unsubscribe")] == ["betar-fm"]


def test_group_choices_are_readable_in_the_page_language(seeded, settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, store=seeded.store)
    arabic = request(app, "GET", f"/rsvp/{seeded.token('flyer', 'ar')}").text
    # Age bands with no translated label fall back to the language-neutral value.
    assert "<bdi>18–24</bdi>" in arabic and "<bdi>65+</bdi>" in arabic
    assert "18 to 24" not in arabic
    # Languages are listed by their own names, marked with their language.
    assert '<bdi lang="ar">العربية</bdi>' in arabic and '<bdi lang="es">Español</bdi>' in arabic
    english = request(app, "GET", f"/rsvp/{seeded.token('flyer', 'en')}").text
    assert "<bdi>18 to 24</bdi>" in english  # the campaign's own label in its own language
