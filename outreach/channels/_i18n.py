"""Thin adapter over helper B's `outreach.i18n` (catalogs and language metadata).

Channels only need two things from i18n: the gettext translations for a language (template
messages plus the campaign's own strings) and a language's script facts (direction, font,
espeak voice, whether words are separated by spaces). While `outreach.i18n` is not
importable (it is built in parallel), English passthrough and a small built-in table keep
the channels usable; as soon as it exists, it is the only source.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass


@dataclass(frozen=True)
class _FallbackInfo:
    code: str
    name: str
    native_name: str
    direction: str
    font_family: str
    espeak_voice: str | None
    spaced: bool


_FALLBACK = {
    "en": _FallbackInfo("en", "English", "English", "ltr", "Noto Sans", "en-gb", True),
    "es": _FallbackInfo("es", "Spanish", "Español", "ltr", "Noto Sans", "es", True),
    "pl": _FallbackInfo("pl", "Polish", "Polski", "ltr", "Noto Sans", "pl", True),
    "ro": _FallbackInfo("ro", "Romanian", "Română", "ltr", "Noto Sans", "ro", True),
    "pt": _FallbackInfo("pt", "Portuguese", "Português", "ltr", "Noto Sans", "pt", True),
    "bn": _FallbackInfo("bn", "Bengali", "বাংলা", "ltr", "Noto Sans Bengali", "bn", True),
    "ar": _FallbackInfo("ar", "Arabic", "العربية", "rtl", "Noto Naskh Arabic", "ar", True),
    "ur": _FallbackInfo("ur", "Urdu", "اردو", "rtl", "Noto Nastaliq Urdu", "ur", True),
    "so": _FallbackInfo("so", "Somali", "Soomaali", "ltr", "Noto Sans", None, True),
    "zh": _FallbackInfo("zh", "Chinese", "中文", "ltr", "Noto Sans CJK SC", "cmn", False),
}


def translations(lang: str, campaign_id: str | None = None) -> gettext.NullTranslations:
    """B's translations for `lang` (templates + campaign strings); passthrough until B ships."""
    try:
        from outreach.i18n.catalog import get_translations
    except ImportError:  # pragma: no cover - only while i18n is being built
        return gettext.NullTranslations()
    return get_translations(lang, campaign_id)


def language_info(code: str):  # type: ignore[no-untyped-def]
    """B's `LanguageInfo` for `code` (raises `KeyError` for an unknown language)."""
    try:
        from outreach.i18n.languages import language_info as _info
    except ImportError:  # pragma: no cover - only while i18n is being built
        return _FALLBACK[code]
    return _info(code)
