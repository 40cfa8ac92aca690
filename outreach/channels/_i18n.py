"""The two things channels take from `outreach.i18n` (helper B's area), in one place.

- `translations(lang, campaign_id)`: gettext translations for a language, the template
  messages plus the campaign's own strings (B's `get_translations`, cached there and
  re-read when a PO file changes on disk);
- `language_info(code)`: direction, font family, espeak voice and whether the script is
  written with spaces (raises `UnknownLanguage`, a `KeyError`).

Tests replace these two functions to render with catalogs of their own.
"""

from __future__ import annotations

import gettext

from outreach.i18n.catalog import get_translations
from outreach.i18n.languages import LanguageInfo
from outreach.i18n.languages import language_info as _language_info


def translations(lang: str, campaign_id: str | None = None) -> gettext.NullTranslations:
    return get_translations(lang, campaign_id)


def language_info(code: str) -> LanguageInfo:
    return _language_info(code)
