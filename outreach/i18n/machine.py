"""Machine translation done responsibly: unique strings, cached, throttled, retried, guarded.

`MachineTranslator` wraps an `Engine` (one request per string) with:

- **batching of unique strings**: a batch is de-duplicated first, so 10,000 contacts
  reading the same invitation cost one request per string and language, not per contact;
- **a persistent cache** in the store (`TranslationCacheEntry`): a string is never sent
  to an engine twice; a second run makes no requests at all;
- **throttling** to `settings.translator_requests_per_second`;
- **retries with exponential back-off** on 429 and 5xx (and network errors), honouring
  `Retry-After` when the engine sends it;
- **the placeholder guard** (`outreach.i18n.placeholders`): placeholders travel as opaque
  tokens and a result that lost or changed one is refused, never cached.

```python
from outreach.i18n.machine import MachineTranslator
from outreach.i18n.engines import Engine

mt = MachineTranslator(Engine("libretranslate", url="http://mt.local/"), store)
result = mt.translate_many(["Hello", "Hello", "Where"], "en", "es")
result.translations   # {'Hello': 'Hola', 'Where': 'Dónde'}
result.failures       # {} (text -> why it could not be translated)
mt.stats.requests     # 2
```
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from outreach.i18n import engines
from outreach.i18n.engines import Engine, EngineError, TransientEngineError
from outreach.i18n.languages import is_known, language_info
from outreach.i18n.placeholders import PlaceholderError, protect, restore
from outreach.store import Store, TranslationCacheEntry

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 60.0
LOOKUP_CHUNK = 500


class MachineTranslationError(RuntimeError):
    """Some strings could not be translated; `failures` says which and why."""

    def __init__(self, failures: dict[str, str], translations: dict[str, str]) -> None:
        lines = "\n".join(f"  - {text!r}: {why}" for text, why in list(failures.items())[:20])
        super().__init__(f"{len(failures)} string(s) could not be translated:\n{lines}")
        self.failures = failures
        self.translations = translations


@dataclass
class Stats:
    requests: int = 0  # engine requests, retries included
    retries: int = 0
    cache_hits: int = 0
    translated: int = 0
    refused: int = 0  # placeholder guard refusals
    waits: list[float] = field(default_factory=list)  # back-off sleeps, in seconds


@dataclass
class BatchResult:
    translations: dict[str, str]
    failures: dict[str, str]


def source_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Throttle:
    """At most `per_second` calls per second (across threads)."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._clock = clock
        self._sleep = sleep or engines.sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            self._sleep(delay)


class TranslationCache:
    """The persistent cache: (engine, source, target, sha256(text)) -> translation."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def lookup(self, engine: str, source: str, target: str, texts: Sequence[str]) -> dict[str, str]:
        by_hash = {source_hash(text): text for text in texts}
        found: dict[str, str] = {}
        hashes = list(by_hash)
        table = TranslationCacheEntry
        with self.store.session() as session:
            for start in range(0, len(hashes), LOOKUP_CHUNK):
                chunk = hashes[start : start + LOOKUP_CHUNK]
                rows = session.execute(
                    select(table.source_hash, table.source_text, table.translated_text).where(
                        table.engine == engine,
                        table.source_language == source,
                        table.target_language == target,
                        table.source_hash.in_(chunk),
                    )
                )
                for digest, text, translated in rows:
                    if by_hash.get(digest) == text:  # a hash collision never mistranslates
                        found[text] = translated
        return found

    def store_many(self, engine: str, source: str, target: str, pairs: dict[str, str]) -> None:
        if not pairs:
            return
        rows = [
            {
                "engine": engine,
                "source_language": source,
                "target_language": target,
                "source_hash": source_hash(text),
                "source_text": text,
                "translated_text": translated,
            }
            for text, translated in pairs.items()
        ]
        insert = sqlite_insert if self.store.is_sqlite else pg_insert
        statement = insert(TranslationCacheEntry).on_conflict_do_nothing()
        with self.store.engine.begin() as connection:
            connection.execute(statement, rows)


class MachineTranslator:
    """A `Translator` around one engine: batching, cache, throttle, retries, guard."""

    def __init__(
        self,
        engine: Engine,
        store: Store,
        *,
        requests_per_second: float = 2.0,
        sleep: Callable[[float], None] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.engine = engine
        self.name = engine.name
        self.cache = TranslationCache(store)
        self._sleep = sleep or engines.sleep
        self.throttle = Throttle(requests_per_second, sleep=self._sleep)
        self.max_attempts = max_attempts
        self.stats = Stats()

    def _code(self, lang: str) -> str:
        return language_info(lang).engine_code(self.name) if is_known(lang) else lang

    def _one(self, text: str, source: str, target: str) -> str:
        """One string through the engine, retried on transient failures."""
        attempt = 0
        while True:
            attempt += 1
            self.throttle.wait()
            self.stats.requests += 1
            try:
                return self.engine.translate(text, self._code(source), self._code(target))
            except TransientEngineError as error:
                if attempt >= self.max_attempts:
                    raise EngineError(f"{error} (gave up after {attempt} attempts)") from error
                wait = error.retry_after
                if wait is None:
                    wait = BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)
                wait = min(wait, BACKOFF_CAP_SECONDS)
                self.stats.retries += 1
                self.stats.waits.append(wait)
                log.info("%s: %s; retrying in %.1fs", self.name, error, wait)
                self._sleep(wait)

    def translate_many(self, texts: Sequence[str], source: str, target: str) -> BatchResult:
        """Translate the unique non-empty strings of `texts`; never raises per string."""
        unique = list(dict.fromkeys(t for t in texts if t and t.strip()))
        translations = self.cache.lookup(self.name, source, target, unique)
        self.stats.cache_hits += len(translations)
        failures: dict[str, str] = {}
        fresh: dict[str, str] = {}
        stopped: str | None = None
        for text in unique:
            if text in translations:
                continue
            if stopped is not None:
                failures[text] = f"not sent: {stopped}"
                continue
            shielded, saved = protect(text)
            try:
                raw = self._one(shielded, source, target)
                result = restore(raw, saved, source=text)
            except PlaceholderError as error:
                self.stats.refused += 1
                failures[text] = f"refused: {error.reason}"
                continue
            except EngineError as error:
                failures[text] = str(error)
                if error.fatal:
                    # Every further request would fail alike: stop, report the rest.
                    stopped = str(error)
                continue
            fresh[text] = result
            self.stats.translated += 1
            # Stored as we go, so an interrupted run never pays twice for what it got.
            if len(fresh) >= 50:
                self.cache.store_many(self.name, source, target, fresh)
                translations.update(fresh)
                fresh = {}
        self.cache.store_many(self.name, source, target, fresh)
        translations.update(fresh)
        return BatchResult(translations, failures)

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        """Translations in input order; raises `MachineTranslationError` if any failed."""
        result = self.translate_many(texts, source, target)
        if result.failures:
            raise MachineTranslationError(result.failures, result.translations)
        return [result.translations.get(text, text) for text in texts]
