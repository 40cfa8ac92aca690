"""Never the wrong language: which language a message may be sent in.

A recipient who reads Somali gets Somali. If the Somali catalogs are incomplete, sending
stops with `MissingTranslations` listing every missing message, unless the officer
explicitly allowed a fallback language (`--allow-fallback en`). Then the message goes out
in the fallback language, and the ledger row records the wanted language in
`Delivery.fallback_from`, so the report counts those deliveries.

```python
from outreach.i18n.fallback import effective_language

effective_language(spec, "es")                       # ('es', None): complete
effective_language(spec, "ti", allow_fallback="en")  # ('en', 'ti'): fell back
effective_language(spec, "ti")                       # raises MissingTranslations
```

Ask once per language, not once per contact: the answer only depends on the catalogs.
"""

from __future__ import annotations

from typing import Any

from outreach.i18n.coverage import MissingMessage, missing_messages
from outreach.i18n.languages import is_known
from outreach.i18n.paths import display_path, languages_csv
from outreach.problems import InvalidInput, Problem


class MissingTranslations(InvalidInput):
    """Messages a language lacks, one `Problem` per (language, message)."""

    def __init__(self, problems: list[Problem], *, languages: tuple[str, ...] = ()) -> None:
        super().__init__(problems)
        self.languages = languages


def missing_problem(gap: MissingMessage, *, hint: str = "") -> Problem:
    """The user-facing problem for one missing (language, message)."""
    where = gap.message.reference()
    text = (
        f"no {gap.language!r} translation for this "
        + ("template message" if gap.kind == "template" else "campaign text")
        + (f" (used in {where})" if where else "")
    )
    return Problem(display_path(gap.po_path), None, gap.message.singular, text + hint)


def unknown_language_problem(code: str) -> Problem:
    return Problem(
        display_path(languages_csv()),
        None,
        "code",
        f"language {code!r} has no row; add one (direction, font, voice) and its catalogs",
    )


def language_problems(spec: Any, lang: str) -> list[Problem]:
    """Why `lang` cannot be sent as it is (empty when it can)."""
    if not is_known(lang):
        return [unknown_language_problem(lang)]
    return [missing_problem(gap) for gap in missing_messages(spec, lang)]


def effective_language(
    spec: Any, wanted: str, *, allow_fallback: str | None = None
) -> tuple[str, str | None]:
    """`(language to send in, the wanted language if we fell back)`.

    Raises `MissingTranslations` when `wanted` is incomplete and no fallback was allowed,
    or when the allowed fallback language is itself incomplete.
    """
    problems = language_problems(spec, wanted)
    if not problems:
        return wanted, None
    if allow_fallback and allow_fallback != wanted:
        fallback_problems = language_problems(spec, allow_fallback)
        if not fallback_problems:
            return allow_fallback, wanted
        raise MissingTranslations(problems + fallback_problems, languages=(wanted, allow_fallback))
    raise MissingTranslations(problems, languages=(wanted,))
