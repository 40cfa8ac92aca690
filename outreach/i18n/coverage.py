"""Which messages a language still lacks, for the templates and for one campaign.

A message is covered when its catalog entry has a translation, approved or draft (fuzzy).
English needs nothing for the templates (they are written in English), and the
campaign's source language needs nothing for the campaign's own strings.

```python
from outreach.i18n.coverage import missing_messages

for gap in missing_messages(spec, "so"):
    gap.po_path, gap.message.id
```
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from outreach.i18n.catalog import entry_state, load_catalog
from outreach.i18n.messages import SourceMessage, campaign_messages, template_messages
from outreach.i18n.paths import (
    campaign_locale_dir_for_spec,
    campaign_po_path,
    template_po_path,
)

TEMPLATE_SOURCE_LANGUAGE = "en"


@dataclass(frozen=True)
class MissingMessage:
    """A (language, message) without a translation, and the catalog that should hold it."""

    language: str
    message: SourceMessage
    po_path: Path
    kind: str  # "template" | "campaign"


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return -1


def _gaps(
    lang: str, messages: tuple[SourceMessage, ...], po_path: Path, kind: str
) -> list[MissingMessage]:
    catalog = load_catalog(po_path, lang)
    gaps = []
    for message in messages:
        entry = catalog.get(message.id, context=message.context) if catalog else None
        if entry is None or entry_state(entry) == "missing":
            gaps.append(MissingMessage(lang, message, po_path, kind))
    return gaps


@lru_cache(maxsize=256)
def _missing(
    lang: str,
    source_language: str,
    templates: tuple[SourceMessage, ...],
    campaign: tuple[SourceMessage, ...],
    template_po: tuple[Path, int],
    campaign_po: tuple[Path, int],
) -> tuple[MissingMessage, ...]:
    gaps: list[MissingMessage] = []
    if lang != TEMPLATE_SOURCE_LANGUAGE:
        gaps += _gaps(lang, templates, template_po[0], "template")
    if lang != source_language:
        gaps += _gaps(lang, campaign, campaign_po[0], "campaign")
    return tuple(gaps)


def missing_messages(spec: Any, lang: str) -> list[MissingMessage]:
    """Every message `lang` lacks for this campaign (templates first, then campaign strings).

    Raises `outreach.i18n.messages.TemplateSyntaxProblem` when a template cannot be parsed.
    """
    locale_dir = campaign_locale_dir_for_spec(spec)
    template_po = template_po_path(lang)
    campaign_po = campaign_po_path(lang, spec.id, locale_dir)
    return list(
        _missing(
            lang,
            spec.source_language,
            tuple(template_messages()),
            tuple(campaign_messages(spec)),
            (template_po, _mtime(template_po)),
            (campaign_po, _mtime(campaign_po)),
        )
    )


def clear_cache() -> None:
    _missing.cache_clear()
