"""Translation: gettext catalogs (Babel), language metadata, machine drafts, review.

Modules (each one idea):
- `languages` — direction, font, voice, spacing per language (`templates/locale/languages.csv`)
- `catalog` — `get_translations(lang, campaign_id)` from the PO catalogs, drafts included
- `messages` — what needs translating: template messages and campaign strings
- `coverage`, `fallback`, `checks` — never the wrong language; worksheets for translators
- `placeholders`, `translators`, `machine`, `fill` — machine drafts, guarded and cached
- `update`, `review` — extract/merge catalogs; export/import for community review
"""


def clear_caches() -> None:
    """Forget every cached catalog, extraction and language table (after edits on disk)."""
    from outreach.i18n import catalog, coverage, languages, messages

    catalog.clear_cache()
    coverage.clear_cache()
    languages.clear_cache()
    messages.clear_cache()
