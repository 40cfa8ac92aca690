"""One Jinja2 environment per (language, campaign): translations installed, templates cached.

```python
from outreach.channels.environment import template_env

env = template_env("ar", "the-way-ahead")
html = env.get_template("email/invitation.html").render(**context)
compilations(env)      # how many templates this environment has compiled (1 per template)
```

Why cached: rendering 10,000 personalised emails must load each template once per
language, not once per contact. `lru_cache` keeps one environment per (language,
campaign, translations); Jinja keeps the loaded templates inside it (`auto_reload=False`,
so it never re-reads the file), and `SharedBytecodeCache` compiles each template's code
once for all languages. `CountingLoader` counts loads so tests and benchmarks can prove it.

Templates use the i18n extension the old-style way (`{% trans name=name %}...{% endtrans %}`
and `_("...")`): translated template text is trusted markup, while campaign strings
(`_(spec.event.title)`) come back as plain strings and are HTML-escaped like any value.
Undefined variables raise (`StrictUndefined`), which is what `check_channels` relies on.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache

from outreach.channels import _i18n

# Every (language, campaign) pair handed out, so totals can be summed for benchmarks.
_KNOWN: dict[tuple[str, str | None], gettext.NullTranslations] = {}
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


class CountingLoader(jinja2.FileSystemLoader):
    """A file loader that counts how often Jinja asked for a template's source.

    Jinja asks once per template per environment (the loaded template is cached
    afterwards), so `loads` counts template loads per language; the Python code behind them
    is compiled once for all languages (`code_compilations()`).
    """

    def __init__(self, searchpath: Path) -> None:
        super().__init__(str(searchpath), encoding="utf-8")
        self.loads: dict[str, int] = {}

    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        self.loads[template] = self.loads.get(template, 0) + 1
        return super().get_source(environment, template)


class SharedBytecodeCache(jinja2.BytecodeCache):
    """Compiled template code shared by every language's environment (in memory).

    The code Jinja generates does not depend on the translations (gettext is looked up at
    render time), so ten languages need one compilation per template, not ten. Jinja
    checks the source checksum, so an edited template is compiled again.
    """

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}
        self.compiled = 0  # templates actually compiled (a miss here means compile)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self._store.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled += 1
        self._store[bucket.key] = bucket.bytecode_to_string()

    def clear(self) -> None:
        self._store.clear()
        self.compiled = 0


_BYTECODE = SharedBytecodeCache()


def _autoescape(name: str | None) -> bool:
    return bool(name) and str(name).endswith((".html", ".xml", ".svg"))


def template_env(lang: str, campaign_id: str | None = None) -> jinja2.Environment:
    """The environment for `lang` (and the campaign's own translated strings); cached.

    Keyed by the translations object too: i18n hands out a new one when a PO file changes
    on disk, so reviewed translations are used without a restart (and templates are not
    recompiled: the bytecode is shared).
    """
    translations = _i18n.translations(lang, campaign_id)
    _KNOWN[(lang, campaign_id)] = translations
    return _build_env(lang, campaign_id, translations)


@lru_cache(maxsize=256)
def _build_env(
    lang: str, campaign_id: str | None, translations: gettext.NullTranslations
) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=CountingLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=_autoescape,
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
        cache_size=400,
        bytecode_cache=_BYTECODE,
        keep_trailing_newline=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations, newstyle=False)  # type: ignore[attr-defined]
    info = _i18n.language_info(lang)
    env.globals.update(
        lang=lang,
        dir=info.direction,
        font_family=info.font_family,
        language_name=info.native_name,
        # Nastaliq (Urdu) stacks diagonally and needs about twice the usual line height.
        tall_script="nastaliq" in info.font_family.lower(),
    )
    return env


def compilations(env: jinja2.Environment) -> int:
    """How many templates `env` has compiled so far."""
    loader = env.loader
    return sum(loader.loads.values()) if isinstance(loader, CountingLoader) else 0


def total_compilations() -> int:
    """Compilations across every environment built so far (for benchmarks)."""
    return sum(
        compilations(_build_env(lang, campaign_id, translations))
        for (lang, campaign_id), translations in _KNOWN.items()
    )


def code_compilations() -> int:
    """Templates compiled to Python code so far, across all languages (shared bytecode)."""
    return _BYTECODE.compiled


def clear_cache() -> None:
    """Forget compiled templates and translations (after catalogs changed on disk)."""
    _build_env.cache_clear()
    _KNOWN.clear()
    _BYTECODE.clear()
