"""What tracking uses from its neighbours, in one place.

- C's `outreach.channels.codes.resolve_code` (short codes such as `RADIO-7K`);
- D's `outreach.delivery.suppressions.suppress` (unsubscribes, bounces, complaints);
- B's `outreach.i18n.catalog.get_translations` and `outreach.i18n.languages.language_info`.

A page must still render for a token whose language has no metadata row or catalog (a
language removed from the campaign after the flyers were printed): such a token gets the
English text, laid out in the script's direction.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from typing import Any

from outreach.channels.codes import resolve_code
from outreach.delivery.suppressions import suppress
from outreach.i18n.catalog import get_translations as _get_translations
from outreach.i18n.languages import language_info as _language_info

__all__ = ["get_translations", "language_info", "resolve_code", "suppress"]


@dataclass(frozen=True)
class _LanguageFallback:
    code: str
    name: str
    native_name: str
    direction: str
    font_family: str
    espeak_voice: str | None = None
    spaced: bool = True


# Scripts written right to left, for unknown codes only (B's languages.csv is the truth).
_RTL = {"ar", "ur", "fa", "he", "ps", "yi", "dv", "sd", "ug", "ckb"}

_PASSTHROUGH = gettext.NullTranslations()  # one object: the web app caches by identity


def get_translations(lang: str, campaign_id: str | None = None) -> gettext.NullTranslations:
    """Template messages + campaign strings; English passthrough for an unknown language."""
    try:
        return _get_translations(lang, campaign_id)
    except (FileNotFoundError, KeyError, LookupError):
        return _PASSTHROUGH


def language_info(code: str) -> Any:
    """B's `LanguageInfo`; an unknown code gets a default in its script's direction."""
    try:
        return _language_info(code)
    except KeyError:
        direction = "rtl" if code.split("-")[0] in _RTL else "ltr"
        return _LanguageFallback(code, code, code, direction, "Noto Sans")
