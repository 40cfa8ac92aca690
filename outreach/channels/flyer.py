"""Printed flyers: PDF via WeasyPrint, A4 and A5, every language, bilingual and large print.

```python
from outreach.channels.flyer import FlyerEdition, render_flyer

pdf = render_flyer(spec, settings, payload, code="FLYER-7K",
                   edition=FlyerEdition("flyer-a4-bilingual", "A4", bilingual=True))
```

Each flyer carries a QR code (segno, inline SVG) to the signed RSVP URL for its language
and distribution point or partner, and the short code under it for people without a
smartphone. Text is set in the Noto family for its script (`language_info().font_family`);
Arabic and Urdu panels are `dir="rtl"` and right-aligned. The bilingual edition puts the
target language beside the campaign's source language, each panel in its own script.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import segno
from markupsafe import Markup

from outreach.campaign import CampaignSpec
from outreach.channels import _i18n
from outreach.channels.base import Artifact, Channel, event_facts, sign
from outreach.channels.environment import template_env
from outreach.channels.links import rsvp_url
from outreach.channels.pdf import html_to_pdf
from outreach.problems import Problem
from outreach.settings import Settings
from outreach.tracking.tokens import TokenPayload

# Type scale per edition (points; margins, gaps and the QR in millimetres).
SCALES: dict[str, dict[str, float]] = {
    "A4": dict(margin=14, body=13, small=10.5, lead=14, title=32, gap=3, qr=46, code=24),
    "A5": dict(margin=10, body=9.5, small=7.5, lead=10, title=20, gap=1.8, qr=30, code=16),
    "large": dict(margin=12, body=16, small=13, lead=17, title=34, gap=2.5, qr=42, code=26),
    "bilingual": dict(margin=12, body=10.5, small=8.5, lead=11, title=22, gap=2.5, qr=40, code=22),
}


@dataclass(frozen=True)
class FlyerEdition:
    """Which flyer: its material kind, paper size, and whether large print or bilingual."""

    kind: str
    size: str = "A4"
    large_print: bool = False
    bilingual: bool = False

    @property
    def scale(self) -> dict[str, float]:
        if self.large_print:
            return SCALES["large"]
        if self.bilingual:
            return SCALES["bilingual"]
        return SCALES[self.size]

    @property
    def suffix(self) -> str:
        return self.kind.removeprefix("flyer-")


def editions(spec: CampaignSpec, language: str) -> list[FlyerEdition]:
    """The general editions for one language, as the spec asks for them.

    PDF rendering is the slow part, so bilingual and large print come in A4 only.
    """
    flyer = spec.channels.flyer
    out = [FlyerEdition(f"flyer-{size.lower()}", size) for size in flyer.sizes]
    if flyer.large_print:
        out.append(FlyerEdition("flyer-a4-large-print", "A4", large_print=True))
    if flyer.bilingual and language != spec.source_language:
        out.append(FlyerEdition("flyer-a4-bilingual", "A4", bilingual=True))
    return out


def qr_svg(url: str) -> Markup:
    """The QR code as inline SVG (no fixed size: CSS sizes it); error correction M."""
    code = segno.make(url, error="m")
    return Markup(code.svg_inline(omitsize=True, border=2, dark="#000000", light="#ffffff"))


def _panel(spec: CampaignSpec, language: str, context: dict[str, Any]) -> Markup:
    env = template_env(language, spec.id)
    html = env.get_template("flyer/panel.html").render(
        {**context, "facts": event_facts(spec, language)}
    )
    return Markup(html)


def flyer_html(
    spec: CampaignSpec,
    settings: Settings,
    payload: TokenPayload,
    code: str,
    edition: FlyerEdition,
    *,
    qr: bool = True,
) -> str:
    """The flyer as HTML (what `render_flyer` prints), for previews and tests.

    `qr=False` leaves the QR code out (template checks: encoding one takes ~40 ms).
    """
    language = payload.language
    languages = [language]
    if edition.bilingual and spec.source_language != language:
        languages.append(spec.source_language)
    base = {
        "spec": spec,
        "code": code,
        "reply_email": spec.sender.reply_to or spec.sender.email,
        "show_description": not edition.large_print,
        "reply_in_panel": len(languages) > 1,
    }
    panels = [_panel(spec, lang, base) for lang in languages]
    labels: list[dict[str, str]] = []
    for lang in languages:
        info = _i18n.language_info(lang)
        text = template_env(lang, spec.id).get_template("flyer/code_label.txt").render()
        if any(label["text"] == text.strip() for label in labels):
            continue  # untranslated yet: do not print the same words twice
        labels.append(
            {
                "lang": lang,
                "dir": info.direction,
                "font": info.font_family,
                "text": text.strip(),
                "tall": "nastaliq" in info.font_family.lower(),
            }
        )
    url = rsvp_url(settings, sign(settings, payload))
    env = template_env(language, spec.id)
    return env.get_template("flyer/flyer.html").render(
        **base,
        facts=event_facts(spec, language),
        size=f"{edition.size} portrait",
        fs=edition.scale,
        panels=panels,
        code_labels=labels,
        qr_svg=qr_svg(url) if qr else Markup("<svg></svg>"),
    )


def render_flyer(
    spec: CampaignSpec,
    settings: Settings,
    payload: TokenPayload,
    code: str,
    edition: FlyerEdition,
) -> bytes:
    """One flyer as PDF bytes."""
    return html_to_pdf(flyer_html(spec, settings, payload, code, edition))


class FlyerChannel(Channel):
    """The flyer channel type (see module docs)."""

    name = "flyer"

    def validate(self, spec: CampaignSpec, settings: Settings) -> list[Problem]:
        from outreach.channels.checks import check_templates

        return check_templates(spec, settings, "flyer")

    def render(
        self, spec: CampaignSpec, settings: Settings, wave: int, language: str, **options: Any
    ) -> list[Artifact]:
        """Every general edition for `language` (options: `code`, optional `point`)."""
        point = options.get("point")
        payload = TokenPayload(spec.id, wave, "flyer", language, point=point)
        suffix = f"-{point}" if point else ""
        return [
            Artifact(
                channel="flyer",
                kind=edition.kind,
                language=language,
                placement=point or "",
                relpath=f"flyers/{language}/flyer-{language}-{edition.suffix}{suffix}.pdf",
                data=render_flyer(spec, settings, payload, options["code"], edition),
                short_code=options["code"],
            )
            for edition in editions(spec, language)
        ]
