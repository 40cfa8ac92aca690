"""The `Translator` protocol and `make_translator(settings)`.

Backends (setting `OUTREACH_TRANSLATOR`):

| backend | engine | needs |
|---|---|---|
| `catalog-only` | none: only the PO catalogs (the offline default) | — |
| `google` | Google Translate's public endpoint via deep-translator | nothing |
| `deepl` | DeepL API | `OUTREACH_TRANSLATOR_API_KEY` (free keys end in `:fx`) |
| `microsoft` | Azure Translator | `OUTREACH_TRANSLATOR_API_KEY` |
| `mymemory` | MyMemory | nothing |
| `libretranslate` | self-hosted LibreTranslate | `OUTREACH_TRANSLATOR_URL` (+ key, if required) |

Every machine backend is wrapped by `MachineTranslator` (unique strings, persistent cache,
throttle at `OUTREACH_TRANSLATOR_REQUESTS_PER_SECOND`, retries with back-off on 429/5xx,
placeholder guard).

```python
from outreach.i18n.translators import make_translator

translator = make_translator(settings)
translator.name                                      # 'libretranslate'
translator.translate_batch(["Hello", "Where"], "en", "so")
```
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from outreach.i18n.engines import Engine
from outreach.i18n.machine import BatchResult, MachineTranslationError, MachineTranslator

CATALOG_ONLY = "catalog-only"
MACHINE_BACKENDS = ("google", "deepl", "microsoft", "mymemory", "libretranslate")


@runtime_checkable
class Translator(Protocol):
    """Translates strings (never contacts) from one language to another."""

    name: str

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        """Translations of `texts`, in order."""
        ...


class NoMachineTranslation(RuntimeError):
    """The catalog-only backend was asked to translate."""


class CatalogOnlyTranslator:
    """No engine at all: every string must come from the catalogs (the offline default)."""

    name = CATALOG_ONLY

    def translate_many(self, texts: Sequence[str], source: str, target: str) -> BatchResult:
        why = (
            "no machine translation configured (OUTREACH_TRANSLATOR=catalog-only); "
            "a translator must supply it"
        )
        return BatchResult({}, {text: why for text in dict.fromkeys(texts) if text})

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        if any(texts):
            raise NoMachineTranslation(
                "no machine translation configured: set OUTREACH_TRANSLATOR (see README, "
                "Translation) or translate the catalogs"
            )
        return list(texts)


def make_translator(settings: Any, *, store: Any = None, **options: Any) -> Translator:
    """The translator `settings.translator` names, wrapped in cache/throttle/retry/guard.

    `store` defaults to the settings' store (upgraded to the current schema); `options`
    go to `MachineTranslator` (e.g. `sleep=` in tests).
    """
    backend = getattr(settings, "translator", CATALOG_ONLY)
    if backend == CATALOG_ONLY:
        return CatalogOnlyTranslator()
    if backend not in MACHINE_BACKENDS:
        raise ValueError(f"unknown translator backend {backend!r}")
    if store is None:
        from outreach.store import Store

        store = Store(settings.database_url)
        store.upgrade()
    key = settings.translator_api_key.get_secret_value() if settings.translator_api_key else None
    engine = Engine(backend, url=settings.translator_url, api_key=key)
    options.setdefault("requests_per_second", settings.translator_requests_per_second)
    return MachineTranslator(engine, store, **options)


__all__ = [
    "CATALOG_ONLY",
    "MACHINE_BACKENDS",
    "CatalogOnlyTranslator",
    "MachineTranslationError",
    "MachineTranslator",
    "NoMachineTranslation",
    "Translator",
    "make_translator",
]
