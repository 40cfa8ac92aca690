"""The one small interface every channel implements, and what channels share.

Shaped after listmonk's `Messenger` (a name and a few verbs) and rapidpro's `ChannelType`
(a type object that knows its name, validates its own configuration, and renders): a
`Channel` has a `name`, a `validate` step that returns every problem it can find before
anything is rendered for real, and a `render` step for one language.

```python
from outreach.channels.base import channel_types

for channel in channel_types().values():
    if channel.enabled(spec):
        problems += channel.validate(spec, settings)
```

`Artifact` is what material channels (radio, flyer, partner pack) render: bytes and where
they go; `materials.render_materials` writes and records them. Email renders `Message`s.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time

from outreach.campaign import CampaignSpec
from outreach.problems import Problem
from outreach.settings import Settings
from outreach.tracking.tokens import TokenPayload, TokenSigner


@dataclass(frozen=True)
class Artifact:
    """One rendered file of a material channel, before it is written."""

    channel: str
    kind: str  # flyer-a4, radio-30s-txt, pack, ...
    language: str
    placement: str  # partner or distribution point id, '' for general
    relpath: str  # relative to the wave's materials folder
    data: bytes
    short_code: str | None = None
    description: str = ""  # one line for the materials README


class Channel(ABC):
    """A channel type: a name, a validation step, a render step."""

    name: ClassVar[str]

    def enabled(self, spec: CampaignSpec) -> bool:
        return bool(getattr(spec.channels, self.name).enabled)

    @abstractmethod
    def validate(self, spec: CampaignSpec, settings: Settings) -> list[Problem]:
        """Every problem this channel can see before rendering for real (all at once)."""

    @abstractmethod
    def render(
        self, spec: CampaignSpec, settings: Settings, wave: int, language: str, **options: Any
    ) -> list[Any]:
        """Render for one language: `Message`s (email) or `Artifact`s (materials)."""


def channel_types() -> dict[str, Channel]:
    """One instance of every channel type, by name (imported lazily: no import cycles)."""
    from outreach.channels.email import EmailChannel
    from outreach.channels.flyer import FlyerChannel
    from outreach.channels.partner_pack import PartnerPackChannel
    from outreach.channels.radio import RadioChannel

    return {
        channel.name: channel
        for channel in (EmailChannel(), RadioChannel(), FlyerChannel(), PartnerPackChannel())
    }


def signer(settings: Settings) -> TokenSigner:
    return TokenSigner(settings.secret_key_value())


def sign(settings: Settings, payload: TokenPayload) -> str:
    return signer(settings).sign(payload)


def babel_locale(lang: str) -> Locale:
    """Babel locale for dates; plain `en` means British English (the product's home)."""
    if lang == "en":
        lang = "en_GB"
    try:
        return Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def event_facts(spec: CampaignSpec, lang: str) -> dict[str, Any]:
    """Date and times of the event written the way `lang` writes them, in the event's zone."""
    locale = babel_locale(lang)
    start: datetime = spec.event.start.astimezone(spec.zone)
    end: datetime = spec.event.end.astimezone(spec.zone)
    return {
        "date": format_date(start.date(), format="full", locale=locale),
        "start_time": format_time(start, format="short", locale=locale),
        "end_time": format_time(end, format="short", locale=locale),
        "organisation": spec.sender.organisation or spec.sender.name,
        "address": spec.sender.postal_address,
    }


def tidy_text(text: str) -> str:
    """Plain-text output: no trailing spaces, at most one blank line between paragraphs."""
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def source_path(spec: CampaignSpec) -> str:
    return str(spec.spec_path) if spec.spec_path else f"{spec.id}.yaml"
