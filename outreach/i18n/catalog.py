"""Gettext translations from the PO catalogs, fuzzy drafts included.

The PO catalogs are the translation memory. An entry is **approved** when it has a
translation and no `fuzzy` flag; it is a **draft** when it is flagged `fuzzy` (written by
the team or by a machine, awaiting community review); it is **missing** when it has no
translation. Drafts are used when sending: they are honest, reviewed-later text, and the
alternative would be English to someone who asked for Somali. What is missing is caught
before sending by `outreach.i18n.checks`.

```python
from outreach.i18n.catalog import get_translations

t = get_translations("so", "the-way-ahead")
t.gettext("You are invited")                 # template message, from messages.po
t.gettext(spec.event.title)                  # campaign string, from the-way-ahead.po
```

Loaded translations are cached per (language, campaign) and re-read when a PO file
changes on disk (its modification time is part of the cache key).
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

from outreach.i18n.paths import (
    TEMPLATE_DOMAIN,
    campaign_locale_dir,
    campaign_po_path,
    template_po_path,
)

__all__ = [
    "clear_cache",
    "entry_state",
    "get_translations",
    "load_catalog",
    "save_catalog",
    "translations_from_catalog",
]


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return -1


def _locale_for(lang: str) -> str | None:
    """A Babel locale for plural rules; None when CLDR does not know the code."""
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None
    return lang.replace("-", "_")


@lru_cache(maxsize=512)
def _read(path: str, mtime: int, lang: str | None) -> Catalog:
    with open(path, "rb") as handle:
        return read_po(handle, locale=_locale_for(lang) if lang else None, abort_invalid=False)


def load_catalog(path: Path, lang: str | None = None) -> Catalog | None:
    """The PO file at `path` as a Babel `Catalog` (cached until the file changes), or None.

    Callers must not modify the returned catalog; use `read_catalog_fresh` for that.
    """
    mtime = _mtime(path)
    if mtime < 0:
        return None
    return _read(str(path), mtime, lang)


def read_catalog_fresh(path: Path, lang: str | None = None) -> Catalog:
    """A private, modifiable copy of the PO file at `path`."""
    with open(path, "rb") as handle:
        return read_po(handle, locale=_locale_for(lang) if lang else None, abort_invalid=False)


def save_catalog(catalog: Catalog, path: Path) -> None:
    """Write a PO file atomically (a reader never sees half a catalog)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = BytesIO()
    write_po(buffer, catalog, width=88, omit_header=False, include_previous=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)


def entry_state(message: Message) -> str:
    """'approved', 'draft' (fuzzy) or 'missing' for one catalog entry."""
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    if not strings or not all(s for s in strings):
        return "missing"
    return "draft" if message.fuzzy else "approved"


def translations_from_catalog(catalog: Catalog, *, include_fuzzy: bool = True) -> Translations:
    """Gettext translations built from a catalog (fuzzy drafts included by default)."""
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=include_fuzzy)
    buffer.seek(0)
    return Translations(buffer, domain=TEMPLATE_DOMAIN)


@lru_cache(maxsize=256)
def _build(
    lang: str,
    campaign_id: str | None,
    template_key: tuple[str, int],
    campaign_key: tuple[str, int] | None,
) -> gettext.NullTranslations:
    template_path = Path(template_key[0])
    catalog = load_catalog(template_path, lang)
    # An empty catalog (not a bare Translations()) so merge() below has a table to fill.
    result = translations_from_catalog(catalog if catalog is not None else Catalog())
    if campaign_key is not None:
        campaign_catalog = load_catalog(Path(campaign_key[0]), lang)
        if campaign_catalog is not None:
            # merge() copies the campaign's entries over the template ones: a campaign may
            # deliberately word a shared message differently.
            result.merge(translations_from_catalog(campaign_catalog))  # type: ignore[attr-defined]
    return result


def get_translations(lang: str, campaign_id: str | None = None) -> gettext.NullTranslations:
    """Template messages plus the campaign's own strings for `lang`, fuzzy drafts included.

    A language without catalogs gives translations that return the English text; whether
    that may be sent is decided by `outreach.i18n.fallback.effective_language`.
    """
    template_path = template_po_path(lang)
    template_key = (str(template_path), _mtime(template_path))
    campaign_key = None
    if campaign_id:
        path = campaign_po_path(lang, campaign_id, campaign_locale_dir(campaign_id))
        campaign_key = (str(path), _mtime(path))
    return _build(lang, campaign_id, template_key, campaign_key)


def clear_cache() -> None:
    _build.cache_clear()
    _read.cache_clear()
