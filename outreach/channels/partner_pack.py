"""Partner packs: one zip per partner, in the partner's languages, and the email that sends it.

```python
from outreach.channels.partner_pack import PartnerInfo, build_pack

pack = build_pack(spec, settings, wave=1, partner=PartnerInfo("betar-fm", "Betar FM",
                  "radio", ["bn", "en"], "studio@betar.example"),
                  code_for=lambda payload: issue_code(store, payload),
                  radio_files=[("radio/bn/spot-30s.txt", b"...")])
pack.data          # zip: guide-bn.pdf, flyers/<lang>/..., text/<lang>/..., radio/...
```

Everything in a pack is tracked as the partner's: flyers and copy carry a token naming the
`partner_pack` channel, the language and the partner, with a short code per language
(radio scripts keep the station's own `radio` codes). The one-page guide, in the partner's
first language, lists every code and what it is for.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outreach.campaign import CampaignSpec
from outreach.channels import _i18n
from outreach.channels.base import Artifact, Channel, event_facts, sign, signer, tidy_text
from outreach.channels.environment import template_env
from outreach.channels.flyer import FlyerEdition, render_flyer
from outreach.channels.links import rsvp_url, unsubscribe_url
from outreach.channels.pdf import html_to_pdf
from outreach.message import Attachment, Message
from outreach.problems import Problem
from outreach.settings import Settings
from outreach.tracking.tokens import TokenPayload

ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed, so unchanged content gives an unchanged zip


@dataclass(frozen=True)
class PartnerInfo:
    """What a pack needs to know about a partner (no personal data beyond the org's email)."""

    partner_id: str
    name: str
    kind: str
    languages: list[str]
    email: str | None = None

    @property
    def is_station(self) -> bool:
        return self.kind.strip().lower() == "radio"


def split_languages(text: str | None) -> list[str]:
    """'bn;en' or 'bn, en' -> ['bn', 'en']."""
    if not text:
        return []
    return [part.strip() for part in text.replace(",", ";").split(";") if part.strip()]


def pack_languages(
    spec: CampaignSpec, partner_languages: Sequence[str], only: Sequence[str] | None = None
) -> list[str]:
    """The partner's languages the campaign speaks, in the partner's order.

    A partner with none of them gets the campaign's source language.
    """
    allowed = [lang for lang in spec.target_languages if only is None or lang in only]
    chosen = [lang for lang in partner_languages if lang in allowed]
    if not chosen and (only is None or spec.source_language in only):
        chosen = [spec.source_language]
    return list(dict.fromkeys(chosen))


def _zip(files: Sequence[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def guide_html(
    spec: CampaignSpec,
    language: str,
    partner_name: str,
    has_radio: bool,
    codes: Sequence[dict[str, str]],
) -> str:
    """The one-page guide to a pack, listing its tracking codes (what the PDF shows)."""
    rows = [
        {**row, "language_name": _i18n.language_info(row["language"]).native_name} for row in codes
    ]
    template = template_env(language, spec.id).get_template("partner_pack/guide.html")
    return template.render(
        spec=spec,
        facts=event_facts(spec, language),
        partner_name=partner_name,
        has_radio=has_radio,
        codes=rows,
        reply_email=spec.sender.reply_to or spec.sender.email,
    )


def copy_texts(
    spec: CampaignSpec, settings: Settings, payload: TokenPayload, code: str
) -> dict[str, str]:
    """Ready-to-paste email and social-media text for one language of a pack."""
    env = template_env(payload.language, spec.id)
    context = {
        "spec": spec,
        "facts": event_facts(spec, payload.language),
        "code": code,
        "rsvp_url": rsvp_url(settings, sign(settings, payload)),
        "reply_email": spec.sender.reply_to or spec.sender.email,
    }
    return {
        name: tidy_text(env.get_template(template).render(context))
        for template, name in (
            ("partner_pack/email_copy.txt", "email-text"),
            ("partner_pack/social.txt", "social-media"),
        )
    }


def build_pack(
    spec: CampaignSpec,
    settings: Settings,
    wave: int,
    partner: PartnerInfo,
    *,
    code_for: Callable[[TokenPayload], str],
    radio_files: Sequence[tuple[str, bytes]] = (),
    radio_codes: Sequence[tuple[str, str]] = (),
    languages: Sequence[str] | None = None,
    relpath: str | None = None,
) -> Artifact:
    """The partner's zip as an `Artifact` (kind `pack`, placement = partner id).

    `radio_files` are (path inside the zip, bytes) of the station's scripts; `radio_codes`
    their (language, code) pairs for the guide.
    """
    langs = pack_languages(spec, partner.languages, languages)
    files: list[tuple[str, bytes]] = list(radio_files)
    codes: list[dict[str, str]] = []
    first_code = ""
    for lang in langs:
        payload = TokenPayload(spec.id, wave, "partner_pack", lang, partner=partner.partner_id)
        code = code_for(payload)
        first_code = first_code or code
        edition = FlyerEdition("flyer-a4", "A4")
        files.append(
            (
                f"flyers/{lang}/flyer-{lang}-a4.pdf",
                render_flyer(spec, settings, payload, code, edition),
            )
        )
        for name, text in copy_texts(spec, settings, payload, code).items():
            files.append((f"text/{lang}/{name}-{lang}.txt", text.encode("utf-8")))
        codes.append(
            {
                "channel": "partner_pack",
                "language": lang,
                "folder": f"flyers/{lang}/ text/{lang}/",
                "code": code,
            }
        )
    for lang, code in radio_codes:
        codes.append(
            {"channel": "radio", "language": lang, "folder": f"radio/{lang}/", "code": code}
        )
    guide_lang = langs[0] if langs else spec.source_language
    html = guide_html(spec, guide_lang, partner.name, bool(radio_files), codes)
    files.append((f"guide-{guide_lang}.pdf", html_to_pdf(html)))
    return Artifact(
        channel="partner_pack",
        kind="pack",
        language=guide_lang,
        placement=partner.partner_id,
        relpath=relpath or f"partner-packs/{partner.partner_id}.zip",
        data=_zip(files),
        short_code=first_code or None,
        description=f"pack for {partner.name} ({', '.join(langs)}): "
        f"{len(files)} files, codes {', '.join(row['code'] for row in codes)}",
    )


def pack_email_parts(
    spec: CampaignSpec,
    settings: Settings,
    wave: int,
    partner_id: str,
    partner_name: str,
    language: str,
    *,
    delivery_id: int | None = None,
    has_radio: bool = True,
) -> dict[str, str]:
    """Subject, HTML, text, token and unsubscribe URL of the pack email."""
    from outreach.channels.email import inline_css

    token = signer(settings).sign(
        TokenPayload(
            spec.id, wave, "partner_pack", language, delivery=delivery_id, partner=partner_id
        )
    )
    env = template_env(language, spec.id)
    context: dict[str, Any] = {
        "spec": spec,
        "facts": event_facts(spec, language),
        "partner_name": partner_name,
        "has_radio": has_radio,
        "reply_email": spec.sender.reply_to or spec.sender.email,
        "unsubscribe_url": unsubscribe_url(settings, token),
    }
    return {
        "subject": env.get_template("partner_pack/pack_subject.txt").render(context).strip(),
        "html": inline_css(env.get_template("partner_pack/pack_email.html").render(context)),
        "text": tidy_text(env.get_template("partner_pack/pack_email.txt").render(context)),
        "token": token,
        "unsubscribe_url": context["unsubscribe_url"],
    }


def render_pack_email(
    spec: CampaignSpec,
    settings: Settings,
    wave: int,
    partner_id: str,
    partner_name: str,
    partner_email: str,
    language: str,
    pack_path: Path | str,
    *,
    delivery_id: int,
) -> Message:
    """The message that delivers a partner's pack, the zip attached (delivery sends it)."""
    path = Path(pack_path)
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        has_radio = any(name.startswith("radio/") for name in archive.namelist())
    parts = pack_email_parts(
        spec,
        settings,
        wave,
        partner_id,
        partner_name,
        language,
        delivery_id=delivery_id,
        has_radio=has_radio,
    )
    return Message(
        delivery_id=delivery_id,
        campaign_id=spec.id,
        wave=wave,
        channel="partner_pack",
        language=language,
        to_address=partner_email,
        to_name=partner_name,
        from_address=spec.sender.email,
        from_name=spec.sender.name,
        reply_to=spec.sender.reply_to,
        subject=parts["subject"],
        html=parts["html"],
        text=parts["text"],
        token=parts["token"],
        headers={
            "Content-Language": language,
            "X-Outreach-Campaign": spec.id,
            "X-Outreach-Wave": str(wave),
            "X-Outreach-Delivery": str(delivery_id),
            "List-Unsubscribe": f"<{parts['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        attachments=[Attachment(f"{spec.id}-{partner_id}-pack.zip", "application/zip", data)],
    )


class PartnerPackChannel(Channel):
    """The partner-pack channel type (see module docs)."""

    name = "partner_pack"

    def validate(self, spec: CampaignSpec, settings: Settings) -> list[Problem]:
        from outreach.channels.checks import check_templates

        return check_templates(spec, settings, "partner_pack")

    def render(
        self, spec: CampaignSpec, settings: Settings, wave: int, language: str, **options: Any
    ) -> list[Artifact]:
        return [
            build_pack(
                spec,
                settings,
                wave,
                options["partner"],
                code_for=options["code_for"],
                languages=[language],
            )
        ]
