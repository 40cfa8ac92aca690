"""Email channel: what a contact's mail program receives, parsed back with `email`."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape

import icalendar
import pytest
from test_channels_support import TITLES, install_catalogs, sample_spec

from outreach.campaign import CampaignSpec
from outreach.channels import environment
from outreach.channels.email import EmailRecipient, render_emails, to_mime
from outreach.settings import Settings
from outreach.tracking.tokens import TokenSigner


@pytest.fixture
def spec() -> CampaignSpec:
    return sample_spec()


@pytest.fixture
def translated(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    yield from install_catalogs(monkeypatch)


def _recipient(delivery_id: int, language: str, name: str = "Ana Lima") -> EmailRecipient:
    return EmailRecipient(
        delivery_id=delivery_id,
        contact_pk=delivery_id + 1000,
        name=name,
        email=f"person{delivery_id}@example.org",
        language=language,
    )


def _parse(message) -> email.message.EmailMessage:  # type: ignore[no-untyped-def]
    raw = to_mime(message).as_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_email_parses_back_with_both_parts_ics_and_unsubscribe_headers(
    spec: CampaignSpec, settings: Settings
) -> None:
    [message] = render_emails(spec, settings, 1, [_recipient(41, "en")])
    parsed = _parse(message)

    assert parsed["To"].addresses[0].addr_spec == "person41@example.org"
    assert parsed["Content-Language"] == "en"
    assert parsed["X-Outreach-Campaign"] == "the-way-ahead"
    assert parsed["X-Outreach-Wave"] == "1"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(https?://\S+/u/(\S+))>", parsed["List-Unsubscribe"])
    assert unsubscribe, parsed["List-Unsubscribe"]

    payload = TokenSigner(settings.secret_key_value()).verify(unsubscribe.group(2))
    assert (payload.campaign, payload.wave, payload.channel, payload.language) == (
        "the-way-ahead",
        1,
        "email",
        "en",
    )
    assert payload.delivery == 41
    assert "person41" not in unsubscribe.group(2)  # ids only, never the address

    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert "Dear Ana Lima," in text and "Dear Ana Lima," in html
    assert spec.event.title in text and spec.event.title in html
    assert unsubscribe.group(1) in text and unsubscribe.group(1) in html
    assert spec.sender.postal_address in text and spec.sender.postal_address in html
    assert "<style" not in html and 'style="' in html  # CSS inlined for mail clients
    assert re.search(r'<html lang="en" dir="ltr"', html)

    [ics_part] = [p for p in parsed.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert ics_part.get_filename() == "invitation.ics"
    calendar = icalendar.Calendar.from_ical(ics_part.get_payload(decode=True))
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == "the-way-ahead@outreach"
    start = event.decoded("DTSTART")
    assert start.tzinfo is not None and str(start.tzinfo) == "Europe/London"
    assert start == spec.event.start
    assert event.decoded("DTEND") - start == timedelta(hours=2)
    assert "Toynbee Hall" in str(event["LOCATION"])
    assert "Community groups" in str(event["DESCRIPTION"])


def test_arabic_email_is_right_to_left_and_translated(
    spec: CampaignSpec, settings: Settings, translated: dict
) -> None:
    [message] = render_emails(spec, settings, 2, [_recipient(7, "ar", name="Layla")])
    parsed = _parse(message)
    html = parsed.get_body(("html",)).get_content()
    text = parsed.get_body(("plain",)).get_content()
    assert parsed["Content-Language"] == "ar"
    assert re.search(r'<html lang="ar" dir="rtl"', html)
    assert TITLES["ar"] in html and TITLES["ar"] in text and TITLES["ar"] in parsed["Subject"]
    assert "عزيزي Layla،" in html  # translated greeting with the name placed by the catalog
    assert "text-align: right" in html


def test_links_are_tracked_only_to_campaign_urls_and_rsvp_carries_the_token(
    spec: CampaignSpec, settings: Settings
) -> None:
    spec = spec.model_copy(
        update={
            "event": spec.event.model_copy(
                update={
                    "venue": spec.event.venue.model_copy(
                        update={"map_url": "https://maps.example.org/toynbee"}
                    )
                }
            )
        }
    )
    [message] = render_emails(spec, settings, 1, [_recipient(3, "en")])
    hrefs = re.findall(r'href="([^"]+)"', message.html)
    base = settings.public_url
    assert f"{base}/rsvp/{message.token}" in hrefs
    redirects = [h for h in hrefs if h.startswith(f"{base}/r/")]
    targets = sorted(h.split("?to=", 1)[1] for h in redirects)
    assert targets == [
        "https%3A%2F%2Fmaps.example.org%2Ftoynbee",
        "https%3A%2F%2Fmeet.example.org%2Fthe-way-ahead",
    ]
    assert all(h.startswith(base) for h in hrefs)  # nothing links anywhere else


def test_barrier_answers_are_shown_prominently_in_follow_ups(
    spec: CampaignSpec, settings: Settings
) -> None:
    answer = spec.barrier_answers["childcare"]
    [follow_up] = render_emails(spec, settings, 2, [_recipient(5, "en")], barrier_answers=[answer])
    [first] = render_emails(spec, settings, 1, [_recipient(5, "en")])
    assert "You told us what makes it hard to take part" in follow_up.text
    # The answer comes before the event details, not buried in the footer.
    assert follow_up.text.index(answer) < follow_up.text.index("When:")
    assert answer in follow_up.html
    assert answer not in first.text and "You told us" not in first.html


def test_many_personalised_emails_compile_each_template_once_per_language(
    spec: CampaignSpec, settings: Settings, translated: dict
) -> None:
    # `translated` pins the catalogs: a PO file edited mid-test would rightly give a new
    # environment (fresh translations), which is not what this test is about.
    environment.clear_cache()
    languages = ["en", "zh", "ar"]
    recipients = [_recipient(i, languages[i % 3], name=f"Person {i}") for i in range(1500)]
    messages = render_emails(spec, settings, 1, recipients)

    assert len(messages) == 1500
    assert len({m.token for m in messages}) == 1500  # personalised: one token each
    assert all(f"Person {i}" in m.text.split("\n", 1)[0] for i, m in enumerate(messages))
    for language in languages:
        loads = environment.template_env(language, spec.id).loader.loads  # type: ignore[union-attr]
        assert loads == {
            "email/invitation.html": 1,
            "email/invitation.txt": 1,
            "email/subject.txt": 1,
        }
    # A second batch (the next chunk of the same wave) compiles nothing new.
    render_emails(spec, settings, 1, recipients[:300])
    assert environment.total_compilations() == 9


def test_fallback_language_is_said_not_silent(spec: CampaignSpec, settings: Settings) -> None:
    fell_back = EmailRecipient(4, 4, "Ana", "ana@example.org", "en", fallback_from="pt")
    [message, normal] = render_emails(spec, settings, 1, [fell_back, _recipient(5, "en")])
    note = "This invitation is not yet available in Português."
    assert note in message.text and note in message.html
    assert "not yet available" not in normal.text


@pytest.mark.parametrize("name", ["", "Zoë <O'Brien> & co"])
def test_names_are_escaped_or_omitted(spec: CampaignSpec, settings: Settings, name: str) -> None:
    [message] = render_emails(spec, settings, 1, [_recipient(9, "en", name=name)])
    if name:
        assert "Zoë &lt;O'Brien&gt; &amp; co" in message.html
        assert "<O'Brien>" not in message.html
        assert f"Dear {name}," in message.text
    else:
        assert "Hello," in message.text and "Dear" not in message.text


@pytest.mark.parametrize("language", ["en", "ar", "zh"])
def test_emails_filled_from_one_render_per_language_match_a_full_render(
    spec: CampaignSpec, settings: Settings, translated: dict, language: str
) -> None:
    # Each language's email is rendered once with placeholders and filled in per person;
    # what people receive must be what rendering the templates for them gives.
    from outreach.channels.email import _LanguageKit

    names = ["Ana", "Zoë Ó Súilleabháin", 'O\'Brien & <Co> "Ltd"', "", "李小龙", "ليلى"]
    recipients = [
        EmailRecipient(i, i, name, f"p{i}@example.org", language, fallback_from=fallback)
        for i, (name, fallback) in enumerate(
            (name, fallback) for name in names for fallback in (None, "pt")
        )
    ]
    messages = render_emails(spec, settings, 1, recipients, barrier_answers=["Step-free access"])
    kit = _LanguageKit(spec, settings, language)
    for recipient, message in zip(recipients, messages, strict=True):
        wanted = "Português" if recipient.fallback_from else None
        html, text = kit.render_full(recipient.name, message.token, wanted, ["Step-free access"])
        assert message.text == text
        # Entities may be spelt differently (&quot; or "): the same page in a browser.
        assert unescape(message.html) == unescape(html)
        assert "<Co>" not in message.html


def test_a_template_that_changes_the_name_is_rendered_in_full(
    spec: CampaignSpec, settings: Settings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    templates = tmp_path / "templates"
    shutil.copytree(environment.TEMPLATES_DIR, templates)
    text = templates / "email" / "invitation.txt"
    text.write_text(
        text.read_text().replace(
            "{% trans name=name %}Dear {{ name }},{% endtrans %}", "DEAR {{ name|upper }}!"
        )
    )
    monkeypatch.setattr(environment, "TEMPLATES_DIR", templates)
    environment.clear_cache()
    try:
        a, b = render_emails(
            spec, settings, 1, [_recipient(1, "en", "Ana"), _recipient(2, "en", "Bo")]
        )
    finally:
        environment.clear_cache()
    assert "DEAR ANA!" in a.text and "DEAR BO!" in b.text
