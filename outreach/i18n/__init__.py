"""Translation: gettext catalogs (Babel), language metadata, machine drafts, review.

Modules (each one idea):
- `languages` — direction, font, voice, spacing per language (`templates/locale/languages.csv`)
- `paths` — where catalogs live (`use_locale_dir` points them elsewhere, e.g. in tests)
- `catalog` — `get_translations(lang, campaign_id)` from the PO catalogs, drafts included
- `messages` — what needs translating: template messages (via `babel.cfg`) and campaign strings
- `coverage`, `fallback`, `checks` — never the wrong language; worksheets for translators
- `placeholders` — the guard around machine translation and reviewed imports
- `engines`, `machine`, `translators` — deep-translator backends; batching, cache, throttle,
  retries; the `Translator` protocol and `make_translator(settings)`
- `fill` — machine drafts into missing catalog entries (never over approved ones)
- `update` — extract → POT → merge (changed sources keep their translation, fuzzy)
- `sheets`, `review` — CSV/PO export and import for community review; status counts
"""


def clear_caches() -> None:
    """Forget every cached catalog, extraction and language table (after edits on disk)."""
    from outreach.i18n import catalog, coverage, languages, messages

    catalog.clear_cache()
    coverage.clear_cache()
    languages.clear_cache()
    messages.clear_cache()
