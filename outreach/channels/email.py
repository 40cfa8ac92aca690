"""Email: per-contact personalised HTML and plain text, one compiled template per language.

```python
from outreach.channels.email import EmailRecipient, render_emails, to_mime

messages = render_emails(spec, settings, wave=1, recipients=[
    EmailRecipient(delivery_id=7, contact_pk=3, name="Ana", email="ana@example.org",
                   language="es"),
])
to_mime(messages[0]).as_bytes()     # multipart/alternative (text + HTML) + invitation.ics
```

Every message carries `Content-Language`, `X-Outreach-Campaign`, `X-Outreach-Wave` (ids
only), `List-Unsubscribe` with a signed one-click URL and `List-Unsubscribe-Post:
List-Unsubscribe=One-Click` (RFC 8058). Links go through the tracked redirect only for URLs
the campaign owns (online meeting, map); the RSVP link carries the delivery's own token.
The `.ics` invitation is built once per language (UID stable per campaign), CSS is inlined
with `css_inline` so it survives clients that strip `<style>`.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import css_inline
import icalendar

from outreach.campaign import CampaignSpec
from outreach.channels import _i18n
from outreach.channels.base import Channel, event_facts, signer, tidy_text
from outreach.channels.environment import template_env
from outreach.channels.links import click_url, rsvp_url, unsubscribe_url
from outreach.delivery.mime import to_mime as to_mime  # public here too (previews)
from outreach.message import Attachment, Message
from outreach.problems import Problem
from outreach.settings import Settings
from outreach.tracking.tokens import TokenPayload

HTML_TEMPLATE = "email/invitation.html"
TEXT_TEMPLATE = "email/invitation.txt"
SUBJECT_TEMPLATE = "email/subject.txt"
ICS_FILENAME = "invitation.ics"
ICS_CONTENT_TYPE = "text/calendar; charset=utf-8; method=PUBLISH"

# One inliner for the process: it is stateless and thread-safe.
_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


@dataclass(frozen=True)
class EmailRecipient:
    """One ledger row to render. Holds personal data: never log or return it."""

    delivery_id: int
    contact_pk: int
    name: str
    email: str
    language: str
    fallback_from: str | None = None


def event_uid(spec: CampaignSpec) -> str:
    """Stable per campaign: calendars update one entry instead of adding duplicates."""
    return f"{spec.id}@outreach"


def build_ics(spec: CampaignSpec, language: str) -> bytes:
    """The calendar invitation in `language`: one VEVENT in the event's own time zone."""
    translations = _i18n.translations(language, spec.id)
    gettext = translations.gettext
    venue = spec.event.venue
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Outreach//Campaign invitation//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", event_uid(spec))
    event.add("dtstamp", datetime.now(UTC).replace(microsecond=0))
    event.add("dtstart", spec.event.start.astimezone(spec.zone))
    event.add("dtend", spec.event.end.astimezone(spec.zone))
    event.add("summary", gettext(spec.event.title))
    description = [gettext(spec.event.description)] if spec.event.description else []
    description.append(gettext(venue.access))
    event.add("description", "\n\n".join(description))
    event.add("location", f"{gettext(venue.name)}, {venue.address}")
    if spec.event.online_url:
        event.add("url", spec.event.online_url)
    organiser = icalendar.vCalAddress(f"mailto:{spec.sender.email}")
    organiser.params["cn"] = icalendar.vText(spec.sender.organisation or spec.sender.name)
    event.add("organizer", organiser)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def inline_css(html: str) -> str:
    """Move `<style>` rules into `style=` attributes (clients such as Gmail drop `<style>`)."""
    return _INLINER.inline(html)


# Placeholders for the two personal values, made only of letters and digits so that no
# escaping, CSS inlining or text tidying can change them (random per process, so no
# template text can contain them by accident).
_NAME = f"OUTREACHNAME{secrets.token_hex(8)}Q"
_TOKEN = f"OUTREACHTOKEN{secrets.token_hex(8)}Q"
# What a skeleton is checked with: a real-looking name and token that need no escaping.
_PROBE_NAME = "Ana María Lima"
_PROBE_TOKEN = "eyJjIjoicHJvYmUifQ.probe-Token_9"


