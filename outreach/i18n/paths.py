"""Where catalogs live.

- Template messages: `templates/locale/messages.pot` and
  `templates/locale/<lang>/LC_MESSAGES/messages.po` (domain `messages`).
- A campaign's own strings (title, description, venue, barrier answers):
  `<campaign folder>/locale/<lang>/LC_MESSAGES/<campaign_id>.po`, with its template
  `<campaign folder>/locale/<campaign_id>.pot`. The shipped sample's folder is `campaigns/`.

The campaign folder is the spec file's folder. Code that only has a campaign id (the
channels' `get_translations(lang, campaign_id)`) finds it through `register_campaign_dir`,
which every i18n entry point taking a spec calls; unregistered ids use `campaigns/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "templates"
LOCALE_DIR = TEMPLATES_DIR / "locale"
TEMPLATE_DOMAIN = "messages"
BABEL_CFG = ROOT / "babel.cfg"
DEFAULT_CAMPAIGN_LOCALE_DIR = ROOT / "campaigns" / "locale"

_campaign_dirs: dict[str, Path] = {}
_locale_override: list[Path] = []


def locale_dir() -> Path:
    """The template catalogs' folder (`templates/locale`, unless `use_locale_dir` is active)."""
    return _locale_override[-1] if _locale_override else LOCALE_DIR


def languages_csv() -> Path:
    return locale_dir() / "languages.csv"


def templates_pot() -> Path:
    return locale_dir() / f"{TEMPLATE_DOMAIN}.pot"


@contextmanager
def use_locale_dir(path: Path) -> Iterator[Path]:
    """Read and write template catalogs and `languages.csv` under `path` for a while.

    For tests and for trying catalog changes on a copy; caches are cleared on entry and exit.
    """
    from outreach.i18n import clear_caches

    _locale_override.append(Path(path))
    clear_caches()
    try:
        yield Path(path)
    finally:
        _locale_override.pop()
        clear_caches()


def template_po_path(lang: str, base: Path | None = None) -> Path:
    return (base or locale_dir()) / lang / "LC_MESSAGES" / f"{TEMPLATE_DOMAIN}.po"


def register_campaign_dir(campaign_id: str, locale_dir: Path) -> None:
    """Remember where a campaign's catalogs live (its spec folder's `locale/`)."""
    _campaign_dirs[campaign_id] = Path(locale_dir)


@contextmanager
def preserved_campaign_dirs() -> Iterator[None]:
    """Undo `register_campaign_dir` calls made inside the block (tests use temporary specs)."""
    saved = dict(_campaign_dirs)
    try:
        yield
    finally:
        _campaign_dirs.clear()
        _campaign_dirs.update(saved)


def campaign_locale_dir(campaign_id: str) -> Path:
    return _campaign_dirs.get(campaign_id, DEFAULT_CAMPAIGN_LOCALE_DIR)


def campaign_locale_dir_for_spec(spec: object) -> Path:
    """`<spec folder>/locale`, registered for the spec's id; the default without a path."""
    spec_path = getattr(spec, "spec_path", None)
    campaign_id = str(spec.id)
    directory = (
        Path(spec_path).resolve().parent / "locale"
        if spec_path is not None
        else campaign_locale_dir(campaign_id)
    )
    register_campaign_dir(campaign_id, directory)
    return directory


def campaign_po_path(lang: str, campaign_id: str, locale_dir: Path | None = None) -> Path:
    base = locale_dir or campaign_locale_dir(campaign_id)
    return base / lang / "LC_MESSAGES" / f"{campaign_id}.po"


def campaign_pot_path(campaign_id: str, locale_dir: Path | None = None) -> Path:
    return (locale_dir or campaign_locale_dir(campaign_id)) / f"{campaign_id}.pot"


def display_path(path: Path) -> str:
    """A path relative to the project when it is inside it (for problems and reports)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
