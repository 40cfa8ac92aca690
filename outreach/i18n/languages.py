"""Language metadata: direction, font, speech voice and script facts, from ONE data file.

Everything downstream (HTML `lang`/`dir`, PDF fonts, radio-script timing, espeak previews)
reads these facts here, and they live in `templates/locale/languages.csv`, so adding a
language (Tigrinya, Tamil, ...) is a row in that file plus a PO file, never code.

```python
from outreach.i18n.languages import language_info, known_languages

info = language_info("ur")
info.direction        # 'rtl'
info.font_family      # 'Noto Nastaliq Urdu'
info.espeak_voice     # 'ur'   (None when espeak-ng has no voice, e.g. Somali)
info.spaced           # True   (False for Chinese: words are not separated by spaces)
[lang.code for lang in known_languages()]
```

CSV columns: `code,name,native_name,direction,font_family,espeak_voice,spaced,machine_codes`
where `machine_codes` optionally names the code an engine uses when it differs from
`code`, as `engine=code` pairs joined by `;` (e.g. `google=zh-CN;microsoft=zh-Hans`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from outreach.i18n.paths import languages_csv
from outreach.problems import InvalidInput, Problem

Direction = Literal["ltr", "rtl"]
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


class UnknownLanguage(KeyError):
    """A language code with no row in `templates/locale/languages.csv`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    def __str__(self) -> str:
        return (
            f"unknown language {self.code!r}: add a row for it to languages.csv "
            f"(templates/locale/) and a catalog templates/locale/{self.code}/LC_MESSAGES/"
            "messages.po"
        )


@dataclass(frozen=True)
class LanguageInfo:
    """What the rest of Outreach needs to know about one language.

    ```python
    info = language_info("ar")
    f'<html lang="{info.code}" dir="{info.direction}">'
    ```
    """

    code: str
    name: str
    native_name: str
    direction: Direction
    font_family: str
    espeak_voice: str | None
    spaced: bool
    machine_codes: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def rtl(self) -> bool:
        return self.direction == "rtl"

    def engine_code(self, engine: str) -> str:
        """The code a machine-translation engine uses for this language."""
        return dict(self.machine_codes).get(engine, self.code)


def _parse_machine_codes(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in (text or "").split(";"):
        if "=" in part:
            engine, code = part.split("=", 1)
            pairs.append((engine.strip(), code.strip()))
    return tuple(pairs)


def read_languages(path: Path) -> tuple[dict[str, LanguageInfo], list[Problem]]:
    """Parse a languages CSV; every bad row is a problem (file, row, field), none fatal."""
    languages: dict[str, LanguageInfo] = {}
    problems: list[Problem] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for row_number, row in enumerate(reader, start=2):
            row = {key: (value or "").strip() for key, value in row.items() if key}
            code = row.get("code", "")
            bad = False
            for required in ("code", "name", "native_name", "font_family"):
                if not row.get(required):
                    problems.append(Problem(str(path), row_number, required, "is empty"))
                    bad = True
            direction = row.get("direction", "").lower()
            if direction not in ("ltr", "rtl"):
                problems.append(Problem(str(path), row_number, "direction", "must be ltr or rtl"))
                bad = True
            spaced_text = row.get("spaced", "true").lower() or "true"
            if spaced_text not in _TRUE | _FALSE:
                problems.append(Problem(str(path), row_number, "spaced", "must be true or false"))
                bad = True
            if code in languages:
                problems.append(Problem(str(path), row_number, "code", f"{code!r} repeated"))
                bad = True
            if bad:
                continue
            languages[code] = LanguageInfo(
                code=code,
                name=row["name"],
                native_name=row["native_name"],
                direction=direction,  # type: ignore[arg-type]
                font_family=row["font_family"],
                espeak_voice=row.get("espeak_voice") or None,
                spaced=spaced_text in _TRUE,
                machine_codes=_parse_machine_codes(row.get("machine_codes", "")),
            )
    return languages, problems


def _languages() -> dict[str, LanguageInfo]:
    path = languages_csv()
    return _load(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _load(path: str, mtime: int) -> dict[str, LanguageInfo]:
    languages, problems = read_languages(Path(path))
    if problems:
        raise InvalidInput(problems)
    return languages


def language_info(code: str) -> LanguageInfo:
    """Metadata for `code`; raises `UnknownLanguage` (a `KeyError`) when there is no row."""
    try:
        return _languages()[code]
    except KeyError:
        raise UnknownLanguage(code) from None


def known_languages() -> list[LanguageInfo]:
    """Every language in `languages.csv`, in file order."""
    return list(_languages().values())


def is_known(code: str) -> bool:
    return code in _languages()


def clear_cache() -> None:
    """Re-read `languages.csv` on next use (tests, or after editing it)."""
    _load.cache_clear()
