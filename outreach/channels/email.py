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

import base64
import mimetypes
import quopri
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

import css_inline
import icalendar

from outreach.campaign import CampaignSpec
from outreach.channels import _i18n
from outreach.channels.base import Channel, event_facts, signer, tidy_text
from outreach.channels.environment import template_env
from outreach.channels.links import click_url, rsvp_url, unsubscribe_url
from outreach.message import Attachment, Message
from outreach.problems import Problem
from outreach.settings import Settings
from outreach.tracking.tokens import TokenPayload

HTML_TEMPLATE = "email/invitation.html"
TEXT_TEMPLATE = "email/invitation.txt"
SUBJECT_TEMPLATE = "email/subject.txt"
ICS_FILENAME = "invitation.ics"
ICS_CONTENT_TYPE = "text/calendar; charset=utf-8; method=PUBLISH"

# Long unbreakable header values (List-Unsubscribe's URL) must not be folded or encoded:
# mail clients need the URL verbatim. RFC 5322 allows lines up to 998 characters.
FAST_POLICY = email_policy.compat32.clone(max_line_length=998)

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


class _LanguageKit:
    """Everything per language that is rendered once and reused for every contact."""

    def __init__(self, spec: CampaignSpec, language: str) -> None:
        env = template_env(language, spec.id)
        self.html = env.get_template(HTML_TEMPLATE)
        self.text = env.get_template(TEXT_TEMPLATE)
        self.facts = event_facts(spec, language)
        base = {"spec": spec, "facts": self.facts}
        if spec.channels.email.subject:
            self.subject = env.globals["gettext"](spec.channels.email.subject)
        else:
            self.subject = env.get_template(SUBJECT_TEMPLATE).render(base).strip()
        self.ics = Attachment(ICS_FILENAME, ICS_CONTENT_TYPE, build_ics(spec, language))


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
    """One personalised `Message` per recipient, in order; templates compiled per language."""
    tokens = signer(settings)
    kits: dict[str, _LanguageKit] = {}
    answers = list(barrier_answers)
    messages: list[Message] = []
    for recipient in recipients:
        kit = kits.get(recipient.language)
        if kit is None:
            kit = kits[recipient.language] = _LanguageKit(spec, recipient.language)
        token = tokens.sign(
            TokenPayload(
                campaign=spec.id,
                wave=wave,
                channel="email",
                language=recipient.language,
                delivery=recipient.delivery_id,
            )
        )
        context: dict[str, Any] = {
            "spec": spec,
            "facts": kit.facts,
            "name": recipient.name,
            "wanted_language": _native_name(recipient.fallback_from),
            "barrier_answers": answers,
            "rsvp_url": rsvp_url(settings, token),
            "unsubscribe_url": unsubscribe_url(settings, token),
            "online_link": click_url(settings, token, spec.event.online_url)
            if spec.event.online_url
            else None,
            "map_link": click_url(settings, token, spec.event.venue.map_url)
            if spec.event.venue.map_url
            else None,
        }
        unsubscribe = context["unsubscribe_url"]
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
                html=inline_css(kit.html.render(context)),
                text=tidy_text(kit.text.render(context)),
                token=token,
                headers={
                    "Content-Language": recipient.language,
                    "X-Outreach-Campaign": spec.id,
                    "X-Outreach-Wave": str(wave),
                    "X-Outreach-Delivery": str(recipient.delivery_id),
                    "List-Unsubscribe": f"<{unsubscribe}>",
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


def _split_type(content_type: str) -> tuple[str, str, dict[str, str]]:
    main, _, rest = content_type.partition(";")
    maintype, _, subtype = main.strip().partition("/")
    params = {}
    for part in rest.split(";"):
        key, eq, value = part.strip().partition("=")
        if eq and key.lower() != "charset":
            params[key.strip()] = value.strip().strip('"')
    return maintype or "application", subtype or "octet-stream", params


def _header_text(value: str) -> str:
    """RFC 2047-encode a header value only when it is not plain ASCII (names, subjects)."""
    if value.isascii():
        return value
    return Header(value, "utf-8", maxlinelen=76).encode()


def _leaf(content_type: str, payload: str, encoding: str, **headers: str) -> EmailMessage:
    part = EmailMessage(policy=FAST_POLICY)
    part["Content-Type"] = content_type
    part["Content-Transfer-Encoding"] = encoding
    for key, value in headers.items():
        part[key.replace("_", "-")] = value
    part.set_payload(payload)
    return part


def _quoted_printable(text: str) -> str:
    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


def to_mime(message: Message) -> EmailMessage:
    """A standard `EmailMessage`: text + HTML alternatives, then the attachments.

    Structure: multipart/mixed [ multipart/alternative [text/plain, text/html], .ics, ... ]
    (just multipart/alternative when there are no attachments). Built part by part with
    pre-encoded bodies (quoted-printable text, base64 attachments) under the `compat32`
    header policy: the same bytes as `set_content` would give, several times faster, which
    matters when delivery serialises thousands of messages.
    """
    text = _leaf('text/plain; charset="utf-8"', _quoted_printable(message.text), "quoted-printable")
    html = _leaf('text/html; charset="utf-8"', _quoted_printable(message.html), "quoted-printable")
    alternative = EmailMessage(policy=FAST_POLICY)
    alternative["Content-Type"] = "multipart/alternative"
    alternative.set_payload([text, html])
    if message.attachments:
        mime = EmailMessage(policy=FAST_POLICY)
        mime["Content-Type"] = "multipart/mixed"
        parts = [alternative]
        for attachment in message.attachments:
            maintype, subtype, params = _split_type(
                attachment.content_type
                or mimetypes.guess_type(attachment.filename)[0]
                or "application/octet-stream"
            )
            content_type = f"{maintype}/{subtype}"
            if maintype == "text":
                content_type += '; charset="utf-8"'
            for key, value in params.items():
                content_type += f"; {key}={value}"
            content_type += f'; name="{attachment.filename}"'
            parts.append(
                _leaf(
                    content_type,
                    base64.encodebytes(attachment.data).decode("ascii"),
                    "base64",
                    Content_Disposition=f'attachment; filename="{attachment.filename}"',
                )
            )
        mime.set_payload(parts)
    else:
        mime = alternative
    top = {
        "From": formataddr((message.from_name, message.from_address), charset="utf-8"),
        "To": formataddr((message.to_name, message.to_address), charset="utf-8"),
        "Subject": _header_text(message.subject),
        "Reply-To": message.reply_to,
        "Date": format_datetime(datetime.now(UTC)),
        "Message-ID": make_msgid(domain=message.from_address.rpartition("@")[2] or None),
        "MIME-Version": "1.0",
        **{key: _header_text(value) for key, value in message.headers.items()},
    }
    content_type = mime["Content-Type"]
    del mime["Content-Type"]
    for key, value in top.items():
        if value:
            mime[key] = value
    mime["Content-Type"] = content_type
    return mime


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
