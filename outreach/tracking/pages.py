"""What the web pages need: the campaign as stored, Jinja environments per language, Babel dates.

The campaign is read from the store (`Campaign.spec`, the validated spec as launched), so
`outreach serve` needs nothing but the work directory. Environments are cached per
(language, campaign): each compiles a template once.

```python
pages = Pages(store)
view = pages.campaign("the-way-ahead")          # CampaignView, cached for a minute
html = pages.render("rsvp.html", "ar", view, form=...)   # <html lang="ar" dir="rtl">
```
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from sqlalchemy import select

from outreach.campaign import Event
from outreach.store import Store
from outreach.store.models import Campaign, Group
from outreach.tracking import _deps

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "web"
_SPEC_TTL = 60.0  # seconds a campaign stays cached (a relaunch updates the spec)


@dataclass(frozen=True)
class GroupChoice:
    value: str
    label: str
    lang: str = ""  # set when the label is a language's own name, written in that language
    short: str = ""  # a language-neutral form of the value ("15–64", "65+") for age bands


@dataclass(frozen=True)
class Dimension:
    name: str
    groups: tuple[GroupChoice, ...]


@dataclass(frozen=True)
class CampaignView:
    """The parts of a stored campaign the pages and redirects use (no personal data)."""

    id: str
    title: str
    source_language: str
    event: Event
    organisation: str
    barrier_answers: dict[str, str] = field(default_factory=dict)
    dimensions: tuple[Dimension, ...] = ()
    target_languages: tuple[str, ...] = ()

    def owned_urls(self) -> set[str]:
        """External URLs this campaign may redirect to (besides its own RSVP page)."""
        return {u for u in (self.event.online_url, self.event.venue.map_url) if u}

    def group_values(self) -> set[str]:
        return {f"{d.name}:{g.value}" for d in self.dimensions for g in d.groups}


def babel_locale(lang: str, region: str = "") -> Locale:
    """The CLDR locale for a language as used in `region` (en + GB -> en_GB), else the language."""
    lang = lang.replace("-", "_")
    for candidate in (f"{lang}_{region.upper()}" if region and "_" not in lang else "", lang, "en"):
        if not candidate:
            continue
        try:
            return Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en")


def _age_short(value: str) -> str:
    """'15-64' -> '15–64', '65-plus' -> '65+': readable in any language when the label is not."""
    text = value.replace("-plus", "+").replace("plus", "+")
    return text.replace("-", "–") if any(ch.isdigit() for ch in text) else ""


def _native_name(code: str) -> str | None:
    info = _deps.language_info(code)
    native = getattr(info, "native_name", "")
    return native if native and native != code else None


def format_when(event: Event, lang: str, region: str = "") -> str:
    """'Thursday 20 May 2027, 18:30–20:30' in the language, in the event's time zone."""
    zone = ZoneInfo(event.timezone)
    start: datetime = event.start.astimezone(zone)
    end: datetime = event.end.astimezone(zone)
    locale = babel_locale(lang, region)
    day = format_date(start, format="full", locale=locale)
    first = format_time(start, format="short", locale=locale)
    last = format_time(end, format="short", locale=locale)
    if end.date() != start.date():
        return f"{day} {first} – {format_date(end, format='full', locale=locale)} {last}"
    return f"{day}, {first}–{last}"


class Pages:
    """Campaign views and per-language template environments for the web app."""

    def __init__(self, store: Store, templates: Path = TEMPLATES, *, region: str = "") -> None:
        self.store = store
        self.region = region  # dates follow local conventions: en in GB is en_GB
        self._loader = jinja2.FileSystemLoader(str(templates))
        self._envs: dict[tuple[str, str | None], tuple[Any, jinja2.Environment]] = {}
        self._campaigns: dict[str, tuple[float, CampaignView | None]] = {}
        self._lock = threading.Lock()

    # -- campaigns -------------------------------------------------------------------
    def campaign(self, campaign_id: str) -> CampaignView | None:
        """The stored campaign, or None if it is not in the store."""
        cached = self._campaigns.get(campaign_id)
        if cached and time.monotonic() - cached[0] < _SPEC_TTL:
            return cached[1]
        view = self._load(campaign_id)
        if view is not None:  # a campaign launched a moment from now must not stay a 404
            self._campaigns[campaign_id] = (time.monotonic(), view)
        return view

    def _load(self, campaign_id: str) -> CampaignView | None:
        with self.store.session() as session:
            row = session.get(Campaign, campaign_id)
            if row is None:
                return None
            spec: dict[str, Any] = dict(row.spec or {})
            groups = session.execute(
                select(Group.dimension, Group.value, Group.label)
                .where(Group.campaign_id == campaign_id)
                .order_by(Group.dimension, Group.value)
            ).all()
            title, source_language = row.title, row.source_language
        try:
            event = Event.model_validate(spec["event"])
        except (KeyError, ValueError):
            return None
        audience = spec.get("audience") or {}
        wanted = list(audience.get("dimensions") or sorted({g[0] for g in groups}))
        by_dimension: dict[str, list[GroupChoice]] = {}
        for dimension, value, label in groups:
            native = _native_name(value) if dimension == "language" else None
            # People recognise their language by its own name: "العربية", not "Arabic".
            if native:
                choice = GroupChoice(value, native, lang=value)
            else:
                choice = GroupChoice(value, label or value, short=_age_short(value))
            by_dimension.setdefault(dimension, []).append(choice)
        dimensions = tuple(
            Dimension(name, tuple(by_dimension[name])) for name in wanted if name in by_dimension
        )
        sender = spec.get("sender") or {}
        return CampaignView(
            id=campaign_id,
            title=title,
            source_language=source_language,
            event=event,
            organisation=sender.get("organisation") or sender.get("name") or title,
            barrier_answers=dict(spec.get("barrier_answers") or {}),
            dimensions=dimensions,
            target_languages=tuple(spec.get("target_languages") or ()),
        )

    # -- templates -------------------------------------------------------------------
    def env(self, lang: str, campaign_id: str | None) -> jinja2.Environment:
        """The environment for a language, rebuilt when its catalogs change on disk.

        i18n caches translations per (language, campaign) and hands out a new object when
        a PO file changes, so a reviewed translation shows without restarting the server.
        """
        key = (lang, campaign_id)
        translations = _deps.get_translations(lang, campaign_id)
        cached = self._envs.get(key)
        if cached is not None and cached[0] is translations:
            return cached[1]
        with self._lock:
            cached = self._envs.get(key)
            if cached is not None and cached[0] is translations:
                return cached[1]
            env = jinja2.Environment(
                loader=self._loader,
                autoescape=True,
                undefined=jinja2.StrictUndefined,
                extensions=["jinja2.ext.i18n"],
                auto_reload=False,
            )
            env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
            # Campaign strings (title, venue, barrier answers) are plain text from the
            # spec: translated, then escaped like any other value.
            env.filters["tr"] = lambda text: translations.gettext(str(text)) if text else ""
            self._envs[key] = (translations, env)
        return env

    def render(self, template: str, lang: str, view: CampaignView | None, **context: Any) -> str:
        info = _deps.language_info(lang)
        env = self.env(lang, view.id if view else None)
        base = {
            "lang": lang,
            "dir": info.direction,
            "font": info.font_family,
        }
        if view is not None:
            base.update(
                event=view.event,
                when=format_when(view.event, lang, self.region),
                source_language=view.source_language,
            )
        return env.get_template(template).render(**base, **context)