def _html_text(value: str) -> str:
    """Escape a name for HTML text or a double-quoted attribute, as the CSS inliner writes
    them (it leaves apostrophes alone, so O'Brien stays readable in the source)."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\xa0", "&nbsp;")
    )


@dataclass(frozen=True)
class _Skeleton:
    """An email rendered once with placeholders for the name and the token."""

    html: str
    text: str

    def fill(self, name: str, token: str) -> tuple[str, str]:
        html = self.html.replace(_NAME, _html_text(name)).replace(_TOKEN, token)
        return html, self.text.replace(_NAME, name).replace(_TOKEN, token)


class _LanguageKit:
    """Everything per language that is rendered once and reused for every contact.

    Rendering the templates, inlining CSS and tidying the text costs about a millisecond
    per email, which is most of a million-contact wave. Only the name and the token differ
    between two people with the same language, fallback note and barrier answers, so the
    kit renders each such variant once with placeholders (a *skeleton*) and fills it in
    per person. A template that does more with the name than print it (`name|upper`) would
    make filling wrong, so each skeleton is first checked against a full render of a probe
    person; if they differ, that variant is rendered in full for everyone.
    """

    def __init__(self, spec: CampaignSpec, settings: Settings, language: str) -> None:
        env = self.env = template_env(language, spec.id)
        self.spec = spec
        self.settings = settings
        self.html = env.get_template(HTML_TEMPLATE)
        self.text = env.get_template(TEXT_TEMPLATE)
        self.facts = event_facts(spec, language)
        base = {"spec": spec, "facts": self.facts}
        if spec.channels.email.subject:
            self.subject = env.globals["gettext"](spec.channels.email.subject)
        else:
            self.subject = env.get_template(SUBJECT_TEMPLATE).render(base).strip()
        self.ics = Attachment(ICS_FILENAME, ICS_CONTENT_TYPE, build_ics(spec, language))
        self._skeletons: dict[tuple[bool, str | None, tuple[str, ...]], _Skeleton | None] = {}

    def render(
        self, name: str, token: str, wanted: str | None, answers: list[str]
    ) -> tuple[str, str]:
        """(inlined HTML, tidy text) for one person."""
        key = (bool(name), wanted, tuple(answers))
        if key not in self._skeletons:
            self._skeletons[key] = self._skeleton(bool(name), wanted, answers)
        skeleton = self._skeletons[key]
        if skeleton is None:
            return self.render_full(name, token, wanted, answers)
        return skeleton.fill(name, token)

    def render_full(
        self, name: str, token: str, wanted: str | None, answers: list[str]
    ) -> tuple[str, str]:
        settings, spec = self.settings, self.spec
        online, venue_map = spec.event.online_url, spec.event.venue.map_url
        context: dict[str, Any] = {
            "spec": spec,
            "facts": self.facts,
            "name": name,
            "wanted_language": wanted,
            "barrier_answers": answers,
            "rsvp_url": rsvp_url(settings, token),
            "unsubscribe_url": unsubscribe_url(settings, token),
            "online_link": click_url(settings, token, online) if online else None,
            "map_link": click_url(settings, token, venue_map) if venue_map else None,
        }
        return inline_css(self.html.render(context)), tidy_text(self.text.render(context))

    def _skeleton(self, named: bool, wanted: str | None, answers: list[str]) -> _Skeleton | None:
        skeleton = _Skeleton(*self.render_full(_NAME if named else "", _TOKEN, wanted, answers))
        probe = _PROBE_NAME if named else ""
        if skeleton.fill(probe, _PROBE_TOKEN) != self.render_full(
            probe, _PROBE_TOKEN, wanted, answers
        ):
            return None
        return skeleton


# Kits live as long as the process (a wave's batches run in the same worker): building one
# (templates, dates in the language, the .ics with its time zone) costs 80 ms, more than
# rendering a thousand emails from it. The key changes whenever what the kit shows could:
# the spec's content, the template environment (a new one when a PO file changes on disk
# or templates are reloaded) and the public URL.
_KITS: dict[tuple[object, ...], _LanguageKit] = {}
_KITS_LOCK = threading.Lock()
_MAX_KITS = 256


def _kit(spec: CampaignSpec, settings: Settings, language: str, fingerprint: str) -> _LanguageKit:
    env = template_env(language, spec.id)
    # The environment itself is in the key (compared by identity): a new one is a new kit.
    key = (spec.id, fingerprint, language, env, settings.public_url)
    kit = _KITS.get(key)
    if kit is None:
        kit = _LanguageKit(spec, settings, language)
        with _KITS_LOCK:
            if len(_KITS) >= _MAX_KITS:
                _KITS.clear()
            _KITS[key] = kit
    return kit


def _fingerprint(spec: CampaignSpec) -> str:
    return hashlib.sha256(spec.model_dump_json().encode("utf-8")).hexdigest()


def _native_name(code: str | None) -> str | None:
    """How a language names itself (so the reader recognises it), for the fallback note."""
    if not code:
        return None
    try:
        return _i18n.language_info(code).native_name
    except KeyError:
        return code


def render_emails(
    spec: CampaignSpec,
    settings: Settings,
    wave: int,
    recipients: Sequence[EmailRecipient],
    *,
    barrier_answers: Sequence[str] = (),
) -> list[Message]:
    """One personalised `Message` per recipient, in order; templates compiled per language
    and rendered once per variant (see `_LanguageKit`)."""
    tokens = signer(settings)
    kits: dict[str, _LanguageKit] = {}
    fingerprint = _fingerprint(spec)
    answers = list(barrier_answers)
    messages: list[Message] = []
    for recipient in recipients:
        kit = kits.get(recipient.language)
        if kit is None:
            kit = kits[recipient.language] = _kit(spec, settings, recipient.language, fingerprint)
        token = tokens.sign(
            TokenPayload(
                campaign=spec.id,
                wave=wave,
                channel="email",
                language=recipient.language,
                delivery=recipient.delivery_id,
            )
        )
        html, text = kit.render(
            recipient.name, token, _native_name(recipient.fallback_from), answers
        )
        messages.append(
            Message(
                delivery_id=recipient.delivery_id,
                campaign_id=spec.id,
                wave=wave,
                channel="email",
                language=recipient.language,
                to_address=recipient.email,
                to_name=recipient.name,
                from_address=spec.sender.email,
                from_name=spec.sender.name,
                reply_to=spec.sender.reply_to,
                subject=kit.subject,
                html=html,
                text=text,
                token=token,
                headers={
                    "Content-Language": recipient.language,
                    "X-Outreach-Campaign": spec.id,
                    "X-Outreach-Wave": str(wave),
                    "X-Outreach-Delivery": str(recipient.delivery_id),
                    "List-Unsubscribe": f"<{unsubscribe_url(settings, token)}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
                attachments=[kit.ics],
            )
        )
    return messages


def render_partner_pack_email(
    spec: CampaignSpec,
    settings: Settings,
    wave: int,
    partner_id: str,
    partner_name: str,
    partner_email: str,
    language: str,
    pack_path: Any,
    *,
    delivery_id: int,
) -> Message:
    """The message that delivers a partner's pack (the zip attached); delivery sends it."""
    from outreach.channels.partner_pack import render_pack_email

    return render_pack_email(
        spec,
        settings,
        wave,
        partner_id,
        partner_name,
        partner_email,
        language,
        pack_path,
        delivery_id=delivery_id,
    )


class EmailChannel(Channel):
    """The email channel type (see module docs)."""

    name = "email"

    def validate(self, spec: CampaignSpec, settings: Settings) -> list[Problem]:
        from outreach.channels.checks import check_templates

        return check_templates(spec, settings, "email")

    def render(
        self, spec: CampaignSpec, settings: Settings, wave: int, language: str, **options: Any
    ) -> list[Message]:
        recipients = [r for r in options.get("recipients", ()) if r.language == language]
        return render_emails(
            spec, settings, wave, recipients, barrier_answers=options.get("barrier_answers", ())
        )
